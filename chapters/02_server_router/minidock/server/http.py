"""HTTP/1.1, the server's half: read one request off a connection, within limits.

Chapter 01 wrote the client's half (`minidock.client.http`): send a request,
read a response. Here is the other direction, and it is the half that must
distrust its peer. A client can send anything: a request line that is not
one, a head of a gigabyte, a body that never ends, or half a head followed by
silence (the "slowloris" attack, which holds a thread hostage by never
finishing). So every read below has a bound:

* the head (request line + headers) is at most `Limits.max_head` bytes
  (more is a 431), and must arrive within `Limits.read_timeout` seconds of its
  first byte (else 408 and the connection is dropped);
* a body is read lazily, when the handler asks for it, and is capped at
  `Limits.max_body` bytes (more is a 413); each read of it waits at most
  `read_timeout` seconds;
* between two requests of a keep-alive connection the client may stay
  silent for `Limits.idle_timeout` seconds, then the connection is closed.

Why limits at all? A daemon serves one thread per connection (see
`server.py`). Each limit caps what one misbehaving client can take from the
others: memory (head and body caps) or a thread (timeouts).

What this module knows is only the *wire*: bytes, lines, chunks. It does not
know routes, JSON or handlers; `request.py` builds the handler's view on top.
"""

from __future__ import annotations

import io
import re
import socket
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

from minidock.server.errors import APIError, BadParameter, HeaderFieldsTooLarge, PayloadTooLarge

RECV_SIZE = 64 * 1024
DRAIN_LIMIT = 256 * 1024  # an unread body up to this size is skipped to keep the connection; more: close


# --8<-- [start:limits]
@dataclass(frozen=True)
class Limits:
    """How much one client may take from the daemon (sizes in bytes, times in seconds)."""

    max_head: int = 64 * 1024          # request line + headers: more is 431
    max_body: int = 64 * 1024 * 1024   # a body read whole (JSON) or streamed with the default cap: more is 413
    idle_timeout: float = 60.0         # silence allowed between two requests of a keep-alive connection
    read_timeout: float = 30.0         # inside a request: the whole head, and each read of the body
# --8<-- [end:limits]


# The protocol errors that errors.py does not need to know: they can only come from the wire.
class RequestTimeout(APIError):
    """The client started a request and stopped sending (slowloris, or a dead peer)."""
    status = 408


class ExpectationFailed(APIError):
    """An `Expect:` header other than `100-continue`."""
    status = 417


class TransferEncodingNotImplemented(APIError):
    """A `Transfer-Encoding` other than `chunked` (gzip, compress ...): we cannot frame the body."""
    status = 501


class VersionNotSupported(APIError):
    """`HTTP/2.0` or `HTTP/3.7` in a request line: we speak 1.0 and 1.1."""
    status = 505


class MalformedRequest(BadParameter):
    """Bytes that are not HTTP: a bad request line, header line, length or chunk (400)."""


# --8<-- [start:headers]
class Headers(Mapping[str, str]):
    """Request headers: names are case-insensitive, repeated headers are kept.

    `headers["content-type"]` and `headers["Content-Type"]` are the same
    entry. A header sent twice reads as the values joined with ", " (RFC 9110
    5.3); `get_all` gives them one by one."""

    def __init__(self, pairs: list[tuple[str, str]] = ()) -> None:  # type: ignore[assignment]
        self._values: dict[str, list[str]] = {}
        self._names: dict[str, str] = {}  # lower-case -> as first sent, for display
        for name, value in pairs:
            self.add(name, value)

    def add(self, name: str, value: str) -> None:
        key = name.lower()
        self._names.setdefault(key, name)
        self._values.setdefault(key, []).append(value)

    def get_all(self, name: str) -> list[str]:
        return list(self._values.get(name.lower(), []))

    def __getitem__(self, name: str) -> str:
        return ", ".join(self._values[name.lower()])

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._values

    def __iter__(self) -> Iterator[str]:
        return iter(self._names.values())

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"Headers({dict(self.items())!r})"
# --8<-- [end:headers]


# --8<-- [start:socket_reader]
class SocketReader(io.BufferedIOBase):
    """The read side of a connection: a buffer over `socket.recv` with bounded waits.

    Why not `sock.makefile("rb")`? Its reads wait forever, or, with a socket
    timeout, up to that timeout *per recv*: a client that sends one byte every
    29 seconds would keep a 30-second timeout happy for ever. Here every recv
    waits at most `timeout`, and never past `deadline` (an absolute time on
    the monotonic clock), so a head must *arrive* within its time, however it
    is dripped. `None` for both means "wait as long as it takes" (a hijacked
    stream, where silence is normal).

    It is an `io.BufferedIOBase`, so a hijacking handler gets the bytes that
    were already read past the request head (`read1`, `read`, `readline`).
    """

    def __init__(self, sock: socket.socket) -> None:
        super().__init__()
        self.sock = sock
        self.buffer = bytearray()
        self.timeout: float | None = None
        self.deadline: float | None = None

    def set_limits(self, timeout: float | None, deadline: float | None = None) -> None:
        self.timeout, self.deadline = timeout, deadline

    def fill(self) -> bool:
        """One recv into the buffer. False at end of stream; `TimeoutError` when time is up."""
        wait = self.timeout
        if self.deadline is not None:
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("deadline passed")
            wait = left if wait is None else min(wait, left)
        if wait != self.sock.gettimeout():  # settimeout costs syscalls; skip it when nothing changes
            self.sock.settimeout(wait)
        try:
            data = self.sock.recv(RECV_SIZE)
        except TimeoutError:
            raise
        except OSError:  # reset by the peer, or shut down by the server: the stream is over
            data = b""
        self.buffer += data
        return bool(data)

    def take(self, size: int) -> bytes:
        data = bytes(self.buffer[:size])
        del self.buffer[:size]
        return data

    # -- io.BufferedIOBase ------------------------------------------------------
    def readable(self) -> bool:
        return True

    def read1(self, size: int = -1) -> bytes:
        """What is buffered, or else what one recv brings: never waits for `size` bytes."""
        if not self.buffer:
            self.fill()
        return self.take(len(self.buffer) if size is None or size < 0 else size)

    def read(self, size: int | None = -1) -> bytes:
        """`size` bytes, or fewer at the end of the stream; everything up to the end for -1."""
        if size is None or size < 0:
            while self.fill():
                pass
            return self.take(len(self.buffer))
        while len(self.buffer) < size and self.fill():
            pass
        return self.take(size)

    def readinto(self, b) -> int:  # noqa: ANN001 - io's signature
        data = self.read1(len(b))
        b[:len(data)] = data
        return len(data)

    def readline(self, limit: int | None = -1) -> bytes:
        """Up to and including b"\\n"; at most `limit` bytes; less at the end of the stream."""
        start = 0
        while True:
            end = self.buffer.find(b"\n", start)
            if end >= 0:
                size = end + 1
                break
            if limit is not None and 0 <= limit <= len(self.buffer):
                size = limit
                break
            start = len(self.buffer)
            if not self.fill():
                size = len(self.buffer)
                break
        if limit is not None and limit >= 0:
            size = min(size, limit)
        return self.take(size)
# --8<-- [end:socket_reader]


# --8<-- [start:request_head]
@dataclass
class RequestHead:
    """The part of a request that comes before its body."""

    method: str
    target: str
    version: str  # "HTTP/1.1" or "HTTP/1.0"
    headers: Headers
    content_length: int = 0  # when not chunked
    chunked: bool = False
    expect_continue: bool = False

    @property
    def keep_alive(self) -> bool:
        """HTTP/1.1 keeps the connection unless told `close`; HTTP/1.0 only if told `keep-alive`."""
        tokens = {t.strip().lower() for t in self.headers.get("connection", "").split(",")}
        if self.version == "HTTP/1.0":
            return "keep-alive" in tokens
        return "close" not in tokens


_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_VERSION = re.compile(rb"HTTP/(\d)\.(\d)")
_BAD_VALUE = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")  # control characters other than TAB


def read_head(reader: SocketReader, limits: Limits) -> RequestHead | None:
    """Read and check one request head; None if the client closed the connection first.

    The caller has waited (up to the idle timeout) for the first byte; from
    here on the whole head must arrive within `read_timeout`."""
    reader.set_limits(limits.read_timeout, time.monotonic() + limits.read_timeout)
    budget = limits.max_head
    try:
        line = _head_line(reader, budget)
        while line == b"":  # RFC 9112 2.2: ignore empty lines before a request line
            budget -= 2
            line = _head_line(reader, budget)
        if line is None:
            return None
        budget -= len(line) + 2
        method, target, version = _parse_request_line(line)
        headers = Headers()
        while True:
            field = _head_line(reader, budget)
            if field is None:
                raise MalformedRequest("unexpected EOF in the request head")
            if field == b"":
                break
            budget -= len(field) + 2
            headers.add(*_parse_header(field))
    except TimeoutError:
        raise RequestTimeout(f"the request head did not arrive within {limits.read_timeout:g} s") from None
    return _framing(RequestHead(method, target, version, headers))


def _head_line(reader: SocketReader, budget: int) -> bytes | None:
    """One line of the head without its CRLF, or None at EOF before any byte."""
    if budget <= 0:
        raise HeaderFieldsTooLarge("request header fields too large")
    line = reader.readline(budget + 2)  # room for the CRLF itself
    if not line:
        return None
    if not line.endswith(b"\n"):
        if len(line) >= budget + 2:
            raise HeaderFieldsTooLarge("request header fields too large")
        raise MalformedRequest("unexpected EOF in the request head")
    return line[:-2] if line.endswith(b"\r\n") else line[:-1]


def _parse_request_line(line: bytes) -> tuple[str, str, str]:
    parts = line.split(b" ")
    if len(parts) != 3 or not _TOKEN.fullmatch(parts[0]) or not parts[1]:
        raise MalformedRequest(f"malformed HTTP request {line[:100]!r}")
    method, target, version = parts
    if not _VERSION.fullmatch(version):
        raise MalformedRequest(f"malformed HTTP version {version[:20]!r}")
    if version not in (b"HTTP/1.1", b"HTTP/1.0"):
        raise VersionNotSupported(f"HTTP version {version.decode()} is not supported: use HTTP/1.1")
    if not target.startswith(b"/") or _BAD_VALUE.search(target) or b"\t" in target:
        raise MalformedRequest(f"malformed request target {target[:100]!r}: expected a path such as /version")
    return method.decode("ascii"), target.decode("latin-1"), version.decode("ascii")


def _parse_header(field: bytes) -> tuple[str, str]:
    name, colon, value = field.partition(b":")
    if not colon or not _TOKEN.fullmatch(name):  # also rejects "Name : v" and folded lines (" v")
        raise MalformedRequest(f"malformed MIME header line: {field[:100]!r}")
    value = value.strip(b" \t")
    if _BAD_VALUE.search(value):
        raise MalformedRequest(f"invalid value for header {name.decode()}")
    return name.decode("ascii"), value.decode("latin-1")


def _framing(head: RequestHead) -> RequestHead:
    """Decide how the body is framed: chunked, Content-Length, or none.

    Both at once is rejected: a proxy and a server that disagree on which one
    wins is how request smuggling works (RFC 9112 6.3)."""
    headers = head.headers
    encodings = [t.strip().lower() for t in headers.get("transfer-encoding", "").split(",") if t.strip()]
    if encodings:
        if encodings != ["chunked"]:
            raise TransferEncodingNotImplemented(f"unsupported transfer encoding: {headers['transfer-encoding']}")
        if head.version == "HTTP/1.0":
            raise MalformedRequest("chunked transfer encoding is not allowed in HTTP/1.0")
        if "content-length" in headers:
            raise MalformedRequest("a request cannot have both Content-Length and Transfer-Encoding")
        head.chunked = True
    elif "content-length" in headers:
        values = {v.strip() for v in headers.get_all("content-length")}  # repeats must agree
        (value,) = values if len(values) == 1 else ("",)
        if not (value.isascii() and value.isdigit()) or len(value) > 18:
            raise MalformedRequest(f"invalid Content-Length {headers['content-length']!r}")
        head.content_length = int(value)
    expect = headers.get("expect", "").strip().lower()
    if expect:
        if expect != "100-continue":
            raise ExpectationFailed(f"unsupported Expect header: {headers['expect']}")
        head.expect_continue = head.version == "HTTP/1.1" and (head.chunked or head.content_length > 0)
    return head
# --8<-- [end:request_head]


# --8<-- [start:body_reader]
class BodyReader(io.RawIOBase):
    """A request body, read from the connection only when the handler asks.

    It decodes the framing (Content-Length or chunked), enforces the size cap
    (`limit`, None for none) and the per-read timeout, and sends
    `100 Continue` before the first read if the client asked for it (the
    client holds the body back until then: a server that will refuse it can
    answer first, and no upload is wasted).

    When the framing breaks (a bad chunk, EOF, a timeout, too many bytes)
    `broken` is set: the connection cannot carry another request, because
    nobody knows where this body ends.
    """

    def __init__(self, source: SocketReader, head: RequestHead, *, limit: int | None,
                 read_timeout: float | None, on_first_read: Callable[[], None] | None = None) -> None:
        """`on_first_read` sends `100 Continue`; it is called only if the client expects one."""
        super().__init__()
        self.source = source
        self.chunked = head.chunked
        self.length = head.content_length
        self.limit = limit
        self.read_timeout = read_timeout
        self.expect_continue = head.expect_continue
        self.on_first_read = on_first_read
        self.received = 0
        self.done = not self.chunked and self.length == 0
        self.broken = False
        self.started = False
        self._chunk_left = 0

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:  # noqa: ANN001 - io's signature
        data = self.read(len(b))
        b[:len(data)] = data
        return len(data)

    def read(self, size: int | None = -1) -> bytes:
        """Up to `size` body bytes (all of them for -1); b"" at the end of the body."""
        if size is None or size < 0:
            return b"".join(iter(lambda: self.read(RECV_SIZE), b""))
        if self.done or size == 0:
            return b""
        try:
            data = self._read_chunked(size) if self.chunked else self._read_sized(size)
        except TimeoutError:
            self.broken = True
            raise RequestTimeout(f"no request body data for {self.read_timeout:g} s") from None
        except APIError:
            self.broken = True
            raise
        self.received += len(data)
        if self.limit is not None and self.received > self.limit:
            self.broken = True
            raise PayloadTooLarge(f"request body too large: the limit is {self.limit} bytes")
        return data

    def _start(self) -> None:
        if not self.started:
            self.started = True
            if self.limit is not None and not self.chunked and self.length > self.limit:
                self.broken = True  # refused before a byte of it was read (nor 100 Continue sent)
                raise PayloadTooLarge(f"request body too large: {self.length} bytes, the limit is {self.limit}")
            if self.expect_continue and self.on_first_read is not None:
                self.on_first_read()  # "100 Continue": now the client sends the body
        self.source.set_limits(self.read_timeout)

    def _read_sized(self, size: int) -> bytes:
        self._start()
        want = min(size, self.length - self.received)
        if not self.source.buffer and not self.source.fill():
            raise MalformedRequest("unexpected EOF in the request body")
        data = self.source.take(want)
        if self.received + len(data) == self.length:
            self.done = True
        return data

    def _read_chunked(self, size: int) -> bytes:
        self._start()
        if self._chunk_left == 0:
            self._chunk_left = self._chunk_size()
            if self._chunk_left == 0:
                self._skip_trailers()
                self.done = True
                return b""
        if not self.source.buffer and not self.source.fill():
            raise MalformedRequest("unexpected EOF in a chunk of the request body")
        data = self.source.take(min(size, self._chunk_left))
        self._chunk_left -= len(data)
        if self._chunk_left == 0 and self._line() != b"":
            raise MalformedRequest("malformed chunked encoding: a chunk does not end with CRLF")
        return data

    def _chunk_size(self) -> int:
        line = self._line()
        size_text = line.split(b";", 1)[0].strip(b" \t")  # chunk extensions (";name=value") are ignored
        if not re.fullmatch(rb"[0-9A-Fa-f]{1,16}", size_text):
            raise MalformedRequest(f"malformed chunked encoding: bad chunk size {line[:40]!r}")
        return int(size_text, 16)

    def _skip_trailers(self) -> None:
        total = 0
        while (line := self._line()) != b"":
            total += len(line)
            if total > DRAIN_LIMIT:
                raise MalformedRequest("malformed chunked encoding: trailers too large")

    def _line(self) -> bytes:
        line = self.source.readline(4096)
        if not line.endswith(b"\n"):
            raise MalformedRequest("malformed chunked encoding" if line else "unexpected EOF in the request body")
        return line.rstrip(b"\r\n")

    def can_drain(self, max_bytes: int = DRAIN_LIMIT) -> bool:
        """Could the unread rest be skipped cheaply after the response? (Asked when the head
        goes out, to decide between keep-alive and `Connection: close`.)"""
        if self.done:
            return not self.broken
        if self.broken or (self.expect_continue and not self.started):
            return False
        return self.chunked or self.length - self.received <= max_bytes

    def drain(self, max_bytes: int = DRAIN_LIMIT) -> bool:
        """Skip what the handler left unread, so the next request starts at its first byte.

        True if the body ended within `max_bytes`. False means: close the
        connection instead (too big, broken, or the client still waits for a
        `100 Continue` that will never come)."""
        if self.done:
            return not self.broken
        if self.broken or (self.expect_continue and not self.started):
            return False
        self.limit = None
        skipped = 0
        try:
            while (data := self.read(min(RECV_SIZE, max_bytes - skipped + 1))):
                skipped += len(data)
                if skipped > max_bytes:
                    return False
        except APIError:
            return False
        return self.done
# --8<-- [end:body_reader]


REASONS = {
    100: "Continue", 101: "UPGRADED", 200: "OK", 201: "Created", 204: "No Content", 304: "Not Modified",
    400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
    406: "Not Acceptable", 408: "Request Timeout", 409: "Conflict", 413: "Request Entity Too Large",
    417: "Expectation Failed", 431: "Request Header Fields Too Large", 500: "Internal Server Error",
    501: "Not Implemented", 503: "Service Unavailable", 505: "HTTP Version Not Supported",
}


def format_head(status: int, headers: list[tuple[str, str]]) -> bytes:
    """A response head: status line, header lines, blank line."""
    lines = [f"HTTP/1.1 {status} {REASONS.get(status, 'Unknown')}"]
    lines += [f"{name}: {value}" for name, value in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
