"""The execdriver seam and the `host` driver: real host processes, as nobody, nothing leaked."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest

from minidock.containers.execdriver import (
    DRIVERS,
    DriverError,
    Pipes,
    ProcessConfig,
    StartedProcess,
    StartError,
    new_driver,
    register_driver,
)
from minidock.containers.execdriver.host import HostDriver, session_members
from minidock.containers.streams import StdinPipe
from minidock.testing import require_root

CID = "c0ffee" + "0" * 58


class Sink:
    """An output sink that remembers what it got."""

    def __init__(self) -> None:
        self.data = bytearray()
        self.closed = False
        self.lock = threading.Lock()

    def write(self, data: bytes) -> None:
        with self.lock:
            self.data += data

    def close(self) -> None:
        self.closed = True

    def text(self) -> str:
        with self.lock:
            return self.data.decode()


def run(driver: HostDriver, argv: list[str], *, env: list[str] | None = None, tty: bool = False,
        stdin: StdinPipe | None = None, size: tuple[int, int] = (0, 0), on_start=None, **kw):
    out, err = Sink(), Sink()
    started: list[StartedProcess] = []

    def record(process: StartedProcess) -> None:
        started.append(process)
        if on_start is not None:
            on_start(process)

    status = driver.run(CID, ProcessConfig(argv=argv, env=env or [], tty=tty, open_stdin=stdin is not None,
                                           console_size=size, **kw),
                        pipes=Pipes(stdin, out, err), on_start=record)
    assert out.closed and err.closed  # the driver ends both streams before it returns
    return status, out.text(), err.text(), started[0].pid


@pytest.fixture
def driver(tmp_path: Path) -> HostDriver:
    return new_driver("host", exec_root=tmp_path / "exec")  # type: ignore[return-value]


def gone(pid: int) -> bool:
    return not os.path.exists(f"/proc/{pid}")


# ---------------------------------------------------------------- the registry ----
def test_the_registry_knows_host_refuses_duplicates_and_names_the_known_ones() -> None:
    assert "host" in DRIVERS
    with pytest.raises(DriverError, match="already registered"):
        register_driver("host", HostDriver)
    with pytest.raises(DriverError, match=r"unknown execdriver 'native' \(registered: .*host"):
        new_driver("native")


# ---------------------------------------------------------------- who, where, what ----
def test_as_root_the_process_is_nobody_in_its_scratch_dir_with_only_its_env(driver: HostDriver) -> None:
    require_root()
    status, out, err, _ = run(driver, ["sh", "-c", "id -u; id -g; id -G; pwd; env | sort"],
                              env=["GREETING=hi", "HOSTNAME=box"])
    assert status.exit_code == 0, err
    uid, gid, groups, cwd, *env = out.splitlines()
    assert uid == "65534" and gid == str(driver.gid) and groups == gid  # no supplementary groups
    scratch = driver.exec_root / "containers" / CID / "scratch"
    assert cwd == str(scratch)
    stat = scratch.stat()
    assert (stat.st_uid, oct(stat.st_mode & 0o777)) == (65534, "0o700")
    names = {line.split("=", 1)[0] for line in env}
    assert names <= {"GREETING", "HOSTNAME", "PATH", "PWD", "SHLVL", "_", "OLDPWD"}  # what sh adds itself
    assert "GREETING=hi" in env and "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" in env
    assert not any(line.startswith(("HOME=", "USER=", "MINIDOCK", "PYTEST")) for line in env)


def test_working_dir_is_inside_the_scratch_dir(driver: HostDriver) -> None:
    status, out, _, _ = run(driver, ["pwd"], working_dir="/app/../srv/www")
    assert status.exit_code == 0
    assert out.strip() == str(driver.exec_root / "containers" / CID / "scratch" / "srv" / "www")


def test_stdout_and_stderr_apart_and_exit_codes(driver: HostDriver) -> None:
    status, out, err, _ = run(driver, ["sh", "-c", "echo out; echo err >&2; exit 3"])
    assert (status.exit_code, status.signal, out, err) == (3, None, "out\n", "err\n")


def test_a_signal_exit_is_128_plus_the_signal(driver: HostDriver) -> None:
    status, *_ = run(driver, ["sh", "-c", "kill -KILL $$"])
    assert (status.exit_code, status.signal) == (137, 9)


@pytest.mark.parametrize(("argv", "code", "words"), [
    (["nosuch-command"], 127, 'exec: "nosuch-command": executable file not found in $PATH: unknown'),
    (["/no/such/file"], 127, 'exec: "/no/such/file": stat /no/such/file: no such file or directory: unknown'),
    (["/etc/passwd"], 126, 'exec: "/etc/passwd": permission denied: unknown'),
])
def test_commands_that_cannot_start_give_dockerds_message_and_exit_code(driver: HostDriver, argv, code, words) -> None:
    with pytest.raises(StartError) as caught:
        run(driver, argv)
    assert caught.value.exit_code == code
    assert caught.value.message.startswith("OCI runtime create failed: ")
    assert caught.value.message.endswith(words)


def test_stdin_flows_in_and_its_end_is_eof(driver: HostDriver) -> None:
    pipe = StdinPipe()
    pipe.write(b"hello\n")   # written before the process exists, as `docker run -i` can
    pipe.close()
    status, out, _, _ = run(driver, ["cat"], stdin=pipe)
    assert (status.exit_code, out) == (0, "hello\n")


# ---------------------------------------------------------------- the terminal ----
def test_a_tty_has_the_console_size_a_controlling_terminal_and_resizes(driver: HostDriver) -> None:
    status, out, _, _ = run(driver, ["sh", "-c", "stty size; awk '{print $7}' /proc/self/stat; tty"],
                            tty=True, size=(33, 99))
    assert status.exit_code == 0
    size, tty_nr, name = out.replace("\r", "").splitlines()
    assert size == "33 99" and tty_nr != "0" and name.startswith("/dev/pts/")

    def resize(process: StartedProcess) -> None:
        assert process.terminal is not None
        process.terminal.resize(50, 132)

    status, out, _, _ = run(driver, ["sh", "-c", "sleep 0.3; stty size"], tty=True, size=(24, 80), on_start=resize)
    assert out.replace("\r", "").strip() == "50 132"


def test_tty_input_and_output_share_the_pty(driver: HostDriver) -> None:
    pipe = StdinPipe()
    pipe.write(b"typed\n")
    status, out, _, _ = run(driver, ["sh", "-c", "read line; echo got:$line"], tty=True, stdin=pipe)
    assert status.exit_code == 0
    assert "got:typed" in out and "typed\r\n" in out  # the pty echoes, as a terminal does


# ---------------------------------------------------------------- signals and leaks ----
def run_in_background(driver: HostDriver, argv: list[str]):
    out, err = Sink(), Sink()
    started = threading.Event()
    box: dict = {}

    def on_start(process: StartedProcess) -> None:
        box["pid"] = process.pid
        started.set()

    def target() -> None:
        box["status"] = driver.run(CID, ProcessConfig(argv=argv), pipes=Pipes(None, out, err), on_start=on_start)

    thread = threading.Thread(target=target)
    thread.start()
    assert started.wait(5)
    return thread, box, out


def test_pause_stops_the_output_and_unpause_continues_it(driver: HostDriver) -> None:
    thread, box, out = run_in_background(driver, ["sh", "-c", "while true; do echo tick; sleep 0.02; done"])
    try:
        deadline = time.monotonic() + 5
        while out.text().count("tick") < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        driver.pause(CID)
        time.sleep(0.1)  # what was in flight arrives
        frozen = out.text().count("tick")
        time.sleep(0.3)
        assert out.text().count("tick") == frozen
        driver.unpause(CID)
        deadline = time.monotonic() + 5
        while out.text().count("tick") <= frozen and time.monotonic() < deadline:
            time.sleep(0.01)
        assert out.text().count("tick") > frozen
    finally:
        driver.kill(box["pid"], signal.SIGKILL)
        thread.join(10)
    assert box["status"].exit_code == 137


def test_kill_reaches_the_group_and_nothing_outlives_the_main_process(driver: HostDriver) -> None:
    thread, box, out = run_in_background(
        driver, ["sh", "-c", "sleep 60 & echo $!; sh -c 'sleep 60' & echo $!; sleep 60; echo never"])
    deadline = time.monotonic() + 5
    while len(out.text().split()) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    children = [int(p) for p in out.text().split()]
    pids = driver.get_pids(CID)
    assert box["pid"] in pids and all(child in pids for child in children)
    assert driver.stats(CID)["pids"] >= 3
    driver.kill(box["pid"], signal.SIGTERM)
    thread.join(10)
    assert not thread.is_alive()
    assert box["status"].exit_code == 143
    for pid in [box["pid"], *children]:
        assert gone(pid), f"process {pid} outlived its container"
    assert session_members(box["pid"]) == [] and driver.get_pids(CID) == []


def test_background_processes_die_with_the_main_process(driver: HostDriver) -> None:
    status, out, _, pid = run(driver, ["sh", "-c", "sleep 60 & echo $!; (sleep 60 &) ; exit 0"])
    assert status.exit_code == 0
    child = int(out.split()[0])
    assert gone(child) and session_members(pid) == []


def test_terminate_kills_a_paused_container(driver: HostDriver) -> None:
    thread, box, _ = run_in_background(driver, ["sleep", "60"])
    driver.pause(CID)
    driver.terminate(CID)
    thread.join(10)
    assert not thread.is_alive() and box["status"].exit_code == 137 and gone(box["pid"])


def test_a_reaped_pid_is_never_signalled(driver: HostDriver) -> None:
    _, _, _, pid = run(driver, ["true"])
    driver.kill(pid, signal.SIGKILL)  # not ours any more: a no-op, not an error
    driver.kill(os.getpid(), signal.SIGKILL)  # never one of our leaders: ignored (we are still here)


def test_the_process_starts_with_no_blocked_signals_whatever_thread_starts_it(driver: HostDriver) -> None:
    """The daemon's server threads block SIGTERM; a container started from one must not inherit
    that, or `docker stop` would do nothing until the timeout."""
    result: list = []

    def from_a_blocking_thread() -> None:
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT, signal.SIGHUP})
        result.append(run(driver, ["sh", "-c", "grep SigBlk /proc/self/status"]))
        result.append(signal.SIGTERM in signal.pthread_sigmask(signal.SIG_BLOCK, []))

    thread = threading.Thread(target=from_a_blocking_thread)
    thread.start()
    thread.join(10)
    (status, out, _, _), still_blocked_here = result
    assert out.split() == ["SigBlk:", "0000000000000000"]
    assert still_blocked_here  # and the caller's own mask is as it was


def test_not_root_runs_as_ourselves_and_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog) -> None:
    real_uid = os.geteuid()
    monkeypatch.setattr(os, "geteuid", lambda: real_uid if real_uid else 4321)
    with caplog.at_level("WARNING", logger="minidockd"):
        driver = HostDriver(tmp_path / "exec")
    assert driver.as_root is False and driver.uid == os.geteuid()
    assert "not running as root" in caplog.text and "not as nobody" in caplog.text
    monkeypatch.undo()
    status, out, _, _ = run(driver, ["id", "-u"])
    assert out.strip() == str(real_uid)  # no user switch was attempted
