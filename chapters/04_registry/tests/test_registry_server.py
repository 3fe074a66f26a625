"""`minidock-registry` over real sockets: the V2 API, its errors, and hostile requests.

Each test talks raw HTTP (`http.client`) to a registry serving in this
process (the `registry` fixture), and most end by checking the registry
still answers: no hostile request may take it down.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from minidock.registry import mediatypes as mt
from minidock.registry.digest import digest_of
from minidock.registry.server.main import start_registry


class Client:
    def __init__(self, registry: Any, headers: dict[str, str] | None = None) -> None:
        self.registry = registry
        self.headers = headers or {}

    def __call__(self, method: str, path: str, body: bytes | None = None,
                 headers: dict[str, str] | None = None) -> tuple[http.client.HTTPResponse, bytes]:
        conn = http.client.HTTPConnection(self.registry.host, self.registry.port, timeout=10)
        try:
            conn.request(method, path, body=body, headers={**self.headers, **(headers or {})})
            response = conn.getresponse()
            return response, response.read()
        finally:
            conn.close()


@pytest.fixture
def call(registry) -> Client:  # noqa: ANN001
    return Client(registry)


def error_code(body: bytes) -> str:
    return json.loads(body)["errors"][0]["code"]


def assert_still_serving(call: Client) -> None:
    response, _ = call("GET", "/v2/")
    assert response.status == 200, "the registry stopped answering"


def push_blob(call: Client, name: str, data: bytes) -> str:
    digest = str(digest_of(data))
    response, body = call("POST", f"/v2/{name}/blobs/uploads/?digest={digest}", data)
    assert response.status == 201, body
    return digest


def push_image(call: Client, name: str, tag: str, layer: bytes = b"layer") -> tuple[str, bytes]:
    config = push_blob(call, name, b'{"os":"linux"}')
    layer_digest = push_blob(call, name, layer)
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": mt.OCI_MANIFEST,
        "config": {"mediaType": mt.OCI_CONFIG, "digest": config, "size": 14},
        "layers": [{"mediaType": mt.OCI_LAYER_GZIP, "digest": layer_digest, "size": len(layer)}],
    }).encode()
    response, body = call("PUT", f"/v2/{name}/manifests/{tag}", manifest, {"Content-Type": mt.OCI_MANIFEST})
    assert response.status == 201, body
    return response.getheader("Docker-Content-Digest"), manifest


# -- the base and the errors -----------------------------------------------------------
def test_the_base_endpoint_announces_the_v2_api(call: Client) -> None:
    response, body = call("GET", "/v2/")
    assert response.status == 200 and json.loads(body) == {}
    assert response.getheader("Docker-Distribution-Api-Version") == "registry/2.0"


def test_an_unknown_blob_is_404_blob_unknown(call: Client) -> None:
    response, body = call("GET", f"/v2/x/blobs/{digest_of(b'nothing')}")
    assert response.status == 404 and error_code(body) == "BLOB_UNKNOWN"
    response, body = call("HEAD", f"/v2/x/blobs/{digest_of(b'nothing')}")
    assert response.status == 404 and body == b""


@pytest.mark.parametrize("path", [
    "/v2/../etc/blobs/uploads/", "/v2/a/../../b/blobs/uploads/", "/v2/%2e%2e/x/blobs/uploads/",
    "/v2/UPPER/blobs/uploads/", "/v2/a//b/blobs/uploads/", "/v2/-a/blobs/uploads/", "/v2/a%00b/blobs/uploads/",
    "/v2/" + "a" * 300 + "/blobs/uploads/",
])
def test_hostile_names_are_name_invalid_and_touch_no_file(call: Client, registry, path: str) -> None:  # noqa: ANN001
    response, body = call("POST", path)
    assert response.status == 400 and error_code(body) == "NAME_INVALID", body
    root = registry.registry.storage.root
    assert not list((root / "repositories").iterdir()), "a directory was made for a hostile name"
    assert sorted(p.name for p in root.parent.iterdir()) == ["registry-root"]
    assert_still_serving(call)


@pytest.mark.parametrize("digest", ["sha256:abc", "md5:" + "0" * 32, "sha256:" + "G" * 64, "sha256:..%5cx"])
def test_bad_digests_are_digest_invalid(call: Client, digest: str) -> None:
    response, body = call("GET", f"/v2/x/blobs/{digest}")
    assert response.status == 400 and error_code(body) == "DIGEST_INVALID"
    assert_still_serving(call)


def test_a_digest_with_slashes_matches_no_route(call: Client) -> None:
    response, body = call("GET", "/v2/x/blobs/sha256:..%2f..%2f..%2fetc%2fpasswd")
    assert response.status == 404 and b"root:" not in body
    assert_still_serving(call)


# -- uploads ----------------------------------------------------------------------------
def test_a_monolithic_upload_is_served_whole_and_by_range(call: Client) -> None:
    data = bytes(range(256)) * 40
    digest = push_blob(call, "lib/blob", data)
    response, body = call("GET", f"/v2/lib/blob/blobs/{digest}")
    assert response.status == 200 and body == data
    assert response.getheader("Docker-Content-Digest") == digest
    response, body = call("HEAD", f"/v2/lib/blob/blobs/{digest}")
    assert response.status == 200 and response.getheader("Content-Length") == str(len(data)) and body == b""
    response, body = call("GET", f"/v2/lib/blob/blobs/{digest}", headers={"Range": "bytes=10-19"})
    assert response.status == 206 and body == data[10:20]
    assert response.getheader("Content-Range") == f"bytes 10-19/{len(data)}"
    response, body = call("GET", f"/v2/lib/blob/blobs/{digest}", headers={"Range": "bytes=-5"})
    assert response.status == 206 and body == data[-5:]
    response, _ = call("GET", f"/v2/lib/blob/blobs/{digest}", headers={"Range": f"bytes={len(data)}-"})
    assert response.status == 416


def test_a_chunked_upload_checks_content_range_and_the_digest(call: Client, registry) -> None:  # noqa: ANN001
    response, _ = call("POST", "/v2/lib/chunks/blobs/uploads/")
    assert response.status == 202
    location, upload_id = response.getheader("Location"), response.getheader("Docker-Upload-UUID")
    assert location.endswith(upload_id) and response.getheader("Range") == "0-0"
    response, _ = call("PATCH", location, b"hello ", {"Content-Range": "0-5"})
    assert response.status == 202 and response.getheader("Range") == "0-5"
    response, body = call("PATCH", location, b"XXXX", {"Content-Range": "2-5"})
    assert response.status == 416 and error_code(body) == "BLOB_UPLOAD_INVALID"
    response, _ = call("PATCH", location, b"world")
    assert response.status == 202 and response.getheader("Range") == "0-10"
    response, _ = call("GET", location)
    assert response.status == 204 and response.getheader("Range") == "0-10"
    response, body = call("PUT", f"{location}?digest={digest_of(b'hello world!')}", b"!")
    assert response.status == 201, body
    response, body = call("GET", f"/v2/lib/chunks/blobs/{digest_of(b'hello world!')}")
    assert body == b"hello world!"
    response, body = call("GET", location)
    assert response.status == 404 and error_code(body) == "BLOB_UPLOAD_UNKNOWN"


def test_a_wrong_digest_is_refused_and_nothing_is_stored(call: Client, registry) -> None:  # noqa: ANN001
    response, _ = call("POST", "/v2/lib/bad/blobs/uploads/")
    location = response.getheader("Location")
    claimed = digest_of(b"something else")
    response, body = call("PUT", f"{location}?digest={claimed}", b"the real bytes")
    assert response.status == 400 and error_code(body) == "DIGEST_INVALID"
    response, body = call("POST", f"/v2/lib/bad/blobs/uploads/?digest={claimed}", b"the real bytes")
    assert response.status == 400 and error_code(body) == "DIGEST_INVALID"
    storage = registry.registry.storage
    assert not list((storage.root / "blobs").rglob("data")), "an unverified blob reached blobs/"
    assert not list(storage.tmp.iterdir())
    response, _ = call("HEAD", f"/v2/lib/bad/blobs/{digest_of(b'the real bytes')}")
    assert response.status == 404
    assert_still_serving(call)


def test_an_upload_can_be_cancelled(call: Client) -> None:
    response, _ = call("POST", "/v2/lib/cancel/blobs/uploads/")
    location = response.getheader("Location")
    assert call("DELETE", location)[0].status == 204
    response, body = call("PATCH", location, b"x")
    assert response.status == 404 and error_code(body) == "BLOB_UPLOAD_UNKNOWN"


def test_a_blob_is_mounted_from_another_repository_without_upload(call: Client) -> None:
    digest = push_blob(call, "team/one", b"shared layer")
    response, _ = call("POST", f"/v2/team/two/blobs/uploads/?mount={digest}&from=team/one")
    assert response.status == 201 and response.getheader("Location") == f"/v2/team/two/blobs/{digest}"
    assert call("GET", f"/v2/team/two/blobs/{digest}")[1] == b"shared layer"
    # unknown in the source repository: a normal upload session starts instead
    response, _ = call("POST", f"/v2/team/three/blobs/uploads/?mount={digest_of(b'nope')}&from=team/one")
    assert response.status == 202 and response.getheader("Docker-Upload-UUID")


def test_a_blob_is_only_served_from_a_repository_it_was_pushed_to(call: Client) -> None:
    digest = push_blob(call, "private/a", b"secret")
    response, body = call("GET", f"/v2/other/b/blobs/{digest}")
    assert response.status == 404 and error_code(body) == "BLOB_UNKNOWN"
    assert call("DELETE", f"/v2/private/a/blobs/{digest}")[0].status == 202
    assert call("HEAD", f"/v2/private/a/blobs/{digest}")[0].status == 404


# -- manifests -------------------------------------------------------------------------
def test_a_manifest_is_served_by_tag_and_digest_with_its_headers(call: Client) -> None:
    digest, manifest = push_image(call, "lib/app", "v1")
    for ref in ("v1", digest):
        for method in ("GET", "HEAD"):
            response, body = call(method, f"/v2/lib/app/manifests/{ref}")
            assert response.status == 200
            assert response.getheader("Content-Type") == mt.OCI_MANIFEST
            assert response.getheader("Docker-Content-Digest") == digest == str(digest_of(manifest))
            assert response.getheader("Content-Length") == str(len(manifest))
            assert body == (manifest if method == "GET" else b"")
    response, body = call("GET", "/v2/lib/app/manifests/v2")
    assert response.status == 404 and error_code(body) == "MANIFEST_UNKNOWN"
    response, body = call("GET", "/v2/lib/nothing/manifests/v1")
    assert response.status == 404 and error_code(body) == "NAME_UNKNOWN"


def test_a_manifest_referring_to_a_missing_blob_is_refused(call: Client) -> None:
    missing = str(digest_of(b"never pushed"))
    manifest = json.dumps({"schemaVersion": 2, "mediaType": mt.OCI_MANIFEST,
                           "config": {"mediaType": mt.OCI_CONFIG, "digest": missing, "size": 1},
                           "layers": []}).encode()
    response, body = call("PUT", "/v2/lib/app/manifests/v1", manifest, {"Content-Type": mt.OCI_MANIFEST})
    assert response.status == 400 and error_code(body) == "MANIFEST_BLOB_UNKNOWN"
    assert missing in body.decode()
    assert call("GET", "/v2/lib/app/manifests/v1")[0].status == 404


@pytest.mark.parametrize("manifest, code", [
    (b"{not json", "MANIFEST_INVALID"),
    (json.dumps({"schemaVersion": 1, "fsLayers": []}).encode(), "MANIFEST_INVALID"),
    (json.dumps({"schemaVersion": 2, "mediaType": mt.OCI_MANIFEST, "config": {"mediaType": mt.OCI_CONFIG,
                 "digest": "sha256:1", "size": 1}, "layers": []}).encode(), "MANIFEST_INVALID"),
    (json.dumps({"schemaVersion": 2, "mediaType": mt.OCI_MANIFEST, "config": {"mediaType": mt.OCI_CONFIG,
                 "digest": str(digest_of(b"x")), "size": 10**15}, "layers": []}).encode(), "MANIFEST_INVALID"),
])
def test_hostile_manifests_are_refused(call: Client, manifest: bytes, code: str) -> None:
    response, body = call("PUT", "/v2/lib/app/manifests/v1", manifest, {"Content-Type": mt.OCI_MANIFEST})
    assert response.status == 400 and error_code(body) == code
    assert_still_serving(call)


def test_a_huge_manifest_is_refused_before_it_is_read(registry) -> None:  # noqa: ANN001
    import socket
    with socket.create_connection((registry.host, registry.port), timeout=10) as sock:
        sock.sendall(b"PUT /v2/lib/app/manifests/v1 HTTP/1.1\r\nHost: x\r\n"
                     b"Content-Type: application/vnd.oci.image.manifest.v1+json\r\n"
                     b"Content-Length: 99999999999\r\n\r\n{")
        answer = sock.recv(65536)
    assert answer.startswith(b"HTTP/1.1 400") and b"SIZE_INVALID" in answer
    assert_still_serving(Client(registry))


def test_a_manifest_put_by_digest_must_match_its_bytes(call: Client) -> None:
    _, manifest = push_image(call, "lib/app", "v1")
    response, body = call("PUT", f"/v2/lib/app/manifests/{digest_of(b'other')}", manifest,
                          {"Content-Type": mt.OCI_MANIFEST})
    assert response.status == 400 and error_code(body) == "DIGEST_INVALID"
    response, _ = call("PUT", f"/v2/lib/app/manifests/{digest_of(manifest)}", manifest,
                       {"Content-Type": mt.OCI_MANIFEST})
    assert response.status == 201


def test_deleting_a_manifest_by_digest_removes_its_tags(call: Client) -> None:
    digest, _ = push_image(call, "lib/app", "v1")
    assert call("DELETE", f"/v2/lib/app/manifests/{digest}")[0].status == 202
    assert call("GET", "/v2/lib/app/manifests/v1")[0].status == 404
    assert json.loads(call("GET", "/v2/lib/app/tags/list")[1])["tags"] == []


# -- listings ---------------------------------------------------------------------------
def test_tags_and_catalog_paginate_with_link_headers(call: Client) -> None:
    for tag in ("c", "a", "b", "d"):
        push_image(call, "lib/app", tag)
    for name in ("zeta/x", "alpha/y"):
        push_image(call, name, "latest")
    response, body = call("GET", "/v2/lib/app/tags/list?n=2")
    assert json.loads(body) == {"name": "lib/app", "tags": ["a", "b"]}
    assert response.getheader("Link") == '</v2/lib/app/tags/list?last=b&n=2>; rel="next"'
    response, body = call("GET", "/v2/lib/app/tags/list?n=2&last=b")
    assert json.loads(body)["tags"] == ["c", "d"] and response.getheader("Link") is None
    response, body = call("GET", "/v2/_catalog?n=1")
    assert json.loads(body) == {"repositories": ["alpha/y"]}
    assert response.getheader("Link") == '</v2/_catalog?last=alpha%2Fy&n=1>; rel="next"'
    response, body = call("GET", "/v2/_catalog?last=alpha/y")
    assert json.loads(body) == {"repositories": ["lib/app", "zeta/x"]}
    response, body = call("GET", "/v2/_catalog?n=x")
    assert response.status == 400 and error_code(body) == "PAGINATION_NUMBER_INVALID"
    response, body = call("GET", "/v2/unknown/repo/tags/list")
    assert response.status == 404 and error_code(body) == "NAME_UNKNOWN"


def test_v1_search_answers_as_docker_hub_from_the_catalog(call: Client) -> None:
    for name in ("library/busybox", "team/busy-app", "team/other"):
        push_image(call, name, "latest")
    response, body = call("GET", "/v1/search?q=busy&n=25")
    assert response.status == 200
    assert json.loads(body) == {"num_results": 2, "query": "busy", "results": [
        {"name": n, "description": "", "star_count": 0, "is_official": False, "is_automated": False}
        for n in ("library/busybox", "team/busy-app")]}
    assert call("GET", "/v1/_ping")[0].status == 200


def test_an_unknown_route_and_a_wrong_method_are_errors(call: Client) -> None:
    assert call("GET", "/v3/")[0].status == 404
    response, body = call("POST", "/v2/lib/app/tags/list")
    assert response.status == 405 and error_code(body) == "UNSUPPORTED"


# -- auth and the command ----------------------------------------------------------------
def test_basic_auth_from_a_users_file(tmp_path: Path) -> None:
    users = {"alice": hashlib.sha256(b"s3cret").hexdigest()}
    with start_registry(tmp_path / "root", users=users) as running:
        response, body = Client(running)("GET", "/v2/")
        assert response.status == 401 and error_code(body) == "UNAUTHORIZED"
        assert response.getheader("WWW-Authenticate") == 'Basic realm="minidock-registry"'
        wrong = base64.b64encode(b"alice:nope").decode()
        assert Client(running, {"Authorization": f"Basic {wrong}"})("GET", "/v2/")[0].status == 401
        good = base64.b64encode(b"alice:s3cret").decode()
        assert Client(running, {"Authorization": f"Basic {good}"})("GET", "/v2/")[0].status == 200


def test_the_command_listens_prints_its_address_and_stops_on_sigterm(tmp_path: Path) -> None:
    env = {**os.environ, "MINIDOCK_CHAPTER": "4"}
    proc = subprocess.Popen([sys.executable, "-m", "minidock.registry.server.main", "--listen", "127.0.0.1:0",
                             "--root", str(tmp_path / "root")], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)
    try:
        line = proc.stdout.readline()
        assert line.startswith("minidock-registry listening on http://127.0.0.1:"), proc.stderr.read()
        host, port = line.rsplit("/", 1)[1].strip().split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=10)
        conn.request("GET", "/v2/")
        assert conn.getresponse().status == 200
        conn.close()
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0


def test_the_command_refuses_a_bad_listen_address(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "minidock.registry.server.main", "--listen", "nonsense",
                             "--root", str(tmp_path)], capture_output=True, text=True,
                            env={**os.environ, "MINIDOCK_CHAPTER": "4"})
    assert result.returncode == 2 and "invalid --listen" in result.stderr and "Traceback" not in result.stderr


def test_a_large_blob_streams_in_and_out(call: Client) -> None:
    data = os.urandom(1024 * 1024) * 24  # 24 MiB: more than any socket buffer, sent with sendfile
    digest = push_blob(call, "lib/big", data)
    response, body = call("GET", f"/v2/lib/big/blobs/{digest}")
    assert response.status == 200 and len(body) == len(data) and hashlib.sha256(body).hexdigest() == digest[7:]
