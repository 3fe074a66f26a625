"""Manifests and indexes: parsed as hostile input, because they are.

The model, in four objects (each a blob named by its digest):

    index / manifest list --(per platform)--> image manifest --> config (JSON: env, cmd, rootfs diff_ids)
                                                         \\--> layers (tar.gz, applied in order)

A manifest arrives from the network (client side) or from any pusher
(server side). Before anything follows its pointers, `parse_manifest`
checks that it is what it says it is: JSON of at most `MAX_MANIFEST_BYTES`,
a known media type that agrees with the `Content-Type` (when one is given),
`schemaVersion` 2, descriptors with a valid digest, a sane size and a media
type of the right kind, and not absurdly many of them. Anything else is
MANIFEST_INVALID with a message that says what was wrong - never a
`KeyError` from deep inside a handler.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from minidock.registry import mediatypes as mt
from minidock.registry.digest import Digest, digest_of, parse_digest
from minidock.registry.errors import DigestInvalid, ManifestInvalid

MAX_MANIFEST_BYTES = 4 * 1024 * 1024   # distribution's limit for a manifest PUT
MAX_DESCRIPTORS = 1024                 # layers in a manifest, or manifests in an index
MAX_BLOB_SIZE = 1 << 40                # 1 TiB: a bigger "layer" is a lie or an attack


class Schema1Unsupported(ManifestInvalid):
    """A Docker v2 schema 1 manifest: unsigned-config, deprecated, refused."""


@dataclass(frozen=True)
class Descriptor:
    """A pointer to a blob: its media type, digest and size (and, in an index, its platform)."""

    media_type: str
    digest: Digest
    size: int
    platform: dict[str, Any] | None = None
    annotations: dict[str, str] | None = None
    urls: tuple[str, ...] = ()

    def platform_string(self) -> str:
        """`os/arch[/variant]` of an index entry (empty if it has no platform)."""
        p = self.platform or {}
        parts = [p.get("os", ""), p.get("architecture", "")] + ([p["variant"]] if p.get("variant") else [])
        return "/".join(parts) if any(parts) else ""


@dataclass(frozen=True)
class Manifest:
    """An image manifest (Docker v2s2 or OCI): one config, layers bottom-up."""

    media_type: str
    config: Descriptor
    layers: tuple[Descriptor, ...]
    raw: bytes = field(repr=False, default=b"")

    @property
    def digest(self) -> Digest:
        return digest_of(self.raw)

    def blobs(self) -> tuple[Descriptor, ...]:
        """Every blob this manifest needs: the config, then the layers."""
        return (self.config, *self.layers)


@dataclass(frozen=True)
class Index:
    """A manifest list (Docker) or image index (OCI): manifests per platform."""

    media_type: str
    manifests: tuple[Descriptor, ...]
    raw: bytes = field(repr=False, default=b"")

    @property
    def digest(self) -> Digest:
        return digest_of(self.raw)

    def select(self, platform: str = "linux/amd64") -> Descriptor:
        """The entry for `os/arch[/variant]`; a missing variant matches any (amd64 has none).

        No match is MANIFEST_UNKNOWN-worthy; we say which platforms exist."""
        # lab 04.2: Select a platform in an index
        # hint: compare os/arch[/variant] part by part (entry.platform_string()); no variant asked: any matches
        # hint: none fits: ManifestInvalid("no matching manifest for P in the manifest list entries (available: ...)")
        wanted = platform.split("/")
        for entry in self.manifests:
            have = entry.platform_string().split("/")
            if have[:2] == wanted[:2] and (len(wanted) < 3 or have[2:3] == wanted[2:3]):
                return entry
        available = ", ".join(e.platform_string() or "unknown" for e in self.manifests)
        raise ManifestInvalid(f"no matching manifest for {platform} in the manifest list entries"
                              f" (available: {available})")
        # end lab 04.2


# --8<-- [start:parse_manifest]
def parse_manifest(raw: bytes, content_type: str | None = None) -> Manifest | Index:
    """Parse and validate a manifest or an index; MANIFEST_INVALID for anything hostile."""
    if len(raw) > MAX_MANIFEST_BYTES:
        raise ManifestInvalid(f"manifest is {len(raw)} bytes; the limit is {MAX_MANIFEST_BYTES}")
    try:
        doc = json.loads(raw)
    except (UnicodeDecodeError, ValueError) as exc:
        raise ManifestInvalid(f"manifest is not JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise ManifestInvalid("manifest is not a JSON object")
    declared = content_type.split(";", 1)[0].strip() if content_type else None
    media_type = doc.get("mediaType") or declared
    if doc.get("schemaVersion") == 1 or media_type in mt.SCHEMA1 or declared in mt.SCHEMA1:
        raise Schema1Unsupported("schema 1 manifests are not supported")
    if doc.get("schemaVersion") != 2:
        raise ManifestInvalid(f"unsupported schemaVersion {doc.get('schemaVersion')!r}")
    if media_type is None:
        # OCI allows an absent mediaType; the shape then says what it is.
        media_type = mt.OCI_INDEX if "manifests" in doc else mt.OCI_MANIFEST
    if media_type not in mt.MANIFESTS:
        raise ManifestInvalid(f"unsupported manifest media type {media_type!r}")
    if declared and declared != media_type and declared not in ("application/json", "application/octet-stream"):
        raise ManifestInvalid(f"Content-Type {declared!r} does not match the manifest's mediaType {media_type!r}")
    if media_type in mt.INDEXES:
        entries = _descriptor_list(doc, "manifests", mt.MANIFESTS, allow_empty=True)
        return Index(media_type, entries, raw)
    config = _descriptor(doc.get("config"), "config", mt.CONFIGS | {None}, any_type=media_type == mt.OCI_MANIFEST)
    layers = _descriptor_list(doc, "layers", mt.LAYERS, any_type=media_type == mt.OCI_MANIFEST)
    return Manifest(media_type, config, layers, raw)
# --8<-- [end:parse_manifest]


def _descriptor_list(doc: dict[str, Any], key: str, allowed: frozenset[str | None], *,
                     allow_empty: bool = False, any_type: bool = False) -> tuple[Descriptor, ...]:
    items = doc.get(key)
    if not isinstance(items, list):
        raise ManifestInvalid(f"manifest has no {key!r} list")
    if len(items) > MAX_DESCRIPTORS:
        raise ManifestInvalid(f"manifest has {len(items)} {key}; the limit is {MAX_DESCRIPTORS}")
    if not items and not allow_empty and key != "layers":
        raise ManifestInvalid(f"manifest has an empty {key!r} list")
    return tuple(_descriptor(item, f"{key}[{i}]", allowed, any_type=any_type) for i, item in enumerate(items))


def _descriptor(item: Any, where: str, allowed: frozenset[str | None], *, any_type: bool = False) -> Descriptor:
    """One descriptor, checked field by field. OCI lets a manifest point at artifacts of any
    media type (`any_type`); Docker v2s2 does not."""
    if not isinstance(item, dict):
        raise ManifestInvalid(f"{where}: not a descriptor object")
    media_type = item.get("mediaType")
    if not isinstance(media_type, str) or not media_type:
        raise ManifestInvalid(f"{where}: missing mediaType")
    if not any_type and media_type not in allowed:
        raise ManifestInvalid(f"{where}: unexpected media type {media_type!r}")
    try:
        digest = parse_digest(item.get("digest"))
    except DigestInvalid as exc:
        raise ManifestInvalid(f"{where}: {exc.message}") from None
    size = item.get("size")
    if type(size) is not int or not 0 <= size <= MAX_BLOB_SIZE:
        raise ManifestInvalid(f"{where}: invalid size {size!r} (0..{MAX_BLOB_SIZE})")
    platform = item.get("platform")
    if platform is not None and not isinstance(platform, dict):
        raise ManifestInvalid(f"{where}: platform is not an object")
    annotations = item.get("annotations")
    if annotations is not None and not isinstance(annotations, dict):
        raise ManifestInvalid(f"{where}: annotations is not an object")
    urls = item.get("urls") or ()
    if not isinstance(urls, list | tuple) or not all(isinstance(u, str) for u in urls):
        raise ManifestInvalid(f"{where}: urls is not a list of strings")
    return Descriptor(media_type, digest, size, platform, annotations, tuple(urls))
