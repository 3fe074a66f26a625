"""Helpers every chapter's test suite shares (docker's `testutil`, in small).

They live in the package so that each chapter's tests, and the cross-chapter
tests in `tests/`, import them the same way in any chapter world.
"""

from __future__ import annotations

import os
import subprocess
import sys


def find_docker_cli() -> str:
    """The docker CLI the tests drive as a reference client: $MINIDOCK_TEST_DOCKER if set,
    else the Go CLI 28 at /usr/local/bin/docker (what docker-api.md was written against),
    else the first `docker` on PATH (Debian's docker.io brings a 20.10 CLI)."""
    import shutil

    for candidate in (os.environ.get("MINIDOCK_TEST_DOCKER"), "/usr/local/bin/docker", shutil.which("docker")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return "docker"  # absent: running it fails with a clear "No such file" in the test


DOCKER_CLI = find_docker_cli()


def skip_or_fail(reason: str) -> None:
    """Skip for a missing privilege or kernel feature - but under CI that is a failure."""
    import pytest

    if os.environ.get("CI"):
        pytest.fail(f"CI must run this test, but: {reason}")
    pytest.skip(reason)


def require_root() -> None:
    if os.geteuid() != 0:
        skip_or_fail("needs root")


_config_dir: str | None = None


def scratch_config_dir() -> str:
    """One private client-config directory per test process, so no test reads or
    writes the user's ~/.minidock or ~/.docker (credentials from `login`)."""
    global _config_dir
    if _config_dir is None:
        import atexit
        import shutil
        import tempfile

        _config_dir = tempfile.mkdtemp(prefix="minidock-test-config-")
        atexit.register(shutil.rmtree, _config_dir, True)
    return _config_dir


def cli_env(**extra: str) -> dict[str, str]:
    """Our environment without a DOCKER_HOST or API version that would steer the CLI
    elsewhere, and with client configs in a scratch directory."""
    env = {k: v for k, v in os.environ.items() if k not in ("DOCKER_HOST", "DOCKER_API_VERSION")}
    env["MINIDOCK_CONFIG"] = os.path.join(scratch_config_dir(), "minidock")
    env["DOCKER_CONFIG"] = os.path.join(scratch_config_dir(), "docker")
    env.update(extra)
    return env


def run_cli(*args: str, input: bytes | None = None, env: dict[str, str] | None = None,
            timeout: float = 30, pass_fds: tuple[int, ...] = ()) -> subprocess.CompletedProcess:
    """`minidock ARGS...` in a subprocess, as a user would run it; output as bytes."""
    return subprocess.run(
        [sys.executable, "-m", "minidock", *args],
        input=input, capture_output=True, env=env or cli_env(), timeout=timeout, pass_fds=pass_fds,
    )
