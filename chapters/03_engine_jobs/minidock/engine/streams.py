"""A job's standard streams: `Output` (fan-out) and `Input`.

A Unix process writes to file descriptor 1 and does not know whether a
terminal, a file or a pipe is on the other end. Docker 1.x gave each job the
same ignorance: `job.Stdout` is an `engine.Output` that copies every write to
any number of destinations, so one `logs` job can feed an HTTP response and
a test's buffer at once, and the handler writes as if to one stream.
"""

from __future__ import annotations

import io
import socket
import threading
from typing import BinaryIO, Protocol


class Writable(Protocol):
    """Anything a job can write to: a file, a socket file, an HTTP response stream."""

    def write(self, data: bytes, /) -> object: ...


# What a destination raises when its reader is gone: a closed HTTP stream
# (BrokenPipeError, ConnectionResetError: OSErrors), or a file closed under
# us (ValueError: "I/O operation on closed file").
DESTINATION_GONE = (OSError, ValueError)


# --8<-- [start:output_fanout]
class Output:
    """One stream, any number of destinations: each write goes to all of them.

    A destination whose write fails (the client went away) is dropped and its
    error kept in `errors`; the others keep getting data, and the writer is
    not interrupted - as a process does not die when one of `tee`'s files
    fills up. Writes are serialised by a lock, so two threads writing one
    output never interleave inside a write."""

    def __init__(self) -> None:
        self._destinations: list[Writable] = []
        self._buffers: list[io.BytesIO] = []  # ours: kept readable after close()
        self._lock = threading.Lock()
        self.errors: list[Exception] = []
        self.closed = False

    def add(self, destination: Writable) -> None:
        with self._lock:
            self._destinations.append(destination)

    def add_buffer(self) -> io.BytesIO:
        """A new destination that keeps everything written: read it with `getvalue()`."""
        buffer = io.BytesIO()
        with self._lock:
            self._buffers.append(buffer)
            self._destinations.append(buffer)
        return buffer

    def write(self, data: bytes) -> int:
        """Write `data` to every destination; returns len(data), as a writer expects."""
        with self._lock:
            if self.closed:
                raise ValueError("write to a closed job output")
            for destination in list(self._destinations):
                try:
                    destination.write(data)
                    flush = getattr(destination, "flush", None)
                    if flush is not None:
                        flush()  # a reader may be waiting for these very bytes
                except DESTINATION_GONE as exc:
                    self._destinations.remove(destination)
                    self.errors.append(exc)
        return len(data)
    # --8<-- [end:output_fanout]

    @property
    def error(self) -> Exception | None:
        """The first destination failure, if any."""
        return self.errors[0] if self.errors else None

    @property
    def destinations(self) -> int:
        """How many destinations still receive writes."""
        with self._lock:
            return len(self._destinations)

    def close(self) -> None:
        """No more writes. Closes the destinations that were added (not the buffers
        made by `add_buffer`, which stay readable). Safe to call twice."""
        with self._lock:
            if self.closed:
                return
            self.closed = True
            destinations, self._destinations = self._destinations, []
        for destination in destinations:
            close = getattr(destination, "close", None)
            if close is not None and not any(destination is buffer for buffer in self._buffers):
                try:
                    close()
                except DESTINATION_GONE as exc:
                    self.errors.append(exc)


class Input:
    """A job's standard input: one source to read from, or none (end of file at once).

    The source may be anything readable: a file, a socket (read through a
    buffered reader), or bytes. `read`, `readline` and `read1` behave as on a
    binary file."""

    def __init__(self, source: BinaryIO | socket.socket | bytes | None = None) -> None:
        self._source: BinaryIO | None = None
        if source is not None:
            self.set_reader(source)

    def set_reader(self, source: BinaryIO | socket.socket | bytes) -> None:
        if isinstance(source, (bytes, bytearray, memoryview)):
            self._source = io.BytesIO(bytes(source))
        elif isinstance(source, socket.socket):
            self._source = source.makefile("rb")
        elif callable(getattr(source, "read", None)):
            self._source = source
        else:
            raise TypeError(f"a job's stdin must be readable, not {type(source).__name__}")

    def read(self, size: int = -1) -> bytes:
        return self._source.read(size) if self._source is not None else b""

    def read1(self, size: int = -1) -> bytes:
        """At most `size` bytes, with at most one read from the source (what a pump wants)."""
        if self._source is None:
            return b""
        read1 = getattr(self._source, "read1", None)
        return read1(size) if read1 is not None else self._source.read(size)

    def readline(self, size: int = -1) -> bytes:
        return self._source.readline(size) if self._source is not None else b""

    def close(self) -> None:
        if self._source is not None:
            self._source.close()
