"""The container store: atomic records, round trips, and what a restarted daemon finds."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from minidock.containers.container import Container, build_config, build_host_config, new_id
from minidock.containers.store import CONFIG_FILE, HOSTCONFIG_FILE, ContainerStore, write_atomic
from minidock.engine import Engine


def make_container(store: ContainerStore, name: str = "/web") -> Container:
    container_id = new_id()
    config = build_config({"Image": "busybox", "Cmd": ["echo", "hi there"], "Env": ["A=1"]}, {}, container_id)
    host_config = build_host_config({"RestartPolicy": {"Name": "always", "MaximumRetryCount": 0}})
    store.create(container_id)
    return Container.new(container_id, name, config, host_config, "", "host", str(store.log_path(container_id)))


def test_new_ids_are_64_hex_and_never_read_as_numbers() -> None:
    ids = {new_id() for _ in range(200)}
    assert len(ids) == 200
    for value in ids:
        assert len(value) == 64 and int(value, 16) >= 0 and not value[:12].isdigit()


def test_write_atomic_replaces_the_whole_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "record.json"
    write_atomic(target, b"old")
    write_atomic(target, b"new")
    assert target.read_bytes() == b"new"
    assert oct(target.stat().st_mode & 0o777) == "0o600"
    assert [p.name for p in tmp_path.iterdir()] == ["record.json"]


def test_write_atomic_failure_keeps_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "record.json"
    write_atomic(target, b"old")

    def broken(*args: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", broken)
    with pytest.raises(OSError):
        write_atomic(target, b"new")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["record.json"]


def test_records_round_trip(tmp_path: Path) -> None:
    store = ContainerStore(tmp_path)
    container = make_container(store)
    container.state.set_running(1234)
    container.state.set_stopped(3)
    container.restart_count = 2
    store.save(container.id, container.to_record(), container.host_config)
    files = sorted(p.name for p in store.directory(container.id).iterdir())
    assert files == [CONFIG_FILE, HOSTCONFIG_FILE]
    record = json.loads((store.directory(container.id) / CONFIG_FILE).read_bytes())
    assert record["ID"] == container.id and record["Name"] == "/web" and record["State"]["ExitCode"] == 3
    [(loaded_record, loaded_host_config)] = list(store.load_all())
    copy = Container.from_record(loaded_record, loaded_host_config)
    assert copy.to_record() == container.to_record()
    assert copy.host_config == container.host_config
    assert copy.command() == "echo 'hi there'"


def test_half_created_directories_are_removed_and_bad_records_kept(tmp_path: Path) -> None:
    store = ContainerStore(tmp_path)
    (tmp_path / new_id()).mkdir()                  # a crash between mkdir and the first save
    broken = tmp_path / new_id()
    broken.mkdir()
    (broken / CONFIG_FILE).write_text("{not json")
    assert list(store.load_all()) == []
    assert [p for p in tmp_path.iterdir()] == [broken]  # kept for a human to look at


def test_a_restarted_daemon_finds_its_containers_and_marks_dead_processes_exited(tmp_path: Path) -> None:
    """The record says running, with a pid; the process went with the previous daemon.
    The new daemon says exited (255) with a clear error, and signals nothing: we point the
    record at our own pid, which must survive."""
    from minidock.containers.daemon import DIED_WITH_DAEMON, ContainerDaemon

    root = tmp_path / "containers"
    store = ContainerStore(root)
    running = make_container(store, "/was-running")
    running.host_config["RestartPolicy"] = {"Name": "no", "MaximumRetryCount": 0}
    running.state.set_running(os.getpid())
    store.save(running.id, running.to_record(), running.host_config)
    created = make_container(store, "/never-started")
    created.host_config["RestartPolicy"] = {"Name": "no", "MaximumRetryCount": 0}
    store.save(created.id, created.to_record(), created.host_config)

    daemon = ContainerDaemon(root, tmp_path / "exec", Engine())
    try:
        assert {c.name for c in daemon.list(all=True)} == {"/was-running", "/never-started"}
        state = daemon.inspect("was-running")["State"]
        assert (state["Status"], state["ExitCode"], state["Running"], state["Pid"]) == ("exited", 255, False, 0)
        assert state["Error"] == DIED_WITH_DAEMON
        assert daemon.summary(daemon.get("was-running"))["Status"].startswith("Exited (255)")
        assert daemon.inspect("never-started")["State"]["Status"] == "created"
        on_disk = json.loads((root / running.id / CONFIG_FILE).read_bytes())
        assert on_disk["State"]["Running"] is False  # and the correction is saved
    finally:
        daemon.shutdown(1)
