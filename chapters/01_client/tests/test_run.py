"""run, create, start, attach, exec, logs and the life cycle, against the fake daemon."""

import json
import re
import time

import pytest

from minidock.testing import run_cli


@pytest.fixture
def mdk(fake_daemon):
    def call(*args, **kwargs):
        return run_cli("-H", fake_daemon.unix_host, *args, **kwargs)
    return call


def paths(fake_daemon, method=None):
    return [p for m, p in fake_daemon.requests if method in (None, m)]


def test_run_prints_the_output_and_follows_dockers_request_order(mdk, fake_daemon):
    result = mdk("run", "--rm", "busybox", "echo", "hi")
    assert (result.returncode, result.stdout, result.stderr) == (0, b"hi\n", b"")
    posts = [p.split("?")[0].split("/")[-1] for p in paths(fake_daemon, "POST")]
    assert posts[-4:] == ["create", "attach", "wait", "start"]
    wait = next(p for p in paths(fake_daemon, "POST") if "/wait" in p)
    assert "condition=removed" in wait


def test_exit_status_and_streams_pass_through(mdk):
    result = mdk("run", "--rm", "busybox", "sh", "-c", "echo out; echo err >&2; exit 3")
    assert result.returncode == 3
    assert result.stdout == b"out\n" and result.stderr == b"err\n"


def test_the_create_body_carries_the_flags(mdk, fake_daemon):
    result = mdk("create", "--name", "flags", "-e", "A=1", "-p", "8080:80", "-m", "64m", "--cpus", "1.5",
                 "--restart", "on-failure:2", "-w", "/tmp", "-u", "nobody", "--hostname", "h1", "busybox", "true")
    assert result.returncode == 0, result.stderr
    info = json.loads(mdk("inspect", "flags").stdout)[0]
    assert info["Config"]["Env"][:1] == ["A=1"] or "A=1" in info["Config"]["Env"]
    assert info["Config"]["WorkingDir"] == "/tmp" and info["Config"]["User"] == "nobody"
    assert info["Config"]["Hostname"] == "h1"
    host = info["HostConfig"]
    assert host["Memory"] == 64 << 20 and host["NanoCpus"] == 1_500_000_000
    assert host["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 2}
    assert host["PortBindings"] == {"80/tcp": [{"HostIp": "", "HostPort": "8080"}]}


@pytest.mark.parametrize("flags, message", [
    (["-p", "99999:80"], b"invalid host port"),
    (["-m", "lots"], b"invalid size"),
    (["--restart", "sometimes"], b"invalid restart policy"),
    (["--rm", "--restart", "always"], b"Conflicting options"),
    (["-e", "=x"], b"invalid environment variable"),
])
def test_bad_flags_are_refused_before_any_request(mdk, fake_daemon, flags, message):
    before = len(paths(fake_daemon, "POST"))
    result = mdk("run", *flags, "busybox", "true")
    assert result.returncode == 125
    assert message in result.stderr
    assert len(paths(fake_daemon, "POST")) == before


def test_detached_run_ps_logs_and_rm(mdk):
    result = mdk("run", "-d", "--name", "bg", "busybox", "sh", "-c", "echo to-out; echo to-err >&2; sleep 30")
    assert result.returncode == 0, result.stderr
    assert re.fullmatch(rb"[0-9a-f]{64}\n", result.stdout)
    assert b"bg" in mdk("ps").stdout
    for _ in range(50):
        logs = mdk("logs", "bg")
        if logs.stdout and logs.stderr:
            break
        time.sleep(0.1)
    assert (logs.stdout, logs.stderr) == (b"to-out\n", b"to-err\n")
    assert mdk("rm", "-f", "bg").stdout == b"bg\n"
    assert b"bg" not in mdk("ps", "-a").stdout


def test_a_name_conflict_is_refused_with_dockers_words(mdk):
    assert mdk("create", "--name", "twice", "busybox", "true").returncode == 0
    result = mdk("create", "--name", "twice", "busybox", "true")
    assert result.returncode == 125
    assert b'Conflict. The container name "/twice" is already in use' in result.stderr


def test_an_unknown_command_exits_127(mdk):
    result = mdk("run", "--rm", "busybox", "nosuchcommand")
    assert result.returncode == 127
    assert b"executable file not found" in result.stderr


def test_stdin_is_forwarded_and_half_closed(mdk):
    result = mdk("run", "-i", "--rm", "busybox", "cat", input=b"line one\nline two\n")
    assert (result.returncode, result.stdout) == (0, b"line one\nline two\n")


def test_exec_runs_beside_the_main_process_and_passes_its_status(mdk):
    assert mdk("run", "-d", "--name", "ex", "busybox", "sleep", "30").returncode == 0
    result = mdk("exec", "ex", "echo", "from exec")
    assert (result.returncode, result.stdout) == (0, b"from exec\n")
    assert mdk("exec", "ex", "sh", "-c", "exit 5").returncode == 5
    assert mdk("exec", "-i", "ex", "cat", input=b"piped\n").stdout == b"piped\n"
    assert mdk("exec", "-d", "ex", "sleep", "1").returncode == 0
    mdk("rm", "-f", "ex")


def test_exec_in_a_missing_container_is_a_404(mdk):
    result = mdk("exec", "nosuch", "true")
    assert result.returncode == 1
    assert b"No such container: nosuch" in result.stderr


def test_start_attach_wait_stop_restart_kill(mdk):
    assert mdk("create", "--name", "life", "busybox", "sh", "-c", "echo started; exit 4").returncode == 0
    result = mdk("start", "-a", "life")
    assert (result.returncode, result.stdout) == (4, b"started\n")
    assert mdk("wait", "life").stdout == b"4\n"
    assert mdk("run", "-d", "--name", "sleeper", "busybox", "sleep", "60").returncode == 0
    assert mdk("stop", "-t", "1", "sleeper").stdout == b"sleeper\n"
    inspect = mdk("inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", "sleeper")
    assert inspect.stdout.split()[0] == b"exited"
    assert mdk("restart", "sleeper").returncode == 0
    assert mdk("kill", "sleeper").stdout == b"sleeper\n"
    killed = mdk("kill", "sleeper")
    assert killed.returncode == 1 and b"is not running" in killed.stderr


def test_pause_unpause_rename(mdk):
    mdk("run", "-d", "--name", "p1", "busybox", "sleep", "60")
    assert mdk("pause", "p1").returncode == 0
    assert mdk("inspect", "-f", "{{.State.Paused}}", "p1").stdout.strip() == b"true"
    assert mdk("unpause", "p1").returncode == 0
    assert mdk("rename", "p1", "p2").returncode == 0
    assert mdk("inspect", "-f", "{{.Name}}", "p2").stdout.strip() == b"/p2"
    mdk("rm", "-f", "p2")


def test_several_containers_one_failure(mdk):
    mdk("create", "--name", "ok1", "busybox", "true")
    result = mdk("rm", "ok1", "missing1")
    assert result.returncode == 1
    assert result.stdout == b"ok1\n"
    assert result.stderr == b"Error response from daemon: No such container: missing1\n"


def test_logs_tail_and_timestamps(mdk):
    mdk("run", "--name", "lg", "busybox", "seq", "5")
    assert mdk("logs", "--tail", "2", "lg").stdout == b"4\n5\n"
    stamped = mdk("logs", "-t", "lg").stdout.splitlines()
    assert len(stamped) == 5
    assert re.match(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z 1$", stamped[0])


def test_run_pulls_a_missing_image_first(mdk):
    result = mdk("run", "--rm", "alpine", "echo", "pulled")
    assert result.returncode == 0, result.stderr
    assert b"Unable to find image 'alpine:latest' locally" in result.stderr
    assert result.stdout == b"pulled\n"


def test_run_of_an_image_nobody_has_exits_125(mdk):
    result = mdk("run", "--rm", "nosuchimage", "true")
    assert result.returncode == 125
    assert b"Unable to find image 'nosuchimage:latest' locally" in result.stderr


def test_diff_prints_one_letter_per_change(mdk, fake_daemon):
    mdk("run", "--name", "df", "busybox", "sh", "-c", "echo x > /tmp/new; rm /etc/hostname")
    result = mdk("diff", "df")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.decode().splitlines()
    assert lines and all(line[:2] in ("C ", "A ", "D ") for line in lines)
    assert ("GET", "/v1.41/containers/df/changes") in fake_daemon.requests
    assert mdk("diff", "nosuch").returncode == 1


def test_every_command_in_the_table_has_its_module_and_functions():
    import importlib

    from minidock.cli.table import COMMANDS

    for name, spec in COMMANDS.items():
        module = importlib.import_module(f"minidock.cli.commands.{spec.module}")
        assert callable(getattr(module, name)), name
        assert callable(getattr(module, f"add_{name}_arguments")), name
