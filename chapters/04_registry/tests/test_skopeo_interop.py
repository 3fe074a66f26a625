"""Interop: Debian's skopeo pushes images into `minidock-registry` and pulls them back unchanged.

skopeo is an independent implementation of the distribution protocol (the
containers/image library): if it can push an OCI image and a Docker v2s2
image to our registry and read back the very same bytes, our routes, headers
and digests are what the spec says - not just what our own client expects.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import shutil
import subprocess
import tarfile
from pathlib import Path

from minidock.testing import skip_or_fail

SKOPEO = shutil.which("skopeo") or "/usr/bin/skopeo"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def _blob(layout: Path, data: bytes) -> dict:
    digest = hashlib.sha256(data).hexdigest()
    (layout / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
    (layout / "blobs" / "sha256" / digest).write_bytes(data)
    return {"digest": f"sha256:{digest}", "size": len(data)}


def make_oci_layout(layout: Path, tag: str = "latest", text: bytes = b"hello from minidock\n") -> str:
    """A tiny OCI image layout: one gzip layer holding `/hello.txt`, a config, a manifest. Its manifest digest."""
    tar_bytes = io.BytesIO()
    with tarfile.open(fileobj=tar_bytes, mode="w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo("hello.txt")
        info.size, info.mtime, info.mode = len(text), 0, 0o644
        tar.addfile(info, io.BytesIO(text))
    raw_tar = tar_bytes.getvalue()
    layer = _blob(layout, gzip.compress(raw_tar, mtime=0))
    config = _blob(layout, json.dumps({
        "architecture": "amd64", "os": "linux", "config": {"Cmd": ["cat", "/hello.txt"]},
        "rootfs": {"type": "layers", "diff_ids": [f"sha256:{hashlib.sha256(raw_tar).hexdigest()}"]},
    }).encode())
    manifest = _blob(layout, json.dumps({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **config},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", **layer}],
    }).encode())
    (layout / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    (layout / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [
        {"mediaType": OCI_MANIFEST, **manifest, "annotations": {"org.opencontainers.image.ref.name": tag}}]}))
    return manifest["digest"]


def skopeo(*args: str) -> subprocess.CompletedProcess[str]:
    if not Path(SKOPEO).exists():
        skip_or_fail("skopeo is not installed (apt-get install skopeo)")
    result = subprocess.run([SKOPEO, "--insecure-policy", *args], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"skopeo {' '.join(args)} failed:\n{result.stderr}"
    return result


def _manifest_digest(directory: Path) -> str:
    return "sha256:" + hashlib.sha256((directory / "manifest.json").read_bytes()).hexdigest()


def test_skopeo_pushes_an_oci_image_and_pulls_it_back_unchanged(registry, tmp_path: Path) -> None:
    layout = tmp_path / "layout"
    digest = make_oci_layout(layout)
    skopeo("copy", "--dest-tls-verify=false", f"oci:{layout}:latest", f"docker://{registry.address}/demo/hello:1.0")
    out = tmp_path / "out"
    skopeo("copy", "--src-tls-verify=false", f"docker://{registry.address}/demo/hello:1.0", f"dir:{out}")
    assert _manifest_digest(out) == digest, "the manifest came back with other bytes"
    for blob in (layout / "blobs" / "sha256").iterdir():
        if blob.name != digest.split(":")[1]:  # (the manifest itself comes back as manifest.json)
            assert (out / blob.name).read_bytes() == blob.read_bytes(), f"blob {blob.name} changed"
    inspect = json.loads(skopeo("inspect", "--tls-verify=false", f"docker://{registry.address}/demo/hello:1.0").stdout)
    assert inspect["Digest"] == digest
    assert inspect["RepoTags"] == ["1.0"]


def test_skopeo_pushes_a_docker_v2s2_image_and_pulls_it_back(registry, tmp_path: Path) -> None:
    layout = tmp_path / "layout"
    make_oci_layout(layout, text=b"v2s2\n")
    archive = tmp_path / "image.tar"
    skopeo("copy", f"oci:{layout}:latest", f"docker-archive:{archive}:demo/v2s2:latest")
    skopeo("copy", "--dest-tls-verify=false", f"docker-archive:{archive}", f"docker://{registry.address}/demo/v2s2:latest")
    out = tmp_path / "out"
    skopeo("copy", "--src-tls-verify=false", f"docker://{registry.address}/demo/v2s2:latest", f"dir:{out}")
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["mediaType"] == "application/vnd.docker.distribution.manifest.v2+json"
    inspect = json.loads(skopeo("inspect", "--tls-verify=false", f"docker://{registry.address}/demo/v2s2:latest").stdout)
    assert inspect["Digest"] == _manifest_digest(out)
    for layer in manifest["layers"] + [manifest["config"]]:
        data = (out / layer["digest"].split(":")[1]).read_bytes()
        assert "sha256:" + hashlib.sha256(data).hexdigest() == layer["digest"]


def test_skopeo_lists_tags_and_a_second_push_reuses_blobs(registry, tmp_path: Path) -> None:
    layout = tmp_path / "layout"
    make_oci_layout(layout)
    for tag in ("a", "b"):
        skopeo("copy", "--dest-tls-verify=false", f"oci:{layout}:latest", f"docker://{registry.address}/demo/tags:{tag}")
    tags = json.loads(skopeo("list-tags", "--tls-verify=false", f"docker://{registry.address}/demo/tags").stdout)
    assert tags["Tags"] == ["a", "b"]
