"""Pull: a name becomes verified blobs in the content store.

The conversation (docker-api-wire-captures.txt, section `pull`, registry side):

    GET  /v2/                                   is it a V2 registry? (401: the auth challenge)
    GET  /v2/<name>/manifests/<tag>             Accept: every manifest kind we understand
      -> an index? choose the platform's entry, GET /v2/<name>/manifests/<digest>
    GET  /v2/<name>/blobs/<config digest>
    GET  /v2/<name>/blobs/<layer digest>  x N   three at a time; skipped if already here

Nothing is trusted on the way: the manifest must hash to the digest we
asked for (or that the registry announced), each blob streams through a
`DigestVerifier` into the store's ingest area and appears under its digest
only once it matched. The tag's ref is written last, so a reader never
finds a ref to a manifest whose blobs are missing.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from minidock.registry import mediatypes as mt
from minidock.registry import progress as msg
from minidock.registry.client.auth import scope_for
from minidock.registry.client.session import Session
from minidock.registry.contentstore import ContentStore
from minidock.registry.digest import Digest, DigestMismatch, digest_of, parse_digest
from minidock.registry.errors import ManifestInvalid, ManifestUnknown
from minidock.registry.manifest import (
    MAX_MANIFEST_BYTES, Descriptor, Index, Manifest, Schema1Unsupported, parse_manifest,
)
from minidock.registry.names import Reference
from minidock.registry.progress import Progress

DEFAULT_PLATFORM = "linux/amd64"
CONCURRENT_DOWNLOADS = 3  # dockerd's --max-concurrent-downloads default
PROGRESS_EVERY = 512 * 1024  # a Downloading message per 512 kB (or per 1% of a small layer)

# dockerd's Accept list, schema 1 included: a registry that only has schema 1
# should say so, so we can refuse it by name instead of failing obscurely.
ACCEPT = ", ".join((*mt.ACCEPT, mt.SCHEMA1_SIGNED_MANIFEST))


@dataclass
class PullResult:
    """What a pull ended with."""

    reference: Reference          # normalised: docker.io/library/busybox:latest
    digest: str                   # what the tag points to (an index's digest for a multi-platform image)
    manifest: Manifest            # the image manifest for the chosen platform
    config: dict[str, Any]        # the image's config JSON
    status: str                   # the last line: "Downloaded newer image for …" / "Image is up to date for …"
    downloaded: bool              # did anything new arrive (or the tag move)?


class SerialProgress:
    """The caller's progress callback, made safe to call from the download threads."""

    def __init__(self, callback: Progress) -> None:
        self._callback, self._lock = callback, threading.Lock()

    def __call__(self, message: msg.Message) -> None:
        with self._lock:
            self._callback(message)


def fetch_manifest(session: Session, ref: Reference, reference: str, scope: str) -> tuple[bytes, str, Digest]:
    """GET a manifest by tag or digest; return its bytes, media type and *verified* digest."""
    # (A MANIFEST_UNKNOWN goes up as it came: the engine job words it as dockerd does,
    # "manifest for X:T not found: manifest unknown: manifest unknown".)
    response = session.request("GET", f"/v2/{ref.path}/manifests/{reference}", scope=scope,
                               headers={"Accept": ACCEPT})
    media_type = response.header("Content-Type", "") or ""
    announced = response.header("Docker-Content-Digest")
    raw = response.read(MAX_MANIFEST_BYTES)
    if len(raw) > MAX_MANIFEST_BYTES:
        raise ManifestInvalid(f"manifest for {ref.familiar()} is larger than {MAX_MANIFEST_BYTES} bytes")
    # By digest: the digest we asked for is the truth. By tag: the registry's word, checked.
    expected = reference if reference.startswith("sha") and ":" in reference else announced
    if expected:
        wanted = parse_digest(expected)
        actual = digest_of(raw, wanted.algorithm)
        if actual != wanted:
            raise DigestMismatch(f"manifest verification failed for digest {wanted}")
        return raw, media_type, wanted
    return raw, media_type, digest_of(raw)


# --8<-- [start:choose_platform]
def choose_platform(index: Index, platform: str | None) -> Descriptor:
    """The index entry for `os/arch[/variant]` (linux/amd64 when not told), as dockerd picks it.

    `linux/arm64` matches an entry `linux/arm64/v8`: a missing variant matches
    any. No entry for the platform is an error that names the ones there are."""
    wanted = platform or DEFAULT_PLATFORM
    try:
        return index.select(wanted)
    except ManifestInvalid as exc:
        raise ManifestUnknown(exc.message) from None
# --8<-- [end:choose_platform]


def parse_checked(raw: bytes, media_type: str, host: str) -> Manifest | Index:
    try:
        return parse_manifest(raw, media_type)
    except Schema1Unsupported:
        raise Schema1Unsupported(f"schema 1 manifests are not supported (registry {host})") from None


# --8<-- [start:fetch_blob]
def fetch_blob(session: Session, store: ContentStore, ref: Reference, blob: Descriptor, scope: str,
               progress: Callable[[int], None] | None = None) -> bool:
    """Stream one blob into the store, verified; False if it was already there.

    An earlier, interrupted download of the same blob resumes where it
    stopped: the ingest file's bytes were re-hashed on open, and the
    registry is asked for the rest (`Range`). A registry that ignores the
    Range (200 instead of 206) sends everything, and we start over."""
    with store.ingest(blob.digest, blob.size) as ingest:
        if ingest.done:
            return False
        if ingest.offset < blob.size:
            headers = {"Range": f"bytes={ingest.offset}-"} if ingest.offset else {}
            response = session.request("GET", f"/v2/{ref.path}/blobs/{blob.digest}", scope=scope,
                                       headers=headers, ok=(200, 206))
            if response.status == 200 and ingest.offset:
                ingest.restart()
            every = max(1, min(PROGRESS_EVERY, blob.size // 100))
            last = ingest.offset
            for chunk in response.chunks():
                ingest.write(chunk)  # hashed and counted here: too many bytes stop the stream at once
                if progress is not None and ingest.offset - last >= every:
                    last = ingest.offset
                    progress(ingest.offset)
            if progress is not None and ingest.offset != last:
                progress(ingest.offset)
        ingest.commit()  # size and digest checked; only now is the blob visible
        return True
# --8<-- [end:fetch_blob]


def download_layer(session: Session, store: ContentStore, ref: Reference, layer: Descriptor, scope: str,
                   report: Progress) -> None:
    """One layer's whole story in dockerd's words: Downloading…, Verifying Checksum, Download complete."""
    digest = str(layer.digest)

    def downloading(current: int) -> None:
        report(msg.layer_progress(msg.DOWNLOADING, digest, current, layer.size))

    # (dockerd says "Verifying Checksum" after the last byte; our check runs *while* the bytes
    # stream, so the message comes when the verdict is in: just before commit.)
    fetch_blob(session, store, ref, layer, scope, downloading)
    report(msg.layer(msg.VERIFYING, digest))
    report(msg.layer(msg.DOWNLOAD_COMPLETE, digest))


# --8<-- [start:pull]
def pull(session: Session, store: ContentStore, ref: Reference, *, platform: str | None = None,
         progress: Progress = msg.discard, sources: Callable[[str], None] | None = None) -> PullResult:
    """Pull `ref` (normalised, with a tag or a digest) into `store`, reporting as dockerd does."""
    report = SerialProgress(progress)
    scope = scope_for(ref.path, "pull")
    wanted = ref.digest or ref.tag or "latest"
    report(msg.pulling_from(ref.path, wanted))

    raw, media_type, top_digest = fetch_manifest(session, ref, wanted, scope)
    top = parse_checked(raw, media_type, session.host)
    manifest = top
    if isinstance(top, Index):
        entry = choose_platform(top, platform)
        child_raw, child_type, _ = fetch_manifest(session, ref, str(entry.digest), scope)
        manifest = parse_checked(child_raw, child_type or entry.media_type, session.host)
        if not isinstance(manifest, Manifest):
            raise ManifestInvalid(f"index entry {entry.digest} is not an image manifest")
        store.put(child_raw, entry.digest)
    assert isinstance(manifest, Manifest)

    fetched_config = fetch_blob(session, store, ref, manifest.config, scope)
    config = json.loads(store.read(manifest.config.digest))
    missing = [layer for layer in manifest.layers if not store.has(layer.digest)]
    for layer in manifest.layers:
        report(msg.layer(msg.PULLING_FS_LAYER if layer in missing else msg.ALREADY_EXISTS, str(layer.digest)))
    with ThreadPoolExecutor(CONCURRENT_DOWNLOADS, thread_name_prefix="pull") as pool:
        futures: list[Future[None]] = []
        for n, layer in enumerate(missing):
            if n >= CONCURRENT_DOWNLOADS:
                report(msg.layer(msg.WAITING, str(layer.digest)))
            futures.append(pool.submit(download_layer, session, store, ref, layer, scope, report))
        try:
            for layer, future in zip(missing, futures):
                future.result()  # in layer order: a layer is complete when those below it are
                report(msg.layer(msg.PULL_COMPLETE, str(layer.digest)))
        except BaseException:
            for future in futures:
                future.cancel()
            raise
    store.put(raw, top_digest)  # the manifest (or index) last: it is what the ref points to

    if sources is not None:  # remembered for push's cross-repository mounts
        for blob in manifest.blobs():
            sources(str(blob.digest))
    name = ref.familiar()
    downloaded = bool(missing) or fetched_config
    if ref.tag and not ref.digest:
        previous = store.get_ref(ref.name, ref.tag)
        downloaded = downloaded or previous != str(top_digest)
        store.set_ref(ref.name, ref.tag, top_digest)
    report(msg.pull_digest(str(top_digest)))
    final = msg.pull_status(name, downloaded)
    report(final)
    return PullResult(ref, str(top_digest), manifest, config, final["status"], downloaded)
# --8<-- [end:pull]
