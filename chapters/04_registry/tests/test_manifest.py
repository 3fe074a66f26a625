"""Manifests are hostile input: everything malformed is MANIFEST_INVALID, with a message."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, strategies as st

from minidock.registry import mediatypes as mt
from minidock.registry.digest import digest_of
from minidock.registry.errors import ManifestInvalid
from minidock.registry.manifest import (
    MAX_BLOB_SIZE, MAX_DESCRIPTORS, MAX_MANIFEST_BYTES, Index, Manifest, Schema1Unsupported, parse_manifest,
)

D = str(digest_of(b"x"))


def image(**changes: Any) -> dict[str, Any]:
    doc = {"schemaVersion": 2, "mediaType": mt.DOCKER_MANIFEST,
           "config": {"mediaType": mt.DOCKER_CONFIG, "digest": D, "size": 1},
           "layers": [{"mediaType": mt.DOCKER_LAYER, "digest": D, "size": 1}]}
    doc.update(changes)
    return doc


def raw(doc: Any) -> bytes:
    return json.dumps(doc).encode()


def test_a_docker_v2s2_manifest_parses() -> None:
    manifest = parse_manifest(raw(image()), mt.DOCKER_MANIFEST)
    assert isinstance(manifest, Manifest)
    assert [d.digest for d in manifest.blobs()] == [digest_of(b"x")] * 2
    assert manifest.digest == digest_of(raw(image()))


def test_an_oci_manifest_without_media_type_is_recognised_by_shape() -> None:
    doc = image(layers=[{"mediaType": mt.OCI_LAYER_GZIP, "digest": D, "size": 1}],
                config={"mediaType": mt.OCI_CONFIG, "digest": D, "size": 1})
    del doc["mediaType"]
    assert parse_manifest(raw(doc)).media_type == mt.OCI_MANIFEST


def test_an_index_selects_a_platform() -> None:
    entries = [{"mediaType": mt.OCI_MANIFEST, "digest": str(digest_of(p.encode())), "size": 1,
                "platform": dict(zip(("os", "architecture", "variant"), p.split("/")))}
               for p in ("linux/arm/v7", "linux/amd64", "linux/arm64/v8")]
    index = parse_manifest(raw({"schemaVersion": 2, "mediaType": mt.OCI_INDEX, "manifests": entries}))
    assert isinstance(index, Index)
    assert index.select("linux/amd64").digest == digest_of(b"linux/amd64")
    assert index.select("linux/arm64").digest == digest_of(b"linux/arm64/v8")
    assert index.select("linux/arm/v7").digest == digest_of(b"linux/arm/v7")
    with pytest.raises(ManifestInvalid, match="no matching manifest for windows/amd64"):
        index.select("windows/amd64")


def test_schema1_is_refused_with_its_own_message() -> None:
    with pytest.raises(Schema1Unsupported, match="schema 1"):
        parse_manifest(raw({"schemaVersion": 1, "name": "x", "fsLayers": []}))


@pytest.mark.parametrize("body, why", [
    (b"not json", "not JSON"),
    (b"[]", "not a JSON object"),
    (raw(image(schemaVersion=3)), "schemaVersion"),
    (raw(image(mediaType="text/html")), "media type"),
    (raw(image(config=None)), "config"),
    (raw(image(layers="x")), "layers"),
    (raw(image(layers=[{"mediaType": mt.DOCKER_LAYER, "digest": "sha256:zz", "size": 1}])), "digest"),
    (raw(image(layers=[{"mediaType": mt.DOCKER_LAYER, "digest": D, "size": -1}])), "size"),
    (raw(image(layers=[{"mediaType": mt.DOCKER_LAYER, "digest": D, "size": MAX_BLOB_SIZE + 1}])), "size"),
    (raw(image(layers=[{"mediaType": mt.DOCKER_LAYER, "digest": D, "size": "1"}])), "size"),
    (raw(image(layers=[{"mediaType": mt.DOCKER_LAYER, "digest": D, "size": True}])), "size"),
    (raw(image(layers=[{"mediaType": "text/plain", "digest": D, "size": 1}])), "media type"),
    (raw(image(layers=[{"mediaType": mt.DOCKER_LAYER, "digest": D, "size": 1}] * (MAX_DESCRIPTORS + 1))), "limit"),
    (b" " * (MAX_MANIFEST_BYTES + 1), "limit"),
])
def test_hostile_manifests_are_refused_with_a_reason(body: bytes, why: str) -> None:
    with pytest.raises(ManifestInvalid, match=why):
        parse_manifest(body)


def test_a_content_type_that_contradicts_the_manifest_is_refused() -> None:
    with pytest.raises(ManifestInvalid, match="does not match"):
        parse_manifest(raw(image()), mt.OCI_INDEX)


@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=10),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                    max_leaves=20))
def test_any_json_either_parses_or_is_manifest_invalid(doc: Any) -> None:
    try:
        parse_manifest(raw(doc))
    except ManifestInvalid:
        pass
