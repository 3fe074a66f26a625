"""The json-file log: Docker's default logging driver (`daemon/logger/jsonfilelog`).

Every line a container writes becomes one JSON object on one line of
`<data-root>/containers/<id>/<id>-json.log`:

    {"log":"hi\\n","stream":"stdout","time":"2026-11-28T06:24:56.113801018Z"}

`docker logs` reads this file back (with `--tail`, `--since`, `--until`,
`-f`); `docker attach --logs` replays it. The writer cuts the output at
newlines and keeps an unfinished line until its newline, or the end of the
stream, arrives - so `printf 'a'; sleep 1; echo b` is one entry `ab\\n`,
as with dockerd. A line longer than `MAX_LINE` is written in pieces (dockerd
does the same at 16 KiB), each piece without a newline.

The file is written under `cond`'s lock; followers (`logs -f`) wait on it.
"""

from __future__ import annotations

import collections
import json
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from minidock.containers.times import now_ns, parse_rfc3339_nano, rfc3339_nano

MAX_LINE = 16 * 1024
STREAMS = ("stdout", "stderr")


@dataclass(frozen=True)
class LogEntry:
    stream: str      # "stdout" or "stderr"
    data: bytes      # one line, with its "\n" (the last piece of a stream may lack it)
    time_ns: int


# --8<-- [start:encode]
def encode_entry(stream: str, data: bytes, at_ns: int) -> bytes:
    """One log line. Go's encoder escapes <, > and & (as \\u003c ...), and so do we:
    those characters can only occur inside strings, so replacing them is safe.
    Bytes that are not UTF-8 become U+FFFD, as in Go."""
    text = json.dumps({"log": data.decode("utf-8", "replace"), "stream": stream, "time": rfc3339_nano(at_ns)},
                      ensure_ascii=False, separators=(",", ":"))
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return text.encode("utf-8") + b"\n"
# --8<-- [end:encode]


def decode_entry(line: bytes) -> LogEntry | None:
    """The entry on one line of the file, or None for a line that is not one (skipped, as dockerd does)."""
    try:
        record = json.loads(line)
        return LogEntry(record["stream"], record["log"].encode("utf-8"), parse_rfc3339_nano(record["time"]))
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


# --8<-- [start:writer]
class JSONFileLog:
    """The log of one container: the writer, and what followers wait on."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.cond = threading.Condition(threading.RLock())
        self._fd: int | None = None
        self._partial: dict[str, bytearray] = {s: bytearray() for s in STREAMS}
        self.size = path.stat().st_size if path.exists() else 0  # bytes written so far
        self.running = False   # a run is in progress: followers keep following
        self.runs_ended = 0    # how many runs have ended: a follower stops when this grows
        self.closed = False

    def _write_line(self, stream: str, data: bytes, at_ns: int) -> None:
        if self._fd is None:
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o640)
        encoded = encode_entry(stream, data, at_ns)
        os.write(self._fd, encoded)  # one write per line: a reader sees whole lines or nothing new
        self.size += len(encoded)

    def write(self, stream: str, data: bytes) -> None:
        """Output of the container: whole lines go to the file, the rest waits."""
        with self.cond:
            if self.closed:
                return
            at = now_ns()
            partial = self._partial[stream]
            partial += data
            while True:
                newline = partial.find(b"\n")
                if newline < 0 and len(partial) < MAX_LINE:
                    break
                cut = newline + 1 if 0 <= newline < MAX_LINE else MAX_LINE
                self._write_line(stream, bytes(partial[:cut]), at)
                del partial[:cut]
            self.cond.notify_all()

    def flush(self, stream: str) -> None:
        """End of one stream: its unfinished line is written as it is."""
        with self.cond:
            partial = self._partial[stream]
            if partial and not self.closed:
                self._write_line(stream, bytes(partial), now_ns())
            partial.clear()
            self.cond.notify_all()

    def begin_run(self) -> None:
        with self.cond:
            self.running = True
            self.cond.notify_all()

    def end_run(self) -> None:
        """The process's output is over: flush both streams; followers finish."""
        with self.cond:
            for stream in STREAMS:
                self.flush(stream)
            self.running = False
            self.runs_ended += 1
            self.cond.notify_all()

    def close(self) -> None:
        """The container is removed: no more writes; followers end."""
        with self.cond:
            for stream in STREAMS:
                self.flush(stream)
            self.closed = True
            self.running = False
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
            self.cond.notify_all()
# --8<-- [end:writer]


def read_entries(path: Path, start: int = 0, end: int | None = None) -> Iterator[tuple[LogEntry | None, int]]:
    """Entries between byte offsets `start` and `end`, each with the offset after it
    (None for a line that is not an entry). Only complete lines are read: a line
    still being written is left for later."""
    try:
        with open(path, "rb") as file:
            file.seek(start)
            data = file.read() if end is None else file.read(max(end - start, 0))
    except FileNotFoundError:
        return
    offset = start
    for line in data.splitlines(keepends=True):
        if not line.endswith(b"\n"):
            return
        offset += len(line)
        yield decode_entry(line), offset


# --8<-- [start:select]
def select_entries(entries: Iterator[LogEntry], *, streams: frozenset[str] | set[str], since_ns: int = 0,
                   until_ns: int = 0, tail: int | None = None) -> list[LogEntry]:
    """`--since`, `--until` and `--tail` over the entries of the streams asked for.
    `tail` None (or negative) means all; `tail=0` means none."""
    wanted = (e for e in entries
              if e.stream in streams and e.time_ns >= since_ns and (not until_ns or e.time_ns <= until_ns))
    if tail is None or tail < 0:
        return list(wanted)
    return list(collections.deque(wanted, maxlen=tail)) if tail else []
# --8<-- [end:select]


class LogStream:
    """`docker logs [-f]`: an iterator of `(stream, bytes)`.

    First the entries already in the file (after `--since`/`--tail`), then,
    when following, new entries as they are written, until the run that was
    in progress when we started ends, `until` passes, or `close()` is called
    (from any thread: the API calls it when its client goes away)."""

    def __init__(self, log: JSONFileLog, *, streams: set[str], since_ns: int = 0, until_ns: int = 0,
                 tail: int | None = None, follow: bool = False) -> None:
        self.log = log
        self.streams = frozenset(streams)
        self.until_ns = until_ns
        with log.cond:
            end = log.size
            generation = log.runs_ended
            self.follow = follow and log.running and not log.closed
        entries = (entry for entry, _ in read_entries(log.path, 0, end) if entry is not None)
        self._pending = collections.deque(
            select_entries(entries, streams=self.streams, since_ns=since_ns, until_ns=until_ns, tail=tail))
        self._offset = end
        self._generation = generation
        self._closed = False

    def close(self) -> None:
        with self.log.cond:
            self._closed = True
            self.log.cond.notify_all()

    def __iter__(self) -> LogStream:
        return self

    def __next__(self) -> LogEntry:
        while True:
            if self._closed:
                raise StopIteration
            if self._pending:
                return self._pending.popleft()
            if not self.follow:
                raise StopIteration
            with self.log.cond:
                ended = self.log.runs_ended != self._generation or self.log.closed
            got = False
            for entry, offset in read_entries(self.log.path, self._offset):
                self._offset = offset
                if entry is None:
                    continue
                if self.until_ns and entry.time_ns > self.until_ns:
                    self.follow = False
                    break
                if entry.stream in self.streams:
                    self._pending.append(entry)
                    got = True
            if got:
                continue
            if ended or (self.until_ns and now_ns() > self.until_ns):
                raise StopIteration
            with self.log.cond:
                if self.log.size == self._offset and not self._closed and self.log.runs_ended == self._generation \
                        and not self.log.closed:
                    self.log.cond.wait(0.5)
