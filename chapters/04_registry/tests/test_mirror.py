"""`--registry-mirror`: pulls of Docker Hub images go to the mirrors first (docker-api.md §7.7).

`docker pull busybox` through a chapter-4 daemon started with
`--registry-mirror http://127.0.0.1:PORT` asks the mirror for
`library/busybox`, and the content store files it under its Docker Hub
name. These tests never send a byte off the machine: the end-to-end ones
use mirrors that hold the image (so Docker Hub is never the next to ask),
and the one that does fall through to Docker Hub runs in this process with
Docker Hub's endpoint pointed at a closed local port.
"""

from __future__ import annotations

import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from ch04daemon import Minidockd  # noqa: E402
from registries import FakeRegistry, build_tiny_layout, free_port, skopeo_copy  # noqa: E402
from test_docker_pull import MinidockRegistry, explain  # noqa: E402

from minidock.registry.client import RegistryClient, session  # noqa: E402
from minidock.registry.client.session import RegistryUnreachable  # noqa: E402
from minidock.registry.contentstore import ContentStore  # noqa: E402
from minidock.registry.oci_layout import BusyboxLayout, BusyboxNotFound, build_busybox_layout  # noqa: E402

HUB_NAME = "docker.io/library/busybox"


@pytest.fixture(scope="module")
def layout(tmp_path_factory: pytest.TempPathFactory) -> BusyboxLayout:
    try:
        return build_busybox_layout(tmp_path_factory.mktemp("busybox") / "layout")
    except BusyboxNotFound as exc:
        from minidock.testing import skip_or_fail

        skip_or_fail(str(exc))
        raise


@pytest.fixture
def mirror(tmp_path: Path, layout: BusyboxLayout) -> Iterator[MinidockRegistry]:
    """A `minidock-registry` holding `library/busybox:latest`, as a Docker Hub mirror does."""
    with MinidockRegistry(tmp_path / "mirror") as registry:
        skopeo_copy(layout.reference, f"docker://{registry.host}/library/busybox:latest")
        yield registry


@pytest.fixture
def empty_mirror(tmp_path: Path) -> Iterator[MinidockRegistry]:
    with MinidockRegistry(tmp_path / "empty") as registry:
        yield registry


def assert_pulled_from_mirror(daemon: Minidockd, layout: BusyboxLayout, name: str) -> None:
    result = daemon.docker("pull", name)
    assert result.returncode == 0, explain(result)
    lines = result.stdout.splitlines()
    assert lines[0] == "Using default tag: latest" or lines[0].startswith("latest: Pulling from"), explain(result)
    assert "latest: Pulling from library/busybox" in lines, explain(result)
    assert lines.count("latest: Pulling from library/busybox") == 1, explain(result)
    assert lines[-1] == "docker.io/library/busybox:latest", explain(result)
    assert "Status: Downloaded newer image for busybox:latest" in lines, explain(result)
    store = ContentStore(daemon.data_root / "content")
    assert store.get_ref(HUB_NAME, "latest") == layout.manifest.digest
    assert store.has(layout.layer.digest) and store.has(layout.config.digest)


@pytest.mark.parametrize("name", ["busybox", "library/busybox", "docker.io/library/busybox:latest"])
def test_docker_hub_pull_goes_to_the_mirror(tmp_path, mirror, layout, name):
    with Minidockd(tmp_path / "d", "--registry-mirror", f"http://{mirror.host}") as daemon:
        assert_pulled_from_mirror(daemon, layout, name)


def test_a_mirror_without_the_image_passes_to_the_next(tmp_path, empty_mirror, mirror, layout):
    flags = ("--registry-mirror", f"http://{empty_mirror.host}/", "--registry-mirror", f"http://{mirror.host}")
    with Minidockd(tmp_path / "d", *flags) as daemon:
        assert_pulled_from_mirror(daemon, layout, "busybox")


def test_a_name_on_another_registry_does_not_use_the_mirror(tmp_path, mirror, layout):
    """The mirror stands in for Docker Hub only: `127.0.0.1:PORT/busybox` is not rerouted."""
    with Minidockd(tmp_path / "d", "--registry-mirror", f"http://{mirror.host}") as daemon:
        result = daemon.docker("pull", f"{mirror.host}/busybox")  # the mirror has library/busybox only
        assert result.returncode == 1, explain(result)
        assert f"{mirror.host}/busybox not found" in result.stderr, explain(result)


# -- the client alone, with Docker Hub pointed at a closed local port --------------------------
@pytest.fixture
def offline_hub(monkeypatch: pytest.MonkeyPatch) -> str:
    """Docker Hub's endpoint, for this test, is a local port nothing listens on."""
    with socket.socket() as probe:  # nothing listens: a connect is refused at once
        probe.bind(("127.0.0.1", 0))
        closed = f"127.0.0.1:{probe.getsockname()[1]}"
    monkeypatch.setattr(session, "DOCKER_HUB_ENDPOINT", closed)
    return closed


def test_every_mirror_missing_then_docker_hub_down_is_a_fast_clear_error(tmp_path, offline_hub):
    image = build_tiny_layout(tmp_path / "tiny")
    with FakeRegistry() as lacking, FakeRegistry() as other:
        other.add_image("library/other", "latest", image)
        down = f"http://127.0.0.1:{free_port()}"
        client = RegistryClient(ContentStore(tmp_path / "store"),
                                mirrors=(f"http://{lacking.host}", down, f"http://{other.host}"))
        lines: list[dict] = []
        started = time.monotonic()
        with pytest.raises(RegistryUnreachable) as caught:
            client.pull("busybox", progress=lines.append)
        assert time.monotonic() - started < 10
    assert offline_hub in str(caught.value)
    asked = [path for _, path, _ in lacking.requests + other.requests if "/manifests/" in path]
    assert asked == ["/v2/library/busybox/manifests/latest"] * 2, asked
    assert lines == [{"status": "Pulling from library/busybox", "id": "latest"}], lines  # Hub's, none of the mirrors'


def test_the_mirror_is_asked_and_docker_hub_is_not(tmp_path, offline_hub):
    image = build_tiny_layout(tmp_path / "tiny")
    with FakeRegistry() as fake:
        fake.add_image("library/busybox", "latest", image)
        store = ContentStore(tmp_path / "store")
        result = RegistryClient(store, mirrors=(f"http://{fake.host}",)).pull("busybox")
    assert result.digest == image.manifest_digest
    assert store.get_ref(HUB_NAME, "latest") == image.manifest_digest
    assert store.get_ref(f"{fake.host}/library/busybox", "latest") is None
