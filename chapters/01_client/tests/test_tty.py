"""`run -it` on a real pseudo-terminal (pexpect): raw mode, resize, detach keys."""

import sys

import pexpect
import pytest

from minidock.testing import cli_env, run_cli

PROMPT = "/ # "


@pytest.fixture
def session(fake_daemon):
    def spawn(*args: str, rows: int = 24, cols: int = 80) -> pexpect.spawn:
        child = pexpect.spawn(sys.executable, ["-m", "minidock", "-H", fake_daemon.unix_host, *args],
                              env=cli_env(), dimensions=(rows, cols), timeout=10)
        return child
    return spawn


def test_an_interactive_shell_answers_typed_commands(session):
    child = session("run", "-it", "--rm", "busybox", "sh")
    child.expect_exact(PROMPT)
    child.sendline("echo typed-here")
    child.expect_exact("typed-here\r\n")
    child.expect_exact(PROMPT)
    child.sendline("exit 7")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 7


def test_the_terminal_is_raw_so_ctrl_c_reaches_the_container(session):
    child = session("run", "-it", "--rm", "busybox", "sh")
    child.expect_exact(PROMPT)
    child.send("\x03")  # in a cooked terminal this would be SIGINT for our client
    child.expect_exact("^C")
    child.expect_exact(PROMPT)
    child.sendline("echo still-alive")
    child.expect_exact("still-alive\r\n")
    child.sendline("exit")
    child.expect(pexpect.EOF)


def test_the_container_gets_our_size_and_follows_a_resize(session, fake_daemon):
    child = session("run", "-it", "--rm", "busybox", "sh", rows=33, cols=101)
    child.expect_exact(PROMPT)
    child.sendline("stty size")
    child.expect_exact("33 101\r\n")
    child.setwinsize(40, 132)  # the kernel sends SIGWINCH to our client
    child.expect_exact(PROMPT)
    for _ in range(20):
        child.sendline("stty size")
        index = child.expect_exact(["40 132\r\n", "33 101\r\n"])
        if index == 0:
            break
    else:
        pytest.fail("the resize never reached the container")
    assert any("/resize?h=40&w=132" in path for _, path in fake_daemon.requests)
    child.sendline("exit")
    child.expect(pexpect.EOF)


def test_ctrl_p_ctrl_q_detaches_and_the_container_keeps_running(session, fake_daemon):
    child = session("run", "-it", "--name", "detachme", "busybox", "sh")
    child.expect_exact(PROMPT)
    child.send("\x10\x11")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    state = run_cli("-H", fake_daemon.unix_host, "inspect", "-f", "{{.State.Running}}", "detachme")
    assert state.stdout.strip() == b"true"
    run_cli("-H", fake_daemon.unix_host, "rm", "-f", "detachme")


def test_a_lone_ctrl_p_is_passed_through(session):
    child = session("run", "-it", "--rm", "busybox", "sh")
    child.expect_exact(PROMPT)
    child.send("\x10")
    child.sendline("echo after-ctrl-p")
    child.expect_exact("after-ctrl-p\r\n")
    child.sendline("exit")
    child.expect(pexpect.EOF)


def test_attach_to_a_running_tty_container(session, fake_daemon):
    created = run_cli("-H", fake_daemon.unix_host, "run", "-dit", "--name", "att", "busybox", "sh")
    assert created.returncode == 0, created.stderr
    child = session("attach", "att")
    child.sendline("echo attached")
    child.expect_exact("attached\r\n")
    child.send("\x10\x11")
    child.expect(pexpect.EOF)
    run_cli("-H", fake_daemon.unix_host, "rm", "-f", "att")


def test_exec_it_gets_a_terminal(session, fake_daemon):
    run_cli("-H", fake_daemon.unix_host, "run", "-d", "--name", "exit", "busybox", "sleep", "60")
    child = session("exec", "-it", "exit", "sh", rows=20, cols=70)
    child.expect_exact(PROMPT)
    child.sendline("stty size")
    child.expect_exact("20 70\r\n")
    child.sendline("exit 2")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 2
    run_cli("-H", fake_daemon.unix_host, "rm", "-f", "exit")
