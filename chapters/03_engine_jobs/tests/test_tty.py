"""`docker run -it`, driven through a pseudo-terminal by pexpect: type, read, resize, exit."""

from __future__ import annotations

import os

import pytest

from minidock.testing import DOCKER_CLI, cli_env, skip_or_fail

DOCKER = DOCKER_CLI


@pytest.fixture
def terminal(daemon):
    pexpect = pytest.importorskip("pexpect")
    if not os.access(DOCKER, os.X_OK):
        skip_or_fail(f"the docker CLI is not at {DOCKER}")

    def spawn(*args: str):
        child = pexpect.spawn(DOCKER, ["-H", daemon.unix_host, *args], env=cli_env(PS1="$ "), timeout=15,
                              dimensions=(24, 80))
        return child

    return spawn


def test_run_it_is_an_interactive_shell(terminal, daemon):
    import pexpect

    child = terminal("run", "-it", "--rm", "--name", "tty", "busybox", "sh")
    child.sendline("echo hel''lo")  # the quotes: what we typed is not what we read back
    child.expect("hello\r\n")
    child.sendline("stty size")
    child.expect("24 80\r\n")
    child.setwinsize(30, 100)  # SIGWINCH -> the CLI -> POST /resize -> the container's pty
    for _ in range(50):
        child.sendline("stty size")
        if child.expect(["30 100\r\n", "24 80\r\n"]) == 0:
            break
    else:
        pytest.fail("the resize never reached the container's terminal")
    child.sendline("tty")
    child.expect("/dev/pts/")
    child.sendline("exit 4")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 4


def test_the_detach_keys_leave_the_container_running(terminal, docker):
    import pexpect

    child = terminal("run", "-it", "--name", "bg", "busybox", "sh")
    child.sendline("echo ready")
    child.expect("ready\r\n")
    child.send("\x10\x11")  # ctrl-p ctrl-q
    child.expect(pexpect.EOF)
    child.close()
    assert docker("inspect", "-f", "{{.State.Running}}", "bg").stdout == "true\n"
    assert docker("rm", "-f", "bg").returncode == 0
