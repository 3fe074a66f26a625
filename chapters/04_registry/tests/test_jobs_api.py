"""Chapter 04's jobs and routes: what goes on the wire, and the small decisions behind it.

The wire tests speak raw HTTP to a chapter-4 `minidockd` over its unix
socket, so that the bytes dockerd would send - a 404 with a JSON message for
an unknown image, progress lines ended by `\\r\\n`, a 400 for a bad search
limit - are asserted, not a client's reading of them.
"""

from __future__ import annotations

import base64
import json
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).parent))
from ch04daemon import Minidockd  # noqa: E402
from registries import DistributionRegistry, build_tiny_layout, free_port  # noqa: E402

from minidock.registry.jobs import (  # noqa: E402
    HeldFirstLine, decode_auth_config, pull_reference, registry_host, split_search_term,
)
from minidock.server.errors import BadParameter  # noqa: E402


# -- on the wire ------------------------------------------------------------------------------
def raw_request(daemon: Minidockd, method: str, path: str, body: bytes | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    """One request, `Connection: close`; (status, lower-cased headers, de-chunked body)."""
    lines = [f"{method} {path} HTTP/1.1", "Host: api", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    if body is not None:
        lines.append(f"Content-Length: {len(body)}")
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(30)
        s.connect(str(daemon.sock_path))
        s.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b""))
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    found = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in header_lines)}
    if found.get("transfer-encoding") == "chunked":
        body_out = b""
        while rest:
            size_line, _, rest = rest.partition(b"\r\n")
            size = int(size_line, 16)
            if size == 0:
                break
            body_out, rest = body_out + rest[:size], rest[size + 2:]
        rest = body_out
    return int(status_line.split()[1]), found, rest


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[Minidockd]:
    with Minidockd(tmp_path / "d") as d:
        yield d


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[DistributionRegistry]:
    with DistributionRegistry(tmp_path / "reg") as reg:
        reg.push_layout(build_tiny_layout(tmp_path / "tiny"), "tiny")
        yield reg


def test_pull_streams_json_lines_ended_by_crlf(daemon, registry):
    status, headers, body = raw_request(daemon, "POST", f"/v1.41/images/create?fromImage={registry.host}/tiny&tag=latest",
                                        headers={"X-Registry-Auth": "e30="})
    assert status == 200 and headers["content-type"] == "application/json"
    assert body.endswith(b"\r\n") and b"\n" not in body.replace(b"\r\n", b"")
    messages = [json.loads(line) for line in body.split(b"\r\n") if line]
    assert messages[0] == {"status": "Pulling from tiny", "id": "latest"}
    assert messages[-1] == {"status": f"Status: Downloaded newer image for {registry.host}/tiny:latest"}


def test_unknown_image_is_a_404_before_any_stream(daemon, registry):
    status, headers, body = raw_request(daemon, "POST", f"/v1.41/images/create?fromImage={registry.host}/nope&tag=v1")
    assert status == 404, body
    assert json.loads(body) == {"message": f"manifest for {registry.host}/nope:v1 not found: "
                                           "manifest unknown: manifest unknown"}


def test_bad_reference_is_a_400(daemon):
    status, _, body = raw_request(daemon, "POST", "/v1.41/images/create?fromImage=UPPER/Case&tag=x")
    assert status == 400, body
    assert "must be lowercase" in json.loads(body)["message"]


@pytest.mark.parametrize("query,words", [("term=x&limit=0", "outside the range"),
                                         ("term=x&limit=101", "outside the range"),
                                         ("limit=3", "term is required")])
def test_bad_search_is_a_400(daemon, query, words):
    status, _, body = raw_request(daemon, "GET", f"/v1.41/images/search?{query}")
    assert status == 400 and words in json.loads(body)["message"], body


def test_search_answers_docker_hubs_shape(daemon, registry):
    status, _, body = raw_request(daemon, "GET", f"/v1.41/images/search?term={registry.host}/ti&limit=5")
    assert status == 200, body
    assert json.loads(body) == [{"name": "tiny", "description": "", "star_count": 0, "is_official": False,
                                 "is_automated": False}]


def test_auth_pings_the_registry(daemon, registry):
    login = json.dumps({"username": "u", "password": "p", "serveraddress": registry.host}).encode()
    status, _, body = raw_request(daemon, "POST", "/v1.41/auth", login, {"Content-Type": "application/json"})
    assert status == 200, body
    assert json.loads(body) == {"IdentityToken": "", "Status": "Login Succeeded"}


def test_auth_to_nowhere_fails_with_a_message(daemon):
    login = json.dumps({"username": "u", "password": "p", "serveraddress": f"127.0.0.1:{free_port()}"}).encode()
    status, _, body = raw_request(daemon, "POST", "/v1.41/auth", login, {"Content-Type": "application/json"})
    assert status == 500 and "Connection refused" in json.loads(body)["message"], body


# -- the decisions, one by one ----------------------------------------------------------------
def encode(doc: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(doc).encode()).decode()


def test_registry_auth_header_decodes_to_credentials():
    credentials = decode_auth_config(encode({"username": "me", "password": "pw", "serveraddress": "h"}))
    assert (credentials.username, credentials.password) == ("me", "pw")
    assert decode_auth_config("e30=") is None  # "{}": what the CLI sends without a login
    assert decode_auth_config(encode({"username": "me"}).rstrip("=")) is not None  # padding is optional


@given(st.binary(max_size=64).map(lambda b: base64.urlsafe_b64encode(b).decode()) | st.text(max_size=40))
def test_any_registry_auth_header_means_credentials_or_none(header):
    decode_auth_config(header)  # never raises: a pull without usable credentials is anonymous


@pytest.mark.parametrize("image,tag,expected", [
    ("busybox", "", "docker.io/library/busybox:latest"),
    ("busybox", "1.36", "docker.io/library/busybox:1.36"),
    ("127.0.0.1:5000/x", "v1", "127.0.0.1:5000/x:v1"),
    ("localhost/x", "sha256:" + "a" * 64, "localhost/x@sha256:" + "a" * 64),
])
def test_pull_reference_joins_image_and_tag_as_dockerd(image, tag, expected):
    assert str(pull_reference(image, tag)) == expected


def test_pull_reference_refuses_a_bad_name():
    with pytest.raises(BadParameter):
        pull_reference("../etc", "")


@pytest.mark.parametrize("term,expected", [
    ("busybox", ("docker.io", "busybox")),
    ("127.0.0.1:5000/busy", ("127.0.0.1:5000", "busy")),
    ("localhost/a/b", ("localhost", "a/b")),
    ("user/app", ("docker.io", "user/app")),
])
def test_search_term_names_its_registry(term, expected):
    assert split_search_term(term) == expected


@pytest.mark.parametrize("address,host", [("", "docker.io"), ("https://index.docker.io/v1/", "docker.io"),
                                          ("127.0.0.1:5000", "127.0.0.1:5000"), ("http://h:1/", "h:1")])
def test_login_server_address_names_a_registry_host(address, host):
    assert registry_host(address) == host


def test_the_first_progress_line_waits_for_the_second():
    sent: list[dict] = []
    report = HeldFirstLine(sent.append)
    report({"status": "Pulling from x", "id": "latest"})
    assert sent == []  # the manifest may still be unknown: no head yet
    report({"status": "Digest: sha256:..."})
    report({"status": "Status: ..."})
    assert [m["status"] for m in sent] == ["Pulling from x", "Digest: sha256:...", "Status: ..."]


def resolve(service_kwargs: dict, name: str) -> dict:
    """Run the resolve_repository job on an engine of its own and decode what it printed."""
    import json
    import logging

    from minidock.engine import Engine
    from minidock.registry.contentstore import ContentStore
    from minidock.registry.jobs import RegistryService, install

    import tempfile

    with tempfile.TemporaryDirectory() as root:
        engine = Engine(logger=logging.getLogger("test"))
        install(engine, RegistryService(ContentStore(Path(root)), **service_kwargs))
        job = engine.job("resolve_repository", name)
        out = job.stdout.add_buffer()
        assert job.run() == 0, job.error
        return json.loads(out.getvalue())


@pytest.mark.parametrize("name, remote, local, canonical, official", [
    ("busybox", "library/busybox", "busybox", "docker.io/library/busybox", True),
    ("docker.io/library/busybox:1.36", "library/busybox", "busybox", "docker.io/library/busybox", True),
    ("user/app", "user/app", "user/app", "docker.io/user/app", False),
    ("127.0.0.1:5000/a/b", "a/b", "127.0.0.1:5000/a/b", "127.0.0.1:5000/a/b", False),
])
def test_resolve_repository_names_the_index_and_the_names(name, remote, local, canonical, official):
    info = resolve({"registry_mirrors": ("http://127.0.0.1:9",)}, name)
    assert (info["RemoteName"], info["LocalName"], info["CanonicalName"], info["Official"]) == (
        remote, local, canonical, official)
    hub = canonical.startswith("docker.io/")
    assert info["Index"]["Official"] is hub
    assert info["Index"]["Secure"] is hub  # localhost registries are spoken to in plain HTTP
    assert info["Index"]["Mirrors"] == (["http://127.0.0.1:9"] if hub else [])


def test_resolve_repository_honours_insecure_registries():
    info = resolve({"insecure_registries": ("registry.example:5000",)}, "registry.example:5000/x")
    assert info["Index"]["Secure"] is False
    assert info["Endpoint"] == "http://registry.example:5000"


def test_resolve_repository_refuses_a_bad_name():
    with pytest.raises(AssertionError, match="invalid reference format"):
        resolve({}, "busybox/UPPER")
