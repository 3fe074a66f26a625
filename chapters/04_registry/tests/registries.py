"""Test fixtures for chapter 04: registries to talk to, and a tiny image to put in them.

Import it from a test module of this folder (pytest's importlib mode puts no
test folder on `sys.path`, so add this one first):

    sys.path.insert(0, str(Path(__file__).parent))
    from registries import DistributionRegistry, build_tiny_layout, skopeo_copy

* `build_tiny_layout(dest, files={"hello.txt": b"hi\\n"})` writes an OCI image
  layout (`oci-layout`, `index.json`, `blobs/sha256/...`) of a one-layer image
  made with `tarfile` and `json` alone: deterministic (fixed mtimes, uid 0),
  so two builds of the same files have the same digests. It returns a
  `TinyImage` with the digests and bytes, for asserting what arrives.
* `DistributionRegistry(tmp_path)`: Debian's `docker-registry` (distribution
  2.8) started privately - its own config, storage directory and a free
  port on 127.0.0.1 - and stopped by PID. `.host` is `127.0.0.1:PORT`,
  `.blob_path(digest)` is where it keeps a blob (for corrupting it).
* `skopeo_copy(src, dest)`: `skopeo copy` with TLS off for our local
  registries, e.g. `skopeo_copy(f"oci:{layout}:latest", f"docker://{reg.host}/tiny:latest")`.
"""

from __future__ import annotations

import gzip
import hashlib
import http.server
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import tarfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest

DOCKER_REGISTRY = "/usr/bin/docker-registry"
SKOPEO = "/usr/bin/skopeo"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def canonical(value: object) -> bytes:
    return json.dumps(value, separators=(",", ":"), sort_keys=True).encode()


@dataclass
class TinyImage:
    """What `build_tiny_layout` wrote: every blob by digest, and the digests that matter."""

    layout: Path
    manifest_digest: str
    config_digest: str
    layer_digests: list[str]
    blobs: dict[str, bytes] = field(default_factory=dict)

    @property
    def manifest(self) -> dict:
        return json.loads(self.blobs[self.manifest_digest])


def make_layer(files: dict[str, bytes]) -> bytes:
    """A gzipped tar of `files`, byte-for-byte reproducible."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name in sorted(files):
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(files[name]), 0, 0o644
            tar.addfile(info, io.BytesIO(files[name]))
    return gzip.compress(raw.getvalue(), mtime=0)


def image_blobs(layers: list[bytes], architecture: str = "amd64", os_name: str = "linux",
                variant: str | None = None) -> tuple[bytes, bytes]:
    """(config, manifest) bytes for an OCI image of these gzipped layers."""
    diff_ids = [sha256(gzip.decompress(layer)) for layer in layers]
    config_doc = {"architecture": architecture, "os": os_name, "config": {"Cmd": ["cat", "/hello.txt"]},
                  "rootfs": {"type": "layers", "diff_ids": diff_ids}}
    if variant:
        config_doc["variant"] = variant
    config = canonical(config_doc)
    manifest = canonical({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": sha256(config), "size": len(config)},
        "layers": [{"mediaType": OCI_LAYER_GZIP, "digest": sha256(layer), "size": len(layer)} for layer in layers],
    })
    return config, manifest


def write_layout(dest: Path, blobs: dict[str, bytes], index: dict) -> None:
    (dest / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
    (dest / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    for digest, data in blobs.items():
        (dest / "blobs" / "sha256" / digest.removeprefix("sha256:")).write_bytes(data)
    (dest / "index.json").write_bytes(canonical(index))


def build_tiny_layout(dest: Path, files: dict[str, bytes] | None = None, tag: str = "latest",
                      layer_count: int = 1) -> TinyImage:
    """An OCI layout of a tiny linux/amd64 image: `layer_count` layers, each a tar of `files`
    (the n-th layer's file names get a suffix, so the layers differ)."""
    files = files or {"hello.txt": b"hello from a tiny image\n"}
    layers = [make_layer({(name if n == 0 else f"{name}.{n}"): data for name, data in files.items()})
              for n in range(layer_count)]
    config, manifest = image_blobs(layers)
    blobs = {sha256(b): b for b in (*layers, config, manifest)}
    write_layout(dest, blobs, {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [
        {"mediaType": OCI_MANIFEST, "digest": sha256(manifest), "size": len(manifest),
         "annotations": {"org.opencontainers.image.ref.name": tag}}]})
    return TinyImage(dest, sha256(manifest), sha256(config), [sha256(layer) for layer in layers], blobs)


def skopeo_copy(source: str, dest: str, *extra: str) -> None:
    """`skopeo copy`, plain HTTP to our local registries; fails the test with skopeo's stderr."""
    if not os.path.exists(SKOPEO):
        pytest.skip("skopeo is not installed (Debian package skopeo)")
    command = [SKOPEO, "--insecure-policy", "copy", "--src-tls-verify=false", "--dest-tls-verify=false",
               *extra, source, dest]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"{' '.join(command)}: {result.stderr}"


class DistributionRegistry:
    """Debian's docker-registry (distribution 2.8) on 127.0.0.1:<free port>, private to a test."""

    def __init__(self, base: Path) -> None:
        if not os.path.exists(DOCKER_REGISTRY):
            pytest.skip("docker-registry is not installed (Debian package docker-registry)")
        self.base = base
        self.root = base / "storage"
        self.port = free_port()
        self.host = f"127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> "DistributionRegistry":
        self.root.mkdir(parents=True, exist_ok=True)
        config = self.base / "config.yml"
        config.write_text(
            "version: 0.1\n"
            "log:\n  level: error\n"
            f"storage:\n  filesystem:\n    rootdirectory: {self.root}\n  delete:\n    enabled: true\n"
            f"http:\n  addr: {self.host}\n")
        self.log = open(self.base / "registry.log", "wb")
        self.process = subprocess.Popen([DOCKER_REGISTRY, "serve", str(config)], stdout=self.log,
                                        stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(f"http://{self.host}/v2/", timeout=2):
                    return self
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.__exit__()
                    raise RuntimeError(f"docker-registry did not start: {(self.base / 'registry.log').read_text()}")
                time.sleep(0.05)

    def __exit__(self, *exc: object) -> None:
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log.close()

    def blob_path(self, digest: str) -> Path:
        """Where distribution's filesystem driver keeps a blob's bytes."""
        hex_ = digest.removeprefix("sha256:")
        return self.root / "docker/registry/v2/blobs/sha256" / hex_[:2] / hex_ / "data"

    def push_layout(self, image: TinyImage, repository: str, tag: str = "latest", *extra: str) -> None:
        skopeo_copy(f"oci:{image.layout}", f"docker://{self.host}/{repository}:{tag}", *extra)


def copy_tree(source: Path, dest: Path) -> None:
    shutil.copytree(source, dest, dirs_exist_ok=True)


class FakeRegistry:
    """A scripted V2 registry in this process, for what a real one will not do on demand:
    hostile manifests, a connection dropped mid-blob, an auth challenge with a token server.

        with FakeRegistry() as fake:
            fake.add_image("test/tiny", "latest", image)          # a TinyImage's blobs and manifest
            fake.routes["/v2/x/manifests/latest"] = (200, {"Content-Type": ...}, b"{...}")
            fake.auth = "bearer"  (or "basic"); fake.users = {"user": "pass"}

    `fake.requests` lists (method, path, headers) as they came; `fake.host` is `127.0.0.1:PORT`.
    `fake.drop_after[path] = n` sends the full Content-Length but only n bytes, then closes.
    """

    def __init__(self) -> None:
        import threading

        self.routes: dict[str, tuple[int, dict[str, str], bytes]] = {}
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.drop_after: dict[str, int] = {}
        self.auth: str | None = None
        self.users: dict[str, str] = {}
        self.tokens: set[str] = set()
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                fake.handle(self)

            do_HEAD = do_GET

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.host = f"127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "FakeRegistry":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def add_blob(self, repository: str, data: bytes) -> str:
        digest = sha256(data)
        self.routes[f"/v2/{repository}/blobs/{digest}"] = (200, {"Content-Type": "application/octet-stream"}, data)
        return digest

    def add_manifest(self, repository: str, reference: str, data: bytes, media_type: str) -> None:
        headers = {"Content-Type": media_type, "Docker-Content-Digest": sha256(data)}
        self.routes[f"/v2/{repository}/manifests/{reference}"] = (200, headers, data)
        self.routes[f"/v2/{repository}/manifests/{sha256(data)}"] = (200, headers, data)

    def add_image(self, repository: str, tag: str, image: TinyImage) -> None:
        for digest, data in image.blobs.items():
            if digest != image.manifest_digest:
                self.add_blob(repository, data)
        self.add_manifest(repository, tag, image.blobs[image.manifest_digest], OCI_MANIFEST)

    def _authorized(self, handler: http.server.BaseHTTPRequestHandler) -> bool:
        import base64

        given = handler.headers.get("Authorization", "")
        if self.auth == "basic":
            expected = {"Basic " + base64.b64encode(f"{u}:{p}".encode()).decode() for u, p in self.users.items()}
            return given in expected
        return given.removeprefix("Bearer ") in self.tokens

    def _token(self, handler: http.server.BaseHTTPRequestHandler) -> tuple[int, dict[str, str], bytes]:
        import base64
        import secrets

        given = handler.headers.get("Authorization", "")
        if given:
            user, _, password = base64.b64decode(given.removeprefix("Basic ")).decode().partition(":")
            if self.users.get(user) != password:
                return 401, {"Content-Type": "application/json"}, b'{"details":"incorrect username or password"}'
        elif self.users:  # this token server gives nothing to anonymous callers
            return 401, {"Content-Type": "application/json"}, b'{"details":"authentication required"}'
        token = secrets.token_hex(8)
        self.tokens.add(token)
        return 200, {"Content-Type": "application/json"}, json.dumps({"token": token}).encode()

    def handle(self, handler: http.server.BaseHTTPRequestHandler) -> None:
        h = handler
        path = h.path
        self.requests.append((h.command, path, dict(h.headers)))
        route_path = path.split("?", 1)[0]
        if route_path == "/token":
            status, headers, body = self._token(h)
        elif self.auth and not self._authorized(h):
            challenge = ('Basic realm="fake"' if self.auth == "basic" else
                         f'Bearer realm="http://{self.host}/token",service="fake-registry"')
            status, headers = 401, {"WWW-Authenticate": challenge, "Content-Type": "application/json"}
            body = b'{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}'
        elif route_path == "/v2/":
            status, headers, body = 200, {"Content-Type": "application/json"}, b"{}"
        elif route_path in self.routes:
            status, headers, body = self.routes[route_path]
        elif "/manifests/" in route_path:
            status, headers = 404, {"Content-Type": "application/json"}
            body = b'{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}'
        else:
            status, headers = 404, {"Content-Type": "application/json"}
            body = b'{"errors":[{"code":"BLOB_UNKNOWN","message":"blob unknown to registry"}]}'
        start = 0
        range_header = h.headers.get("Range", "")
        if status == 200 and range_header.startswith("bytes=") and "/blobs/" in route_path:
            start = int(range_header[6:].split("-", 1)[0])
            status, headers = 206, {**headers, "Content-Range": f"bytes {start}-{len(body) - 1}/{len(body)}"}
            body = body[start:]
        h.send_response(status)
        for name, value in {**headers, "Content-Length": str(len(body))}.items():
            h.send_header(name, value)
        h.end_headers()
        if h.command == "HEAD":
            return
        drop = self.drop_after.pop(route_path, None) if start == 0 else None
        if drop is not None:
            h.wfile.write(body[:drop])
            h.wfile.flush()
            h.close_connection = True
            h.connection.shutdown(socket.SHUT_RDWR)
            return
        h.wfile.write(body)
