"""The pidfile: one daemon at a time, decided by a lock, not by "is that pid alive?"."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from minidock.daemon.pidfile import PidFile, PidFileError

HOLDER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from minidock.daemon.pidfile import PidFile
    PidFile(Path(sys.argv[1])).acquire()
    print("locked", flush=True)
    time.sleep(60)
""")


def hold_in_another_process(path: Path) -> subprocess.Popen:
    """A process that acquires `path` and keeps it, as a running daemon does."""
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(path)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "locked"
    return proc


def test_acquire_writes_our_pid_and_release_removes_the_file(tmp_path: Path) -> None:
    path = tmp_path / "run" / "minidockd.pid"  # the directory is created too
    pidfile = PidFile(path)
    pidfile.acquire()
    assert path.read_text() == f"{os.getpid()}\n"
    pidfile.release()
    assert not path.exists()
    pidfile.release()  # twice is harmless


def test_a_pidfile_held_by_a_live_daemon_is_refused_with_its_pid(tmp_path: Path) -> None:
    path = tmp_path / "minidockd.pid"
    holder = hold_in_another_process(path)
    try:
        with pytest.raises(PidFileError) as refused:
            PidFile(path).acquire()
        message = str(refused.value)
        assert f"ensure minidockd is not running or delete {path}" in message
        assert f"pid {holder.pid}" in message
        assert path.read_text().strip() == str(holder.pid), "the refused daemon must not touch the file"
    finally:
        holder.kill()
        holder.wait()


def test_the_lock_dies_with_its_process_so_a_crashed_daemon_is_taken_over(tmp_path: Path) -> None:
    path = tmp_path / "minidockd.pid"
    holder = hold_in_another_process(path)
    holder.send_signal(signal.SIGKILL)  # no clean-up: the file stays, naming a dead pid
    holder.wait()
    assert path.read_text().strip() == str(holder.pid)
    with PidFile(path):
        assert path.read_text() == f"{os.getpid()}\n"


def test_a_pidfile_naming_a_dead_process_is_stale(tmp_path: Path) -> None:
    dead = subprocess.Popen(["true"])
    dead.wait()
    path = tmp_path / "minidockd.pid"
    path.write_text(f"{dead.pid}\n")
    with PidFile(path):
        assert path.read_text() == f"{os.getpid()}\n"


def test_a_pidfile_naming_a_live_process_that_holds_no_lock_is_stale(tmp_path: Path) -> None:
    """dockerd would refuse here (the pid is alive); a reused pid is no daemon, so we take over."""
    other = subprocess.Popen(["sleep", "30"])
    try:
        path = tmp_path / "minidockd.pid"
        path.write_text(f"{other.pid}\n")
        with PidFile(path):
            assert path.read_text() == f"{os.getpid()}\n"
        assert other.poll() is None, "taking the file over must not touch the process it named"
    finally:
        other.kill()
        other.wait()


@pytest.mark.parametrize("content", ["", "garbage\n", "12345678901234567890\n" * 3])
def test_a_pidfile_with_junk_is_stale(tmp_path: Path, content: str) -> None:
    path = tmp_path / "minidockd.pid"
    path.write_text(content)
    with PidFile(path):
        assert path.read_text() == f"{os.getpid()}\n"


def test_two_pidfile_objects_in_one_process_exclude_each_other(tmp_path: Path) -> None:
    path = tmp_path / "minidockd.pid"
    with PidFile(path):
        with pytest.raises(PidFileError):
            PidFile(path).acquire()


def test_release_leaves_a_file_that_is_not_ours_anymore(tmp_path: Path) -> None:
    path = tmp_path / "minidockd.pid"
    pidfile = PidFile(path)
    pidfile.acquire()
    path.unlink()
    path.write_text("4242\n")  # someone deleted ours and wrote another
    pidfile.release()
    assert path.read_text() == "4242\n"


def test_an_unusable_pidfile_path_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    with pytest.raises(PidFileError, match=f"cannot open pid file {blocker}/minidockd.pid"):
        PidFile(blocker / "minidockd.pid").acquire()


CRASHING_PARENT = textwrap.dedent("""
    import os, subprocess, sys
    from pathlib import Path
    from minidock.daemon.pidfile import PidFile
    PidFile(Path(sys.argv[1])).acquire()
    # a process the daemon started (not on our pipes, so that run() returns at once)
    child = subprocess.Popen(["sleep", "30"], close_fds=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    print(child.pid, flush=True)
    os._exit(0)  # the daemon dies without releasing anything; its child lives on
""")


def test_the_lock_is_not_inherited_by_child_processes(tmp_path: Path) -> None:
    """Later chapters start processes from the daemon: they must not keep a dead daemon 'running'."""
    path = tmp_path / "minidockd.pid"
    parent = subprocess.run([sys.executable, "-c", CRASHING_PARENT, str(path)], capture_output=True, text=True,
                            check=True)
    child_pid = int(parent.stdout)
    try:
        os.kill(child_pid, 0)  # the child is alive
        with PidFile(path):
            assert path.read_text() == f"{os.getpid()}\n"
    finally:
        os.kill(child_pid, signal.SIGKILL)
