"""One daemon at a time: the pidfile, held with a lock.

dockerd writes its pid to `/var/run/docker.pid` and, at start-up, refuses to
run if that file names a process that is alive ("pid file found, ensure
docker is not running or delete /var/run/docker.pid"). "Alive" is a weak
test: after a crash and a reboot, the old pid may belong to any process, and
the daemon then refuses to start until someone deletes the file.

We keep dockerd's file and message, and decide "is a daemon running?" with a
lock instead of a pid: the daemon holds an exclusive `flock` on its pidfile
for as long as it runs, and the kernel drops the lock when the process dies,
however it dies. So:

* the lock is held by someone: a live daemon -> refuse, naming its pid;
* the lock is free: whatever pid the file names, dead or alive, it is not a
  running minidockd (a crashed daemon, or a reused pid) -> take the file over.

The descriptor is close-on-exec (Python's default), so processes the daemon
starts in later chapters never inherit the lock.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path


class PidFileError(RuntimeError):
    """Another daemon holds the pidfile, or the file cannot be written."""


# --8<-- [start:pidfile]
class PidFile:
    """`<path>` holds our pid, and our lock on it says that we are running."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def acquire(self) -> None:
        """Lock and write the file, or raise PidFileError if a live daemon holds it."""
        while True:
            try:
                self.path.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            except OSError as exc:
                raise PidFileError(f"cannot open pid file {self.path}: {exc.strerror}") from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _read_pid(fd)
                os.close(fd)
                running = f" (it is held by pid {holder})" if holder else ""
                raise PidFileError(
                    f"pid file found, ensure minidockd is not running or delete {self.path}{running}") from None
            if _same_file(fd, self.path):
                break
            os.close(fd)  # a daemon that was exiting unlinked the file we locked: open the new one
        # The lock is ours: any pid written there before is stale, so overwrite it.
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        os.fsync(fd)
        self._fd = fd

    def release(self) -> None:
        """Remove the file, then drop the lock (in this order: a new daemon that
        takes the lock in between would otherwise lose its file to our unlink)."""
        if self._fd is None:
            return
        try:
            if _same_file(self._fd, self.path):
                self.path.unlink()
        finally:
            os.close(self._fd)
            self._fd = None
# --8<-- [end:pidfile]

    def __enter__(self) -> PidFile:
        self.acquire()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()


def _read_pid(fd: int) -> int | None:
    text = os.pread(fd, 32, 0).decode(errors="replace").strip()
    return int(text) if text.isdigit() else None


def _same_file(fd: int, path: Path) -> bool:
    """Is `path` still the file we locked (not deleted and recreated by someone)?"""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return False
    mine = os.fstat(fd)
    return (st.st_dev, st.st_ino) == (mine.st_dev, mine.st_ino)
