"""HTTP/1.1 on a raw socket, the way dockerd speaks it.

The standard library's `http.server` cannot do three things the Engine API
needs: decode chunked request bodies (`docker load`, `build`, `cp` send them),
flush a response head long before its body (`/wait`), and hand the socket
over for a hijacked stream (`attach`, `exec`). So the fake daemon reads and
writes HTTP itself; it is a small amount of code.

`Conn` is one client connection with its read buffer, `Request` one parsed
request, `Responder` the ways to answer it: a whole body, a chunked stream,
or `101 UPGRADED` and the raw socket.
"""

from __future__ import annotations

import email.utils
import json
import select
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

MAX_HEAD = 64 * 1024  # request line + headers; more is an attack or a bug
MAX_BODY = 512 * 1024 * 1024

REASONS = {
    101: "UPGRADED", 200: "OK", 201: "Created", 204: "No Content", 304: "Not Modified",
    400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
    409: "Conflict", 500: "Internal Server Error", 501: "Not Implemented",
}


class HTTPError(Exception):
    """An answer with an error status and dockerd's `{"message": ...}` body."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class BadRequest(HTTPError):
    def __init__(self, message: str) -> None:
        super().__init__(400, message)


class NotFound(HTTPError):
    def __init__(self, message: str) -> None:
        super().__init__(404, message)


class Conflict(HTTPError):
    def __init__(self, message: str) -> None:
        super().__init__(409, message)


class ClientGone(Exception):
    """The peer closed the connection (or the daemon is shutting down)."""


def go_json(value: Any) -> bytes:
    """JSON as Go's encoding/json writes it: compact, `<>&` escaped, a newline at the end."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return text.encode() + b"\n"


class Conn:
    """A client connection: the socket plus the bytes read but not yet used."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = bytearray()

    def _fill(self) -> bool:
        try:
            data = self.sock.recv(65536)
        except OSError:
            data = b""
        if data:
            self.buffer += data
        return bool(data)

    def read_line(self, limit: int = MAX_HEAD) -> bytes | None:
        """One CRLF- (or LF-) terminated line without its end; None at EOF."""
        while True:
            end = self.buffer.find(b"\n")
            if end >= 0:
                line = bytes(self.buffer[:end])
                del self.buffer[:end + 1]
                return line[:-1] if line.endswith(b"\r") else line
            if len(self.buffer) > limit:
                raise BadRequest("request header too large")
            if not self._fill():
                if self.buffer:
                    raise BadRequest("unexpected EOF in request head")
                return None

    def read_exact(self, size: int) -> bytes:
        while len(self.buffer) < size:
            if not self._fill():
                raise BadRequest("unexpected EOF in request body")
        data = bytes(self.buffer[:size])
        del self.buffer[:size]
        return data

    def recv_some(self, size: int = 65536) -> bytes:
        """Raw bytes for a hijacked stream: first what was buffered, then the socket."""
        if self.buffer:
            data = bytes(self.buffer[:size])
            del self.buffer[:size]
            return data
        try:
            return self.sock.recv(size)
        except OSError:
            return b""

    def send(self, data: bytes) -> None:
        try:
            self.sock.sendall(data)
        except OSError as exc:
            raise ClientGone(str(exc)) from None

    def peer_gone(self) -> bool:
        """Has the client closed its side? (Checked while we hold an answer back.)"""
        try:
            readable, _, _ = select.select([self.sock], [], [], 0)
            if not readable:
                return False
            return self.sock.recv(1, socket.MSG_PEEK) == b""
        except (OSError, ValueError):
            return True

    def close_write(self) -> None:
        try:
            self.sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass


@dataclass
class Request:
    """One request: method, target, headers (lower-case names) and a body reader."""

    method: str
    target: str
    version: str
    headers: dict[str, str]
    conn: Conn
    path: str = ""
    query: dict[str, list[str]] = field(default_factory=dict)
    api_version: str = ""
    params: dict[str, str] = field(default_factory=dict)  # from the route pattern
    _body: bytes | None = None

    def __post_init__(self) -> None:
        parts = urlsplit(self.target)
        self.path = parts.path
        self.query = parse_qs(parts.query, keep_blank_values=True)

    @property
    def keep_alive(self) -> bool:
        connection = self.headers.get("connection", "").lower()
        if self.version == "HTTP/1.0":
            return connection == "keep-alive"
        return connection != "close"

    # -- query parameters -------------------------------------------------
    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else default

    def args(self, name: str) -> list[str]:
        return self.query.get(name, [])

    def flag(self, name: str, default: bool = False) -> bool:
        """A boolean parameter: 1/true/True (and 0/false/False, or empty) as the clients send them."""
        value = self.arg(name)
        if value is None or value == "":
            return default
        if value.lower() in ("1", "true", "yes"):
            return True
        if value.lower() in ("0", "false", "no"):
            return False
        raise BadRequest(f"invalid boolean value {value!r} for {name}")

    def int_arg(self, name: str, default: int) -> int:
        value = self.arg(name)
        if value is None or value == "":
            return default
        try:
            return int(value)
        except ValueError:
            raise BadRequest(f"invalid value {value!r} for {name}: not an integer") from None

    def json_arg(self, name: str) -> Any:
        value = self.arg(name)
        if not value:
            return None
        try:
            return json.loads(value)
        except ValueError as exc:
            raise BadRequest(f"invalid JSON in {name}: {exc}") from None

    # -- body ---------------------------------------------------------------
    def body(self) -> bytes:
        if self._body is None:
            self._body = b"".join(self._read_body())
        return self._body

    def json(self, default: Any = None) -> Any:
        raw = self.body()
        if not raw.strip():
            return default
        try:
            return json.loads(raw)
        except ValueError as exc:
            raise BadRequest(f"invalid JSON: {exc}") from None

    def _read_body(self) -> Iterator[bytes]:
        if "chunked" in self.headers.get("transfer-encoding", "").lower():
            total = 0
            while True:
                line = self.conn.read_line()
                if line is None:
                    raise BadRequest("unexpected EOF in chunked body")
                try:
                    size = int(line.split(b";")[0].strip(), 16)
                except ValueError:
                    raise BadRequest("invalid chunk size in chunked body") from None
                if size < 0:
                    raise BadRequest("invalid chunk size in chunked body")
                total += size
                if total > MAX_BODY:
                    raise BadRequest("request body too large")
                if size == 0:
                    while self.conn.read_line() not in (b"", None):  # trailers
                        pass
                    return
                yield self.conn.read_exact(size)
                self.conn.read_exact(2)
        length = self.content_length()
        if length:
            yield self.conn.read_exact(length)

    def content_length(self) -> int:
        raw = self.headers.get("content-length")
        if raw is None:
            return 0
        if not raw.strip().isdigit():
            raise BadRequest(f"invalid Content-Length {raw!r}")
        length = int(raw)
        if length > MAX_BODY:
            raise BadRequest("request body too large")
        return length

    def drain(self) -> None:
        """Consume an unread body so the next request on the connection starts cleanly."""
        if self._body is None:
            self.body()


def read_request(conn: Conn) -> Request | None:
    """Parse the next request head; None when the client closed between requests."""
    line = conn.read_line()
    while line == b"":  # tolerate stray CRLFs between requests (RFC 9112 2.2)
        line = conn.read_line()
    if line is None:
        return None
    try:
        method, target, version = line.decode("ascii").split(" ")
    except (UnicodeDecodeError, ValueError):
        raise BadRequest(f"malformed HTTP request {line[:80]!r}") from None
    if not method.isalpha() or not method.isupper() or not target.startswith("/") \
            or version not in ("HTTP/1.1", "HTTP/1.0"):
        raise BadRequest(f"malformed HTTP request {line[:80]!r}")
    headers: dict[str, str] = {}
    size = len(line)
    while True:
        header = conn.read_line()
        if header is None:
            raise BadRequest("unexpected EOF in request head")
        if header == b"":
            break
        size += len(header)
        if size > MAX_HEAD:
            raise BadRequest("request header too large")
        name, sep, value = header.decode("latin-1").partition(":")
        if not sep or not name or name != name.strip():
            raise BadRequest(f"malformed MIME header line: {header[:80].decode('latin-1')}")
        key = name.lower()
        value = value.strip()
        if key == "content-length" and key in headers and headers[key] != value:
            raise BadRequest("conflicting Content-Length headers")
        headers[key] = f"{headers[key]}, {value}" if key in headers and key != "content-length" else value
    request = Request(method, target, version, headers, conn)
    request.content_length()  # validate early: a bad length is a 400 before any routing
    return request


class Responder:
    """The ways to answer one request. Every answer carries the daemon's headers."""

    def __init__(self, conn: Conn, base_headers: dict[str, str], head_only: bool = False) -> None:
        self.conn = conn
        self.base_headers = base_headers
        self.head_only = head_only
        self.started = False
        self.close_after = False

    def _head(self, status: int, headers: dict[str, str]) -> bytes:
        lines = [f"HTTP/1.1 {status} {REASONS.get(status, 'Status')}"]
        merged = {**self.base_headers, "Date": email.utils.formatdate(usegmt=True), **headers}
        if self.close_after and status != 101:
            merged["Connection"] = "close"
        lines += [f"{name}: {value}" for name, value in merged.items()]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    def send(self, status: int, body: bytes = b"", content_type: str | None = None,
             headers: dict[str, str] | None = None) -> None:
        extra = dict(headers or {})
        if content_type:
            extra["Content-Type"] = content_type
        if status not in (204, 304):
            extra.setdefault("Content-Length", str(len(body)))
        self.started = True
        self.conn.send(self._head(status, extra) + (b"" if self.head_only or status in (204, 304) else body))

    def send_json(self, status: int, value: Any, headers: dict[str, str] | None = None) -> None:
        self.send(status, go_json(value), "application/json", headers)

    def send_error(self, status: int, message: str) -> None:
        # Exactly "application/json": the CLI parses the body only for this content type.
        self.send_json(status, {"message": message})

    def stream(self, status: int = 200, content_type: str | None = "application/json",
               headers: dict[str, str] | None = None) -> ChunkedWriter:
        """Send the head now (flushed) and return a writer for the chunked body."""
        extra = dict(headers or {})
        if content_type:
            extra["Content-Type"] = content_type
        extra["Transfer-Encoding"] = "chunked"
        self.started = True
        self.conn.send(self._head(status, extra))
        return ChunkedWriter(self.conn)

    def hijack(self) -> Conn:
        """`101 UPGRADED`: after this head the socket is a raw pipe in both directions.

        The head is sent (and so flushed) before any stream byte: clients read
        the head with one recv(), and bytes that arrive with it get lost.
        """
        self.started = True
        self.close_after = True
        self.conn.send(self._head(101, {
            "Content-Type": "application/vnd.docker.raw-stream",
            "Connection": "Upgrade",
            "Upgrade": "tcp",
        }))
        return self.conn


class ChunkedWriter:
    """A chunked response body; every write is one chunk, sent at once."""

    def __init__(self, conn: Conn) -> None:
        self.conn = conn
        self.closed = False

    def write(self, data: bytes) -> None:
        if data:
            self.conn.send(b"%x\r\n%s\r\n" % (len(data), data))

    def write_json(self, value: Any) -> None:
        """One object of a progress stream (pull, push, build, load): they end in CRLF."""
        self.write(go_json(value)[:-1] + b"\r\n")

    def write_json_line(self, value: Any) -> None:
        """One object as Go's json.Encoder writes it (wait, events): they end in LF."""
        self.write(go_json(value))

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.conn.send(b"0\r\n\r\n")
