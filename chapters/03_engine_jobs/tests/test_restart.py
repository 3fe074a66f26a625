"""Restart policies, and a daemon restart that keeps the container records."""

from __future__ import annotations

import json
import time

from minidock.testing import DOCKER_CLI


def test_on_failure_2_restarts_a_failing_command_twice(docker):
    result = docker("run", "-d", "--name", "flaky", "--restart", "on-failure:2", "busybox", "sh", "-c",
                    "echo attempt; exit 1")
    assert result.returncode == 0, result.stderr
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        state = json.loads(docker("inspect", "flaky").stdout)[0]
        if state["RestartCount"] == 2 and state["State"]["Status"] == "exited":
            break
        time.sleep(0.2)
    assert state["RestartCount"] == 2, state
    assert state["State"]["ExitCode"] == 1
    assert state["HostConfig"]["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 2}
    assert docker("logs", "flaky").stdout == "attempt\n" * 3
    time.sleep(1.5)  # and no third restart
    assert json.loads(docker("inspect", "flaky").stdout)[0]["RestartCount"] == 2
    docker("rm", "flaky")


def test_a_restarted_daemon_still_lists_every_container(start_daemon, tmp_path):
    import os
    import subprocess

    from minidock.testing import cli_env

    data_root, exec_root = tmp_path / "data", tmp_path / "exec"
    first = start_daemon(data_root=data_root, exec_root=exec_root)

    def docker(daemon, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([DOCKER_CLI, "-H", daemon.unix_host, *args], capture_output=True,
                              text=True, timeout=30, env=cli_env())

    assert docker(first, "run", "--name", "finished", "busybox", "sh", "-c", "exit 3").returncode == 3
    assert docker(first, "create", "--name", "fresh", "busybox", "true").returncode == 0
    assert docker(first, "run", "-d", "--name", "running", "busybox", "sleep", "60").returncode == 0
    pid = int(docker(first, "inspect", "-f", "{{.State.Pid}}", "running").stdout)
    assert first.stop() == 0
    first.assert_clean_exit()
    assert not os.path.exists(f"/proc/{pid}") or open(f"/proc/{pid}/stat").read().split()[2] == "Z", \
        "a chapter-3 container is a host process: it does not outlive its daemon"

    second = start_daemon(data_root=data_root, exec_root=exec_root)
    listed = docker(second, "ps", "-a", "--format", "{{.Names}}\t{{.Status}}").stdout.splitlines()
    status = dict(line.split("\t") for line in listed)
    assert set(status) == {"finished", "fresh", "running"}, listed
    assert status["finished"].startswith("Exited (3)")
    assert status["fresh"] == "Created"
    assert status["running"].startswith("Exited ("), status  # stopped with the daemon: a clear exited status
    assert docker(second, "start", "running").returncode == 0  # and it can run again
    assert docker(second, "inspect", "-f", "{{.State.Running}}", "running").stdout == "true\n"
    assert docker(second, "rm", "-f", "finished", "fresh", "running").returncode == 0
