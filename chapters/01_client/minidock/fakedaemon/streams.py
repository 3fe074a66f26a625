"""Moving a process's output to a client: hijacked attach/exec streams and log bodies.

Without a TTY every write becomes an 8-byte-header frame (stdout 1, stderr 2);
with one, the bytes go as they are. A hijacked stream also carries input the
other way, which a second thread reads: stdin bytes, the detach keys, and
the client's half-close (end of stdin).
"""

from __future__ import annotations

import struct
import threading
from collections.abc import Callable

from minidock.fakedaemon.state import OutputLog
from minidock.fakedaemon.wire import BadRequest, ClientGone, Conn

DEFAULT_DETACH_KEYS = "ctrl-p,ctrl-q"


def frame(stream: int, payload: bytes) -> bytes:
    """stdcopy's frame: [stream, 0, 0, 0, big-endian uint32 size] + payload."""
    return struct.pack(">BxxxL", stream, len(payload)) + payload


def parse_detach_keys(spec: str) -> bytes:
    """`ctrl-p,ctrl-q` -> b"\\x10\\x11" (moby's term.ToBytes)."""
    keys = bytearray()
    for part in spec.split(","):
        part = part.strip()
        if len(part) == 1:
            keys.append(ord(part))
        elif part.lower().startswith("ctrl-") and len(part) == 6 and "@" <= part[5].upper() <= "_":
            keys.append(ord(part[5].upper()) - 64)
        else:
            raise BadRequest(f"Invalid detach keys ({spec}) provided")
    return bytes(keys)


def follow_output(conn: Conn, log: OutputLog, cursor: int, until_run: int, tty: bool, streams: set[int],
                  stop: threading.Event, encode: Callable[[int, bytes], bytes] | None = None) -> None:
    """Send log entries from `cursor` on, until run number `until_run` has ended (or `stop`)."""
    encode = encode or ((lambda s, d: d) if tty else frame)
    while True:
        with log.cond:
            while (cursor >= len(log.entries) and log.runs_ended < until_run
                   and not log.closed and not stop.is_set()):
                log.cond.wait(0.5)
            batch = log.entries[cursor:]
            cursor = len(log.entries)
            finished = log.runs_ended >= until_run or log.closed or stop.is_set()
        data = b"".join(encode(stream, payload) for stream, payload, _ in batch if stream in streams)
        if data:
            conn.send(data)
        if finished:
            return


class InputPump(threading.Thread):
    """Reads a hijacked connection: stdin bytes to `sink`, EOF to `on_eof`, detach keys to `stop`."""

    def __init__(self, conn: Conn, sink: Callable[[bytes], None], on_eof: Callable[[], None],
                 detach_keys: bytes, stop: threading.Event, wake: Callable[[], None]) -> None:
        super().__init__(name="fake-attach-stdin", daemon=True)
        self.conn, self.sink, self.on_eof = conn, sink, on_eof
        self.detach_keys, self.stop, self.wake = detach_keys, stop, wake
        self.detached = False

    def run(self) -> None:
        held = b""  # a prefix of the detach sequence, not yet forwarded
        while not self.stop.is_set():
            data = self.conn.recv_some()
            if not data:
                if self.stop.is_set():  # our side ended the session; this is not the client's EOF
                    return
                if held:
                    self.sink(held)
                self.on_eof()
                return
            if not self.detach_keys:
                self.sink(data)
                continue
            forward = bytearray()
            for value in data:
                candidate = held + bytes([value])
                if self.detach_keys.startswith(candidate):
                    held = candidate
                    if held == self.detach_keys:
                        if forward:
                            self.sink(bytes(forward))
                        self.detached = True
                        self.stop.set()
                        self.wake()
                        return
                else:
                    forward += candidate
                    held = b""
            if forward:
                self.sink(bytes(forward))


def serve_hijacked(conn: Conn, log: OutputLog, cursor: int, until_run: int, tty: bool, streams: set[int],
                   stdin_sink: Callable[[bytes], None] | None, on_stdin_eof: Callable[[], None],
                   detach_keys: bytes) -> None:
    """Run one hijacked session to its end: output out, input in, then close our side."""
    stop = threading.Event()
    pump = None
    if stdin_sink is not None:
        def wake() -> None:
            with log.cond:
                log.cond.notify_all()

        pump = InputPump(conn, stdin_sink, on_stdin_eof, detach_keys, stop, wake)
        pump.start()
    try:
        follow_output(conn, log, cursor, until_run, tty, streams, stop)
    except ClientGone:
        stop.set()
    finally:
        stop.set()
        conn.close_write()
        if pump is not None:
            pump.join(0.5)
