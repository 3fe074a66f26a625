"""The `minidockd` process: flags, logs, roots, pidfiles, signals, listeners, installers.

Most tests run the real daemon as a subprocess (the `start_daemon` fixture in
conftest.py) and judge it from the outside: its exit status, its stderr, the
files it leaves, the answers on its sockets.
"""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from minidock.daemon.config import ConfigError, parse_config
from minidock.daemon.installers import Daemon, InstallerError, find_installers, run_installers
from minidock.daemon.log import LogrusFormatter, quote

LOG_LINE = re.compile(r'^time="\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z" level=(debug|info|warning|error|fatal) msg=')


def run_daemon(*argv: str, env: dict[str, str] | None = None, timeout: float = 20) -> subprocess.CompletedProcess:
    """A daemon that is expected to stop by itself (bad flags, -v)."""
    environ = {k: v for k, v in os.environ.items() if k != "MINIDOCK_API_VERSION"}
    environ.update({"MINIDOCK_CHAPTER": "2", **(env or {})})
    return subprocess.run([sys.executable, "-m", "minidock.daemon", *argv], capture_output=True, text=True,
                          env=environ, timeout=timeout)


# ---------------------------------------------------------------- flags ----

def test_flags_have_dockerds_names_and_defaults() -> None:
    config = parse_config([], environ={})
    assert [str(h) for h in config.hosts] == ["unix:///var/run/minidock.sock"]
    assert str(config.data_root) == "/var/lib/minidock"
    assert str(config.exec_root) == "/run/minidock"
    assert str(config.pidfile) == "/run/minidock/minidockd.pid"
    assert (config.debug, config.group, config.api_version) == (False, None, "1.41")

    config = parse_config(["-H", "unix:///tmp/a.sock", "--host", "tcp://127.0.0.1:2375", "-H", "fd://",
                           "-H", "fd://4", "-D", "-G", "staff", "-p", "rel.pid", "--data-root", "/d",
                           "--exec-root", "/e", "--shutdown-timeout", "3"], environ={})
    assert [str(h) for h in config.hosts] == ["unix:///tmp/a.sock", "tcp://127.0.0.1:2375", "fd://None", "fd://4"]
    assert config.debug and config.group == "staff" and config.shutdown_timeout == 3
    assert config.pidfile == Path.cwd() / "rel.pid", "relative paths are made absolute once, at start-up"


def test_api_version_comes_from_the_flag_then_the_environment_then_the_default() -> None:
    assert parse_config([], environ={"MINIDOCK_API_VERSION": "1.44"}).api_version == "1.44"
    assert parse_config(["--api-version", "1.40"], environ={"MINIDOCK_API_VERSION": "1.44"}).api_version == "1.40"
    assert parse_config([], environ={}).api_version == "1.41"


@pytest.mark.parametrize("argv, message", [
    (["-H", "bogus://x"], 'invalid argument "bogus://x" for "-H, --host" flag'),
    (["-H", "tcp://127.0.0.1:99999"], 'invalid argument "tcp://127.0.0.1:99999"'),
    (["-H", "unix://relative.sock"], "must be absolute"),
    (["--api-version", "1.23"], "minimum supported API version is 1.24"),
    (["--api-version", "one"], "expected MAJOR.MINOR"),
    (["--shutdown-timeout", "-1"], "--shutdown-timeout"),
    (["--bogus"], "unknown flag: --bogus"),
])
def test_bad_flags_are_config_errors_that_say_what_is_wrong(argv: list[str], message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_config(argv, environ={})
    assert message in str(raised.value)


def test_bad_flags_exit_1_with_the_message_and_no_traceback(tmp_path: Path) -> None:
    result = run_daemon("-H", "bogus://x", "--data-root", str(tmp_path / "d"))
    assert result.returncode == 1
    assert 'invalid argument "bogus://x" for "-H, --host" flag' in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "d").exists(), "nothing is created before the flags are checked"

    result = run_daemon("--api-version", "1.2")
    assert result.returncode == 1 and "minimum supported API version is 1.24" in result.stderr


def test_version_flag_prints_the_version_and_quits() -> None:
    result = run_daemon("-v", env={"MINIDOCK_API_VERSION": "1.43"})
    assert result.returncode == 0
    assert result.stdout.strip() == "minidockd version 0.1.0, API 1.43 (minimum 1.24)"


# ---------------------------------------------------------------- logs ----

@given(st.text())
def test_log_values_are_bare_only_when_safe_and_quoted_values_read_back(value: str) -> None:
    text = quote(value)
    if text == value:
        assert value and re.fullmatch(r"[A-Za-z0-9\-._/@^+]+", value)
    else:
        assert json.loads(text) == value


def test_the_formatter_writes_logrus_lines_with_sorted_fields() -> None:
    record = logging.LogRecord("minidock", logging.WARNING, __file__, 1, "API listen on %s", ("/run/m.sock",), None)
    record.fields = {"version": "0.1.0", "api-version": "1.41", "note": "two words"}
    line = LogrusFormatter().format(record)
    assert LOG_LINE.match(line), line
    assert line.endswith(' level=warning msg="API listen on /run/m.sock" api-version=1.41 note="two words" '
                         'version=0.1.0')


def test_the_daemon_logs_like_dockerd(daemon) -> None:  # noqa: ANN001 - conftest's DaemonProcess
    daemon.request("GET", "/v1.41/version")
    lines = daemon.log().splitlines()
    assert all(LOG_LINE.match(line) for line in lines), "\n".join(lines)
    text = "\n".join(lines)
    assert 'level=info msg="Starting up"' in text
    assert f'level=info msg="API listen on {daemon.sock_path}"' in text
    assert f'level=info msg="API listen on 127.0.0.1:{daemon.port}"' in text
    assert "Calling" not in text, "request lines are for --debug only"


def test_debug_logs_a_line_per_request(start_daemon) -> None:  # noqa: ANN001
    daemon = start_daemon("-D")
    daemon.request("GET", "/v1.41/version?x=1")
    daemon.request("HEAD", "/_ping", host=daemon.tcp_host)
    daemon.wait_for_log('level=debug msg="Calling HEAD /_ping"', timeout=5)
    assert 'level=debug msg="Calling GET /v1.41/version?x=1"' in daemon.log()


# ---------------------------------------------------------------- roots and pidfiles ----

def test_data_root_and_exec_root_are_created_0700(start_daemon, tmp_path: Path) -> None:  # noqa: ANN001
    daemon = start_daemon("--exec-root", str(tmp_path / "deep" / "exec"),
                          data_root=tmp_path / "deep" / "data")
    for root in (tmp_path / "deep" / "data", tmp_path / "deep" / "exec"):
        assert stat.S_IMODE(root.stat().st_mode) == 0o700, root
    assert daemon.pidfile.read_text() == f"{daemon.pid}\n"


def test_a_second_daemon_on_the_same_pidfile_is_refused(start_daemon) -> None:  # noqa: ANN001
    first = start_daemon()
    second = start_daemon(pidfile=first.pidfile, wait=False)
    assert second.wait_exit() == 1
    assert f"pid file found, ensure minidockd is not running or delete {first.pidfile}" in second.log()
    assert f"held by pid {first.pid}" in second.log()
    assert "Traceback" not in second.log()
    assert first.pidfile.read_text() == f"{first.pid}\n", "the refused daemon must leave the pidfile alone"
    assert first.request("GET", "/version").status == 200, "the first daemon keeps serving"
    assert not second.sock_path.exists(), "the refused daemon opened no listener"


def test_a_second_daemon_on_the_same_data_root_is_refused_whatever_its_pidfile(start_daemon) -> None:  # noqa: ANN001
    first = start_daemon()
    second = start_daemon(data_root=first.data_root, wait=False)  # its own pidfile and sockets
    assert second.wait_exit() == 1
    assert f"delete {first.data_root / 'minidockd.pid'}" in second.log()
    assert first.request("GET", "/version").status == 200


def test_a_stale_pidfile_is_taken_over(start_daemon, tmp_path: Path) -> None:  # noqa: ANN001
    dead = subprocess.Popen(["true"])
    dead.wait()
    pidfile = tmp_path / "stale.pid"
    pidfile.write_text(f"{dead.pid}\n")
    daemon = start_daemon(pidfile=pidfile)
    assert pidfile.read_text() == f"{daemon.pid}\n"


def test_a_pidfile_naming_a_live_process_that_is_no_daemon_is_taken_over(start_daemon, tmp_path: Path) -> None:  # noqa: ANN001
    """dockerd refuses when the pid is alive, and then never starts after a pid was reused.
    Ours asks the lock instead: this test process is alive but holds none."""
    pidfile = tmp_path / "reused.pid"
    pidfile.write_text(f"{os.getpid()}\n")
    daemon = start_daemon(pidfile=pidfile)
    assert pidfile.read_text() == f"{daemon.pid}\n"


# ---------------------------------------------------------------- signals ----

@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_sigterm_and_sigint_shut_down_cleanly(start_daemon, sig: int) -> None:  # noqa: ANN001
    daemon = start_daemon()
    kept = daemon.connect()  # an idle keep-alive connection does not hold the shutdown up
    kept.sendall(b"GET /_ping HTTP/1.1\r\nHost: a\r\n\r\n")
    assert kept.recv(65536).endswith(b"\r\n\r\nOK"), "answered, and kept open"
    started = time.monotonic()
    assert daemon.stop(sig) == 0
    assert time.monotonic() - started < 5
    daemon.assert_clean_exit()
    assert kept.recv(1) == b"", "idle connections are closed"
    kept.close()
    name = "terminated" if sig == signal.SIGTERM else "interrupt"
    assert f"msg=\"Processing signal '{name}'\"" in daemon.log()
    assert 'msg="Daemon shutdown complete"' in daemon.log()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", daemon.port), timeout=2).close()


# ---------------------------------------------------------------- listeners ----

def test_a_port_in_use_is_named_and_nothing_is_left_behind(start_daemon) -> None:  # noqa: ANN001
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        daemon = start_daemon(hosts=[f"tcp://127.0.0.1:{port}"], wait=False)
        assert daemon.wait_exit() == 1
    log = daemon.log()
    assert f"failed to load listeners: cannot listen on tcp://127.0.0.1:{port}: Address already in use" in log
    assert "Traceback" not in log
    assert not daemon.pidfile.exists(), "a failed start removes the pidfile it took"


def test_an_unusable_socket_directory_is_named(start_daemon, tmp_path: Path) -> None:  # noqa: ANN001
    blocker = tmp_path / "file"
    blocker.write_text("")
    daemon = start_daemon(hosts=[f"unix://{blocker}/d.sock"], wait=False)
    assert daemon.wait_exit() == 1
    assert f"failed to load listeners: cannot listen on unix://{blocker}/d.sock" in daemon.log()
    assert "Traceback" not in daemon.log()


def test_a_file_that_is_not_a_socket_is_never_removed(start_daemon, tmp_path: Path) -> None:  # noqa: ANN001
    precious = tmp_path / "precious.txt"
    precious.write_text("keep me")
    daemon = start_daemon(hosts=[f"unix://{precious}"], wait=False)
    assert daemon.wait_exit() == 1
    assert "is not a socket" in daemon.log()
    assert precious.read_text() == "keep me"


def test_the_socket_of_a_live_daemon_is_not_stolen(start_daemon, daemon) -> None:  # noqa: ANN001
    second = start_daemon(hosts=[daemon.unix_host], wait=False)
    assert second.wait_exit() == 1
    assert "another daemon is listening on it" in second.log()
    assert daemon.request("GET", "/_ping").body == b"OK", "the first daemon still owns its socket"


def test_a_stale_socket_file_is_replaced(start_daemon, tmp_path: Path) -> None:  # noqa: ANN001
    path = tmp_path / "stale.sock"
    dead = socket.socket(socket.AF_UNIX)
    dead.bind(str(path))  # bound, never listening: nobody answers, as after a crash
    dead.close()
    daemon = start_daemon(hosts=[f"unix://{path}"])
    assert daemon.request("GET", "/_ping", host=f"unix://{path}").body == b"OK"
    assert daemon.stop() == 0
    assert not path.exists()


def test_the_unix_socket_is_0660(daemon) -> None:  # noqa: ANN001
    assert stat.S_IMODE(daemon.sock_path.stat().st_mode) == 0o660


def test_fd_without_socket_activation_is_a_clear_error(start_daemon) -> None:  # noqa: ANN001
    daemon = start_daemon(hosts=["fd://"], wait=False)
    assert daemon.wait_exit() == 1
    assert "failed to load listeners: fd:// needs listening sockets handed over by socket activation" in daemon.log()


# ---------------------------------------------------------------- installers ----

@pytest.fixture
def installer_path(tmp_path: Path):  # noqa: ANN201
    """A folder that joins minidock's package path, as a later chapter's folder would,
    with an `installers/` directory to write modules into; undone afterwards."""
    import minidock

    root = tmp_path / "later-chapter"
    (root / "installers").mkdir(parents=True)
    minidock.__path__.append(str(root))
    yield root / "installers"
    minidock.__path__.remove(str(root))
    for name in [n for n in sys.modules if n == "minidock.installers" or n.startswith("minidock.installers.")]:
        del sys.modules[name]


def test_no_installers_folder_means_no_installers() -> None:
    """In the chapter-2 world `minidock.installers` cannot even be imported: that is fine.
    (Once a later chapter has an installers/ folder, the import names that chapter.)"""
    code = ("from minidock.daemon.installers import find_installers\n"
            "try:\n"
            "    import minidock.installers\n"
            "    importable = True\n"
            "except ModuleNotFoundError:\n"
            "    importable = False\n"
            "print(importable, find_installers())")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env={**os.environ, "MINIDOCK_CHAPTER": "2"})
    assert (result.returncode, result.stdout.strip()) == (0, "False []"), result.stderr


def test_installers_are_found_and_run_in_name_order(installer_path: Path, tmp_path: Path) -> None:
    ours = ("ch97_later", "ch95_engine", "ch96_registry")  # names no real chapter uses
    for name in ours:
        (installer_path / f"{name}.py").write_text(
            f"def install(daemon):\n    daemon.router.handlers[{name!r}] = len(daemon.router.handlers)\n")
    modules = [m for m in find_installers() if m.__name__.rpartition(".")[2] in ours]  # (any world)
    assert [m.__name__ for m in modules] == ["minidock.installers.ch95_engine", "minidock.installers.ch96_registry",
                                             "minidock.installers.ch97_later"]

    class FakeRouter:
        handlers: dict = {}

    daemon = Daemon(config=None, router=FakeRouter(), logger=logging.getLogger("test"),  # type: ignore[arg-type]
                    data_root=tmp_path, exec_root=tmp_path)
    run_installers(modules, daemon)
    assert FakeRouter.handlers == {"ch95_engine": 0, "ch96_registry": 1, "ch97_later": 2}


def test_an_installer_without_install_is_refused(installer_path: Path) -> None:
    (installer_path / "ch98_broken.py").write_text("x = 1\n")
    with pytest.raises(InstallerError, match="ch98_broken has no install"):
        find_installers()


def test_an_installer_that_cannot_be_imported_is_named(installer_path: Path) -> None:
    (installer_path / "ch98_broken.py").write_text("import no_such_module_anywhere\n")
    with pytest.raises(InstallerError, match="minidock.installers.ch98_broken cannot be imported"):
        find_installers()


INSTALL_CREATE = """
    import json
    from pathlib import Path

    def add_arguments(parser):
        parser.add_argument("--greeting", default="hello")

    def install(daemon):
        greeting = daemon.config.options.greeting
        def create(request, response):
            body = request.json_body()
            response.json(201, {"Id": greeting + "-" + body["Image"], "Warnings": [],
                                "ApiVersion": request.api_version})
        daemon.router.handlers["create"] = create
        marker = daemon.exec_root / "ch99-stopped"
        daemon.on_shutdown(lambda: marker.write_text("stopped"))
"""


def test_a_later_chapters_installer_serves_its_job_in_a_real_daemon(start_daemon) -> None:  # noqa: ANN001
    daemon = start_daemon("--greeting", "hi", installers={"ch99_test": INSTALL_CREATE})
    reply = daemon.request("POST", "/v1.40/containers/create", body=b'{"Image": "busybox"}',
                           headers={"Content-Type": "application/json"})
    assert reply.status == 201, reply.body
    assert reply.json() == {"Id": "hi-busybox", "Warnings": [], "ApiVersion": "1.40"}
    assert "installers=ch99_test" in daemon.log()
    # A job nobody installed still names its chapter.
    reply = daemon.request("POST", "/containers/abc/start")
    assert reply.status == 501 and "chapter 03" in reply.json()["message"]
    assert daemon.stop() == 0
    assert (daemon.exec_root / "ch99-stopped").read_text() == "stopped", "shutdown callbacks run"


def test_a_failing_installer_stops_the_start_with_its_name(start_daemon) -> None:  # noqa: ANN001
    daemon = start_daemon(installers={"ch07_bad": "def install(daemon):\n    raise RuntimeError('no cgroups')\n"},
                          wait=False)
    assert daemon.wait_exit() == 1
    assert "installer minidock.installers.ch07_bad failed: no cgroups" in daemon.log()
    assert not daemon.pidfile.exists() and not daemon.sock_path.exists()
