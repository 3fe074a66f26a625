"""The real docker CLI (28.x) drives a chapter-3 daemon: chapter 03's "done when".

busybox is only a name in this chapter (images come with chapter 05): the
command runs on the host, as `nobody` when the daemon is root, and `echo`,
`sh`, `sleep` are the host's, found through the default PATH.
"""

from __future__ import annotations

import json
import re
import threading
import time

import pytest


def test_run_rm_prints_the_output_and_leaves_nothing(docker):
    result = docker("run", "--rm", "busybox", "echo", "hi")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "hi\n"
    assert "chapter 05" in result.stderr  # the warning: the image was not checked
    assert docker("ps", "-aq").stdout == ""


@pytest.mark.parametrize("status", [0, 3, 42])
def test_exit_statuses_pass_through(docker, status):
    result = docker("run", "--rm", "busybox", "sh", "-c", f"echo out; echo err >&2; exit {status}")
    assert result.returncode == status
    assert result.stdout == "out\n"
    assert "err\n" in result.stderr


def test_a_command_that_does_not_exist(docker):
    result = docker("run", "--rm", "busybox", "no-such-command-anywhere")
    assert result.returncode == 127, (result.stdout, result.stderr)
    assert "no-such-command-anywhere" in result.stderr


def test_the_life_of_a_detached_container(docker):
    cid = docker("run", "-d", "--name", "web", "busybox", "sh", "-c",
                 "echo to-stdout; echo to-stderr >&2; trap 'exit 0' TERM; while true; do sleep 0.1; done")
    assert cid.returncode == 0, cid.stderr
    cid = cid.stdout.strip()
    assert re.fullmatch(r"[0-9a-f]{64}", cid)

    ps = docker("ps")
    assert ps.returncode == 0
    header, *rows = ps.stdout.splitlines()
    assert header.split()[:3] == ["CONTAINER", "ID", "IMAGE"]
    assert len(rows) == 1 and rows[0].startswith(cid[:12]) and rows[0].rstrip().endswith("web")
    assert "Up " in rows[0] and "busybox" in rows[0]

    deadline = time.monotonic() + 5
    while "to-stderr" not in (logs := docker("logs", "web")).stderr and time.monotonic() < deadline:
        time.sleep(0.1)
    assert logs.stdout == "to-stdout\n"  # stdout and stderr come back apart
    assert logs.stderr == "to-stderr\n"

    assert docker("inspect", "-f", "{{.State.Status}}", "web").stdout == "running\n"
    started = time.monotonic()
    assert docker("stop", "-t", "2", "web").stdout == "web\n"
    assert time.monotonic() - started < 2, "the trap makes it leave on SIGTERM, without waiting 2 s"
    assert docker("inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", "web").stdout == "exited 0\n"
    assert docker("wait", "web").stdout == "0\n"
    assert "Exited (0)" in docker("ps", "-a").stdout
    assert docker("rm", "web").stdout == "web\n"
    assert docker("ps", "-a", "-q").stdout == ""


def test_stop_kills_what_ignores_sigterm_after_the_timeout(docker):
    docker("run", "-d", "--name", "stubborn", "busybox", "sh", "-c", "trap '' TERM; sleep 30")
    time.sleep(0.3)
    started = time.monotonic()
    assert docker("stop", "-t", "1", "stubborn").returncode == 0
    assert 0.8 < time.monotonic() - started < 5
    assert docker("inspect", "-f", "{{.State.ExitCode}}", "stubborn").stdout == "137\n"
    docker("rm", "stubborn")


def test_a_name_conflict_is_a_clear_error(docker):
    first = docker("create", "--name", "twin", "busybox", "true")
    assert first.returncode == 0
    second = docker("run", "--name", "twin", "busybox", "true")
    assert second.returncode == 125  # docker run's status for "the daemon refused"
    assert ('Conflict. The container name "/twin" is already in use by container '
            f'"{first.stdout.strip()}". You have to remove (or rename) that container to be able to reuse that name.'
            in second.stderr)
    third = docker("create", "--name", "not valid!", "busybox", "true")
    assert third.returncode == 1
    assert "Invalid container name (not valid!)" in third.stderr


def test_rm_of_a_running_container_and_of_a_missing_one(docker):
    docker("run", "-d", "--name", "busy", "busybox", "sleep", "30")
    result = docker("rm", "busy")
    assert result.returncode == 1
    assert "You cannot remove a running container" in result.stderr
    assert docker("rm", "-f", "busy").returncode == 0
    result = docker("rm", "nosuchthing")
    assert result.returncode == 1
    assert "Error response from daemon: No such container: nosuchthing" in result.stderr


def test_exec_output_and_exit_code(docker):
    docker("run", "-d", "--name", "host", "busybox", "sleep", "30")
    result = docker("exec", "host", "sh", "-c", "echo from-exec; exit 5")
    assert result.returncode == 5
    assert result.stdout == "from-exec\n"
    result = docker("exec", "-i", "host", "cat", input="piped\n")
    assert result.stdout == "piped\n"
    assert docker("exec", "-d", "host", "true").returncode == 0
    docker("rm", "-f", "host")


def test_id_u_is_nobody_when_the_daemon_is_root(docker, as_nobody):
    result = docker("run", "--rm", "busybox", "id", "-u")
    assert result.stdout == f"{as_nobody}\n"


def test_run_i_passes_stdin(docker):
    result = docker("run", "-i", "--rm", "busybox", "cat", input="piped-input\n")
    assert result.returncode == 0
    assert result.stdout == "piped-input\n"


def test_events_during_a_run(docker):
    since = int(time.time())
    assert docker("run", "--rm", "--name", "seen", "busybox", "true").returncode == 0
    until = int(time.time()) + 1
    time.sleep(1.1)  # `--until` is whole seconds: let it pass
    result = docker("events", "--since", str(since), "--until", str(until), "--format",
                    "{{.Type}} {{.Action}} {{.Actor.Attributes.name}}", timeout=15)
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if line.endswith(" seen")]
    actions = [line.split()[1] for line in lines]
    for action in ("create", "attach", "start", "die", "destroy"):
        assert action in actions, result.stdout
    assert actions.index("create") < actions.index("start") < actions.index("die") < actions.index("destroy")


def test_twenty_containers_started_in_parallel_all_run(docker):
    results: dict[int, object] = {}

    def run(n: int) -> None:
        results[n] = docker("run", "-d", "--name", f"par{n}", "busybox", "sleep", "30", timeout=60)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    failed = {n: r.stderr for n, r in results.items() if r.returncode != 0}
    assert not failed, failed
    listed = docker("ps", "--format", "{{.Names}} {{.State}}").stdout.split("\n")
    assert sorted(line for line in listed if line) == sorted(f"par{n} running" for n in range(20))
    ids = docker("ps", "-q").stdout.split()
    assert docker("rm", "-f", *ids).returncode == 0
    assert docker("ps", "-aq").stdout == ""


def test_ps_formats_and_filters(docker):
    docker("run", "-d", "--name", "alive", "--label", "role=db", "busybox", "sleep", "30")
    docker("run", "--name", "gone", "busybox", "sh", "-c", "exit 1")
    assert docker("ps", "--format", "{{.Names}}").stdout == "alive\n"
    assert docker("ps", "-a", "--filter", "status=exited", "--format", "{{.Names}}").stdout == "gone\n"
    assert docker("ps", "-a", "--filter", "exited=1", "--format", "{{.Names}}").stdout == "gone\n"
    assert docker("ps", "--filter", "label=role=db", "--format", "{{.Names}}").stdout == "alive\n"
    assert docker("ps", "-a", "--filter", "name=gon", "-q").stdout.strip() != ""
    document = json.loads(docker("inspect", "alive").stdout)[0]
    assert document["Config"]["Labels"] == {"role": "db"} and document["State"]["Running"] is True
    assert docker("top", "alive").returncode == 0
    assert docker("rm", "-f", "alive", "gone").returncode == 0


def test_rename_pause_unpause_kill_restart(docker):
    docker("run", "-d", "--name", "alpha", "busybox", "sleep", "30")
    assert docker("rename", "alpha", "b").returncode == 1  # a one-character name is not valid
    assert docker("rename", "alpha", "beta").returncode == 0
    assert docker("pause", "beta").stdout == "beta\n"
    assert "(Paused)" in docker("ps").stdout
    assert docker("unpause", "beta").returncode == 0
    assert docker("restart", "-t", "1", "beta").returncode == 0
    assert docker("inspect", "-f", "{{.State.Running}} {{.RestartCount}}", "beta").stdout == "true 0\n"
    assert docker("kill", "-s", "KILL", "beta").returncode == 0
    assert docker("wait", "beta").stdout == "137\n"
    result = docker("kill", "beta")
    assert result.returncode == 1 and "is not running" in result.stderr
    docker("rm", "beta")


def test_our_own_client_drives_the_daemon_too(minidock):
    result = minidock("run", "--rm", "busybox", "sh", "-c", "echo ours; exit 2")
    assert result.returncode == 2
    assert result.stdout == b"ours\n"
    assert minidock("run", "-d", "--name", "mine", "busybox", "sleep", "30").returncode == 0
    assert b"mine" in minidock("ps").stdout
    assert minidock("exec", "mine", "echo", "in").stdout == b"in\n"
    assert minidock("rm", "-f", "mine").returncode == 0


def test_info_counts_the_containers(docker):
    docker("run", "-d", "--name", "counted", "busybox", "sh", "-c", "sleep 30")
    docker("create", "--name", "waiting", "busybox", "true")
    info = json.loads(docker("info", "--format", "{{json .}}").stdout)
    assert (info["Containers"], info["ContainersRunning"], info["ContainersStopped"]) == (2, 1, 1)
    assert any("chapter 07" in warning for warning in info["Warnings"])
    docker("rm", "-f", "counted", "waiting")
