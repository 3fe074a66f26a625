"""Fixtures for chapter 01's suite: a fake daemon on real sockets, and the CLI as a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]


def skip_or_fail(reason: str) -> None:
    """Skip for a missing kernel feature or privilege - but under CI that is a failure."""
    if os.environ.get("CI"):
        pytest.fail(f"CI must run this test, but: {reason}")
    pytest.skip(reason)


@pytest.fixture
def fake_daemon(tmp_path: Path) -> Iterator["FakeDaemon"]:  # noqa: F821
    """A fake Docker daemon listening on a unix socket and on 127.0.0.1."""
    from minidock.fakedaemon import FakeDaemon

    with FakeDaemon(tmp_path) as daemon:
        yield daemon


def cli_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DOCKER_HOST", "DOCKER_API_VERSION")}
    env.update(extra)
    return env


def run_cli(*args: str, input: bytes | None = None, env: dict[str, str] | None = None,
            timeout: float = 30, pass_fds: tuple[int, ...] = ()) -> subprocess.CompletedProcess:
    """`minidock ARGS...` in a subprocess, as a user would run it; output as text."""
    return subprocess.run(
        [sys.executable, "-m", "minidock", *args],
        input=input, capture_output=True, env=env or cli_env(), timeout=timeout, pass_fds=pass_fds,
    )
