"""Push: the blobs of a stored image, then its manifest, into a registry.

The conversation (docker-api-wire-captures.txt, section `push`, registry side):

    HEAD  /v2/<name>/blobs/<digest>                       200: "Layer already exists", nothing to send
    POST  /v2/<name>/blobs/uploads/?mount=<d>&from=<repo>  201: "Mounted from <repo>" (no bytes sent)
    POST  /v2/<name>/blobs/uploads/                       202 + Location: an upload session
    PUT   <Location>&digest=<d>   (the whole blob)         201: monolithic
      or  PATCH <Location> (Content-Range a-b) ... then PUT <Location>&digest=<d>   chunked
    PUT   /v2/<name>/manifests/<tag>                       201 + Docker-Content-Digest

The manifest goes last: a registry refuses a manifest whose blobs it does
not have (MANIFEST_BLOB_UNKNOWN), and a tag must never name a half-pushed
image. The registry checks every digest we send it, as we checked its.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import BinaryIO

from minidock.registry import progress as msg
from minidock.registry.client.auth import scope_for
from minidock.registry.client.pull import SerialProgress
from minidock.registry.client.session import Session
from minidock.registry.contentstore import ContentStore
from minidock.registry.digest import DigestMismatch, parse_digest
from minidock.registry.errors import RegistryError
from minidock.registry.manifest import Descriptor, Index, Manifest, parse_manifest
from minidock.registry.names import Reference
from minidock.registry.progress import Progress

CONCURRENT_UPLOADS = 5  # dockerd's --max-concurrent-uploads default
CHUNK_SIZE = 5 * 1024 * 1024  # bigger blobs go up in PATCH chunks of this size


class ImageNotLocal(RegistryError):
    """Nothing in the content store under this name: dockerd's wording for `docker push`."""
    code, status, default_message = "NOT_FOUND", 404, "An image does not exist locally"


@dataclass
class PushResult:
    tag: str
    digest: str
    size: int


class ProgressReader:
    """A blob file that reports how much of it was read (`http.client` reads the body from it)."""

    def __init__(self, file: BinaryIO, size: int, report: Callable[[int], None]) -> None:
        self.file, self.size, self.report = file, size, report
        self.done, self._last = 0, 0

    def read(self, amount: int = -1) -> bytes:
        chunk = self.file.read(amount)
        self.done += len(chunk)
        if self.done - self._last >= 512 * 1024 or (self.done == self.size and self.done != self._last):
            self._last = self.done
            self.report(self.done)
        return chunk

    def seek(self, offset: int) -> None:  # an auth retry sends the body again
        self.file.seek(offset)
        self.done = self._last = offset


def _with_digest(location: str, digest: str) -> str:
    return location + ("&" if "?" in location else "?") + urllib.parse.urlencode({"digest": digest})


# --8<-- [start:push_blob]
def push_blob(session: Session, store: ContentStore, ref: Reference, blob: Descriptor, *,
              mount_from: Sequence[str] = (), report: Progress | None = None, chunk_size: int = CHUNK_SIZE) -> str:
    """Make the registry have `blob` in `ref`'s repository; return what happened, in dockerd's words."""
    digest, path = str(blob.digest), ref.path
    scope = scope_for(path, "pull,push")
    exists = session.request("HEAD", f"/v2/{path}/blobs/{digest}", scope=scope, ok=(200, 404))
    exists.close()
    if exists.status == 200:
        return msg.LAYER_EXISTS
    location = None
    for source in mount_from:  # the registry may have it in another repository: no bytes needed
        if source == path:
            continue
        query = urllib.parse.urlencode({"mount": digest, "from": source})
        mounted = session.request("POST", f"/v2/{path}/blobs/uploads/?{query}", body=b"",
                                  scope=f"{scope} {scope_for(source, 'pull')}", ok=(201, 202))
        mounted.close()
        if mounted.status == 201:
            return f"{msg.MOUNTED_FROM} {source}"
        location = mounted.header("Location")  # 202: not mounted, but an upload session was opened
        break
    if location is None:
        started = session.request("POST", f"/v2/{path}/blobs/uploads/", body=b"", scope=scope, ok=(202,))
        started.close()
        location = started.header("Location")
    if not location:
        raise RegistryError(f"registry {session.host} opened an upload without a Location")

    def pushing(current: int) -> None:
        if report is not None:
            report(msg.layer_progress(msg.PUSHING, digest, current, blob.size))

    octet = {"Content-Type": "application/octet-stream"}
    with store.open(blob.digest) as file:
        if blob.size <= chunk_size:  # monolithic: one PUT carries the whole blob
            body = ProgressReader(file, blob.size, pushing)
            done = session.request("PUT", _with_digest(location, digest), body=body, scope=scope, ok=(201,),
                                   headers={**octet, "Content-Length": str(blob.size)})
        else:  # chunked: PATCH after PATCH, each continuing where the last ended
            offset = 0
            while chunk := file.read(chunk_size):
                patched = session.request("PATCH", location, body=chunk, scope=scope, ok=(202,), headers={
                    **octet, "Content-Length": str(len(chunk)),
                    "Content-Range": f"{offset}-{offset + len(chunk) - 1}"})
                patched.close()
                location = patched.header("Location") or location
                offset += len(chunk)
                pushing(offset)
            done = session.request("PUT", _with_digest(location, digest), body=b"", scope=scope, ok=(201,),
                                   headers={"Content-Length": "0"})
    done.close()
    return msg.PUSHED
# --8<-- [end:push_blob]


def _layers_of(store: ContentStore, document: Manifest | Index) -> list[Manifest]:
    """The image manifests to push: the manifest itself, or the index's entries we have."""
    if isinstance(document, Manifest):
        return [document]
    children = []
    for entry in document.manifests:
        if store.has(entry.digest):
            child = parse_manifest(store.read(entry.digest), entry.media_type)
            if isinstance(child, Manifest):
                children.append(child)
    return children


def push(session: Session, store: ContentStore, ref: Reference, *, progress: Progress = msg.discard,
         known_repositories: Callable[[str], list[str]] = lambda digest: [],
         chunk_size: int = CHUNK_SIZE) -> PushResult:
    """Push `name:tag` from the store to its registry, reporting as dockerd does."""
    report = SerialProgress(progress)
    tag = ref.tag or "latest"
    report(msg.push_refers_to(ref.name))
    digest = store.get_ref(ref.name, tag)
    if digest is None:
        raise ImageNotLocal(f"An image does not exist locally with the tag: {ref.familiar_name}")
    raw = store.read(digest)
    document = parse_manifest(raw)
    images = _layers_of(store, document)

    layers: list[Descriptor] = []
    for image in images:
        for layer in reversed(image.layers):  # dockerd lists the top layer first
            if layer not in layers:
                layers.append(layer)
    for layer in layers:
        report(msg.layer(msg.PREPARING, str(layer.digest)))

    def one_layer(layer: Descriptor) -> None:
        outcome = push_blob(session, store, ref, layer, mount_from=known_repositories(str(layer.digest)),
                            report=report, chunk_size=chunk_size)
        report(msg.layer(outcome, str(layer.digest)))

    with ThreadPoolExecutor(CONCURRENT_UPLOADS, thread_name_prefix="push") as pool:
        futures: list[Future[None]] = [pool.submit(one_layer, layer) for layer in layers]
        try:
            for future in futures:
                future.result()
        except BaseException:
            for future in futures:
                future.cancel()
            raise
    scope = scope_for(ref.path, "pull,push")
    for image in images:
        push_blob(session, store, ref, image.config, chunk_size=chunk_size)
        if image is not document:
            _put_manifest(session, ref, str(image.digest), image.raw, image.media_type, scope)
    _put_manifest(session, ref, tag, raw, document.media_type, scope)
    report(msg.push_digest(tag, digest, len(raw)))
    report(msg.push_aux(tag, digest, len(raw)))
    return PushResult(tag, digest, len(raw))


def _put_manifest(session: Session, ref: Reference, reference: str, raw: bytes, media_type: str,
                  scope: str) -> None:
    response = session.request("PUT", f"/v2/{ref.path}/manifests/{reference}", body=raw, scope=scope,
                               headers={"Content-Type": media_type, "Content-Length": str(len(raw))}, ok=(201,))
    response.close()
    announced = response.header("Docker-Content-Digest")
    if announced and parse_digest(announced) != parse_digest(str(parse_manifest(raw).digest)):
        raise DigestMismatch(f"registry {session.host} stored the manifest as {announced}")
