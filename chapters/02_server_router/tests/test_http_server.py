"""The HTTP server core on real sockets: keep-alive, streams, hijacking, hostile input, shutdown.

Each test starts a `Server` with a small dispatch function of its own (no
router, no daemon process) on a unix socket and on 127.0.0.1, and talks to
it with raw bytes or with chapter 01's client `Connection`. Limits are small
so that timeouts are tested in fractions of a second.
"""

from __future__ import annotations

import json
import logging
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from minidock.client.http import Connection
from minidock.server.errors import APIError, NotFound
from minidock.server.http import Limits
from minidock.server.listeners import listen_tcp, listen_unix
from minidock.server.request import Request
from minidock.server.response import ResponseWriter
from minidock.server.server import Server

COMMON = {"Api-Version": "1.41", "Ostype": "linux", "Server": "minidock-test", "Docker-Experimental": "false"}
LIMITS = Limits(max_head=4096, max_body=1024, idle_timeout=1.0, read_timeout=0.5)
WAIT = 5.0  # the longest any single step may take before a test fails instead of hanging


# -- a tiny application ------------------------------------------------------------------

@dataclass
class App:
    """The dispatch under test: routes by path, and lets tests plug in handlers."""

    handlers: dict[str, Callable[[Request, ResponseWriter], None]] = field(default_factory=dict)
    events: dict[str, threading.Event] = field(default_factory=dict)
    record: dict[str, object] = field(default_factory=dict)

    def event(self, name: str) -> threading.Event:
        return self.events.setdefault(name, threading.Event())

    def __call__(self, request: Request, response: ResponseWriter) -> None:
        handler = self.handlers.get(request.path) or BUILTIN.get(request.path)
        if handler is None:
            raise NotFound("page not found")
        handler(request, response)


def version(request: Request, response: ResponseWriter) -> None:
    response.json(200, {"ApiVersion": "1.41", "remote": request.remote})


def echo_json(request: Request, response: ResponseWriter) -> None:
    response.json(200, {"got": request.json_body()})


def count_body(request: Request, response: ResponseWriter) -> None:
    response.json(200, {"bytes": len(request.read_body())})


BUILTIN = {"/version": version, "/echo": echo_json, "/count": count_body}


@dataclass
class Running:
    server: Server
    app: App
    unix_path: str
    port: int

    def connect(self, transport: str = "tcp") -> socket.socket:
        if transport == "unix":
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(WAIT)
            sock.connect(self.unix_path)
            return sock
        return socket.create_connection(("127.0.0.1", self.port), timeout=WAIT)

    def client(self, transport: str = "tcp") -> Connection:
        return Connection(self.connect(transport))

    def get(self, path: str, transport: str = "tcp") -> tuple[int, dict]:
        """One GET on a fresh connection with chapter 01's client."""
        conn = self.client(transport)
        try:
            response = conn.request("GET", path, {})
            return response.status, json.loads(response.read())
        finally:
            conn.close()

    def wait_for_connections(self, count: int, timeout: float = WAIT) -> None:
        deadline = time.monotonic() + timeout
        while self.server.connection_count != count:
            assert time.monotonic() < deadline, \
                f"connection_count stayed {self.server.connection_count}, expected {count}"
            time.sleep(0.01)

    def assert_still_serving(self) -> None:
        """The daemon keeps serving: a normal request on a new connection is answered."""
        for transport in ("tcp", "unix"):
            status, body = self.get("/version", transport)
            assert (status, body["ApiVersion"]) == (200, "1.41")


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[Callable[[Limits], Running]]:
    """A factory: a Server with these limits on a unix socket and on 127.0.0.1:<free port>."""
    started: list[Server] = []

    def start(limits: Limits = LIMITS) -> Running:
        app = App()
        server = Server(app, limits=limits, common_headers=lambda: dict(COMMON),
                        logger=logging.getLogger("test.server"))
        started.append(server)
        unix_path = str(tmp_path / f"s{len(started)}.sock")
        server.serve(listen_unix(unix_path))
        tcp = listen_tcp("127.0.0.1", 0)
        server.serve(tcp)
        return Running(server, app, unix_path, tcp.getsockname()[1])

    yield start
    for server in started:
        server.shutdown(timeout=1.0)


@pytest.fixture
def running(start_server: Callable[[Limits], Running]) -> Running:
    return start_server(LIMITS)


# -- reading raw responses ---------------------------------------------------------------

@dataclass
class Reply:
    status: int
    headers: dict[str, str]  # lower-case names
    body: bytes


def read_reply(sock: socket.socket, buffer: bytearray | None = None) -> Reply:
    """Read one response off a raw socket (Content-Length, chunked, or until EOF)."""
    buffer = bytearray() if buffer is None else buffer

    def fill() -> bool:
        data = sock.recv(65536)
        buffer.extend(data)
        return bool(data)

    while b"\r\n\r\n" not in buffer:
        assert fill(), f"connection closed before a full response head: {bytes(buffer)!r}"
    head, _, rest = bytes(buffer).partition(b"\r\n\r\n")
    del buffer[:len(head) + 4]
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if "content-length" in headers:
        size = int(headers["content-length"])
        while len(buffer) < size:
            assert fill(), "connection closed inside the body"
        body = bytes(buffer[:size])
        del buffer[:size]
    elif headers.get("transfer-encoding") == "chunked":
        body = b""
        while True:
            while b"\r\n" not in buffer:
                assert fill(), "connection closed inside a chunk"
            line, _, _ = bytes(buffer).partition(b"\r\n")
            size = int(line, 16)
            while len(buffer) < len(line) + 2 + size + 2:
                assert fill(), "connection closed inside a chunk"
            body += bytes(buffer[len(line) + 2:len(line) + 2 + size])
            del buffer[:len(line) + 2 + size + 2]
            if size == 0:
                break
    else:
        while fill():
            pass
        body = bytes(buffer)
    return Reply(status, headers, body)


def exchange(running: Running, data: bytes, transport: str = "tcp") -> Reply:
    with running.connect(transport) as sock:
        sock.sendall(data)
        return read_reply(sock)


def assert_json_error(reply: Reply, status: int, fragment: str) -> None:
    assert reply.status == status, reply
    assert reply.headers["content-type"] == "application/json"
    assert fragment in json.loads(reply.body)["message"]
    assert reply.headers["api-version"] == "1.41", "common headers must be on errors too"


# -- keep-alive and framing --------------------------------------------------------------

@pytest.mark.parametrize("transport", ["tcp", "unix"])
def test_keep_alive_carries_two_requests_on_one_connection(running: Running, transport: str) -> None:
    conn = running.client(transport)
    first = conn.request("GET", "/version", {})
    assert first.status == 200 and json.loads(first.read())["ApiVersion"] == "1.41"
    assert conn.reusable, "an HTTP/1.1 response without Connection: close keeps the connection"
    second = conn.request("POST", "/echo", {"Content-Type": "application/json"}, b'{"a": 1}')
    assert json.loads(second.read()) == {"got": {"a": 1}}
    assert running.server.connection_count == 1
    conn.close()
    running.wait_for_connections(0)


def test_responses_carry_the_common_headers_and_a_json_error_body(running: Running) -> None:
    reply = exchange(running, b"GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n")
    assert_json_error(reply, 404, "page not found")
    for name, value in COMMON.items():
        assert reply.headers[name.lower()] == value


def test_pipelined_requests_are_answered_in_order(running: Running) -> None:
    with running.connect() as sock:
        sock.sendall(b"GET /version HTTP/1.1\r\n\r\nGET /nowhere HTTP/1.1\r\n\r\n"
                     b"GET /version HTTP/1.1\r\nConnection: close\r\n\r\n")
        buffer = bytearray()
        statuses = [read_reply(sock, buffer).status for _ in range(3)]
        assert statuses == [200, 404, 200]
        assert sock.recv(1) == b"", "Connection: close ends the connection"


def test_http_1_0_closes_unless_asked_to_keep_alive(running: Running) -> None:
    with running.connect() as sock:
        sock.sendall(b"GET /version HTTP/1.0\r\n\r\n")
        reply = read_reply(sock)
        assert reply.status == 200 and reply.headers["connection"] == "close"
        assert sock.recv(1) == b""
    with running.connect() as sock:
        sock.sendall(b"GET /version HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        assert read_reply(sock).headers["connection"] == "keep-alive"
        sock.sendall(b"GET /version HTTP/1.0\r\n\r\n")
        assert read_reply(sock).status == 200


def test_head_request_gets_the_head_only(running: Running) -> None:
    with running.connect() as sock:
        sock.sendall(b"HEAD /version HTTP/1.1\r\n\r\nGET /version HTTP/1.1\r\n\r\n")
        time.sleep(0.2)
        data = sock.recv(65536)
    first, _, rest = data.partition(b"\r\n\r\n")
    assert b"Content-Length: " in first and rest.startswith(b"HTTP/1.1 200 OK"), \
        "the HEAD answer has no body: the next bytes are the next response"


def test_head_of_a_stream_is_the_head_only(running: Running) -> None:
    def events(request: Request, response: ResponseWriter) -> None:
        with response.stream() as stream:
            stream.write(b"never sent for HEAD")

    running.app.handlers["/events"] = events
    with running.connect() as sock:
        sock.sendall(b"HEAD /events HTTP/1.1\r\n\r\nGET /version HTTP/1.1\r\n\r\n")
        time.sleep(0.2)
        data = sock.recv(65536)
    first, _, rest = data.partition(b"\r\n\r\n")
    assert b"Transfer-Encoding: chunked" in first and rest.startswith(b"HTTP/1.1 200 OK"), data


def test_chunked_request_body_is_decoded(running: Running) -> None:
    reply = exchange(running, b"POST /echo HTTP/1.1\r\nContent-Type: application/json\r\n"
                              b"Transfer-Encoding: chunked\r\n\r\n"
                              b"4;ext=1\r\n{\"a\"\r\n4\r\n: 1}\r\n0\r\nTrailer: x\r\n\r\n")
    assert reply.status == 200 and json.loads(reply.body) == {"got": {"a": 1}}


def test_expect_100_continue_is_answered_before_the_body_is_sent(running: Running) -> None:
    with running.connect() as sock:
        sock.sendall(b"POST /echo HTTP/1.1\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 8\r\nExpect: 100-continue\r\n\r\n")
        interim = sock.recv(100)
        assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(b'{"a": 1}')
        reply = read_reply(sock)
        assert json.loads(reply.body) == {"got": {"a": 1}}


def test_expect_100_continue_without_reading_the_body_closes_the_connection(running: Running) -> None:
    with running.connect() as sock:
        sock.sendall(b"POST /version HTTP/1.1\r\nContent-Length: 100000\r\nExpect: 100-continue\r\n\r\n")
        reply = read_reply(sock)
        assert reply.status == 200 and reply.headers["connection"] == "close", \
            "no 100 Continue was sent, so the client still holds its body: the connection cannot go on"
    running.assert_still_serving()


def test_an_unread_small_body_is_skipped_and_the_connection_kept(running: Running) -> None:
    with running.connect() as sock:
        sock.sendall(b"POST /version HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello"
                     b"GET /version HTTP/1.1\r\n\r\n")
        buffer = bytearray()
        assert read_reply(sock, buffer).status == 200
        assert read_reply(sock, buffer).status == 200


# -- streaming -----------------------------------------------------------------------------

def test_chunked_stream_arrives_chunk_by_chunk(running: Running) -> None:
    app = running.app
    first_read = app.event("first chunk read")

    def events(request: Request, response: ResponseWriter) -> None:
        stream = response.stream()
        stream.write_json({"n": 1})
        app.record["waited"] = first_read.wait(WAIT)  # only the client can set it, after reading chunk 1
        stream.write_json({"n": 2})
        stream.close()

    app.handlers["/events"] = events
    conn = running.client()
    response = conn.request("GET", "/events", {})
    assert response.status == 200 and response.headers["transfer-encoding"] == "chunked"
    assert json.loads(response.read_some()) == {"n": 1}
    first_read.set()
    assert json.loads(response.read_some()) == {"n": 2}
    assert response.read_some() == b""
    assert app.record["waited"] is True, "the first chunk must reach the client before the second is written"
    assert conn.reusable, "a closed stream leaves the connection usable"
    conn.close()


def test_a_stream_the_handler_forgets_to_close_is_closed_for_it(running: Running) -> None:
    running.app.handlers["/open"] = lambda request, response: response.stream().write(b"x")
    conn = running.client()
    assert conn.request("GET", "/open", {}).read() == b"x"
    assert conn.request("GET", "/version", {}).status == 200
    conn.close()


def test_client_that_disconnects_mid_stream_frees_its_thread(running: Running) -> None:
    app = running.app

    def follow(request: Request, response: ResponseWriter) -> None:
        stream = response.stream()
        try:
            while True:  # like `logs -f`: write until the client goes away
                stream.write(b"line\n")
                time.sleep(0.01)
        except ConnectionError as exc:
            app.record["error"] = exc
            raise

    app.handlers["/follow"] = follow
    sock = running.connect()
    sock.sendall(b"GET /follow HTTP/1.1\r\n\r\n")
    received = b""
    while b"line" not in received:
        received += sock.recv(4096)
    running.wait_for_connections(1)
    sock.close()
    running.wait_for_connections(0)
    assert isinstance(app.record["error"], ConnectionError)
    running.assert_still_serving()


def test_error_after_a_stream_started_cuts_the_stream(running: Running) -> None:
    def broken(request: Request, response: ResponseWriter) -> None:
        response.stream().write(b"partial")
        raise RuntimeError("disk on fire")

    running.app.handlers["/broken"] = broken
    with running.connect() as sock:
        sock.sendall(b"GET /broken HTTP/1.1\r\n\r\n")
        data = b""
        while chunk := sock.recv(4096):
            data += chunk
    assert b"partial" in data and not data.endswith(b"0\r\n\r\n"), "no last chunk: the client sees a cut"
    running.assert_still_serving()


# -- errors escaping handlers ------------------------------------------------------------

def test_api_error_becomes_its_status_and_a_bug_becomes_500(running: Running, caplog) -> None:
    class Teapot(APIError):
        status = 418

    def teapot(request: Request, response: ResponseWriter) -> None:
        raise Teapot("short and stout")

    def bug(request: Request, response: ResponseWriter) -> None:
        {}["missing"]

    running.app.handlers.update({"/teapot": teapot, "/bug": bug})
    assert_json_error(exchange(running, b"GET /teapot HTTP/1.1\r\n\r\n"), 418, "short and stout")
    with caplog.at_level(logging.ERROR, logger="test.server"):
        reply = exchange(running, b"GET /bug HTTP/1.1\r\n\r\n")
    assert_json_error(reply, 500, "'missing'")
    assert any(r.exc_info and "KeyError" in repr(r.exc_info[1].__class__) for r in caplog.records), \
        "a bug is logged with its traceback"


def test_query_helpers_reject_bad_values_with_400(running: Running) -> None:
    def ps(request: Request, response: ResponseWriter) -> None:
        response.json(200, {"all": request.bool_param("all"), "limit": request.int_param("limit", -1)})

    running.app.handlers["/containers/json"] = ps
    assert running.get("/containers/json?all=True&limit=3") == (200, {"all": True, "limit": 3})
    assert running.get("/containers/json?all=0") == (200, {"all": False, "limit": -1})
    assert_json_error(exchange(running, b"GET /containers/json?all=maybe HTTP/1.1\r\n\r\n"), 400, "'maybe'")
    assert_json_error(exchange(running, b"GET /containers/json?limit=ten HTTP/1.1\r\n\r\n"), 400, "'ten'")


# -- hostile input ---------------------------------------------------------------------------

# name: (bytes sent, status, a piece of the message). The first group breaks the HTTP
# framing itself: after the answer the connection is closed. The second is well-framed
# HTTP with a bad payload: the handler's 400, and the connection may go on.
SPOILED = {
    "not HTTP": (b"HELLO\r\n\r\n", 400, "malformed HTTP request"),
    "four words": (b"GET /version HTTP/1.1 extra\r\n\r\n", 400, "malformed HTTP request"),
    "no slash": (b"GET version HTTP/1.1\r\n\r\n", 400, "malformed request target"),
    "binary": (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", 400, "malformed"),
    "HTTP/2": (b"GET /version HTTP/2.0\r\n\r\n", 505, "not supported"),
    "header without colon": (b"GET /version HTTP/1.1\r\nHost x\r\n\r\n", 400, "malformed MIME header"),
    "folded header": (b"GET /version HTTP/1.1\r\nX-A: 1\r\n  continued\r\n\r\n", 400, "malformed MIME header"),
    "huge header": (b"GET /version HTTP/1.1\r\nX-Big: " + b"a" * 5000 + b"\r\n\r\n", 431, "too large"),
    "huge request line": (b"GET /" + b"a" * 5000 + b" HTTP/1.1\r\n\r\n", 431, "too large"),
    "many headers": (b"GET /version HTTP/1.1\r\n" + b"X-A: aaaaaaaa\r\n" * 400 + b"\r\n", 431, "too large"),
    "bad length": (b"POST /count HTTP/1.1\r\nContent-Length: 12abc\r\n\r\n", 400, "invalid Content-Length"),
    "two lengths": (b"POST /count HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", 400,
                    "invalid Content-Length"),
    "length and chunked": (b"POST /count HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
                           400, "both"),
    "gzip": (b"POST /count HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", 501, "transfer encoding"),
    "expect": (b"POST /count HTTP/1.1\r\nContent-Length: 1\r\nExpect: 200-ok\r\n\r\nx", 417, "Expect"),
    "bad chunk size": (b"POST /echo HTTP/1.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked"
                       b"\r\n\r\nzz\r\n{}\r\n0\r\n\r\n", 400, "bad chunk size"),
    "chunk longer than said": (b"POST /count HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                               b"2\r\nabcd\r\n0\r\n\r\n", 400, "CRLF"),
    "huge body": (b"POST /echo HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 10000000\r\n\r\n"
                  b'{"a": "' + b"a" * 2000, 413, "too large"),
    "huge chunked body": (b"POST /count HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                          + (b"200\r\n" + b"a" * 512 + b"\r\n") * 3 + b"0\r\n\r\n", 413, "too large"),
    "body cut short": (b"POST /count HTTP/1.1\r\nContent-Length: 100\r\n\r\nonly this", 400, "EOF"),
}
BAD_PAYLOAD = {
    "wrong content type": (b"POST /echo HTTP/1.1\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\n{}",
                           400, "Content-Type specified (text/plain) must be 'application/json'"),
    "body without content type": (b"POST /echo HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}", 400, "Content-Type"),
    "bad JSON": (b"POST /echo HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 9\r\n\r\n{\"a\": 1,}",
                 400, "invalid JSON"),
    "not UTF-8": (b"POST /echo HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 3\r\n\r\n\"\xff\"",
                  400, "invalid JSON"),
    "empty JSON body": (b"POST /echo HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 0\r\n\r\n",
                        400, "EOF"),
}
HOSTILE = {**SPOILED, **BAD_PAYLOAD}


@pytest.mark.parametrize("transport", ["tcp", "unix"])
@pytest.mark.parametrize("case", list(HOSTILE), ids=list(HOSTILE))
def test_hostile_input_gets_a_4xx_and_the_daemon_keeps_serving(running: Running, case: str, transport: str) -> None:
    data, status, fragment = HOSTILE[case]
    with running.connect(transport) as sock:
        sock.sendall(data)
        if case == "body cut short":
            sock.shutdown(socket.SHUT_WR)  # the client says it has sent all it will
        reply = read_reply(sock)
        assert_json_error(reply, status, fragment)
        if case in SPOILED:
            assert reply.headers.get("connection") == "close", "a spoiled stream cannot carry another request"
            assert sock.recv(1) == b""
        else:
            assert "connection" not in reply.headers
    running.wait_for_connections(0)
    running.assert_still_serving()


def test_a_refused_upload_still_reaches_the_client_that_keeps_sending(running: Running) -> None:
    """A 413 while the client is still uploading: the server must not reset the
    connection under the answer (it lingers, reading and dropping, before closing)."""
    with running.connect("tcp") as sock:
        sock.sendall(b"POST /echo HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 100000000\r\n\r\n")

        errors: list[OSError] = []

        def upload() -> None:  # 512 KiB more, at the pace of a slow link
            try:
                for _ in range(64):
                    sock.sendall(b"a" * 8192)
                    time.sleep(0.001)
            except OSError as exc:
                errors.append(exc)

        uploader = threading.Thread(target=upload)
        uploader.start()
        reply = read_reply(sock)
        uploader.join()
        assert sock.recv(1) == b"", "a clean end of stream after the answer"
    assert_json_error(reply, 413, "too large")
    assert errors == [], "the server read and dropped the rest instead of resetting the connection"
    running.assert_still_serving()


def test_a_json_error_keeps_a_well_framed_connection(running: Running) -> None:
    """Bad JSON is the handler's 400: the HTTP framing was fine, so the connection goes on."""
    with running.connect() as sock:
        sock.sendall(b"POST /echo HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 3\r\n\r\n{x}"
                     b"GET /version HTTP/1.1\r\n\r\n")
        buffer = bytearray()
        assert read_reply(sock, buffer).status == 400
        assert read_reply(sock, buffer).status == 200


def test_slowloris_is_dropped_after_the_read_timeout(running: Running) -> None:
    """Half a head, then a byte now and then: each byte comes well within the
    read timeout, but the whole head does not, and that is what counts."""
    with running.connect() as sock:
        sock.sendall(b"GET /version HTTP/1.1\r\nX-Slow: ")
        start = time.monotonic()
        received = b""
        while time.monotonic() - start < 3:
            try:
                sock.sendall(b"a")
            except OSError:
                break
            time.sleep(0.1)
            sock.setblocking(False)
            try:
                received += sock.recv(4096)
            except BlockingIOError:
                pass
            finally:
                sock.setblocking(True)
            if received:
                break
        elapsed = time.monotonic() - start
    assert received.startswith(b"HTTP/1.1 408"), received
    assert LIMITS.read_timeout <= elapsed + 0.15 < LIMITS.read_timeout + 1.0, elapsed
    running.wait_for_connections(0)
    running.assert_still_serving()


def test_a_stalled_body_is_dropped_after_the_read_timeout(running: Running) -> None:
    with running.connect() as sock:
        sock.sendall(b"POST /count HTTP/1.1\r\nContent-Length: 100\r\n\r\nsome")
        start = time.monotonic()
        reply = read_reply(sock)
        assert_json_error(reply, 408, "no request body data")
        assert time.monotonic() - start < LIMITS.read_timeout + 1.0
    running.wait_for_connections(0)
    running.assert_still_serving()


def test_an_idle_keep_alive_connection_is_closed_after_the_idle_timeout(running: Running) -> None:
    with running.connect() as sock:
        sock.sendall(b"GET /version HTTP/1.1\r\n\r\n")
        read_reply(sock)
        start = time.monotonic()
        assert sock.recv(1) == b"", "the server closes the connection"
        assert LIMITS.idle_timeout - 0.1 < time.monotonic() - start < LIMITS.idle_timeout + 1.0
    running.wait_for_connections(0)


# -- hijacking ---------------------------------------------------------------------------------

def test_hijack_sends_the_101_head_alone_then_raw_bytes_both_ways(running: Running) -> None:
    app = running.app
    head_read = app.event("head read")

    def attach(request: Request, response: ResponseWriter) -> None:
        sock, reader = response.hijack()
        app.record["hijacked"] = running.server.connection_count
        head_read.wait(WAIT)  # nothing is written until the client has read the head on its own
        while data := reader.read1(65536):  # until the client half-closes
            sock.sendall(data.upper())
        sock.sendall(b"bye\n")  # after the client's EOF we may still talk

    app.handlers["/containers/c1/attach"] = attach
    with running.connect("unix") as sock:
        # Stream bytes right behind the head: they wait in the server's buffer for the handler.
        sock.sendall(b"POST /containers/c1/attach?stream=1 HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\n"
                     b"Upgrade: tcp\r\nContent-Type: text/plain\r\n\r\nearly ")
        head = b""
        while not head.endswith(b"\r\n\r\n"):
            head += sock.recv(1)
        time.sleep(0.1)
        sock.setblocking(False)
        with pytest.raises(BlockingIOError):
            sock.recv(1)  # nothing after the head yet: it was flushed alone
        sock.setblocking(True)
        head_read.set()
        lines = head.decode().split("\r\n")
        assert lines[0] == "HTTP/1.1 101 UPGRADED"
        assert {"Content-Type: application/vnd.docker.raw-stream", "Connection: Upgrade", "Upgrade: tcp",
                "Api-Version: 1.41"} <= set(lines)
        assert not any(line.lower().startswith(("content-length", "transfer-encoding")) for line in lines)
        sock.sendall(b"hello")
        echoed = b""
        while len(echoed) < len(b"EARLY HELLO"):
            echoed += sock.recv(100)
        assert echoed == b"EARLY HELLO"
        sock.shutdown(socket.SHUT_WR)  # half-close: stdin is done, output may still come
        rest = b""
        while chunk := sock.recv(100):
            rest += chunk
        assert rest == b"bye\n"
    assert app.record["hijacked"] == 1
    running.wait_for_connections(0)
    running.assert_still_serving()


def test_docker_py_sees_the_first_frame_written_right_after_the_101(running: Running) -> None:
    """docker-py drops bytes that arrive with the 101 head. The handler here writes at
    once, the worst case; on a unix socket the hijack waits until the head was read."""
    docker = pytest.importorskip("docker")
    from minidock.client.stdcopy import encode_frame

    def exec_start(request: Request, response: ResponseWriter) -> None:
        assert request.json_body() == {"Detach": False, "Tty": False}
        sock, reader = response.hijack()
        sock.sendall(encode_frame(1, b"first\n"))
        while data := reader.read1(1024):
            sock.sendall(encode_frame(1, data))

    running.app.handlers["/v1.41/exec/e1/start"] = exec_start
    client = docker.APIClient(base_url=f"unix://{running.unix_path}", version="1.41", timeout=WAIT)
    try:
        raw = client.exec_start("e1", socket=True)._sock
        raw.sendall(b"second\n")
        raw.shutdown(socket.SHUT_WR)
        received = b""
        while chunk := raw.recv(4096):
            received += chunk
    finally:
        client.close()
    assert received == encode_frame(1, b"first\n") + encode_frame(1, b"second\n")


# -- many clients -------------------------------------------------------------------------------

def test_100_concurrent_clients_are_all_answered(running: Running) -> None:
    """A thread per connection: all 100 requests are inside a handler at the same time
    (the barrier would time out if the server served them one after another)."""
    clients = 100
    barrier = threading.Barrier(clients, timeout=10)

    def together(request: Request, response: ResponseWriter) -> None:
        barrier.wait()
        response.json(200, {"ok": True})

    running.app.handlers["/together"] = together
    results: list[object] = [None] * clients

    def client(i: int) -> None:
        try:
            results[i] = running.get("/together", "unix" if i % 2 else "tcp")
        except Exception as exc:  # noqa: BLE001 - reported below
            results[i] = exc

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(15)
    assert results == [(200, {"ok": True})] * clients
    running.wait_for_connections(0)


# -- graceful shutdown ---------------------------------------------------------------------------

def test_shutdown_lets_an_in_flight_request_finish_then_refuses_connections(start_server) -> None:
    # A long idle timeout: the idle connection must be closed by the shutdown, not by its timer.
    running = start_server(Limits(idle_timeout=30.0, read_timeout=30.0))
    app = running.app
    started = app.event("slow started")

    def slow(request: Request, response: ResponseWriter) -> None:
        started.set()
        time.sleep(0.5)
        response.json(200, {"done": True})

    app.handlers["/slow"] = slow
    idle = running.client()
    assert idle.request("GET", "/version", {}).status == 200  # an idle keep-alive connection
    busy = running.connect()
    busy.sendall(b"GET /slow HTTP/1.1\r\n\r\n")
    assert started.wait(WAIT)
    begin = time.monotonic()
    running.server.shutdown(timeout=5)
    took = time.monotonic() - begin
    reply = read_reply(busy)
    assert reply.status == 200 and json.loads(reply.body) == {"done": True}
    assert reply.headers["connection"] == "close", "a response finished during shutdown closes its connection"
    assert busy.recv(1) == b""
    assert idle.sock.recv(1) == b"", "the idle keep-alive connection was closed"
    assert 0.3 < took < 2.5, f"shutdown waited for the slow request only ({took:.2f}s)"
    assert running.server.connection_count == 0
    with pytest.raises(ConnectionRefusedError):
        running.connect("tcp")
    with pytest.raises((ConnectionRefusedError, FileNotFoundError)):
        running.connect("unix")
    busy.close()
    idle.close()


def test_shutdown_cuts_a_never_ending_stream_and_a_hijacked_connection(running: Running) -> None:
    app = running.app

    def events(request: Request, response: ResponseWriter) -> None:
        stream = response.stream()
        while True:
            stream.write_json({"tick": time.monotonic()})
            time.sleep(0.02)

    def attach(request: Request, response: ResponseWriter) -> None:
        sock, reader = response.hijack()
        while reader.read1(1024):
            pass

    app.handlers.update({"/events": events, "/attach": attach})
    stream = running.connect()
    stream.sendall(b"GET /events HTTP/1.1\r\n\r\n")
    received = b""
    while b"tick" not in received:
        received += stream.recv(4096)
    hijacked = running.connect("unix")
    hijacked.sendall(b"POST /attach HTTP/1.1\r\nUpgrade: tcp\r\nConnection: Upgrade\r\n\r\n")
    assert hijacked.recv(4096).startswith(b"HTTP/1.1 101")
    running.wait_for_connections(2)
    begin = time.monotonic()
    running.server.shutdown(timeout=0.3)
    took = time.monotonic() - begin
    assert 0.3 <= took < 2.0, took
    assert running.server.connection_count == 0
    rest = b""
    while chunk := stream.recv(65536):
        rest += chunk
    assert not rest.endswith(b"0\r\n\r\n"), "the stream was cut, not ended"
    assert hijacked.recv(10) == b""
    stream.close()
    hijacked.close()


def test_handler_threads_leave_process_signals_to_the_main_thread(running: Running) -> None:
    """Python runs signal handlers in the main thread only; a SIGTERM the kernel hands to
    a connection thread would wait there unnoticed. So server threads block them."""
    def mask(request: Request, response: ResponseWriter) -> None:
        blocked = signal.pthread_sigmask(signal.SIG_BLOCK, [])
        response.json(200, sorted(signal.Signals(s).name for s in blocked))

    running.app.handlers["/mask"] = mask
    status, blocked = running.get("/mask")
    assert {"SIGTERM", "SIGINT", "SIGCHLD"} <= set(blocked)
    assert "SIGTERM" not in {signal.Signals(s).name for s in signal.pthread_sigmask(signal.SIG_BLOCK, [])}, \
        "the thread that called serve() keeps its own mask"


def test_addresses_name_the_listeners(running: Running) -> None:
    assert running.server.addresses == [f"unix://{running.unix_path}", f"tcp://127.0.0.1:{running.port}"]
