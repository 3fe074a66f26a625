"""Fixtures for chapter 02's suite: a real `minidockd` process on temp paths.

`daemon` starts `python -m minidock.daemon` with its own data root, exec root
and pidfile under the test's tmp_path, listening on a unix socket and on
127.0.0.1:<a free port>, and waits until it logs `API listen on` for both.
At the end it stops the daemon by PID with SIGTERM and checks that it exited
0 and removed its socket and pidfile. `start_daemon` is the factory behind it,
for tests that need other flags, installers, or a daemon that must fail.

Nothing here touches /var/run/minidock.sock or /var/lib/minidock.

(Helpers are reached through the fixtures' objects, not imported: conftest
cannot be imported under pytest's importlib mode.)
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from minidock.testing import DOCKER_CLI

STARTUP_TIMEOUT = 15.0


def free_port() -> int:
    """A loopback port nobody listens on (racy in theory, fine for a test run)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Reply:
    """One raw HTTP response, split but not interpreted."""

    status: int
    reason: str
    headers: dict[str, str]  # keys lower-cased; a repeated header keeps its last value
    body: bytes
    head: bytes  # the status line and headers exactly as sent

    def json(self) -> object:
        return json.loads(self.body)


def parse_reply(data: bytes) -> Reply:
    head, sep, rest = data.partition(b"\r\n\r\n")
    assert sep, f"no end of headers in {data[:200]!r}"
    lines = head.decode("latin-1").split("\r\n")
    _, status, reason = (lines[0].split(" ", 2) + [""])[:3]
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
    return Reply(int(status), reason, headers, body, head)


@dataclass
class DaemonProcess:
    """A running `minidockd` and the paths it was given."""

    proc: subprocess.Popen
    root: Path
    sock_path: Path
    port: int
    data_root: Path
    exec_root: Path
    pidfile: Path
    log_path: Path
    stopped: bool = False  # stopped (or exited) under the test's eyes: the fixture leaves it be

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

    def connect(self, host: str | None = None, timeout: float = 10) -> socket.socket:
        host = host or self.unix_host
        if host.startswith("unix://"):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(timeout)
            s.connect(host.removeprefix("unix://"))
        else:
            address, _, port = host.removeprefix("tcp://").rpartition(":")
            s = socket.create_connection((address, int(port)), timeout=timeout)
        return s

    def raw(self, request: bytes, host: str | None = None, timeout: float = 10) -> bytes:
        """Send bytes, read until the daemon closes the connection."""
        with self.connect(host, timeout) as s:
            s.sendall(request)
            chunks = []
            while chunk := s.recv(65536):
                chunks.append(chunk)
        return b"".join(chunks)

    def request(self, method: str, path: str, host: str | None = None, body: bytes | None = None,
                headers: dict[str, str] | None = None, timeout: float = 10) -> Reply:
        """One request on a fresh connection (`Connection: close`), the reply parsed."""
        lines = [f"{method} {path} HTTP/1.1", "Host: api", "Connection: close"]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        if body is not None:
            lines.append(f"Content-Length: {len(body)}")
        data = ("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b"")
        return parse_reply(self.raw(data, host, timeout))

    def wait_for_log(self, text: str, count: int = 1, timeout: float = STARTUP_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while self.log().count(text) < count:
            if self.proc.poll() is not None:
                raise AssertionError(f"minidockd exited with {self.proc.returncode} before logging "
                                     f"{text!r}:\n{self.log()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"minidockd did not log {text!r} within {timeout}s:\n{self.log()}")
            time.sleep(0.02)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20) -> int:
        """Signal the daemon by PID and wait for it: its exit status."""
        if self.proc.poll() is None:
            os.kill(self.proc.pid, sig)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
            raise AssertionError(f"minidockd did not stop within {timeout}s of signal {sig}:\n{self.log()}")
        self.stopped = True
        return self.proc.returncode

    def wait_exit(self, timeout: float = STARTUP_TIMEOUT) -> int:
        """For a daemon that is expected to fail on its own: its exit status."""
        try:
            return self.proc.wait(timeout)
        finally:
            self.stopped = True

    def assert_clean_exit(self) -> None:
        assert self.proc.returncode == 0, f"minidockd exited with {self.proc.returncode}:\n{self.log()}"
        assert not self.sock_path.exists(), f"{self.sock_path} left behind"
        assert not self.pidfile.exists(), f"{self.pidfile} left behind"


def installer_prelude(namespace_dir: Path) -> str:
    """Python code that puts `namespace_dir` on minidock's package path (as a chapter
    folder would be), then runs the daemon: so `namespace_dir/installers/*.py` are found."""
    return textwrap.dedent(f"""
        import sys, minidock
        minidock.__path__.append({str(namespace_dir)!r})
        from minidock.daemon import main
        raise SystemExit(main(sys.argv[1:]))
    """)


StartDaemon = Callable[..., DaemonProcess]


@pytest.fixture
def start_daemon(tmp_path: Path) -> Iterator[StartDaemon]:
    """A factory: start_daemon(*flags, hosts=None, env=None, installers=None, wait=True, ...)."""
    started: list[DaemonProcess] = []
    counter = iter(range(1000))

    def start(*flags: str, hosts: list[str] | None = None, env: dict[str, str] | None = None,
              installers: dict[str, str] | None = None, wait: bool = True, listeners: int | None = None,
              data_root: Path | None = None, pidfile: Path | None = None,
              pass_fds: tuple[int, ...] = (), command: list[str] | None = None) -> DaemonProcess:
        n = next(counter)
        # unix socket paths are limited to 107 bytes: keep the socket in a short directory.
        root = tmp_path / f"d{n}"
        root.mkdir()
        sock_path = root / "d.sock"
        port = free_port()
        data_root = data_root or root / "data"
        exec_root = root / "exec"
        pidfile = pidfile or root / "minidockd.pid"
        log_path = root / "minidockd.log"
        if hosts is None:
            hosts = [f"unix://{sock_path}", f"tcp://127.0.0.1:{port}"]
        argv: list[str] = []
        for host in hosts:
            argv += ["-H", host]
        argv += ["--data-root", str(data_root), "--exec-root", str(exec_root), "-p", str(pidfile), *flags]
        if command is None:
            if installers:
                package = root / "ns"
                (package / "installers").mkdir(parents=True)
                for name, source in installers.items():
                    (package / "installers" / f"{name}.py").write_text(textwrap.dedent(source))
                command = [sys.executable, "-c", installer_prelude(package)]
            else:
                command = [sys.executable, "-m", "minidock.daemon"]
        environ = {k: v for k, v in os.environ.items() if k not in ("DOCKER_HOST", "MINIDOCK_API_VERSION")}
        environ["MINIDOCK_CHAPTER"] = "2"
        environ.update(env or {})
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(command + argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                    env=environ, pass_fds=pass_fds)
        daemon = DaemonProcess(proc, root, sock_path, port, data_root, exec_root, pidfile, log_path)
        started.append(daemon)
        if wait:
            daemon.wait_for_log("API listen on", count=listeners if listeners is not None else len(hosts))
        return daemon

    yield start

    problems = []
    for daemon in started:
        if daemon.stopped:
            continue
        daemon.stop()
        try:
            daemon.assert_clean_exit()
        except AssertionError as exc:
            problems.append(str(exc))
    assert not problems, "\n".join(problems)


@pytest.fixture
def daemon(start_daemon: StartDaemon) -> DaemonProcess:
    """A chapter-2 minidockd on a unix socket and on tcp 127.0.0.1, stopped (and checked) by PID."""
    return start_daemon()


@pytest.fixture
def docker_cli() -> Callable[..., subprocess.CompletedProcess]:
    """The real Go docker CLI (28.x), with its config in a scratch directory."""
    from minidock.testing import cli_env, skip_or_fail

    binary = DOCKER_CLI
    if not os.access(binary, os.X_OK):
        skip_or_fail(f"the docker CLI is not at {binary}")

    def run(*args: str, env: dict[str, str] | None = None, timeout: float = 30) -> subprocess.CompletedProcess:
        return subprocess.run([binary, *args], capture_output=True, text=True, timeout=timeout,
                              env=cli_env(**(env or {})))

    return run
