"""Fixtures for chapter 03's suite: a real chapter-3 `minidockd`, and the clients that drive it.

`daemon` starts `python -m minidock.daemon` in the chapter-3 world
(`MINIDOCK_CHAPTER=3`) with its own data root, exec root and pidfile under
the test's tmp_path, listening on a unix socket and on 127.0.0.1:<a free
port>, with `--debug` (so tests can read the job tree), in a session of its
own. At the end it stops the daemon by PID with SIGTERM and checks:

* it exited 0 and removed its socket and pidfile;
* no process of ours is left: none in the daemon's process group, and none
  whose working directory is under the daemon's exec root (a chapter-3
  container is a host process that runs in `<exec-root>/containers/<id>/scratch`).

`docker` runs the real Go docker CLI against it (config in a scratch
directory), `minidock` our own client, `docker_py` a docker-py client.
Like chapter 02's conftest, which this one follows (conftest files cannot be
imported under pytest's importlib mode, so helpers are reached through the
fixtures' objects).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from minidock.testing import DOCKER_CLI

STARTUP_TIMEOUT = 20.0
DOCKER = DOCKER_CLI


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Reply:
    """One raw HTTP response, split but not interpreted."""

    status: int
    headers: dict[str, str]  # keys lower-cased
    body: bytes
    head: bytes

    def json(self) -> object:
        return json.loads(self.body)


def parse_reply(data: bytes) -> Reply:
    head, sep, rest = data.partition(b"\r\n\r\n")
    assert sep, f"no end of headers in {data[:200]!r}"
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    body = rest
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = b""
        while rest:
            size_line, _, rest = rest.partition(b"\r\n")
            size = int(size_line.split(b";")[0], 16)
            if size == 0:
                break
            body, rest = body + rest[:size], rest[size + 2:]
    return Reply(status, headers, body, head)


def processes_in(exec_root: Path) -> list[tuple[int, str]]:
    """(pid, cwd) of every process whose working directory is under `exec_root`."""
    found = []
    root = str(exec_root.resolve())
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cwd = os.readlink(f"/proc/{entry}/cwd")
        except OSError:
            continue
        if cwd == root or cwd.startswith(root + "/"):
            found.append((int(entry), cwd))
    return found


def process_group_members(pgid: int) -> list[int]:
    members = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rpartition(")")[2].split()
        except OSError:
            continue
        if fields and fields[0] != "Z" and int(fields[2]) == pgid:
            members.append(int(entry))
    return members


@dataclass
class DaemonProcess:
    """A running chapter-3 `minidockd` and the paths it was given."""

    proc: subprocess.Popen
    root: Path
    sock_path: Path
    port: int
    data_root: Path
    exec_root: Path
    pidfile: Path
    log_path: Path
    argv: list[str] = field(default_factory=list)
    stopped: bool = False

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def unix_host(self) -> str:
        return f"unix://{self.sock_path}"

    @property
    def tcp_host(self) -> str:
        return f"tcp://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def connect(self, timeout: float = 10) -> socket.socket:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout)
        s.connect(str(self.sock_path))
        return s

    def raw(self, request: bytes, timeout: float = 10) -> bytes:
        """Send bytes, read until the daemon closes the connection."""
        with self.connect(timeout) as s:
            s.sendall(request)
            chunks = []
            while chunk := s.recv(65536):
                chunks.append(chunk)
        return b"".join(chunks)

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict[str, str] | None = None, timeout: float = 10) -> Reply:
        """One request on a fresh connection (`Connection: close`), the reply parsed."""
        lines = [f"{method} {path} HTTP/1.1", "Host: api", "Connection: close"]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        if body is not None:
            lines.append(f"Content-Length: {len(body)}")
        data = ("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b"")
        return parse_reply(self.raw(data, timeout))

    def post_json(self, path: str, obj: object, timeout: float = 10) -> Reply:
        return self.request("POST", path, json.dumps(obj).encode(), {"Content-Type": "application/json"},
                            timeout)

    def wait_for_log(self, text: str, count: int = 1, timeout: float = STARTUP_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while self.log().count(text) < count:
            if self.proc.poll() is not None:
                raise AssertionError(f"minidockd exited with {self.proc.returncode} before logging "
                                     f"{text!r}:\n{self.log()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"minidockd did not log {text!r} within {timeout}s:\n{self.log()[-4000:]}")
            time.sleep(0.02)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        """Signal the daemon by PID and wait for it: its exit status."""
        if self.proc.poll() is None:
            os.kill(self.proc.pid, sig)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
            raise AssertionError(f"minidockd did not stop within {timeout}s of signal {sig}:\n{self.log()[-4000:]}")
        self.stopped = True
        return self.proc.returncode

    def leftovers(self) -> list[str]:
        """Processes of ours still alive after the daemon stopped (each with a reason)."""
        left = [f"pid {pid} in the daemon's process group {self.pid}" for pid in process_group_members(self.pid)]
        left += [f"pid {pid} working in {cwd}" for pid, cwd in processes_in(self.exec_root)]
        return left

    def assert_clean_exit(self) -> None:
        assert self.proc.returncode == 0, f"minidockd exited with {self.proc.returncode}:\n{self.log()[-4000:]}"
        assert not self.sock_path.exists(), f"{self.sock_path} left behind"
        assert not self.pidfile.exists(), f"{self.pidfile} left behind"
        deadline = time.monotonic() + 5
        while (left := self.leftovers()) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not left, f"processes left after the daemon stopped: {left}"


StartDaemon = Callable[..., DaemonProcess]


@pytest.fixture
def start_daemon(tmp_path: Path) -> Iterator[StartDaemon]:
    """A factory: start_daemon(*flags, data_root=None, exec_root=None, debug=True, env=None)."""
    started: list[DaemonProcess] = []
    counter = iter(range(1000))

    def start(*flags: str, data_root: Path | None = None, exec_root: Path | None = None, debug: bool = True,
              env: dict[str, str] | None = None) -> DaemonProcess:
        n = next(counter)
        root = tmp_path / f"d{n}"  # unix socket paths are limited to 107 bytes: keep them short
        root.mkdir()
        sock_path = root / "d.sock"
        port = free_port()
        data_root = data_root or root / "data"
        exec_root = exec_root or root / "exec"
        pidfile = root / "minidockd.pid"
        log_path = root / "minidockd.log"
        argv = ["-H", f"unix://{sock_path}", "-H", f"tcp://127.0.0.1:{port}", "--data-root", str(data_root),
                "--exec-root", str(exec_root), "-p", str(pidfile), *(["--debug"] if debug else []), *flags]
        environ = {k: v for k, v in os.environ.items() if k not in ("DOCKER_HOST", "MINIDOCK_API_VERSION")}
        environ["MINIDOCK_CHAPTER"] = "3"
        environ.update(env or {})
        with open(log_path, "ab") as log:
            proc = subprocess.Popen([sys.executable, "-m", "minidock.daemon", *argv], stdin=subprocess.DEVNULL,
                                    stdout=log, stderr=log, env=environ, start_new_session=True)
        daemon = DaemonProcess(proc, root, sock_path, port, data_root, exec_root, pidfile, log_path, argv)
        started.append(daemon)
        daemon.wait_for_log("API listen on", count=2)
        return daemon

    yield start

    problems = []
    for daemon in started:
        if not daemon.stopped:
            daemon.stop()
        try:
            daemon.assert_clean_exit()
        except AssertionError as exc:
            problems.append(str(exc))
    assert not problems, "\n".join(problems)


@pytest.fixture
def daemon(start_daemon: StartDaemon) -> DaemonProcess:
    """A chapter-3 minidockd (with --debug), stopped by PID and checked for leftovers at the end."""
    return start_daemon()


Run = Callable[..., subprocess.CompletedProcess]


@pytest.fixture
def docker(daemon: DaemonProcess) -> Run:
    """The real Go docker CLI (28.x) against `daemon`, its config in a scratch directory:
    docker("ps", "-a") -> CompletedProcess with text output."""
    from minidock.testing import cli_env, skip_or_fail

    if not os.access(DOCKER, os.X_OK):
        skip_or_fail(f"the docker CLI is not at {DOCKER}")

    def run(*args: str, input: str | None = None, timeout: float = 30, host: str | None = None
            ) -> subprocess.CompletedProcess:
        return subprocess.run([DOCKER, "-H", host or daemon.unix_host, *args], capture_output=True, text=True,
                              input=input, timeout=timeout, env=cli_env())

    return run


@pytest.fixture
def minidock(daemon: DaemonProcess) -> Run:
    """Our own client (chapter 01) against `daemon`: output as bytes."""
    from minidock.testing import cli_env, run_cli

    def run(*args: str, input: bytes | None = None, timeout: float = 30) -> subprocess.CompletedProcess:
        return run_cli("-H", daemon.unix_host, *args, input=input, timeout=timeout,
                       env=cli_env(MINIDOCK_CHAPTER="3"))

    return run


@pytest.fixture
def docker_py(daemon: DaemonProcess):  # noqa: ANN201 - docker.DockerClient, imported lazily
    docker_module = pytest.importorskip("docker")
    client = docker_module.DockerClient(base_url=daemon.unix_host, version="1.41", timeout=30)
    yield client
    client.close()


@pytest.fixture
def as_nobody() -> int:
    """The uid a container's command runs as: nobody's when the daemon is root, else ours."""
    import pwd

    return pwd.getpwnam("nobody").pw_uid if os.geteuid() == 0 else os.geteuid()
