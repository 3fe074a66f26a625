"""Push with the registry client into Debian's docker-registry, checked by pulling back with skopeo."""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from registries import DistributionRegistry, build_tiny_layout, skopeo_copy  # noqa: E402

from minidock.registry.client import RegistryClient  # noqa: E402
from minidock.registry.client.push import ImageNotLocal  # noqa: E402
from minidock.registry.contentstore import ContentStore  # noqa: E402


@pytest.fixture(scope="module")
def distribution(tmp_path_factory):
    with DistributionRegistry(tmp_path_factory.mktemp("distribution")) as registry:
        yield registry


def pulled_image(distribution, tmp_path: Path, repo: str, files: dict[str, bytes] | None = None):
    image = build_tiny_layout(tmp_path / "layout", files, layer_count=2)
    distribution.push_layout(image, repo)
    store = ContentStore(tmp_path / "content")
    client = RegistryClient(store)
    client.pull(f"{distribution.host}/{repo}")
    return image, store, client


def skopeo_back(distribution, tmp_path: Path, ref: str) -> dict[str, bytes]:
    """Copy `ref` out of the registry into an OCI layout; return its blobs by digest."""
    out = tmp_path / "back"
    skopeo_copy(f"docker://{distribution.host}/{ref}", f"oci:{out}:x")
    return {f"sha256:{p.name}": p.read_bytes() for p in (out / "blobs" / "sha256").iterdir()}


@pytest.mark.parametrize("chunk_size", [None, 1000], ids=["monolithic", "chunked"])
def test_push_uploads_blobs_then_the_manifest(distribution, tmp_path, chunk_size) -> None:
    files = {"random.bin": random.Random(7).randbytes(5000)}  # layers of ~5 kB: 6 PATCHes each when chunked
    image, store, client = pulled_image(distribution, tmp_path, f"src/{'chunk' if chunk_size else 'mono'}", files)
    target = f"{distribution.host}/pushed/{'chunk' if chunk_size else 'mono'}"
    store.set_ref(target, "v1", image.manifest_digest)
    fresh = RegistryClient(store)  # knows nothing of where the blobs came from: no mounts
    messages: list[dict] = []
    result = fresh.push(f"{target}:v1", progress=messages.append, chunk_size=chunk_size)

    manifest_size = len(image.blobs[image.manifest_digest])
    assert (result.tag, result.digest, result.size) == ("v1", image.manifest_digest, manifest_size)
    assert messages[0] == {"status": f"The push refers to repository [{target}]"}
    top, bottom = (d[7:19] for d in reversed(image.layer_digests))
    assert [m["id"] for m in messages if m.get("status") == "Preparing"] == [top, bottom]
    for short in (top, bottom):
        words = [m["status"] for m in messages if m.get("id") == short]
        assert words[0] == "Preparing" and words[-1] == "Pushed" and "Pushing" in words
    assert messages[-2:] == [
        {"status": f"v1: digest: {image.manifest_digest} size: {manifest_size}"},
        {"progressDetail": {}, "aux": {"Tag": "v1", "Digest": image.manifest_digest, "Size": manifest_size}}]
    # what a third party pulls back is what we pushed, byte for byte
    back = skopeo_back(distribution, tmp_path, f"pushed/{'chunk' if chunk_size else 'mono'}:v1")
    assert back[image.manifest_digest] == image.blobs[image.manifest_digest]
    for digest in image.layer_digests + [image.config_digest]:
        assert back[digest] == image.blobs[digest]


def test_a_second_push_sends_no_blob(distribution, tmp_path) -> None:
    image, store, client = pulled_image(distribution, tmp_path, "src/again")
    messages: list[dict] = []
    client.push(f"{distribution.host}/src/again:latest", progress=messages.append)
    per_layer = [m["status"] for m in messages if "id" in m and m["status"] != "Preparing"]
    assert per_layer == ["Layer already exists", "Layer already exists"]


def test_cross_repository_mount(distribution, tmp_path) -> None:
    image, store, client = pulled_image(distribution, tmp_path, "src/mountable")
    store.set_ref(f"{distribution.host}/other/mounted", "latest", image.manifest_digest)
    messages: list[dict] = []
    client.push(f"{distribution.host}/other/mounted", progress=messages.append)
    assert [m["status"] for m in messages if "id" in m and m["status"] != "Preparing"] == \
        ["Mounted from src/mountable", "Mounted from src/mountable"]
    back = skopeo_back(distribution, tmp_path, "other/mounted:latest")
    assert all(back[d] == image.blobs[d] for d in image.layer_digests)


def test_pushing_what_is_not_here(distribution, tmp_path) -> None:
    client = RegistryClient(ContentStore(tmp_path / "content"))
    with pytest.raises(ImageNotLocal, match="An image does not exist locally with the tag: .*/nothing/here"):
        client.push(f"{distribution.host}/nothing/here:v1")


def test_search_falls_back_to_the_catalog(distribution, tmp_path) -> None:
    pulled_image(distribution, tmp_path, "findme/tiny")
    client = RegistryClient(ContentStore(tmp_path / "content2"))
    results = client.search(f"{distribution.host}/findme", limit=5)
    assert results == [{"name": "findme/tiny", "description": "", "star_count": 0, "is_official": False,
                        "is_automated": False}]
    assert client.search(f"{distribution.host}/no-such-thing") == []
    json.dumps(results)  # the job sends it as is
