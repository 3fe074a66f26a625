"""Our HTTP/1.1 client against a scripted peer on a real socket pair."""

import socket
import threading

import pytest
from hypothesis import given, settings, strategies as st

from minidock.client.errors import ProtocolError
from minidock.client.http import Connection


def serve_once(answer: bytes) -> tuple[Connection, list[bytes]]:
    """A connection whose peer reads one request head and writes `answer` byte for byte."""
    ours, theirs = socket.socketpair()
    seen: list[bytes] = []

    def peer() -> None:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = theirs.recv(4096)
            if not chunk:
                break
            data += chunk
        head, _, rest = data.partition(b"\r\n\r\n")
        length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                       if line.lower().startswith(b"content-length:")), 0)
        while len(rest) < length:
            rest += theirs.recv(4096)
        while b"transfer-encoding: chunked" in head.lower() and not rest.endswith(b"0\r\n\r\n"):
            rest += theirs.recv(4096)  # read the whole chunked body before answering
        seen.append(head + b"\r\n\r\n" + rest)
        theirs.sendall(answer)
        theirs.close()

    threading.Thread(target=peer, daemon=True).start()
    return Connection(ours), seen


def chunked(body: bytes, sizes: list[int]) -> bytes:
    out, i = b"", 0
    for size in sizes:
        piece = body[i:i + size]
        if piece:
            out += b"%x\r\n%s\r\n" % (len(piece), piece)
        i += size
    if i < len(body):
        out += b"%x\r\n%s\r\n" % (len(body) - i, body[i:])
    return out + b"0\r\n\r\n"


@settings(max_examples=50, deadline=None)
@given(st.binary(max_size=2000), st.lists(st.integers(1, 300), max_size=20))
def test_a_chunked_body_decodes_to_the_body_however_it_was_chunked(body, sizes):
    conn, _ = serve_once(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked(body, sizes))
    response = conn.request("GET", "/x", {})
    assert response.read() == body
    assert conn.reusable  # the body ended cleanly: the connection can carry the next request


def test_content_length_body_and_request_head():
    conn, seen = serve_once(b"HTTP/1.1 201 Created\r\nContent-Length: 5\r\nContent-Type: application/json\r\n\r\nhello")
    response = conn.request("POST", "/v1.41/containers/create?name=x", {"Content-Type": "application/json"}, b"{}")
    assert (response.status, response.headers["content-type"], response.read()) == (201, "application/json", b"hello")
    head = seen[0].decode()
    assert head.startswith("POST /v1.41/containers/create?name=x HTTP/1.1\r\n")
    assert "Content-Length: 2\r\n" in head and "Host: api.moby.localhost\r\n" in head


def test_a_body_without_length_runs_to_the_end_of_the_connection():
    conn, _ = serve_once(b"HTTP/1.1 200 OK\r\n\r\nall of it")
    response = conn.request("GET", "/x", {})
    assert response.read() == b"all of it"
    assert not conn.reusable


def test_head_responses_have_no_body_even_with_a_length():
    conn, _ = serve_once(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nApi-Version: 1.41\r\n\r\n")
    response = conn.request("HEAD", "/_ping", {})
    assert response.read() == b"" and response.headers["API-VERSION"] == "1.41"


def test_lines_of_a_stream_arrive_one_by_one():
    body = b'{"status":"a"}\r\n{"status":"b"}\r\n'
    conn, _ = serve_once(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked(body, [3, 5, 7]))
    assert list(conn.request("POST", "/images/create", {}).iter_lines()) == [b'{"status":"a"}', b'{"status":"b"}']


@pytest.mark.parametrize("answer", [
    b"",  # closed without answering
    b"SSH-2.0-OpenSSH\r\n\r\n",  # not HTTP
    b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",  # bad chunk size
    b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",  # truncated
])
def test_broken_peers_raise_protocol_errors(answer):
    conn, _ = serve_once(answer)
    with pytest.raises(ProtocolError):
        conn.request("GET", "/x", {}).read()


def test_a_streamed_request_body_is_sent_chunked():
    conn, seen = serve_once(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
    conn.request("POST", "/build", {}, iter([b"abc", b"", b"defg"])).read()
    assert b"Transfer-Encoding: chunked" in seen[0]
