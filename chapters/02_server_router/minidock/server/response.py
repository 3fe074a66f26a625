"""What a handler answers with: JSON, raw bytes, a stream, or the socket itself.

Four shapes cover every Engine API route:

* `json(status, obj)` - most routes; `error(exc)` is the same for an error,
  `{"message": "..."}` with `Content-Type: application/json` *exactly* (the
  docker CLI shows the message only for that content type);
* `raw(status, data, content_type)` / `no_content()` - `docker save` tars,
  `/_ping`'s `OK`, `204` after `start`;
* `stream(...)` - events, `logs -f`, stats, pull/push/build progress: a
  chunked body, each `write` one chunk sent at once, so the client sees
  progress as it happens and `/wait` can send its head long before its body;
* `hijack()` - attach and exec: `101 UPGRADED`, then the bare socket carries
  raw bytes both ways and HTTP is over for this connection.

Every response head carries the daemon's common headers (`Api-Version`,
`Ostype`, `Server`, `Docker-Experimental`), errors included: the client
reads the API version off any answer, even a 404.
"""

from __future__ import annotations

import array
import email.utils
import fcntl
import json
import socket
import termios
import time
from collections.abc import Callable
from typing import Any

from minidock.server.http import SocketReader, format_head
from minidock.server.request import Request

RAW_STREAM = "application/vnd.docker.raw-stream"
HEAD_READ_WAIT = 0.5  # how long a hijack waits for the client to read the 101 head (unix sockets)


def encode_json(obj: Any) -> bytes:
    """JSON as Go's `json.NewEncoder(w).Encode(v)` writes it: compact, UTF-8, one line."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"


class ClientGone(ConnectionAbortedError):
    """A write found the connection unusable (closed by the server at shutdown, for instance)."""


# --8<-- [start:connection_io]
class ConnectionIO:
    """The write side of a connection, plus what the writer must tell the server.

    The server makes one per connection; the writer of each request uses it.
    `keep_alive()` is asked when a head goes out: may this connection carry
    another request? (Not if the client said `Connection: close`, nor while
    the daemon shuts down.) `on_hijack()` tells the server the connection has
    left HTTP."""

    def __init__(self, sock: socket.socket, keep_alive: Callable[[], bool],
                 on_hijack: Callable[[], None]) -> None:
        self.sock = sock
        self.keep_alive = keep_alive
        self.on_hijack = on_hijack
        self.failed = False  # a send failed: the client is gone, whatever the handler does next

    def send(self, data: bytes) -> None:
        """Write all of `data` now. A vanished client raises a `ConnectionError`
        (`BrokenPipeError`, `ConnectionResetError`, or `ClientGone`)."""
        if self.sock.gettimeout() is not None:
            self.sock.settimeout(None)  # a reader may have left a timeout; a slow reader is not an error
        try:
            self.sock.sendall(data)
        except ConnectionError:
            self.failed = True
            raise
        except OSError as exc:  # EBADF after a close, a send timeout ...
            self.failed = True
            raise ClientGone(str(exc)) from exc
# --8<-- [end:connection_io]


# --8<-- [start:response_writer]
class ResponseWriter:
    """Writes the one response to one request.

    `headers` are extra headers for the head (a handler sets `Allow`, or
    `X-Docker-Container-Path-Stat`, before answering). `started` turns True
    when the head is on the wire: after that the status cannot change, and
    an error can only end the connection.
    """

    def __init__(self, io: ConnectionIO, request: Request,
                 common_headers: Callable[[], dict[str, str]] | None = None) -> None:
        self.io = io
        self.request = request
        self.common_headers = common_headers or dict
        self.headers: dict[str, str] = {}
        self.started = False
        self.status: int | None = None
        self.close_connection = False  # decided when the head goes out
        self.hijacked = False
        self.open_stream: Stream | None = None

    # -- the head -----------------------------------------------------------------
    def _head(self, status: int, framing: list[tuple[str, str]], *, framed: bool = True) -> bytes:
        """The head, with the connection's fate decided: keep-alive or close."""
        if self.started:
            raise RuntimeError(f"a response was already sent ({self.status}); cannot send {status}")
        self.started, self.status = True, status
        # Keep the connection only if the body's end is known, the rest of the request
        # body can be skipped, the client wants it, and the daemon is not shutting down.
        keep = framed and self.request.keep_alive and self.request.body.can_drain() and self.io.keep_alive()
        self.close_connection = not keep
        merged: dict[str, tuple[str, str]] = {}
        for name, value in [*self.common_headers().items(), *self.headers.items(), *framing]:
            merged[name.lower()] = (name, value)
        merged.setdefault("date", ("Date", email.utils.formatdate(usegmt=True)))
        if status == 101:
            pass  # its framing says "Connection: Upgrade"
        elif self.close_connection:
            merged["connection"] = ("Connection", "close")
        elif self.request.version == "HTTP/1.0":
            merged["connection"] = ("Connection", "keep-alive")  # 1.0 closes unless told otherwise
        return format_head(status, list(merged.values()))

    def send_continue(self) -> None:
        """`100 Continue`: the client may now send the body it holds back (`Expect: 100-continue`)."""
        if not self.started:
            self.io.send(b"HTTP/1.1 100 Continue\r\n\r\n")

    # -- whole answers --------------------------------------------------------------
    def raw(self, status: int, data: bytes, content_type: str | None = "application/octet-stream") -> None:
        """A whole body of bytes with a Content-Length. (A HEAD request gets the head only.)"""
        framing = [("Content-Type", content_type)] if content_type else []
        framing.append(("Content-Length", str(len(data))))
        head = self._head(status, framing)
        self.io.send(head if self.request.method == "HEAD" else head + data)

    def json(self, status: int, obj: Any) -> None:
        self.raw(status, encode_json(obj), "application/json")

    def error(self, exc: BaseException) -> None:
        """An error as docker sends it: the status of its type, `{"message": ...}`, JSON exactly."""
        status = getattr(exc, "status", 500)
        message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
        allowed = getattr(exc, "allowed", None)
        if allowed:
            self.headers.setdefault("Allow", ", ".join(allowed))
        self.json(status, {"message": message})

    def no_content(self, status: int = 204) -> None:
        """A head and no body at all: `204 No Content`, `304 Not Modified`."""
        self.io.send(self._head(status, []))

    # -- streams and hijacking --------------------------------------------------------
    def stream(self, status: int = 200, content_type: str | None = "application/json",
               headers: dict[str, str] | None = None) -> Stream:
        """Send the head now and return the body's writer: one `write`, one chunk, sent at once.

        HTTP/1.0 has no chunks: for such a client the body runs until the
        connection closes."""
        self.headers.update(headers or {})
        framing = [("Content-Type", content_type)] if content_type else []
        chunked = self.request.version != "HTTP/1.0"
        if chunked:
            framing.append(("Transfer-Encoding", "chunked"))
        self.io.send(self._head(status, framing, framed=chunked))
        self.open_stream = Stream(self, chunked=chunked)
        return self.open_stream

    # --8<-- [start:hijack]
    def hijack(self, content_type: str = RAW_STREAM) -> tuple[socket.socket, SocketReader]:
        """Take the connection out of HTTP: `101 UPGRADED`, then raw bytes both ways.

        Returns the socket (write to it with `sendall`; `shutdown(SHUT_WR)`
        to half-close) and the connection's reader, which may already hold
        bytes the client sent after its request head (`read1`). When the
        handler returns, the server closes the socket: a hijacking handler
        pumps its stream in the connection's own thread until it is done.

        The head goes *alone*, before any stream byte. A client reads the
        head with a buffered `recv()`; docker-py parses the head and then
        reads the raw socket, so whatever came in the same `recv()` as the
        head - the first frames of output - is lost (docker-py issues #3332,
        #2042). So the head is sent in its own `sendall`, the handler must
        not start the process that produces output before `hijack()`
        returns, and on a unix socket `hijack()` even waits (briefly) until
        the client has read the head: there the kernel can tell us.
        """
        # lab 02.3: Hijack the connection
        # hint: first skip what is left of the request body (body.drain()): its bytes are not stream bytes
        # hint: send the 101 head alone (self._head(101, ..., framed=False)): Connection: Upgrade, Upgrade: tcp
        # hint: then wait_until_read, so the client has the head before any stream byte
        # hint: mark the writer hijacked, tell self.io, and lift the read limits and timeout: a stream may be silent
        body = self.request.body
        if not body.done and not body.drain():  # bytes of a request body are not stream bytes
            raise RuntimeError("cannot hijack: the request body could not be skipped")
        framing = [("Content-Type", content_type), ("Connection", "Upgrade"), ("Upgrade", "tcp")]
        self.io.send(self._head(101, framing, framed=False))
        wait_until_read(self.io.sock, HEAD_READ_WAIT)
        self.hijacked = True
        self.io.on_hijack()
        reader = self.request.body.source
        reader.set_limits(None)  # silence on a hijacked stream is normal: no timeouts any more
        reader.sock.settimeout(None)
        return self.io.sock, reader
        # end lab 02.3
    # --8<-- [end:hijack]
# --8<-- [end:response_writer]


# --8<-- [start:wait_until_read]
def wait_until_read(sock: socket.socket, timeout: float) -> bool:
    """Wait until the peer has read everything we sent (unix sockets only); False if not in time.

    On a unix stream socket, `ioctl(SIOCOUTQ)` counts the bytes we sent that
    the peer has not read yet (they sit in its receive queue). On TCP it
    counts bytes not yet *acknowledged*, which says nothing about the peer
    program, so there we do not wait."""
    if sock.family != socket.AF_UNIX:
        return False
    deadline = time.monotonic() + timeout
    unread = array.array("i", [0])
    while True:
        try:
            fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, unread)  # TIOCOUTQ == SIOCOUTQ
        except OSError:
            return False
        if unread[0] == 0:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.001)
# --8<-- [end:wait_until_read]


# --8<-- [start:stream]
class Stream:
    """A streaming response body. Use it as a context manager, or call `close()`.

    `write` raises `ConnectionError` (usually `BrokenPipeError`) when the
    client has gone; a handler that loops on a source (events, logs -f)
    catches it, stops, and returns - which frees the connection's thread."""

    def __init__(self, writer: ResponseWriter, *, chunked: bool) -> None:
        self.writer = writer
        self.chunked = chunked
        self.head_only = writer.request.method == "HEAD"  # the head was the whole answer
        self.closed = False

    def write(self, data: bytes) -> None:
        """One chunk, on the wire when this returns (no buffering: progress must show)."""
        if self.closed:
            raise ValueError("write to a closed stream")
        if not data or self.head_only:
            return  # (an empty chunk would end the body)
        self.writer.io.send(b"%x\r\n%s\r\n" % (len(data), data) if self.chunked else data)

    def write_json(self, obj: Any, newline: bytes = b"\n") -> None:
        """One JSON object as one chunk: `\\n` after it like Go's json.Encoder (events, wait);
        progress streams (pull, push, build, load) end theirs with `\\r\\n`."""
        self.write(encode_json(obj)[:-1] + newline)

    def close(self) -> None:
        """The last chunk. Safe to call twice, and after the client left."""
        if self.closed:
            return
        self.closed = True
        self.writer.open_stream = None
        if self.head_only:
            return
        if self.chunked:
            try:
                self.writer.io.send(b"0\r\n\r\n")
            except ConnectionError:
                self.writer.close_connection = True
        else:
            self.writer.close_connection = True  # HTTP/1.0: the end of the body is the end of the connection

    def __enter__(self) -> Stream:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:  # noqa: ANN001
        if exc_type is None:
            self.close()
# --8<-- [end:stream]


__all__ = ["ClientGone", "ConnectionIO", "RAW_STREAM", "ResponseWriter", "Stream", "encode_json"]
