"""Pull with the registry client: from Debian's docker-registry (distribution 2.8), and from a
scripted registry for what a real one will not do (hostile manifests, a dropped connection)."""

from __future__ import annotations

import json
import random
import sys
import threading
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from registries import (  # noqa: E402
    OCI_INDEX, OCI_MANIFEST, DistributionRegistry, FakeRegistry, build_tiny_layout, canonical, image_blobs,
    make_layer, sha256, write_layout,
)

from minidock.registry import mediatypes as mt  # noqa: E402
from minidock.registry.client import RegistryClient  # noqa: E402
from minidock.registry.client.pull import CONCURRENT_DOWNLOADS  # noqa: E402
from minidock.registry.client.session import RegistryUnreachable  # noqa: E402
from minidock.registry.contentstore import ContentStore  # noqa: E402
from minidock.registry.digest import DigestMismatch, SizeMismatch  # noqa: E402
from minidock.registry.errors import ManifestInvalid, ManifestUnknown  # noqa: E402
from minidock.registry.manifest import Schema1Unsupported  # noqa: E402


@pytest.fixture(scope="module")
def distribution(tmp_path_factory):
    base = tmp_path_factory.mktemp("distribution")
    with DistributionRegistry(base) as registry:
        yield registry


def pulled(tmp_path: Path) -> tuple[ContentStore, RegistryClient, list[dict]]:
    store = ContentStore(tmp_path / "content")
    return store, RegistryClient(store), []


def test_pull_lands_verified_blobs_and_a_ref(distribution, tmp_path) -> None:
    image = build_tiny_layout(tmp_path / "layout", layer_count=2)
    distribution.push_layout(image, "test/tiny", "v1")
    store, client, messages = pulled(tmp_path)

    result = client.pull(f"{distribution.host}/test/tiny:v1", progress=messages.append)

    assert result.digest == image.manifest_digest
    assert result.config["rootfs"]["diff_ids"] and result.downloaded
    assert set(store.blobs()) == set(image.blobs)  # every blob, byte for byte (the names are the hashes)
    for digest, data in image.blobs.items():
        assert store.read(digest) == data
    assert store.refs() == {f"{distribution.host}/test/tiny:v1": image.manifest_digest}
    assert store.partial() == []
    # dockerd's conversation, in its words
    assert messages[0] == {"status": "Pulling from test/tiny", "id": "v1"}
    assert messages[-2:] == [{"status": f"Digest: {image.manifest_digest}"},
                             {"status": f"Status: Downloaded newer image for {distribution.host}/test/tiny:v1"}]
    for layer in image.layer_digests:
        short = layer[7:19]
        words = [m["status"] for m in messages if m.get("id") == short]
        assert words[0] == "Pulling fs layer" and words[-1] == "Pull complete"
        assert words[-3:] == ["Verifying Checksum", "Download complete", "Pull complete"]
        downloading = [m for m in messages if m.get("id") == short and m["status"] == "Downloading"]
        size = len(image.blobs[layer])
        assert downloading[-1]["progressDetail"] == {"current": size, "total": size}
        assert downloading[-1]["progress"].startswith("[" + "=" * 50 + ">]")


def test_a_second_pull_downloads_nothing(distribution, tmp_path) -> None:
    image = build_tiny_layout(tmp_path / "layout", {"again.txt": b"again\n"})
    distribution.push_layout(image, "test/again")
    store, client, messages = pulled(tmp_path)
    client.pull(f"{distribution.host}/test/again")
    for layer in image.layer_digests:  # a blob we have must not be fetched again: make it unfetchable
        distribution.blob_path(layer).write_bytes(b"corrupt")
    result = client.pull(f"{distribution.host}/test/again", progress=messages.append)
    assert not result.downloaded
    assert [m["status"] for m in messages] == [
        "Pulling from test/again", "Already exists", f"Digest: {image.manifest_digest}",
        f"Status: Image is up to date for {distribution.host}/test/again:latest"]


def test_pull_by_digest(distribution, tmp_path) -> None:
    image = build_tiny_layout(tmp_path / "layout", {"d.txt": b"by digest\n"})
    distribution.push_layout(image, "test/bydigest")
    store, client, messages = pulled(tmp_path)
    result = client.pull(f"{distribution.host}/test/bydigest@{image.manifest_digest}", progress=messages.append)
    assert result.digest == image.manifest_digest and store.has(image.manifest_digest)
    assert store.refs() == {}  # no tag was asked for
    assert messages[0] == {"status": "Pulling from test/bydigest", "id": image.manifest_digest}


def test_a_missing_image_is_manifest_unknown(distribution, tmp_path) -> None:
    store, client, _ = pulled(tmp_path)
    with pytest.raises(ManifestUnknown) as caught:
        client.pull(f"{distribution.host}/test/nope:latest")
    assert caught.value.status == 404 and caught.value.message == "manifest unknown"
    assert list(store.blobs()) == [] and store.refs() == {}


def test_a_corrupted_blob_is_refused_and_leaves_nothing(distribution, tmp_path) -> None:
    image = build_tiny_layout(tmp_path / "layout", {"c.txt": b"soon to be corrupted\n" * 50})
    distribution.push_layout(image, "test/corrupt")
    stored = distribution.blob_path(image.layer_digests[0])
    data = bytearray(stored.read_bytes())
    data[len(data) // 2] ^= 0xFF  # same size, one bit pattern changed
    stored.write_bytes(bytes(data))
    store, client, _ = pulled(tmp_path)
    with pytest.raises(DigestMismatch):
        client.pull(f"{distribution.host}/test/corrupt")
    assert image.layer_digests[0] not in set(store.blobs())
    assert store.partial() == [] and store.refs() == {}


def multi_platform_layout(dest: Path) -> tuple[dict[str, str], str]:
    """An OCI index of linux/amd64, linux/arm64/v8 and linux/arm/v7 images; -> ({platform: digest}, index digest)."""
    blobs: dict[str, bytes] = {}
    entries, digests = [], {}
    for arch, variant in (("amd64", None), ("arm64", "v8"), ("arm", "v7")):
        layer = make_layer({"arch.txt": arch.encode()})
        config, manifest = image_blobs([layer], arch, variant=variant)
        for blob in (layer, config, manifest):
            blobs[sha256(blob)] = blob
        platform = {"architecture": arch, "os": "linux", **({"variant": variant} if variant else {})}
        entries.append({"mediaType": OCI_MANIFEST, "digest": sha256(manifest), "size": len(manifest),
                        "platform": platform})
        digests["/".join(filter(None, ("linux", arch, variant)))] = sha256(manifest)
    index = canonical({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries})
    blobs[sha256(index)] = index
    write_layout(dest, blobs, {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [
        {"mediaType": OCI_INDEX, "digest": sha256(index), "size": len(index),
         "annotations": {"org.opencontainers.image.ref.name": "latest"}}]})
    return digests, sha256(index)


@pytest.mark.parametrize("platform,expected", [(None, "linux/amd64"), ("linux/arm64", "linux/arm64/v8"),
                                               ("linux/arm/v7", "linux/arm/v7")])
def test_platform_selection_from_an_index(distribution, tmp_path, platform, expected) -> None:
    digests, index_digest = multi_platform_layout(tmp_path / "layout")
    repo = f"test/multi-{expected.replace('/', '-')}"
    from registries import skopeo_copy

    skopeo_copy(f"oci:{tmp_path / 'layout'}:latest", f"docker://{distribution.host}/{repo}:latest", "--all")
    store, client, messages = pulled(tmp_path)
    result = client.pull(f"{distribution.host}/{repo}", platform=platform, progress=messages.append)
    assert result.digest == index_digest  # the tag names the index; `Digest:` says so, as dockerd does
    assert str(result.manifest.digest) == digests[expected]
    assert result.config["architecture"] == expected.split("/")[1]
    assert store.has(index_digest) and store.has(digests[expected])
    others = [d for p, d in digests.items() if p != expected]
    assert not any(store.has(d) for d in others)  # only the chosen platform was fetched


def test_an_absent_platform_names_those_there_are(distribution, tmp_path) -> None:
    multi_platform_layout(tmp_path / "layout")
    from registries import skopeo_copy

    skopeo_copy(f"oci:{tmp_path / 'layout'}:latest", f"docker://{distribution.host}/test/noplat:latest", "--all")
    store, client, _ = pulled(tmp_path)
    with pytest.raises(ManifestUnknown, match="linux/s390x.*linux/amd64, linux/arm64/v8, linux/arm/v7"):
        client.pull(f"{distribution.host}/test/noplat", platform="linux/s390x")
    assert store.refs() == {}


# -- what only a scripted registry will do ------------------------------------------------
@pytest.fixture
def fake():
    with FakeRegistry() as registry:
        yield registry


def test_content_negotiation_sends_dockerds_accept_list(fake, tmp_path) -> None:
    image = build_tiny_layout(tmp_path / "layout")
    fake.add_image("test/tiny", "latest", image)
    store, client, _ = pulled(tmp_path)
    client.pull(f"{fake.host}/test/tiny")
    accept = next(h["Accept"] for m, p, h in fake.requests if "/manifests/" in p)
    assert [a.strip() for a in accept.split(",")] == [*mt.ACCEPT, mt.SCHEMA1_SIGNED_MANIFEST]


def test_schema1_is_refused_by_name(fake, tmp_path) -> None:
    fake.add_manifest("old/image", "latest", json.dumps({"schemaVersion": 1, "name": "old/image", "fsLayers": []}
                                                        ).encode(), mt.SCHEMA1_SIGNED_MANIFEST)
    store, client, _ = pulled(tmp_path)
    with pytest.raises(Schema1Unsupported, match=f"schema 1 manifests are not supported \\(registry {fake.host}\\)"):
        client.pull(f"{fake.host}/old/image")
    assert list(store.blobs()) == []


def _hostile(image_manifest: dict) -> bytes:
    return json.dumps(image_manifest).encode()


GOOD_CONFIG = {"mediaType": mt.OCI_CONFIG, "digest": sha256(b"{}"), "size": 2}


@pytest.mark.parametrize("body,content_type", [
    (b"not json", OCI_MANIFEST),
    (_hostile({"schemaVersion": 2, "mediaType": "application/x-evil", "config": GOOD_CONFIG, "layers": []}),
     "application/x-evil"),
    (_hostile({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "layers": []}), OCI_MANIFEST),
    (_hostile({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": GOOD_CONFIG,
               "layers": [{"mediaType": mt.OCI_LAYER_GZIP, "digest": "sha256:../../etc/passwd", "size": 1}]}),
     OCI_MANIFEST),
    (_hostile({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": GOOD_CONFIG,
               "layers": [{"mediaType": mt.OCI_LAYER_GZIP, "digest": sha256(b"x"), "size": 1 << 60}]}),
     OCI_MANIFEST),
    (_hostile({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": GOOD_CONFIG,
               "layers": [{"mediaType": mt.OCI_LAYER_GZIP, "digest": sha256(b"x"), "size": -1}]}),
     OCI_MANIFEST),
    (_hostile({"schemaVersion": 2, "mediaType": mt.DOCKER_MANIFEST, "config": GOOD_CONFIG, "layers": []}),
     OCI_MANIFEST),  # says one thing in the body, another in Content-Type
], ids=["not-json", "media-type", "no-config", "bad-digest", "huge-size", "negative-size", "type-mismatch"])
def test_hostile_manifests_are_refused_before_any_blob_is_fetched(fake, tmp_path, body, content_type) -> None:
    fake.add_manifest("evil/image", "latest", body, content_type)
    store, client, _ = pulled(tmp_path)
    with pytest.raises(ManifestInvalid):
        client.pull(f"{fake.host}/evil/image")
    assert not [p for m, p, h in fake.requests if "/blobs/" in p]
    assert list(store.blobs()) == [] and store.refs() == {}


def test_a_manifest_that_lies_about_its_digest_is_refused(fake, tmp_path) -> None:
    image = build_tiny_layout(tmp_path / "layout")
    fake.add_image("test/tiny", "latest", image)
    status, headers, body = fake.routes["/v2/test/tiny/manifests/latest"]
    fake.routes["/v2/test/tiny/manifests/latest"] = (status, {**headers, "Docker-Content-Digest": sha256(b"x")}, body)
    store, client, _ = pulled(tmp_path)
    with pytest.raises(DigestMismatch):
        client.pull(f"{fake.host}/test/tiny")
    assert list(store.blobs()) == [] and store.refs() == {}


def test_a_blob_longer_than_its_descriptor_is_cut_off(fake, tmp_path) -> None:
    image = build_tiny_layout(tmp_path / "layout")
    fake.add_image("test/tiny", "latest", image)
    layer = image.layer_digests[0]
    status, headers, body = fake.routes[f"/v2/test/tiny/blobs/{layer}"]
    fake.routes[f"/v2/test/tiny/blobs/{layer}"] = (status, headers, body + b"more" * 10_000)
    store, client, _ = pulled(tmp_path)
    with pytest.raises(SizeMismatch):
        client.pull(f"{fake.host}/test/tiny")
    assert layer not in set(store.blobs()) and store.partial() == []


def test_a_dropped_connection_resumes_from_the_verified_prefix(fake, tmp_path) -> None:
    image = build_tiny_layout(tmp_path / "layout", {"big.bin": random.Random(4).randbytes(300_000)})
    fake.add_image("test/tiny", "latest", image)
    layer = image.layer_digests[0]
    size = len(image.blobs[layer])
    fake.drop_after[f"/v2/test/tiny/blobs/{layer}"] = size // 2
    store, client, _ = pulled(tmp_path)
    with pytest.raises(RegistryUnreachable):
        client.pull(f"{fake.host}/test/tiny")
    assert layer not in set(store.blobs()) and store.refs() == {}  # nothing half-written is visible
    assert [p.name for p in store.partial()] == [layer[7:]]

    client.pull(f"{fake.host}/test/tiny")
    ranges = [h.get("Range") for m, p, h in fake.requests if p.endswith(layer)]
    assert ranges[-1] == f"bytes={size // 2}-"  # only the rest was asked for
    assert store.read(layer) == image.blobs[layer] and store.partial() == []


def test_three_layers_at_a_time(fake, tmp_path) -> None:
    image = build_tiny_layout(tmp_path / "layout", layer_count=6)
    fake.add_image("test/six", "latest", image)
    active, peak, lock = [0], [0], threading.Lock()
    original = fake.handle

    def slow_blobs(handler) -> None:
        if "/blobs/" in handler.path and any(handler.path.endswith(d) for d in image.layer_digests):
            with lock:
                active[0] += 1
                peak[0] = max(peak[0], active[0])
            time.sleep(0.2)
            try:
                original(handler)
            finally:
                with lock:
                    active[0] -= 1
        else:
            original(handler)

    fake.handle = slow_blobs
    store, client, messages = pulled(tmp_path)
    client.pull(f"{fake.host}/test/six", progress=messages.append)
    assert peak[0] == CONCURRENT_DOWNLOADS
    waiting = [m["id"] for m in messages if m["status"] == "Waiting"]
    assert len(waiting) == 6 - CONCURRENT_DOWNLOADS
    completes = [m["id"] for m in messages if m["status"] == "Pull complete"]
    assert completes == [d[7:19] for d in image.layer_digests]  # in layer order
