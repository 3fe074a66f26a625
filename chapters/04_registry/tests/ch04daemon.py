"""Test support for chapter 04's end-to-end tests: a chapter-4 `minidockd`, and the docker CLI on it.

Chapter 03's conftest approach (a real daemon as a subprocess, in its own
session, stopped by PID and checked to exit 0), in the chapter-4 world. It is
a module, not a conftest (conftest files cannot be imported under pytest's
importlib mode); a test module adds this folder to `sys.path` and imports it:

    sys.path.insert(0, str(Path(__file__).parent))
    from ch04daemon import Minidockd, docker_cli
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from minidock.testing import DOCKER_CLI

STARTUP_TIMEOUT = 20.0
DOCKER = DOCKER_CLI


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Minidockd:
    """`python -m minidock.daemon` with MINIDOCK_CHAPTER=4, its roots under `base`."""

    def __init__(self, base: Path, *flags: str) -> None:
        base.mkdir(parents=True, exist_ok=True)
        self.base = base
        self.sock_path = base / "d.sock"  # unix socket paths are limited to 107 bytes: keep them short
        self.data_root = base / "data"
        self.log_path = base / "minidockd.log"
        self.pidfile = base / "minidockd.pid"
        self.argv = ["-H", f"unix://{self.sock_path}", "--data-root", str(self.data_root),
                     "--exec-root", str(base / "exec"), "-p", str(self.pidfile), "--debug", *flags]
        self.proc: subprocess.Popen | None = None

    @property
    def host(self) -> str:
        return f"unix://{self.sock_path}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def __enter__(self) -> Minidockd:
        environ = {k: v for k, v in os.environ.items() if k not in ("DOCKER_HOST", "MINIDOCK_API_VERSION")}
        environ["MINIDOCK_CHAPTER"] = "4"
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen([sys.executable, "-m", "minidock.daemon", *self.argv],
                                         stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=environ,
                                         start_new_session=True)
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while "API listen on" not in self.log():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise AssertionError(f"minidockd did not start:\n{self.log()[-4000:]}")
            time.sleep(0.05)
        return self

    def stop(self) -> int:
        """SIGTERM by PID, and wait: the exit status."""
        assert self.proc is not None
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
        try:
            return self.proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
            raise AssertionError(f"minidockd did not stop within 30s:\n{self.log()[-4000:]}") from None

    def __exit__(self, *exc: object) -> None:
        status = self.stop()
        assert status == 0, f"minidockd exited with {status}:\n{self.log()[-4000:]}"
        assert not self.sock_path.exists() and not self.pidfile.exists(), "socket or pidfile left behind"

    def docker(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
        """The real Go docker CLI (28.x) against this daemon, its config in a scratch directory."""
        from minidock.testing import cli_env, skip_or_fail

        if not os.access(DOCKER, os.X_OK):
            skip_or_fail(f"the docker CLI is not at {DOCKER}")
        return subprocess.run([DOCKER, "-H", self.host, *args], capture_output=True, text=True,
                              timeout=timeout, env=cli_env())
