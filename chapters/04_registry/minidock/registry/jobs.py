"""The registry jobs: `pull`, `push`, `search`, `auth` - what the engine runs for chapter 04's routes.

Docker 1.5's registry service installed itself on the engine with

    eng.Register("auth", s.Auth)
    eng.Register("search", s.Search)
    eng.Register("resolve_repository", s.ResolveRepository)

and the daemon added `pull` and `push`. Each handler is a thin function from a
job to the registry client (`registry/client/`): read the arguments and the
environment, call the client, print the result on the job's stdout. A
handler knows nothing of HTTP (api.py wires the response), so the same job
serves the API, a test or, in chapter 05, another job.

What each job prints:

* `pull NAME [TAG]` - dockerd's progress messages, one JSON object per line,
  as the client reports them (progress.py has the wording). In the
  chapter-4 world the pulled blobs land in the content store
  (`<data-root>/content/`); chapter 05 makes images of them;
* `push NAME [TAG]` - dockerd's push progress, one JSON object per line,
  ending with `T: digest: sha256:... size: N` and the aux result. What it
  pushes is what a pull left in the content store under that name;
* `search TERM` - one JSON list, Docker Hub's result shape;
* `auth` - `{"IdentityToken": "", "Status": "Login Succeeded"}`.

A failure is a typed error of chapter 02 (`NotFound`, `Unauthorized`, ...)
worded as dockerd words it, because users and scripts read those words:
`manifest for 127.0.0.1:5000/nope:latest not found: manifest unknown: manifest unknown`.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import threading
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from minidock.registry import errors as registry_errors
from minidock.registry.client.auth import Credentials
from minidock.registry.client.push import ImageNotLocal
from minidock.registry.client.push import push as client_push
from minidock.registry.client.session import DOCKER_HUB, RegistryUnreachable, Session, base_url
from minidock.registry.contentstore import BlobNotFound, ContentStore
from minidock.registry.manifest import Index, parse_manifest
from minidock.registry.names import InvalidReference, Reference, parse_reference
from minidock.server.errors import APIError, BadParameter, Forbidden, InternalError, NotFound, Unauthorized

if TYPE_CHECKING:
    from minidock.engine import Engine, Job

SEARCH_LIMIT_MAX = 100  # dockerd refuses more


@dataclass
class RegistryService:
    """The daemon's registry half: where pulls land, and the daemon's registry options."""

    store: ContentStore
    insecure_registries: tuple[str, ...] = ()
    registry_mirrors: tuple[str, ...] = ()
    logger: logging.Logger = field(default_factory=lambda: logging.getLogger("minidock.registry"))

    def session(self, host: str, credentials: Credentials | None = None) -> Session:
        return Session(host, insecure=self.insecure_registries, credentials=credentials)


# -- reading what the CLI sent -----------------------------------------------------------------
def decode_auth_config(encoded: str) -> Credentials | None:
    """`X-Registry-Auth`: base64url of `{"username", "password", "serveraddress", ...}`.

    dockerd treats an undecodable header as "no credentials" for a pull (the
    CLI sends `e30=`, i.e. `{}`, when it has none), and so do we."""
    if not encoded:
        return None
    try:
        padded = encoded + "=" * (-len(encoded) % 4)
        doc = json.loads(base64.urlsafe_b64decode(padded))
    except (ValueError, binascii.Error):
        return None
    return credentials_of(doc)


def credentials_of(doc: Any) -> Credentials | None:
    if not isinstance(doc, dict):
        return None
    credentials = Credentials(str(doc.get("username") or ""), str(doc.get("password") or ""),
                              str(doc.get("identitytoken") or ""))
    return credentials or None


def pull_reference(image: str, tag: str) -> Reference:
    """`fromImage` + `tag` as dockerd joins them: a tag that is a digest pins the digest."""
    try:
        ref = parse_reference(image)
        if tag:
            if ":" in tag and tag.partition(":")[0] in ("sha256", "sha512"):
                ref = parse_reference(f"{ref.name}@{tag}")
            else:
                ref = parse_reference(f"{ref.name}:{tag}")
    except InvalidReference as exc:
        raise BadParameter(str(exc)) from None
    return ref.with_default_tag()


# --8<-- [start:errors]
def code_words(error: registry_errors.RegistryError) -> str:
    """`manifest unknown: manifest unknown` - how Go's errcode prints itself (code, then message)."""
    return f"{error.code.lower().replace('_', ' ')}: {error.message}"


def translate(error: registry_errors.RegistryError, ref: Reference) -> APIError:
    """A registry's error code as the daemon's error, in dockerd's words (distribution/errors.go)."""
    if isinstance(error, registry_errors.ManifestUnknown):
        if error.message.startswith("manifest for "):  # the client words it already
            return NotFound(error.message)
        return NotFound(f"manifest for {ref.familiar()} not found: {code_words(error)}")
    if isinstance(error, registry_errors.NameUnknown):
        return NotFound(f"repository {ref.familiar_name} not found: {code_words(error)}")
    if isinstance(error, (registry_errors.Denied, registry_errors.Unauthorized)):
        return Forbidden(f"pull access denied for {ref.familiar_name}, repository does not exist or may "
                         f"require 'docker login': {code_words(error)}")
    if isinstance(error, (RegistryUnreachable, registry_errors.DigestInvalid, registry_errors.SizeInvalid,
                          registry_errors.ManifestInvalid)):
        return InternalError(error.message)  # our own verdict on what came, not the registry's code
    return InternalError(str(error) if error.code == "UNKNOWN" else code_words(error))
# --8<-- [end:errors]


class HeldFirstLine:
    """The pull's progress callback, one line late at the start.

    The client says `Pulling from NAME` before it asks for the manifest, but
    dockerd's answer to an unknown image is a plain 404, not a stream that
    ends in an error: the head must wait until the manifest is found. So the
    first line is held until a second one comes (the manifest was there)."""

    def __init__(self, emit: Callable[[dict[str, Any]], None]) -> None:
        self.emit = emit
        self.held: dict[str, Any] | None = None
        self.started = False
        self.lock = threading.Lock()  # the client reports from its download threads

    def __call__(self, message: dict[str, Any]) -> None:
        with self.lock:
            if not self.started and self.held is None:
                self.held = message
                return
            if self.held is not None:
                self.emit(self.held)
                self.held = None
            self.started = True
            self.emit(message)


def print_json(job: Job, obj: Any) -> None:
    job.stdout.write(json.dumps(obj, separators=(",", ":")).encode() + b"\n")


# -- the jobs ----------------------------------------------------------------------------------
class RegistryJobs:
    """The job handlers of chapter 04, over one `RegistryService`."""

    def __init__(self, service: RegistryService) -> None:
        self.service = service

    # --8<-- [start:pull]
    def pull(self, job: Job) -> None:
        """`pull NAME [TAG]` (env `authConfig`, `platform`): into the content store, with progress."""
        ref = pull_reference(job.args[0] if job.args else "", job.args[1] if len(job.args) > 1 else "")
        from minidock.registry.client import RegistryClient  # Docker Hub names go to the mirrors first

        client = RegistryClient(self.service.store, insecure=self.service.insecure_registries,
                                mirrors=self.service.registry_mirrors)
        report = HeldFirstLine(lambda message: print_json(job, message))
        try:
            client.pull(ref, platform=job.env.get("platform") or None, progress=report,
                        credentials=decode_auth_config(job.env.get("authConfig")))
        except registry_errors.RegistryError as exc:
            raise translate(exc, ref) from None
    # --8<-- [end:pull]

    # --8<-- [start:push_job]
    def push(self, job: Job) -> None:
        """`push NAME [TAG]` (env `authConfig`): the manifest the store holds for NAME:TAG, its
        config and layers, into NAME's registry, with dockerd's progress messages."""
        ref = pull_reference(job.args[0] if job.args else "", job.args[1] if len(job.args) > 1 else "")
        if ref.digest:
            raise BadParameter(f"cannot push a digest reference: {ref.familiar()}")
        session = self.service.session(ref.domain, decode_auth_config(job.env.get("authConfig")))
        report = HeldFirstLine(lambda message: print_json(job, message))  # no image: a 404, not a stream
        try:
            client_push(session, self.service.store, ref, progress=report,
                        known_repositories=mount_sources(self.service.store, ref))
        except ImageNotLocal as exc:
            raise NotFound(exc.message) from None
        except BlobNotFound as exc:  # the ref is here, but not all it names (an index's other platforms)
            raise NotFound(f"{exc.args[0]} of {ref.familiar()} is not in the content store") from None
        except registry_errors.RegistryError as exc:
            raise InternalError(exc.message if isinstance(exc, RegistryUnreachable) else code_words(exc)) from None
    # --8<-- [end:push_job]

    # --8<-- [start:search]
    def search(self, job: Job) -> None:
        """`search TERM`: `GET /v1/search?q=&n=` on the term's registry; a registry without v1
        search has its `/v2/_catalog` filtered instead."""
        term = job.args[0] if job.args else ""
        limit = job.env.get_int("limit", 25)
        if not 1 <= limit <= SEARCH_LIMIT_MAX:
            raise BadParameter(f"limit {limit} is outside the range of [1, {SEARCH_LIMIT_MAX}]")
        host, query = split_search_term(term)
        session = self.service.session(host, decode_auth_config(job.env.get("authConfig")))
        try:
            results = search_v1(session, query, limit)
            if results is None:
                results = search_catalog(session, query, limit)
        except registry_errors.RegistryError as exc:
            raise InternalError(exc.message if isinstance(exc, RegistryUnreachable) else code_words(exc)) from None
        print_json(job, results)
    # --8<-- [end:search]

    # --8<-- [start:resolve_repository]
    def resolve_repository(self, job: Job) -> None:
        """`resolve_repository NAME`: where a name lives and how we talk to it.

        Docker 1.5's `ResolveRepositoryInfo`: the other jobs (and chapter 05's
        `tag`, `push`) ask it instead of parsing names themselves. It prints the
        repository's index (registry host, secure or not, official, mirrors),
        its remote name (`library/busybox`), local name (`busybox`) and
        canonical name (`docker.io/library/busybox`)."""
        ref = pull_reference(job.args[0] if job.args else "", "")
        host = ref.domain
        official_index = host == DOCKER_HUB
        print_json(job, {
            "Index": {
                "Name": host,
                "Mirrors": list(self.service.registry_mirrors) if official_index else [],
                "Secure": base_url(host, self.service.insecure_registries).startswith("https://"),
                "Official": official_index,
            },
            "Endpoint": base_url(host, self.service.insecure_registries),
            "RemoteName": ref.path,
            "LocalName": ref.familiar_name,
            "CanonicalName": ref.name,
            "Official": official_index and ref.path.startswith("library/"),
        })
    # --8<-- [end:resolve_repository]

    def auth(self, job: Job) -> None:
        """`auth` with `authConfig` = `{"username", "password", "serveraddress"}`: can we log in?

        Pinging `/v2/` with the credentials answers it: a registry that wants
        them challenges, the session answers, and a wrong password is a 401."""
        doc = job.env.get_json("authConfig") or {}
        credentials = credentials_of(doc)
        host = registry_host(str(doc.get("serveraddress") or "") if isinstance(doc, dict) else "")
        session = self.service.session(host, credentials)
        try:
            session.ping()
        except registry_errors.Unauthorized as exc:
            raise Unauthorized(f"login attempt to {session.base}/v2/ failed with status: 401 Unauthorized"
                               ) from exc
        except registry_errors.RegistryError as exc:
            raise InternalError(exc.message) from None
        print_json(job, {"IdentityToken": "", "Status": "Login Succeeded"})


def mount_sources(store: ContentStore, ref: Reference) -> Callable[[str], list[str]]:
    """Which other repositories of `ref`'s registry hold a blob, as far as the store knows.

    Every ref in the store names a manifest that was pulled from (or pushed
    to) its repository, so that repository has the manifest's blobs: the
    push may ask the registry to *mount* a blob from there instead of
    sending its bytes again. Computed once per push, on first use."""
    found: dict[str, list[str]] | None = None

    def lookup(digest: str) -> list[str]:
        nonlocal found
        if found is None:
            found = {}
            for name_tag, manifest_digest in store.refs().items():
                name = name_tag.rpartition(":")[0]
                domain, _, path = name.partition("/")
                if domain != ref.domain or path == ref.path:
                    continue
                for blob in blobs_of(store, manifest_digest):
                    if path not in found.setdefault(blob, []):
                        found[blob].append(path)
        return found.get(digest, [])
    return lookup


def blobs_of(store: ContentStore, manifest_digest: str) -> list[str]:
    """The config and layer digests a stored manifest names (an index's: those of its children here)."""
    try:
        document = parse_manifest(store.read(manifest_digest))
        if isinstance(document, Index):
            return [blob for entry in document.manifests if store.has(entry.digest)
                    for blob in blobs_of(store, str(entry.digest))]
        return [str(blob.digest) for blob in document.blobs()]
    except (KeyError, ValueError, registry_errors.RegistryError):
        return []  # a ref to something unreadable mounts nothing


def registry_host(server_address: str) -> str:
    """`https://index.docker.io/v1/`, `127.0.0.1:5000`, `http://h:1/` -> the registry's host[:port]."""
    if not server_address:
        return "docker.io"
    if "://" in server_address:
        server_address = urllib.parse.urlsplit(server_address).netloc
    server_address = server_address.rstrip("/")
    return "docker.io" if server_address in ("index.docker.io", "registry-1.docker.io") else server_address


def split_search_term(term: str) -> tuple[str, str]:
    """`127.0.0.1:5000/busy` -> (`127.0.0.1:5000`, `busy`); `busybox` -> (`docker.io`, `busybox`)."""
    first, slash, rest = term.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        return first, rest
    return "docker.io", term


def search_v1(session: Session, query: str, limit: int) -> list[dict[str, Any]] | None:
    """Docker Hub's search; None when the registry has none (distribution answers 404)."""
    path = "/v1/search?" + urllib.parse.urlencode({"q": query, "n": limit})
    try:
        response = session.request("GET", path)
    except registry_errors.RegistryError as exc:
        if exc.status == 404:
            return None
        raise
    try:
        results = json.loads(response.read(1 << 22)).get("results") or []
    except (ValueError, AttributeError):
        raise registry_errors.RegistryError("the registry's search answer is not JSON") from None
    return [search_result(r) for r in results if isinstance(r, dict)][:limit]


def search_catalog(session: Session, query: str, limit: int) -> list[dict[str, Any]]:
    """The fallback: every repository in `/v2/_catalog` whose name contains the query."""
    found: list[dict[str, Any]] = []
    path: str | None = "/v2/_catalog?n=100"
    while path and len(found) < limit:
        response = session.request("GET", path)
        link = response.header("Link")
        try:
            names = json.loads(response.read(1 << 22)).get("repositories") or []
        except (ValueError, AttributeError):
            raise registry_errors.RegistryError("the registry's catalog is not JSON") from None
        found += [search_result({"name": n}) for n in names if isinstance(n, str) and query in n]
        path = link.partition("<")[2].partition(">")[0] if link else None
    return found[:limit]


def search_result(doc: dict[str, Any]) -> dict[str, Any]:
    """One result in Docker Hub's shape, whatever the registry left out."""
    return {"name": str(doc.get("name", "")), "description": str(doc.get("description") or ""),
            "star_count": int(doc.get("star_count") or 0), "is_official": bool(doc.get("is_official")),
            "is_automated": bool(doc.get("is_automated"))}


# --8<-- [start:install]
def install(engine: Engine, service: RegistryService) -> RegistryJobs:
    """Register chapter 04's jobs on the engine (Docker 1.5's `registry.Service.Install`)."""
    jobs = RegistryJobs(service)
    for name in ("pull", "push", "search", "auth", "resolve_repository"):
        engine.register(name, getattr(jobs, name))
    return jobs
# --8<-- [end:install]
