"""A container's streams: stdin from attached clients, output to the log and to every attachment.

This is Docker's `container/stream.Config` (in 1.5, the `broadcastwriter`
and the `stdin`/`stdinPipe` pair on the container). The execution driver
writes the process's output into two *sinks*, stdout and stderr; each
write goes, under one lock,

  1. to the json-file log (`jsonfile.py`), which keeps everything, and
  2. to every live `Attachment` (`docker attach`, `docker run` in the foreground).

A slow attacher must never stall the container. Docker 1.5's broadcaster
wrote to each attacher in turn, so one stuck client blocked the process's
output; we give each attachment a queue bounded in bytes (`MAX_QUEUED`),
and an attachment that falls that far behind is *ended* (its client gets
what was queued, then end of stream; the daemon logs why). Dropping bytes
silently instead would hand the client a stream with holes in it; the log
still has everything, for `docker logs`.

Stdin goes the other way: attached clients write into a `StdinPipe`, and
the driver copies it into the process. The pipe exists before the process
does, because `docker run -i` attaches and may send input before `start`.
"""

from __future__ import annotations

import collections
import logging
import threading
from collections.abc import Iterator

from minidock.containers.jsonfile import JSONFileLog, read_entries

MAX_QUEUED = 4 * 1024 * 1024   # bytes an attachment may fall behind before it is ended
STDIN_LIMIT = 1024 * 1024      # bytes of stdin buffered before a writer has to wait

logger = logging.getLogger("minidockd")


# --8<-- [start:stdin_pipe]
class StdinPipe:
    """Bytes for the process's stdin: written by attachers, read by the driver.

    `close()` is end of input: the reader gets what is buffered, then b"".
    Writes after that are dropped (the process will never read them)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._buffer = bytearray()
        self.closed = False

    def write(self, data: bytes) -> None:
        with self._cond:
            while len(self._buffer) >= STDIN_LIMIT and not self.closed:
                self._cond.wait()  # the process is not reading: hold the writer back
            if not self.closed:
                self._buffer += data
                self._cond.notify_all()

    def read(self, timeout: float | None = None) -> bytes | None:
        """Buffered bytes; b"" at end of input; None if nothing came within `timeout`."""
        with self._cond:
            if not self._cond.wait_for(lambda: self._buffer or self.closed, timeout):
                return None
            data = bytes(self._buffer)
            self._buffer.clear()
            self._cond.notify_all()
            return data

    def close(self) -> None:
        with self._cond:
            self.closed = True
            self._cond.notify_all()
# --8<-- [end:stdin_pipe]


class OutputSink:
    """One of the process's output streams, as the driver sees it: `write` and `close`."""

    def __init__(self, streams: ContainerStreams, name: str) -> None:
        self._streams = streams
        self.name = name

    def write(self, data: bytes) -> None:
        if data:
            self._streams.broadcast(self.name, data)

    def close(self) -> None:
        self._streams.close_stream(self.name)


# --8<-- [start:attachment]
class Attachment:
    """One attached client: `output()` yields `(stream, bytes)` until the run's output
    ends, the attachment is closed (detach) or it falls too far behind.
    `stdin_writer` is None unless stdin was asked for and the container keeps stdin open."""

    def __init__(self, streams: ContainerStreams, want: frozenset[str], *, stdin: bool,
                 replay: tuple[object, int] | None = None) -> None:
        self._streams = streams
        self.want = want
        self._cond = threading.Condition()
        self._queue: collections.deque[tuple[str, bytes]] = collections.deque()
        self._queued = 0
        self._ended = False
        self._closed = False
        self.end_reason = ""
        self._replay = replay  # (log path, end offset) of `logs=True`, read lazily by output()
        self.stdin_writer = StdinWriter(streams, self) if stdin and streams.open_stdin else None

    def _push(self, stream: str, data: bytes) -> bool:
        """From the broadcaster (its lock held). False: too far behind, end me."""
        with self._cond:
            if self._ended or self._closed:
                return True
            if self._queued + len(data) > MAX_QUEUED:
                return False
            self._queue.append((stream, data))
            self._queued += len(data)
            self._cond.notify_all()
            return True

    def _end(self, reason: str = "") -> None:
        """No more output will come: the client gets what is queued, then the end."""
        with self._cond:
            if not self._ended:
                self._ended = True
                self.end_reason = reason
                self._cond.notify_all()

    def output(self) -> Iterator[tuple[str, bytes]]:
        if self._replay is not None:
            path, end = self._replay
            for entry, _ in read_entries(path, 0, end):  # type: ignore[arg-type]
                if self._closed:
                    return
                if entry is not None and entry.stream in self.want:
                    yield entry.stream, entry.data
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._queue or self._ended or self._closed)
                if self._closed:
                    return
                if not self._queue:
                    return  # ended and drained
                stream, data = self._queue.popleft()
                self._queued -= len(data)
            yield stream, data

    def close(self) -> None:
        """Detach: stop the output now (queued bytes are dropped); the container keeps running."""
        with self._cond:
            self._closed = True
            self._ended = True
            self._queue.clear()
            self._cond.notify_all()
        self._streams._detach(self)

    @property
    def ended(self) -> bool:
        return self._ended
# --8<-- [end:attachment]


class StdinWriter:
    """An attacher's stdin: bytes go into the container's current stdin pipe.

    `close()` is the client's end of input, and follows moby's rule
    (`container/stream/attach.go`): with `StdinOnce` and no TTY, the
    process's stdin is closed (so `echo hi | docker run -i busybox cat`
    ends); otherwise only this attachment ends - a terminal session that
    hangs up must not close the shell's input for everyone else."""

    def __init__(self, streams: ContainerStreams, attachment: Attachment) -> None:
        self._streams = streams
        self._attachment = attachment

    def write(self, data: bytes) -> None:
        pipe = self._streams.stdin
        if pipe is not None and data:
            pipe.write(data)

    def close(self) -> None:
        if self._streams.stdin_once and not self._streams.tty:
            pipe = self._streams.stdin
            if pipe is not None:
                pipe.close()
        else:
            self._attachment._end("stdin closed")


# --8<-- [start:container_streams]
class ContainerStreams:
    """The streams of one container (or one exec): stdin pipe, output broadcaster, log."""

    def __init__(self, log: JSONFileLog | None, *, open_stdin: bool, stdin_once: bool, tty: bool,
                 name: str = "") -> None:
        self.log = log
        self.open_stdin = open_stdin
        self.stdin_once = stdin_once
        self.tty = tty
        self.name = name  # for log lines
        self.lock = log.cond if log is not None else threading.Condition(threading.RLock())
        self._attachments: list[Attachment] = []
        self.stdin: StdinPipe | None = StdinPipe() if open_stdin else None
        self.running = False
        self.closed = False

    def sinks(self) -> tuple[OutputSink, OutputSink]:
        """The (stdout, stderr) sinks for the driver, for one run."""
        with self.lock:
            self.running = True
            if self.log is not None:
                self.log.begin_run()
        return OutputSink(self, "stdout"), OutputSink(self, "stderr")

    def broadcast(self, stream: str, data: bytes) -> None:
        with self.lock:
            if self.log is not None:
                self.log.write(stream, data)
            for attachment in list(self._attachments):
                if stream in attachment.want and not attachment._push(stream, data):
                    logger.warning("attach %s: client too slow (%d bytes queued), ending its attachment",
                                   self.name, MAX_QUEUED)
                    attachment._end("slow reader")
                    self._attachments.remove(attachment)

    def close_stream(self, stream: str) -> None:
        with self.lock:
            if self.log is not None:
                self.log.flush(stream)

    def end_run(self) -> None:
        """The process is gone and its output read to the end: attachments end,
        and stdin starts afresh for the next run (as Docker's monitor resets it)."""
        with self.lock:
            self.running = False
            if self.log is not None:
                self.log.end_run()
            for attachment in self._attachments:
                attachment._end("container stopped")
            self._attachments.clear()
            if self.stdin is not None:
                self.stdin.close()
                self.stdin = StdinPipe() if not self.closed else None

    def attach(self, *, stdin: bool, stdout: bool, stderr: bool, logs: bool, stream: bool) -> Attachment:
        want = frozenset(name for name, on in (("stdout", stdout), ("stderr", stderr)) if on)
        with self.lock:
            replay = (self.log.path, self.log.size) if logs and self.log is not None else None
            attachment = Attachment(self, want, stdin=stdin and stream, replay=replay)
            if stream and not self.closed:
                self._attachments.append(attachment)
            else:
                attachment._end("logs only" if not self.closed else "container removed")
        return attachment

    def _detach(self, attachment: Attachment) -> None:
        with self.lock:
            if attachment in self._attachments:
                self._attachments.remove(attachment)

    def attachments(self) -> int:
        with self.lock:
            return len(self._attachments)

    def close(self) -> None:
        """The container is removed: every attachment ends, stdin and the log close."""
        with self.lock:
            self.closed = True
            for attachment in self._attachments:
                attachment._end("container removed")
            self._attachments.clear()
            if self.stdin is not None:
                self.stdin.close()
                self.stdin = None
            if self.log is not None:
                self.log.close()
# --8<-- [end:container_streams]
