"""A small HTTP/1.1 client: one request out, one response back.

This is the "send" and "result" of the client's life cycle. The standard
library has `http.client`, but its responses hide the socket that a hijacked
attach needs, and a reader should see how little HTTP/1.1 actually is: a
request line, headers, a blank line, a body framed by `Content-Length` or by
chunks, and a connection that can carry the next request (keep-alive).
"""

from __future__ import annotations

import socket
from collections.abc import Iterable, Iterator
from typing import IO

from minidock.client.errors import ProtocolError

MAX_HEAD = 64 * 1024  # a daemon's response head is small; more is a broken peer
CHUNK = 64 * 1024
Body = bytes | Iterable[bytes] | IO[bytes] | None


class Headers(dict):
    """Header names are case-insensitive: we store them lower-cased."""

    def __setitem__(self, key: str, value: str) -> None:
        super().__setitem__(key.lower(), value)

    def __getitem__(self, key: str) -> str:
        return super().__getitem__(key.lower())

    def get(self, key: str, default=None):  # noqa: ANN001, ANN201
        return super().get(key.lower(), default)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and super().__contains__(key.lower())


# --8<-- [start:response]
class Response:
    """A response whose body is read lazily, so streams flow as they come."""

    def __init__(self, status: int, reason: str, headers: Headers, connection: "Connection") -> None:
        self.status = status
        self.reason = reason
        self.headers = headers
        self.connection = connection
        self._remaining: int | None = None  # bytes left under Content-Length; None: chunked or until close
        self._chunked = False
        self._chunk_left = 0  # bytes left in the current chunk
        self._done = False

    def __repr__(self) -> str:
        return f"<Response {self.status} {self.reason}>"

    @property
    def ok(self) -> bool:
        return self.status < 400

    def read_some(self, size: int = CHUNK) -> bytes:
        """Up to `size` body bytes as soon as any arrive; b"" at the end of the body."""
        if self._done:
            return b""
        reader = self.connection.reader
        if self._chunked:
            if self._chunk_left == 0:
                self._chunk_left = self._next_chunk_size()
                if self._chunk_left == 0:
                    self._finish()
                    return b""
            data = reader.read1(min(size, self._chunk_left))
            if not data:
                raise ProtocolError("connection closed in the middle of a chunk")
            self._chunk_left -= len(data)
            if self._chunk_left == 0 and reader.readline(8) not in (b"\r\n", b"\n"):
                raise ProtocolError("bad chunk terminator")
            return data
        if self._remaining is not None:
            if self._remaining == 0:
                self._finish()
                return b""
            data = reader.read1(min(size, self._remaining))
            if not data:
                raise ProtocolError("connection closed before the end of the body")
            self._remaining -= len(data)
            if self._remaining == 0:
                self._finish()
            return data
        data = reader.read1(size)  # body ends when the daemon closes
        if not data:
            self._done = True
            self.connection.close()
        return data

    def _next_chunk_size(self) -> int:
        line = self.connection.reader.readline(1024)
        if not line.endswith(b"\n"):
            raise ProtocolError("connection closed while reading a chunk size")
        try:
            return int(line.split(b";", 1)[0].strip(), 16)
        except ValueError:
            raise ProtocolError(f"bad chunk size line {line[:40]!r}") from None

    def _finish(self) -> None:
        if self._chunked:  # trailers, then the blank line
            while self.connection.reader.readline(MAX_HEAD) not in (b"\r\n", b"\n", b""):
                pass
        self._done = True
        self.connection.response_done(self)

    def iter_chunks(self) -> Iterator[bytes]:
        while data := self.read_some():
            yield data

    def iter_lines(self) -> Iterator[bytes]:
        """Lines of a streamed body (JSON progress, events), each as soon as it is complete."""
        pending = b""
        for data in self.iter_chunks():
            pending += data
            *lines, pending = pending.split(b"\n")
            yield from (line.rstrip(b"\r") for line in lines if line.strip())
        if pending.strip():
            yield pending.rstrip(b"\r")

    def read(self) -> bytes:
        return b"".join(self.iter_chunks())

    def close(self) -> None:
        """Stop reading: the connection cannot carry another request then."""
        if not self._done:
            self._done = True
            self.connection.close()
# --8<-- [end:response]


class Connection:
    """One HTTP/1.1 connection over any connected stream socket."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.reader = sock.makefile("rb", buffering=CHUNK)
        self.reusable = False  # True once a response was read to its end on a keep-alive connection
        self.closed = False
        self.on_idle = None  # called with self when it can carry the next request (the client's pool)
        self._keep_alive = False

    # --8<-- [start:request]
    def request(self, method: str, target: str, headers: dict[str, str], body: Body = None) -> Response:
        """Send one request and read the response head; the body is left to the caller."""
        head = [f"{method} {target} HTTP/1.1", "Host: api.moby.localhost"]
        head += [f"{name}: {value}" for name, value in headers.items()]
        if isinstance(body, (bytes, bytearray)):
            head.append(f"Content-Length: {len(body)}")
        elif body is not None:
            head.append("Transfer-Encoding: chunked")
        elif method in ("POST", "PUT"):
            head.append("Content-Length: 0")
        self.reusable = False
        wire = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1")
        if isinstance(body, (bytes, bytearray)):
            self.sock.sendall(wire + body)  # one write: small requests go out in one packet
        else:
            self.sock.sendall(wire)
        if body is not None and not isinstance(body, (bytes, bytearray)):
            self._send_chunked(body)
        return self._read_response(method)
    # --8<-- [end:request]

    def _send_chunked(self, body: Iterable[bytes] | IO[bytes]) -> None:
        pieces = iter(lambda: body.read(CHUNK), b"") if hasattr(body, "read") else body  # type: ignore[union-attr]
        for piece in pieces:
            if piece:
                self.sock.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
        self.sock.sendall(b"0\r\n\r\n")

    def _read_response(self, method: str) -> Response:
        status_line = self.reader.readline(MAX_HEAD)
        if not status_line:
            raise ProtocolError("the daemon closed the connection without answering")
        parts = status_line.decode("latin-1").rstrip("\r\n").split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
            raise ProtocolError(f"not an HTTP response: {status_line[:60]!r}")
        status, reason = int(parts[1]), parts[2] if len(parts) > 2 else ""
        headers = Headers()
        size = len(status_line)
        while True:
            line = self.reader.readline(MAX_HEAD)
            size += len(line)
            if size > MAX_HEAD:
                raise ProtocolError("response head too large")
            if line in (b"\r\n", b"\n"):
                break
            if not line:
                raise ProtocolError("connection closed inside the response head")
            name, colon, value = line.decode("latin-1").partition(":")
            if not colon:
                raise ProtocolError(f"bad header line {line[:60]!r}")
            headers[name.strip()] = value.strip()
        response = Response(status, reason, headers, self)
        keep_alive = headers.get("connection", "").lower() != "close"
        if method == "HEAD" or status in (101, 204, 304) or 100 <= status < 200:
            response._done = True
            self._keep_alive = keep_alive and status != 101
            if status != 101:
                self.response_done(response)
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            response._chunked = True
            self._keep_alive = keep_alive
        elif "content-length" in headers:
            try:
                response._remaining = int(headers["content-length"])
            except ValueError:
                raise ProtocolError("bad Content-Length") from None
            self._keep_alive = keep_alive
        else:
            self._keep_alive = False  # the body runs to the end of the connection
        return response

    def response_done(self, response: Response) -> None:
        self.reusable = self._keep_alive
        if self.reusable and self.on_idle is not None:
            self.on_idle(self)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.reusable = False
            try:
                self.reader.close()
            finally:
                self.sock.close()
