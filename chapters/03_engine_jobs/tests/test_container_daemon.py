"""ContainerDaemon end to end, in process: real host processes, real files, no HTTP.

Every test drives the daemon the way the container jobs do, and checks what
a client would see: outputs, exit codes, states, events, and that nothing
(no process, no directory, no name) outlives a container.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from minidock.containers.daemon import ContainerDaemon
from minidock.engine import Engine
from minidock.server.errors import BadParameter, Conflict, NotFound, NotImplementedByChapter, NotModified

BUSYBOX = "busybox"


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[ContainerDaemon]:
    d = ContainerDaemon(tmp_path / "containers", tmp_path / "exec", Engine())
    yield d
    d.shutdown(2)


def create(d: ContainerDaemon, *cmd: str, name: str | None = None, host: dict | None = None, **config):
    container, _ = d.create({"Image": BUSYBOX, "Cmd": list(cmd), **config}, host or {}, name)
    return container


def gone(pid: int) -> bool:
    return not os.path.exists(f"/proc/{pid}")


def actions(d: ContainerDaemon, container_id: str) -> list[str]:
    return [e["Action"] for e in d.events.history() if e["Actor"]["ID"] == container_id]


def eventually(check, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.01)


# ---------------------------------------------------------------- run, like `docker run` ----
def test_run_in_the_foreground_attach_wait_start(daemon: ContainerDaemon) -> None:
    container, warnings = daemon.create({"Image": BUSYBOX, "Cmd": ["sh", "-c", "echo out; echo err >&2; exit 3"]},
                                        {}, "fg")
    assert len(container.id) == 64 and container.name == "/fg"
    assert warnings and "image 'busybox' was not checked" in warnings[0] and "chapter 05" in warnings[0]
    attachment = daemon.attach("fg", stdout=True, stderr=True, stream=True)
    handle = daemon.wait("fg", "next-exit")
    daemon.start(container.id)
    assert sorted(attachment.output()) == [("stderr", b"err\n"), ("stdout", b"out\n")]
    assert handle.result(5) == {"StatusCode": 3, "Error": None}
    state = daemon.inspect("fg")["State"]
    assert (state["Status"], state["ExitCode"], state["Running"]) == ("exited", 3, False)
    assert state["StartedAt"] != "0001-01-01T00:00:00Z" and state["FinishedAt"] >= state["StartedAt"]
    assert list(daemon.logs("fg", stderr=False)) == [("stdout", b"out\n")]
    assert list(daemon.logs("fg", stdout=False)) == [("stderr", b"err\n")]
    stamped = list(daemon.logs("fg", stderr=False, timestamps=True))[0][1]
    assert stamped.endswith(b" out\n") and len(stamped.split(b" ")[0]) == 30
    assert actions(daemon, container.id) == ["create", "attach", "start", "die"]
    die = [e for e in daemon.events.history() if e["Action"] == "die"][0]
    assert die["Actor"]["Attributes"] == {"exitCode": "3", "image": BUSYBOX, "name": "fg"}
    assert die["from"] == BUSYBOX and die["status"] == "die" and die["scope"] == "local"


def test_attach_with_logs_replays_then_follows_the_next_run(daemon: ContainerDaemon) -> None:
    create(daemon, "sh", "-c", "echo run", name="again")
    daemon.start("again")
    daemon.wait("again").result(5)
    attachment = daemon.attach("again", stdout=True, stderr=True, logs=True, stream=True)
    daemon.start("again")
    assert list(attachment.output()) == [("stdout", b"run\n"), ("stdout", b"run\n")]
    only_logs = daemon.attach("again", stdout=True, stderr=True, logs=True, stream=False)
    assert [d for _, d in only_logs.output()] == [b"run\n", b"run\n"]


def test_stdin_once_closes_the_processes_input(daemon: ContainerDaemon) -> None:
    create(daemon, "cat", name="catty", OpenStdin=True, StdinOnce=True, AttachStdin=True)
    attachment = daemon.attach("catty", stdin=True, stdout=True, stderr=True, stream=True)
    assert attachment.stdin_writer is not None
    attachment.stdin_writer.write(b"typed before the start\n")
    handle = daemon.wait("catty", "next-exit")
    daemon.start("catty")
    attachment.stdin_writer.write(b"and after\n")
    attachment.stdin_writer.close()  # the client's half-close
    assert b"".join(d for _, d in attachment.output()) == b"typed before the start\nand after\n"
    assert handle.result(5)["StatusCode"] == 0


def test_a_tty_container_has_its_console_size_and_resizes(daemon: ContainerDaemon) -> None:
    create(daemon, "sh", "-c", "stty size; sleep 0.3; stty size", name="term", Tty=True,
           host={"ConsoleSize": [40, 120]})
    attachment = daemon.attach("term", stdout=True, stderr=True, stream=True)
    daemon.start("term")
    output = attachment.output()
    first = b""
    while b"\n" not in first:  # the first size is read before we resize
        first += next(output)[1]
    daemon.resize("term", 50, 132)
    rest = b"".join(d for _, d in output)
    assert (first + rest).replace(b"\r", b"") == b"40 120\n50 132\n"
    assert {s for s, _ in daemon.logs("term")} == {"stdout"}


# ---------------------------------------------------------------- stop, kill, restart, pause ----
def test_stop_sends_term_then_kill_after_the_timeout(daemon: ContainerDaemon) -> None:
    c = create(daemon, "sh", "-c", "trap '' TERM; echo ready; while true; do sleep 0.05; done", name="stubborn")
    attachment = daemon.attach("stubborn", stdout=True, stream=True)
    daemon.start("stubborn")
    assert next(attachment.output()) == ("stdout", b"ready\n")  # the trap is set
    pid = c.state.pid
    began = time.monotonic()
    daemon.stop("stubborn", timeout=1)
    took = time.monotonic() - began
    assert 0.9 < took < 4
    assert daemon.inspect("stubborn")["State"]["ExitCode"] == 137 and gone(pid)
    kills = [e["Actor"]["Attributes"]["signal"] for e in daemon.events.history()
             if e["Action"] == "kill" and e["id"] == c.id]
    assert kills == ["15", "9"] and actions(daemon, c.id)[-2:] == ["die", "stop"]
    with pytest.raises(NotModified):
        daemon.stop("stubborn")


def test_stop_of_a_willing_process_is_quick_and_kill_of_a_stopped_one_conflicts(daemon: ContainerDaemon) -> None:
    c = create(daemon, "sleep", "30", name="sleeper")
    daemon.start("sleeper")
    with pytest.raises(NotModified):
        daemon.start("sleeper")
    began = time.monotonic()
    daemon.stop("sleeper", timeout=10)
    assert time.monotonic() - began < 2 and daemon.inspect("sleeper")["State"]["ExitCode"] == 143
    with pytest.raises(Conflict) as caught:
        daemon.kill("sleeper")
    assert str(caught.value) == f"Cannot kill container: sleeper: Container {c.id} is not running"
    with pytest.raises(BadParameter, match="Invalid signal: NOPE"):
        daemon.kill("sleeper", "NOPE")


def test_kill_with_a_signal_and_restart(daemon: ContainerDaemon) -> None:
    c = create(daemon, "sleep", "30", name="victim")
    daemon.start("victim")
    first_pid = c.state.pid
    daemon.restart("victim", timeout=1)
    assert c.state.running and c.state.pid != first_pid and gone(first_pid)
    assert "restart" in actions(daemon, c.id)
    daemon.kill("victim", "SIGINT")
    eventually(lambda: not c.state.running)
    assert c.state.exit_code == 130


def test_pause_and_unpause(daemon: ContainerDaemon) -> None:
    c = create(daemon, "sh", "-c", "while true; do echo tick; sleep 0.02; done", name="ticker")
    daemon.start("ticker")
    eventually(lambda: len(list(daemon.logs("ticker"))) >= 2)
    daemon.pause("ticker")
    assert daemon.summary(c)["Status"].endswith("(Paused)") and daemon.inspect("ticker")["State"]["Paused"]
    with pytest.raises(Conflict, match="is already paused"):
        daemon.pause("ticker")
    with pytest.raises(Conflict, match="try unpause instead"):
        daemon.start("ticker")
    with pytest.raises(Conflict, match="You cannot remove a paused container .* Unpause and then stop"):
        daemon.remove("ticker")
    time.sleep(0.1)
    frozen = len(list(daemon.logs("ticker")))
    time.sleep(0.2)
    assert len(list(daemon.logs("ticker"))) == frozen
    daemon.unpause("ticker")
    eventually(lambda: len(list(daemon.logs("ticker"))) > frozen)
    with pytest.raises(Conflict, match="is not paused"):
        daemon.unpause("ticker")
    daemon.stop("ticker", timeout=1)  # a paused-then-resumed container stops normally


def test_restart_policy_on_failure_2_ends_with_restart_count_2(daemon: ContainerDaemon) -> None:
    c = create(daemon, "sh", "-c", "echo try; exit 1", name="flaky",
               host={"RestartPolicy": {"Name": "on-failure", "MaximumRetryCount": 2}})
    daemon.start("flaky")
    eventually(lambda: actions(daemon, c.id).count("die") == 3 and not c.state.running)
    document = daemon.inspect("flaky")
    assert document["RestartCount"] == 2 and document["State"]["ExitCode"] == 1
    assert document["State"]["Status"] == "exited"
    assert actions(daemon, c.id).count("start") == 3
    assert [d for _, d in daemon.logs("flaky")] == [b"try\n"] * 3


def test_always_restarts_until_stopped_and_shows_restarting(daemon: ContainerDaemon) -> None:
    c = create(daemon, "sh", "-c", "exit 2", name="phoenix", host={"RestartPolicy": {"Name": "always"}})
    daemon.start("phoenix")
    eventually(lambda: c.restart_count >= 3)
    eventually(lambda: c.state.restarting)
    assert daemon.summary(c)["Status"].startswith("Restarting (2) ")
    daemon.stop("phoenix", timeout=1)
    assert not c.state.running and c.state.status() == "exited"
    count = c.restart_count
    time.sleep(0.5)
    assert c.restart_count == count  # a manual stop ends the restarts


# ---------------------------------------------------------------- remove ----
def test_remove_refuses_a_running_container_and_force_leaves_nothing(daemon: ContainerDaemon, tmp_path: Path) -> None:
    c = create(daemon, "sh", "-c", "sleep 30 & sleep 30", name="doomed")
    daemon.start("doomed")
    pids = daemon.driver.get_pids(c.id)
    assert len(pids) >= 2
    with pytest.raises(Conflict) as caught:
        daemon.remove("doomed")
    assert str(caught.value) == (f"You cannot remove a running container {c.id}. "
                                 "Stop the container before attempting removal or force remove")
    removed = daemon.wait("doomed", "removed")
    daemon.remove("doomed", force=True)
    assert removed.result(5)["StatusCode"] == 137
    for pid in pids:
        assert gone(pid)
    assert not (tmp_path / "containers" / c.id).exists()
    assert not (tmp_path / "exec" / "containers" / c.id).exists()
    with pytest.raises(NotFound, match="No such container: doomed"):
        daemon.get("doomed")
    assert actions(daemon, c.id)[-1] == "destroy"
    create(daemon, "true", name="doomed")  # the name is free again


def test_auto_remove_removes_after_the_exit(daemon: ContainerDaemon, tmp_path: Path) -> None:
    c = create(daemon, "echo", "bye", name="ephemeral", host={"AutoRemove": True})
    attachment = daemon.attach("ephemeral", stdout=True, stderr=True, stream=True)
    removed = daemon.wait("ephemeral", "removed")
    daemon.start("ephemeral")
    assert list(attachment.output()) == [("stdout", b"bye\n")]
    assert removed.result(5) == {"StatusCode": 0, "Error": None}
    assert not (tmp_path / "containers" / c.id).exists() and daemon.names.get("ephemeral") is None
    assert actions(daemon, c.id)[-2:] == ["die", "destroy"]


def test_auto_remove_with_a_restart_policy_is_refused(daemon: ContainerDaemon) -> None:
    with pytest.raises(BadParameter, match="Conflicting options: AutoRemove and RestartPolicy"):
        create(daemon, "true", host={"AutoRemove": True, "RestartPolicy": {"Name": "always"}})


# ---------------------------------------------------------------- bad input leaves nothing ----
def test_failed_creates_leave_no_directory_and_no_name(daemon: ContainerDaemon, tmp_path: Path) -> None:
    first = create(daemon, "true", name="taken")
    before = sorted(p.name for p in (tmp_path / "containers").iterdir())
    with pytest.raises(Conflict) as caught:
        create(daemon, "true", name="taken")
    assert str(caught.value) == (f'Conflict. The container name "/taken" is already in use by container '
                                 f'"{first.id}". You have to remove (or rename) that container to be able '
                                 f'to reuse that name.')
    bad = [
        (BadParameter, "Invalid container name", lambda: create(daemon, "true", name="-bad")),
        (BadParameter, "No command specified", lambda: daemon.create({"Image": BUSYBOX}, {}, "nocmd")),
        (BadParameter, "invalid restart policy 'sometimes'",
         lambda: create(daemon, "true", name="pol", host={"RestartPolicy": {"Name": "sometimes"}})),
        (BadParameter, "Go struct field Config.Tty of type bool", lambda: create(daemon, "true", name="ty", Tty="yes")),
        (NotImplementedByChapter, "chapter 06",
         lambda: create(daemon, "true", name="ports", host={"PortBindings": {"80/tcp": [{"HostPort": "8080"}]}})),
    ]
    for error, words, action in bad:
        with pytest.raises(error, match=words):
            action()
    assert sorted(p.name for p in (tmp_path / "containers").iterdir()) == before
    assert len(daemon.names) == 1 and len(daemon.list(all=True)) == 1


def test_a_command_that_is_not_found(daemon: ContainerDaemon) -> None:
    c = create(daemon, "nosuch", name="missing")
    with pytest.raises(BadParameter) as caught:
        daemon.start("missing")
    assert 'exec: "nosuch": executable file not found in $PATH' in str(caught.value)
    state = daemon.inspect("missing")["State"]
    assert (state["Status"], state["ExitCode"]) == ("created", 127) and "nosuch" in state["Error"]
    gone_too = create(daemon, "nosuch", name="missing-rm", host={"AutoRemove": True})
    with pytest.raises(BadParameter):
        daemon.start("missing-rm")
    with pytest.raises(NotFound):
        daemon.get(gone_too.id)  # --rm removes it even when it never ran, as dockerd
    assert c.id in {x.id for x in daemon.list(all=True)}


# ---------------------------------------------------------------- names, ps, inspect ----
def test_get_by_name_id_prefix_and_rename(daemon: ContainerDaemon) -> None:
    c = create(daemon, "true", name="alpha")
    assert daemon.get("alpha") is daemon.get("/alpha") is daemon.get(c.id) is daemon.get(c.id[:6]) is c
    daemon.rename("alpha", "beta")
    assert daemon.get("beta") is c and daemon.inspect("beta")["Name"] == "/beta"
    with pytest.raises(NotFound):
        daemon.get("alpha")
    rename = [e for e in daemon.events.history() if e["Action"] == "rename"][0]
    assert rename["Actor"]["Attributes"]["oldName"] == "/alpha" and rename["Actor"]["Attributes"]["name"] == "beta"
    with pytest.raises(BadParameter, match="same name"):
        daemon.rename("beta", "beta")
    generated = create(daemon, "true")
    assert generated.name.count("_") >= 1 and generated.name.startswith("/")


def test_ps_lists_newest_first_with_filters_and_docker_shapes(daemon: ContainerDaemon) -> None:
    done = create(daemon, "true", name="done", Labels={"tier": "db"})
    daemon.start("done")
    daemon.wait("done").result(5)
    live = create(daemon, "sleep", "30", name="live", Labels={"tier": "web"})
    daemon.start("live")
    fresh = create(daemon, "true", name="fresh")
    assert [c.name for c in daemon.list()] == ["/live"]
    assert [c.name for c in daemon.list(all=True)] == ["/fresh", "/live", "/done"]
    assert [c.name for c in daemon.list(filters={"status": ["exited"]})] == ["/done"]
    assert [c.name for c in daemon.list(filters={"status": ["created"]})] == ["/fresh"]
    assert [c.name for c in daemon.list(all=True, filters={"label": ["tier=web"]})] == ["/live"]
    assert [c.name for c in daemon.list(all=True, filters={"name": ["^/d"]})] == ["/done"]
    assert [c.name for c in daemon.list(filters={"exited": ["0"]})] == ["/done"]
    assert [c.name for c in daemon.list(limit=1)] == ["/fresh"]
    assert [c.name for c in daemon.list(filters={"before": ["fresh"]})] == ["/live", "/done"]
    with pytest.raises(BadParameter, match="Invalid filter 'colour'"):
        daemon.list(filters={"colour": ["red"]})
    item = daemon.summary(live)
    assert item["Names"] == ["/live"] and item["Command"] == "sleep 30" and item["State"] == "running"
    assert item["Status"].startswith("Up ") and isinstance(item["Created"], int)
    assert daemon.summary(fresh)["Status"] == "Created"
    assert daemon.summary(done)["Status"].startswith("Exited (0) ")
    document = daemon.inspect("live")
    assert document["Config"]["Tty"] is False and document["Config"]["Hostname"] == live.id[:12]
    assert document["HostConfig"]["RestartPolicy"] == {"Name": "no", "MaximumRetryCount": 0}
    assert document["NetworkSettings"]["Ports"] == {} and document["Mounts"] == []
    assert document["Created"].endswith("Z") and document["LogPath"].endswith(f"{live.id}-json.log")


def test_top_lists_the_containers_processes(daemon: ContainerDaemon) -> None:
    c = create(daemon, "sleep", "30", name="topped")
    daemon.start("topped")
    top = daemon.top("topped")
    assert "PID" in top["Titles"] and "CMD" in top["Titles"]
    pid_column = top["Titles"].index("PID")
    assert [row[pid_column] for row in top["Processes"]] == [str(c.state.pid)]
    assert top["Processes"][0][-1] == "sleep 30"


# ---------------------------------------------------------------- exec ----
def test_exec_output_and_exit_code(daemon: ContainerDaemon) -> None:
    create(daemon, "sleep", "30", name="host-of-execs")
    daemon.start("host-of-execs")
    exec_id = daemon.exec_create("host-of-execs", {"Cmd": ["sh", "-c", "echo from-exec; echo e >&2; exit 2"],
                                                   "AttachStdout": True, "AttachStderr": True})
    attachment = daemon.exec_start(exec_id)
    assert attachment is not None
    assert sorted(attachment.output()) == [("stderr", b"e\n"), ("stdout", b"from-exec\n")]
    document = daemon.exec_inspect(exec_id)  # the exit code is there the moment the stream ends
    assert (document["ExitCode"], document["Running"]) == (2, False)
    assert document["ProcessConfig"]["entrypoint"] == "sh"
    with pytest.raises(Conflict, match="has already run"):
        daemon.exec_start(exec_id)
    missing = daemon.exec_create("host-of-execs", {"Cmd": ["nosuch"], "AttachStdout": True})
    output = b"".join(d for _, d in daemon.exec_start(missing).output())  # type: ignore[union-attr]
    assert b"executable file not found" in output and daemon.exec_inspect(missing)["ExitCode"] == 127
    detached = daemon.exec_create("host-of-execs", {"Cmd": ["sleep", "30"]})
    assert daemon.exec_start(detached, detach=True) is None
    exec_pid = daemon.exec_inspect(detached)["Pid"]
    assert daemon.exec_inspect(detached)["Running"] and exec_pid in daemon.driver.get_pids(daemon.get("host-of-execs").id)
    daemon.stop("host-of-execs", timeout=1)  # the container's end takes its execs along
    eventually(lambda: gone(exec_pid) and daemon.exec_inspect(detached)["Running"] is False)
    with pytest.raises(Conflict, match="is not running"):
        daemon.exec_create("host-of-execs", {"Cmd": ["true"]})
    with pytest.raises(NotFound, match="No such exec instance"):
        daemon.exec_inspect("nope")


# ---------------------------------------------------------------- events ----
def test_events_subscribers_get_the_past_and_the_present_filtered(daemon: ContainerDaemon) -> None:
    since = time.time()
    c = create(daemon, "true", name="watched")
    create(daemon, "true", name="ignored")
    with daemon.events.subscribe(since=since, filters={"container": ["watched"]}) as sub:
        daemon.start("watched")
        got = []
        while len(got) < 3:
            event = sub.get(timeout=5)
            assert event is not None
            got.append(event["Action"])
    assert got == ["create", "start", "die"]
    with daemon.events.subscribe(since=since, until=time.time(), filters={"event": ["create"]}) as past:
        assert [e["Actor"]["Attributes"]["name"] for e in past] == ["watched", "ignored"]
    with pytest.raises(BadParameter, match="Invalid filter 'colour'"):
        daemon.events.subscribe(filters={"colour": ["red"]})
    live = daemon.events.subscribe()
    reader = threading.Thread(target=lambda: list(live))
    reader.start()
    daemon.shutdown(1)  # the daemon stops: event streams end
    reader.join(5)
    assert not reader.is_alive() and c.id


# ---------------------------------------------------------------- many, and a daemon restart ----
def test_twenty_containers_in_parallel(daemon: ContainerDaemon) -> None:
    results: dict[int, tuple] = {}

    def one(n: int) -> None:
        c = create(daemon, "sh", "-c", f"echo n={n}; exit {n % 7}", name=f"par{n}")
        handle = daemon.wait(c.id, "next-exit")
        daemon.start(c.id)
        results[n] = (handle.result(20)["StatusCode"], [d for _, d in daemon.logs(c.id)])

    threads = [threading.Thread(target=one, args=(n,)) for n in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert results == {n: (n % 7, [f"n={n}\n".encode()]) for n in range(20)}
    assert len(daemon.list(all=True)) == 20


def test_a_new_daemon_on_the_same_root_finds_every_record(tmp_path: Path) -> None:
    first = ContainerDaemon(tmp_path / "containers", tmp_path / "exec", Engine())
    done = create(first, "sh", "-c", "echo kept", name="kept")
    first.start("kept")
    first.wait("kept").result(5)
    running = create(first, "sleep", "30", name="running-at-shutdown")
    first.start("running-at-shutdown")
    pid = running.state.pid
    create(first, "true", name="never-started")
    first.shutdown(2)  # stops the running one: TERM, as dockerd without live-restore
    assert gone(pid)

    second = ContainerDaemon(tmp_path / "containers", tmp_path / "exec", Engine())
    try:
        assert {c.name for c in second.list(all=True)} == {"/kept", "/running-at-shutdown", "/never-started"}
        assert second.get("kept").id == done.id
        assert second.inspect("kept")["State"]["ExitCode"] == 0
        assert second.inspect("running-at-shutdown")["State"]["ExitCode"] == 143
        assert second.inspect("never-started")["State"]["Status"] == "created"
        assert list(second.logs("kept")) == [("stdout", b"kept\n")]
        with pytest.raises(Conflict):
            create(second, "true", name="kept")  # names came back too
        second.start("kept")  # and it runs again
        assert second.wait("kept").result(5)["StatusCode"] == 0
        assert [d for _, d in second.logs("kept")] == [b"kept\n", b"kept\n"]
    finally:
        second.shutdown(2)


# ---------------------------------------------------------------- slow clients ----
def test_a_slow_attacher_is_ended_and_never_blocks_the_container(daemon: ContainerDaemon,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    import minidock.containers.streams as streams

    monkeypatch.setattr(streams, "MAX_QUEUED", 64 * 1024)
    create(daemon, "sh", "-c", "i=0; while [ $i -lt 4000 ]; do echo line-$i-padding-padding-padding; "
           "i=$((i+1)); done", name="chatty")
    slow = daemon.attach("chatty", stdout=True, stream=True)  # never read while it runs
    fast = daemon.attach("chatty", stdout=True, stream=True)
    handle = daemon.wait("chatty", "next-exit")
    got = []
    reader = threading.Thread(target=lambda: got.extend(d for _, d in fast.output()))
    reader.start()
    daemon.start("chatty")
    assert handle.result(20)["StatusCode"] == 0  # the container finished: nobody held it up
    reader.join(10)
    assert b"".join(got).count(b"\n") == 4000  # a reader that keeps up gets everything
    assert slow.ended and slow.end_reason == "slow reader"
    assert 0 < b"".join(d for _, d in slow.output()).count(b"\n") < 4000  # what was queued, then the end
    assert len(list(daemon.logs("chatty"))) == 4000  # the log has it all


def test_detach_ends_the_output_and_the_container_runs_on(daemon: ContainerDaemon) -> None:
    c = create(daemon, "sleep", "30", name="detached")
    attachment = daemon.attach("detached", stdout=True, stream=True)
    daemon.start("detached")
    reader = threading.Thread(target=lambda: list(attachment.output()))
    reader.start()
    attachment.close()
    reader.join(5)
    assert not reader.is_alive() and c.state.running


def test_the_event_bus_keeps_a_bounded_history_and_drops_slow_subscribers(monkeypatch: pytest.MonkeyPatch) -> None:
    import minidock.containers.events as events

    bus = events.EventBus(history=10)
    for n in range(25):
        bus.publish("container", "create", f"{n:064x}", {"name": f"c{n}"})
    history = bus.history()
    assert len(history) == 10 and history[0]["Actor"]["Attributes"]["name"] == "c15"
    with bus.subscribe(since=1, until=time.time()) as past:
        assert len(list(past)) == 10
    monkeypatch.setattr(events, "SUBSCRIBER_QUEUE", 5)
    slow = bus.subscribe()
    for n in range(8):
        bus.publish("container", "start", f"{n:064x}", {"name": f"c{n}"})  # never blocks
    assert len(list(slow)) == 5  # what fitted, then the end
    with bus.subscribe(filters={"event": ["exec_start"], "type": ["container"]}) as sub:
        bus.publish("container", "exec_start: sh -c true", "a" * 64, {"name": "x", "execID": "e"})
        bus.publish("container", "start", "a" * 64, {"name": "x"})
        assert sub.get(1)["Action"] == "exec_start: sh -c true"
        assert sub.get(0.1) is None


def dead(pid: int) -> bool:
    """Gone, or a zombie nobody reaped yet (this test process may be its subreaper)."""
    try:
        with open(f"/proc/{pid}/stat") as file:
            state = file.read().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return True
    if state == "Z":
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass
        return True
    return False


def test_a_daemon_killed_with_sigkill_takes_its_containers_along(tmp_path: Path) -> None:
    """The previous daemon dies without a shutdown: its container processes die with it
    (PR_SET_PDEATHSIG), and the next daemon marks them exited (255) without signalling."""
    import signal
    import subprocess
    import sys
    import textwrap

    script = textwrap.dedent(f"""
        import sys, time
        from minidock.containers.daemon import ContainerDaemon
        from minidock.engine import Engine
        d = ContainerDaemon({str(tmp_path / "containers")!r}, {str(tmp_path / "exec")!r}, Engine())
        c, _ = d.create({{"Image": "busybox", "Cmd": ["sleep", "60"]}}, {{}}, "orphan")
        d.start("orphan")
        print(c.state.pid, flush=True)
        time.sleep(60)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, env={**os.environ})
    assert proc.stdout is not None
    pid = int(proc.stdout.readline())
    assert not dead(pid)
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    proc.stdout.close()
    eventually(lambda: dead(pid))
    second = ContainerDaemon(tmp_path / "containers", tmp_path / "exec", Engine())
    try:
        state = second.inspect("orphan")["State"]
        assert (state["Status"], state["ExitCode"], state["Pid"]) == ("exited", 255, 0)
        assert "previous daemon" in state["Error"]
    finally:
        second.shutdown(1)
