"""`docker push` with the real docker CLI, through a chapter-4 `minidockd`.

In the chapter-4 world an image is what a pull left in the daemon's content
store, so each test first pulls `busybox:latest` from a registry (our
`minidock-registry`, or Debian's `docker-registry`), then deletes the
manifest from the registry (`DELETE /v2/busybox/manifests/<digest>`: the tag
is gone with it), pushes it back with `docker push`, and lets a third party,
skopeo, check that the registry serves the same manifest again.
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from ch04daemon import Minidockd  # noqa: E402
from registries import SKOPEO, DistributionRegistry, skopeo_copy  # noqa: E402
from test_docker_pull import MinidockRegistry, explain, layout, store_of  # noqa: E402,F401 - `layout` is a fixture


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[Minidockd]:
    with Minidockd(tmp_path / "d") as d:
        yield d


@pytest.fixture
def ours(tmp_path: Path, layout) -> Iterator[MinidockRegistry]:
    with MinidockRegistry(tmp_path / "ours") as registry:
        skopeo_copy(layout.reference, f"docker://{registry.host}/busybox:latest")
        yield registry


@pytest.fixture
def distribution(tmp_path: Path, layout) -> Iterator[DistributionRegistry]:
    with DistributionRegistry(tmp_path / "reg") as registry:
        skopeo_copy(layout.reference, f"docker://{registry.host}/busybox:latest")
        yield registry


def delete_manifest(host: str, repository: str, digest: str) -> None:
    request = urllib.request.Request(f"http://{host}/v2/{repository}/manifests/{digest}", method="DELETE")
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 202
    head = urllib.request.Request(f"http://{host}/v2/{repository}/manifests/latest", method="HEAD")
    with pytest.raises(urllib.error.HTTPError) as gone:
        urllib.request.urlopen(head, timeout=10)
    assert gone.value.code == 404, "the tag survived the manifest's deletion"


def skopeo_digest(host: str, reference: str) -> str:
    result = subprocess.run([SKOPEO, "inspect", "--tls-verify=false", f"docker://{host}/{reference}"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)["Digest"]


def pull_delete_push(daemon: Minidockd, host: str, layout) -> subprocess.CompletedProcess:
    """The round trip every registry must survive; returns what `docker push` printed."""
    pulled = daemon.docker("pull", f"{host}/busybox:latest")
    assert pulled.returncode == 0, explain(pulled)
    digest = store_of(daemon).get_ref(f"{host}/busybox", "latest")
    assert digest == layout.manifest.digest
    delete_manifest(host, "busybox", digest)

    pushed = daemon.docker("push", f"{host}/busybox:latest")
    assert pushed.returncode == 0, explain(pushed)
    lines = pushed.stdout.splitlines()
    size = store_of(daemon).size(digest)
    assert lines[0] == f"The push refers to repository [{host}/busybox]", explain(pushed)
    assert f"latest: digest: {digest} size: {size}" in lines, explain(pushed)
    assert skopeo_digest(host, "busybox:latest") == digest
    return pushed


def test_push_back_into_our_registry(daemon, ours, layout):
    pushed = pull_delete_push(daemon, ours.host, layout)
    layer_id = layout.layer.digest.removeprefix("sha256:")[:12]
    # deleting the manifest left the layer in the repository: nothing to upload
    assert f"{layer_id}: Layer already exists" in pushed.stdout.splitlines(), explain(pushed)


def test_push_back_into_distribution(daemon, distribution, layout):
    pushed = pull_delete_push(daemon, distribution.host, layout)
    layer_id = layout.layer.digest.removeprefix("sha256:")[:12]
    assert f"{layer_id}: Layer already exists" in pushed.stdout.splitlines(), explain(pushed)


def test_push_to_a_new_repository_mounts_the_layer(daemon, distribution, layout):
    """A ref naming another repository of the same registry: the layer is mounted, not sent."""
    pulled = daemon.docker("pull", f"{distribution.host}/busybox:latest")
    assert pulled.returncode == 0, explain(pulled)
    store = store_of(daemon)  # chapter 05's `docker tag`, by hand
    store.set_ref(f"{distribution.host}/copies/busybox", "v1", layout.manifest.digest)
    pushed = daemon.docker("push", f"{distribution.host}/copies/busybox:v1")
    assert pushed.returncode == 0, explain(pushed)
    layer_id = layout.layer.digest.removeprefix("sha256:")[:12]
    assert f"{layer_id}: Mounted from busybox" in pushed.stdout.splitlines(), explain(pushed)
    assert skopeo_digest(distribution.host, "copies/busybox:v1") == layout.manifest.digest


def test_push_of_what_was_never_pulled(daemon, ours):
    result = daemon.docker("push", f"{ours.host}/nothing:latest")
    assert result.returncode == 1, explain(result)
    assert result.stderr.strip() == (f"Error response from daemon: An image does not exist locally with the tag: "
                                     f"{ours.host}/nothing"), explain(result)
    assert daemon.docker("version").returncode == 0  # still serving


def test_push_into_another_registry_uploads_the_layer(daemon, distribution, tmp_path, layout):
    """Pulled from distribution, pushed to our (empty) registry: the bytes really go up."""
    with MinidockRegistry(tmp_path / "empty") as empty:
        pulled = daemon.docker("pull", f"{distribution.host}/busybox:latest")
        assert pulled.returncode == 0, explain(pulled)
        store_of(daemon).set_ref(f"{empty.host}/busybox", "latest", layout.manifest.digest)
        pushed = daemon.docker("push", f"{empty.host}/busybox:latest")
        assert pushed.returncode == 0, explain(pushed)
        layer_id = layout.layer.digest.removeprefix("sha256:")[:12]
        assert f"{layer_id}: Pushed" in pushed.stdout.splitlines(), explain(pushed)
        assert skopeo_digest(empty.host, "busybox:latest") == layout.manifest.digest
