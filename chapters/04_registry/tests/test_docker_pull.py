"""`docker pull` and `docker search` with the real docker CLI, through a chapter-4 `minidockd`.

The image is the offline busybox (registry/oci_layout.py), put into a
registry with skopeo: Debian's `docker-registry` (distribution 2.8), and our
own `minidock-registry`, both as OCI and as Docker v2 schema 2. The pull
lands in the daemon's content store (`<data-root>/content/`); the tests look
there, not only at what the CLI printed.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from ch04daemon import Minidockd  # noqa: E402
from registries import DistributionRegistry, free_port, skopeo_copy  # noqa: E402

from minidock.registry.contentstore import ContentStore  # noqa: E402
from minidock.registry.oci_layout import BusyboxLayout, BusyboxNotFound, build_busybox_layout  # noqa: E402


@pytest.fixture(scope="module")
def layout(tmp_path_factory: pytest.TempPathFactory) -> BusyboxLayout:
    try:
        return build_busybox_layout(tmp_path_factory.mktemp("busybox") / "layout")
    except BusyboxNotFound as exc:
        from minidock.testing import skip_or_fail

        skip_or_fail(str(exc))
        raise


@pytest.fixture
def distribution(tmp_path: Path, layout: BusyboxLayout) -> Iterator[DistributionRegistry]:
    """Debian's docker-registry holding busybox:latest (OCI) and busybox-v2:latest (v2s2)."""
    with DistributionRegistry(tmp_path / "reg") as registry:
        skopeo_copy(layout.reference, f"docker://{registry.host}/busybox:latest")
        skopeo_copy(layout.reference, f"docker://{registry.host}/busybox-v2:latest", "--format", "v2s2")
        yield registry


class MinidockRegistry:
    """`minidock-registry --listen 127.0.0.1:PORT --root DIR` as a subprocess, stopped by PID."""

    def __init__(self, base: Path) -> None:
        self.port = free_port()
        self.host = f"127.0.0.1:{self.port}"
        base.mkdir(parents=True, exist_ok=True)
        self.log_path = base / "registry.log"
        self.argv = [sys.executable, "-m", "minidock.registry.server.main", "--listen", self.host,
                     "--root", str(base / "root")]

    def __enter__(self) -> MinidockRegistry:
        import os

        environ = {**os.environ, "MINIDOCK_CHAPTER": "4"}
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(self.argv, stdout=log, stderr=log, env=environ, start_new_session=True)
        deadline = time.monotonic() + 20
        while "listening on" not in self.log_path.read_text(errors="replace"):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.__exit__()
                raise AssertionError(f"minidock-registry did not start:\n{self.log_path.read_text()}")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
        self.proc.wait(20)


@pytest.fixture
def ours(tmp_path: Path, layout: BusyboxLayout) -> Iterator[MinidockRegistry]:
    """Our own minidock-registry holding busybox:latest (OCI) and busybox-v2:latest (v2s2)."""
    with MinidockRegistry(tmp_path / "ours") as registry:
        skopeo_copy(layout.reference, f"docker://{registry.host}/busybox:latest")
        skopeo_copy(layout.reference, f"docker://{registry.host}/busybox-v2:latest", "--format", "v2s2")
        yield registry


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[Minidockd]:
    with Minidockd(tmp_path / "d") as d:
        yield d


def store_of(daemon: Minidockd) -> ContentStore:
    return ContentStore(daemon.data_root / "content")


def explain(result: subprocess.CompletedProcess) -> str:
    return f"exit {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"


def assert_pulled(daemon: Minidockd, layout: BusyboxLayout, registry_host: str, repository: str,
                  manifest_digest: str | None = None) -> None:
    """The CLI printed dockerd's lines, and the store holds every blob and the tag's ref."""
    name = f"{registry_host}/{repository}:latest"
    result = daemon.docker("pull", f"{registry_host}/{repository}")
    assert result.returncode == 0, explain(result)
    layer_id = layout.layer.digest.removeprefix("sha256:")[:12]
    lines = result.stdout.splitlines()
    assert "latest: Pulling from " + repository in lines, explain(result)
    assert f"{layer_id}: Pull complete" in lines, explain(result)
    assert f"Status: Downloaded newer image for {name}" in lines, explain(result)
    digest_line = next(line for line in lines if line.startswith("Digest: "))
    pulled = digest_line.removeprefix("Digest: ")
    if manifest_digest is not None:
        assert pulled == manifest_digest
    store = store_of(daemon)
    assert store.get_ref(f"{registry_host}/{repository}", "latest") == pulled
    for descriptor in (layout.layer, layout.config):
        assert store.has(descriptor.digest), f"{descriptor.digest} not in the content store"
    assert store.read(layout.layer.digest) == (layout.path / "blobs/sha256" /
                                               layout.layer.digest.removeprefix("sha256:")).read_bytes()


def test_pull_oci_image_from_distribution(daemon, distribution, layout):
    assert_pulled(daemon, layout, distribution.host, "busybox", layout.manifest.digest)


def test_pull_v2s2_image_from_distribution(daemon, distribution, layout):
    assert_pulled(daemon, layout, distribution.host, "busybox-v2")


def test_pull_oci_image_from_our_registry(daemon, ours, layout):
    assert_pulled(daemon, layout, ours.host, "busybox", layout.manifest.digest)


def test_pull_v2s2_image_from_our_registry(daemon, ours, layout):
    assert_pulled(daemon, layout, ours.host, "busybox-v2")


def test_second_pull_is_up_to_date_and_fetches_no_layer(daemon, distribution, layout):
    assert daemon.docker("pull", f"{distribution.host}/busybox").returncode == 0
    layer_file = store_of(daemon).blob_path(layout.layer.digest)
    before = layer_file.stat().st_ino
    result = daemon.docker("pull", f"{distribution.host}/busybox:latest")
    assert result.returncode == 0, explain(result)
    assert f"Status: Image is up to date for {distribution.host}/busybox:latest" in result.stdout
    assert "Pull complete" not in result.stdout and "Downloading" not in result.stdout
    assert layer_file.stat().st_ino == before, "the layer was written again"


def test_pull_by_digest(daemon, distribution, layout):
    result = daemon.docker("pull", f"{distribution.host}/busybox@{layout.manifest.digest}")
    assert result.returncode == 0, explain(result)
    assert f"Digest: {layout.manifest.digest}" in result.stdout


def test_missing_image_is_dockerds_message_and_exit_1(daemon, distribution):
    result = daemon.docker("pull", f"{distribution.host}/nope:latest")
    assert result.returncode == 1, explain(result)
    assert result.stderr.strip() == (f"Error response from daemon: manifest for {distribution.host}/nope:latest "
                                     "not found: manifest unknown: manifest unknown"), explain(result)


def test_corrupted_blob_is_refused_and_the_daemon_serves_on(daemon, distribution, layout):
    data = distribution.blob_path(layout.layer.digest)
    corrupted = bytearray(data.read_bytes())
    corrupted[len(corrupted) // 2] ^= 0xFF
    data.write_bytes(bytes(corrupted))
    result = daemon.docker("pull", f"{distribution.host}/busybox")
    assert result.returncode == 1, explain(result)
    assert re.search(r"digest|checksum|verif", result.stderr + result.stdout, re.I), explain(result)
    store = store_of(daemon)
    assert not store.has(layout.layer.digest), "an unverified layer is visible in the store"
    assert store.get_ref(f"{distribution.host}/busybox", "latest") is None, "a ref to a broken image"
    assert daemon.docker("version").returncode == 0  # still serving


def test_search_falls_back_to_the_catalog(daemon, distribution):
    result = daemon.docker("search", "--format", "{{.Name}}", f"{distribution.host}/busy")
    assert result.returncode == 0, explain(result)
    assert sorted(result.stdout.split()) == ["busybox", "busybox-v2"]


def test_search_our_registry(daemon, ours):
    result = daemon.docker("search", "--format", "{{json .}}", f"{ours.host}/busybox-v")
    assert result.returncode == 0, explain(result)
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [row["Name"] for row in rows] == ["busybox-v2"], explain(result)


def test_unreachable_registry_is_a_clear_error(daemon):
    host = f"127.0.0.1:{free_port()}"
    result = daemon.docker("pull", f"{host}/busybox")
    assert result.returncode == 1, explain(result)
    assert result.stderr.startswith("Error response from daemon: ") and host in result.stderr, explain(result)
    assert "Traceback" not in daemon.log()
