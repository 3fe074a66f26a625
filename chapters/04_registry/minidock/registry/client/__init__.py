"""The registry client: how the daemon talks to registries for `pull`, `push` and `search`.

One module per part of the conversation:

* `session.py` - one registry: plain HTTP only for this machine and
  `--insecure-registry` hosts, HTTPS with verification otherwise; the 401
  challenge answered once; redirects followed.
* `auth.py`    - parsing `WWW-Authenticate`, getting Bearer tokens.
* `pull.py`    - manifest by content negotiation, platform choice in an
  index, blobs streamed into the `ContentStore` verified, three at a time.
* `push.py`    - HEAD, cross-repository mount, monolithic or chunked
  upload, then the manifest.
* `search.py`  - `/v1/search`, or the filtered `/v2/_catalog`.

The engine's jobs use it through `RegistryClient` (or the functions
directly, with a `Session` they make):

    client = RegistryClient(store, insecure=("myhost:5000",), mirrors=("http://127.0.0.1:5001",),
                            auth=lambda host: Credentials("user", "pass") if host == "myhost:5000" else None)
    result = client.pull("127.0.0.1:5000/test/busybox:v1", platform="linux/amd64", progress=print)
    result.digest, result.manifest, result.config, result.status     # PullResult
    client.push("127.0.0.1:5000/test/busybox:v1", progress=print)    # -> PushResult(tag, digest, size)
    client.search("127.0.0.1:5000/busy", limit=25)                   # -> [{"name", "description", ...}]

`progress` receives dockerd's progress messages as dicts (`progress.py`),
from several threads but never at once. Failures are `RegistryError`
subclasses (`errors.py`: `ManifestUnknown`, `DigestMismatch`, `Unauthorized`,
`RegistryUnreachable`, ...), which the job turns into dockerd's words.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from minidock.registry import progress as msg
from minidock.registry.client.auth import Credentials
from minidock.registry.client.pull import PullResult, pull
from minidock.registry.client.push import PushResult, push
from minidock.registry.client.search import search, split_term
from minidock.registry.client.session import DOCKER_HUB, RegistryUnreachable, Session
from minidock.registry.contentstore import ContentStore
from minidock.registry.errors import RegistryError
from minidock.registry.names import Reference, normalize
from minidock.registry.progress import Progress

__all__ = ["Credentials", "PullResult", "PushResult", "RegistryClient", "Session"]


class RegistryClient:
    """The daemon's registry service: its options, its store, and what it learnt about blobs.

    It remembers which repository of which registry each blob came from
    (pulled or pushed), so a later push of the same blob to another
    repository on that registry can ask for a cross-repository *mount*
    instead of uploading the bytes again."""

    def __init__(self, store: ContentStore, *, insecure: Iterable[str] = (), mirrors: Iterable[str] = (),
                 auth: Callable[[str], Credentials | None] = lambda host: None) -> None:
        self.store = store
        self.insecure = tuple(insecure)
        # `--registry-mirror http://host:port`: the host is what we talk to; `http://` says plain HTTP
        self.mirrors = tuple(mirror.rstrip("/").split("://", 1)[-1] for mirror in mirrors)
        self._plain = tuple(m.rstrip("/").split("://", 1)[1] for m in mirrors if m.startswith("http://"))
        self.auth = auth
        self._sources: dict[str, set[tuple[str, str]]] = {}  # blob digest -> {(host, repository)}

    def session(self, host: str, credentials: Credentials | None = None) -> Session:
        return Session(host, insecure=(*self.insecure, *self._plain), credentials=credentials or self.auth(host))

    def _remember(self, host: str, repository: str) -> Callable[[str], None]:
        return lambda digest: self._sources.setdefault(digest, set()).add((host, repository))

    def pull(self, reference: str | Reference, platform: str | None = None, progress: Progress = msg.discard,
             credentials: Credentials | None = None) -> PullResult:
        """Pull into the store. Docker Hub names try each `--registry-mirror` first.

        A mirror is asked for the same repository (`library/busybox`); one that
        is down or lacks the image is no verdict, so the next is asked, and
        Docker Hub last. Only Docker Hub gets the user's credentials, and a
        mirror that failed leaves no line in the progress stream."""
        ref = normalize(reference) if isinstance(reference, str) else reference.with_default_tag()
        hosts = [*self.mirrors, ref.domain] if ref.domain == DOCKER_HUB else [ref.domain]
        for host in hosts:
            last = host == hosts[-1]
            attempt = progress if last else _Tentative(progress)
            try:
                return pull(self.session(host, credentials if host == ref.domain else None), self.store, ref,
                            platform=platform, progress=attempt, sources=self._remember(host, ref.path))
            except RegistryError as exc:  # a mirror that is down or lacks the image: ask the next
                started = isinstance(attempt, _Tentative) and attempt.sent
                if last or started or not (isinstance(exc, RegistryUnreachable) or exc.status in (404, 401, 403)):
                    raise
        raise AssertionError("unreachable")

    def push(self, reference: str | Reference, progress: Progress = msg.discard,
             credentials: Credentials | None = None, chunk_size: int | None = None) -> PushResult:
        ref = normalize(reference) if isinstance(reference, str) else reference.with_default_tag()
        session = self.session(ref.domain, credentials)

        def known(digest: str) -> list[str]:
            return sorted(repo for host, repo in self._sources.get(digest, ()) if host == ref.domain)

        extra: dict[str, Any] = {"chunk_size": chunk_size} if chunk_size else {}
        result = push(session, self.store, ref, progress=progress, known_repositories=known, **extra)
        manifest_blobs = self._blobs_of(result.digest)
        for digest in manifest_blobs:
            self._remember(ref.domain, ref.path)(digest)
        return result

    def _blobs_of(self, digest: str) -> list[str]:
        from minidock.registry.manifest import Index, parse_manifest

        document = parse_manifest(self.store.read(digest))
        if isinstance(document, Index):
            return [str(entry.digest) for entry in document.manifests]
        return [str(blob.digest) for blob in document.blobs()]

    def search(self, term: str, limit: int = 25, credentials: Credentials | None = None) -> list[dict[str, Any]]:
        host, query = split_term(term)
        return search(self.session(host, credentials), query, limit)

    def login(self, host: str, credentials: Credentials) -> str:
        """`docker login`: do these credentials open the registry? Returns dockerd's `Login Succeeded`."""
        self.session(host, credentials).ping()
        return "Login Succeeded"


class _Tentative:
    """A mirror's progress: its first line (`Pulling from ...`) is held until a second one shows
    the mirror has the manifest, so a mirror that fails leaves nothing in the stream."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.held: list[dict[str, Any]] = []
        self.sent = False

    def __call__(self, message: dict[str, Any]) -> None:
        if not self.sent and not self.held:
            self.held.append(message)
            return
        self.sent = True
        for held in self.held:
            self.progress(held)
        self.held.clear()
        self.progress(message)
