"""The V2 routes: what `minidock-registry` answers, one handler per operation.

The registry's routes are not the Engine API's: names contain slashes
(`library/busybox`), so a route is a regular expression whose `name` group
is lazy and whose tail (`/blobs/...`, `/manifests/...`) anchors it. The
table is data, scanned top to bottom; the first match wins.

Every failure is a `RegistryError` raised by a handler or the storage, and
`dispatch` turns it into the spec's status and body in one place.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

from minidock.registry.digest import DigestVerifier, parse_digest
from minidock.registry.errors import (
    BlobUploadInvalid, DigestInvalid, ManifestBlobUnknown, RangeInvalid, RegistryError,
    SizeInvalid, Unauthorized, Unsupported,
)
from minidock.registry.manifest import MAX_MANIFEST_BYTES, Index, parse_manifest
from minidock.registry.names import check_repository, check_tag
from minidock.registry.server.storage import Storage
from minidock.server.request import Request
from minidock.server.response import ResponseWriter

API_VERSION_HEADER = ("Docker-Distribution-Api-Version", "registry/2.0")
REALM = "minidock-registry"
DEFAULT_PAGE = 100

Handler = Callable[["Registry", Request, ResponseWriter, re.Match[str]], None]
_NAME = r"(?P<name>[^?#]+?)"


@dataclass
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler


class Registry:
    """The registry application: storage + optional users + the route table, as one `dispatch`."""

    def __init__(self, storage: Storage, users: dict[str, str] | None = None,
                 logger: logging.Logger | None = None) -> None:
        self.storage = storage
        self.users = users  # user -> sha256 hex of the password; None: no auth
        self.logger = logger or logging.getLogger("minidock.registry")

    # --8<-- [start:dispatch]
    def dispatch(self, request: Request, response: ResponseWriter) -> None:
        """Route one request; a `RegistryError` becomes `{"errors": [...]}` with its status."""
        try:
            self._check_auth(request)
            for route in ROUTES:
                match = route.pattern.fullmatch(request.path)
                if match and route.method == request.method:
                    route.handler(self, request, response, match)
                    return
            if any(r.pattern.fullmatch(request.path) for r in ROUTES):
                raise Unsupported(f"method {request.method} not allowed on {request.path}")
            response.json(404, {"errors": [{"code": "NOT_FOUND", "message": "page not found"}]})
        except RegistryError as exc:
            if response.started:
                raise
            if isinstance(exc, Unauthorized):
                response.headers["WWW-Authenticate"] = f'Basic realm="{REALM}"'
            response.raw(exc.status, exc.body(), "application/json; charset=utf-8")
    # --8<-- [end:dispatch]

    def _check_auth(self, request: Request) -> None:
        """Basic auth against the users file (`user:<sha256 hex of the password>`), if there is one.

        A sha256 of a password is a weak guard against a stolen users file
        (no salt, fast to brute-force); it keeps this teaching registry free
        of dependencies. Real registries use bcrypt htpasswd or tokens."""
        if self.users is None:
            return
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "basic":
            try:
                user, _, password = base64.b64decode(value, validate=True).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                raise Unauthorized("malformed Basic credentials") from None
            known = self.users.get(user)
            given = hashlib.sha256(password.encode()).hexdigest()
            if known is not None and hmac.compare_digest(known, given):
                return
        raise Unauthorized()


def load_users(path: str | Path) -> dict[str, str]:
    """Read a users file: one `user:<sha256 hex of the password>` a line; `#` comments."""
    users: dict[str, str] = {}
    for number, line in enumerate(Path(path).read_text().splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        user, sep, digest = line.partition(":")
        if not sep or not re.fullmatch(r"[a-f0-9]{64}", digest):
            raise ValueError(f"{path}:{number}: expected user:<sha256 hex of the password>")
        users[user] = digest
    return users


# -- base ---------------------------------------------------------------------------------
def get_base(reg: Registry, request: Request, response: ResponseWriter, match: re.Match[str]) -> None:
    """`GET /v2/`: "yes, I speak V2" (and, with auth on, the place a client meets the challenge)."""
    response.json(200, {})


def v1_ping(reg: Registry, request: Request, response: ResponseWriter, match: re.Match[str]) -> None:
    response.json(200, True)


def v1_search(reg: Registry, request: Request, response: ResponseWriter, match: re.Match[str]) -> None:
    """`GET /v1/search?q=&n=`: Docker Hub's answer shape, filled from our catalog."""
    query = request.param("q", "") or ""
    limit = _positive(request, "n", 25)
    names = [n for n in reg.storage.repositories() if query.lower() in n]
    results = [{"name": n, "description": "", "star_count": 0, "is_official": False, "is_automated": False}
               for n in names[:limit]]
    response.json(200, {"num_results": len(results), "query": query, "results": results})


# -- blobs --------------------------------------------------------------------------------
def _blob_headers(response: ResponseWriter, digest: str) -> None:
    response.headers["Docker-Content-Digest"] = digest
    response.headers["Accept-Ranges"] = "bytes"
    response.headers["ETag"] = f'"{digest}"'
    response.headers["Cache-Control"] = "max-age=31536000"


def get_blob(reg: Registry, request: Request, response: ResponseWriter, match: re.Match[str]) -> None:
    """`HEAD|GET /v2/<name>/blobs/<digest>`: the bytes, whole or a `Range`, sent with `sendfile`."""
    name, digest = check_repository(match["name"]), parse_digest(match["digest"])
    size = reg.storage.blob_size(name, digest)
    _blob_headers(response, str(digest))
    start, end, status = 0, size - 1, 200
    wanted = request.headers.get("range")
    if wanted:
        parsed = _parse_range(wanted, size)
        if parsed is None:
            response.headers["Content-Range"] = f"bytes */{size}"
            response.raw(416, b"", None)
            return
        start, end = parsed
        status = 206
        response.headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    if request.method == "HEAD":
        response.io.send(response._head(status, [("Content-Type", "application/octet-stream"),
                                                 ("Content-Length", str(end - start + 1))]))
        return
    with reg.storage.open_blob(name, digest) as blob:
        send_file(response, status, blob, start, end - start + 1)


# --8<-- [start:sendfile]
def send_file(response: ResponseWriter, status: int, blob, offset: int, count: int) -> None:  # noqa: ANN001
    """The head through the writer, then the body straight from the page cache to the socket.

    `socket.sendfile` uses `os.sendfile(2)`: the kernel copies the file into
    the socket, and a 100 MB layer never passes through Python's memory.
    (`_head` is chapter 02's writer deciding keep-alive; we only bypass its
    body path, which would need the bytes in a `bytes` object.)"""
    head = response._head(status, [("Content-Type", "application/octet-stream"), ("Content-Length", str(count))])
    response.io.send(head)
    if count:
        try:
            response.io.sock.sendfile(blob, offset, count)
        except OSError:
            response.io.failed = True
            raise
# --8<-- [end:sendfile]


def _parse_range(value: str, size: int) -> tuple[int, int] | None:
    """`bytes=a-b`, `bytes=a-` or `bytes=-n` (one range only) -> (start, end), or None if unsatisfiable."""
    found = re.fullmatch(r"bytes=(\d*)-(\d*)", value.strip())
    if not found or found[1] == found[2] == "":
        return None
    if found[1] == "":
        start, end = max(size - int(found[2]), 0), size - 1
    else:
        start = int(found[1])
        end = min(int(found[2]), size - 1) if found[2] else size - 1
    if start > end or start >= size:
        return None
    return start, end


def delete_blob(reg: Registry, request: Request, response: ResponseWriter, match: re.Match[str]) -> None:
    name, digest = check_repository(match["name"]), parse_digest(match["digest"])
    reg.storage.unlink_blob(name, digest)
    response.headers["Docker-Content-Digest"] = str(digest)
    response.raw(202, b"", None)


# -- uploads ------------------------------------------------------------------------------
def _upload_answer(response: ResponseWriter, status: int, name: str, upload_id: str, size: int) -> None:
    response.headers["Location"] = f"/v2/{name}/blobs/uploads/{upload_id}"
    response.headers["Docker-Upload-UUID"] = upload_id
    response.headers["Range"] = f"0-{max(size - 1, 0)}"
    response.raw(status, b"", None)


def _created(response: ResponseWriter, name: str, digest: str) -> None:
    response.headers["Location"] = f"/v2/{name}/blobs/{digest}"
    response.headers["Docker-Content-Digest"] = digest
    response.raw(201, b"", None)


def _declared_length(request: Request) -> int | None:
    return None if request.body.chunked else request.body.length


def start_upload(reg: Registry, request: Request, response: ResponseWriter, match: re.Match[str]) -> None:
    """`POST /v2/<name>/blobs/uploads/`: mount (`mount=&from=`), monolithic (`digest=`), or a session."""
    name = check_repository(match["name"])
    mount, source = request.param("mount"), request.param("from")
    if mount and source:
        digest = parse_digest(mount)
        if reg.storage.mount_blob(name, digest, source):
            _created(response, name, str(digest))
            return  # 201: no byte sent. Otherwise 202: the client uploads as usual
    upload_id = reg.storage.start_upload(name)
    wanted = request.param("digest")
    if wanted is not None:
        digest = parse_digest(wanted)
        _receive(reg, request, name, upload_id)
        reg.storage.finish_upload(name, upload_id, digest)
        _created(response, name, str(digest))
        return
    _upload_answer(response, 202, name, upload_id, 0)


def _receive(reg: Registry, request: Request, name: str, upload_id: str) -> int:
    """Stream the request body onto the upload, with no size cap but the declared length."""
    try:
        return reg.storage.append_upload(name, upload_id, request.body_reader(None))
    except RegistryError:
        raise
    except Exception:
        reg.storage.cancel_upload(name, upload_id)
        raise


def patch_upload(reg: Registry, request: Request, response: ResponseWriter, match: re.Match[str]) -> None:
    """`PATCH .../uploads/<uuid>`: one more chunk; `Content-Range` must continue where we are (else 416)."""
    name, upload_id = check_repository(match["name"]), match["uuid"]
    size = reg.storage.upload_size(name, upload_id)
    content_range = request.headers.get("content-range")
    if content_range:
        found = re.fullmatch(r"(?:bytes )?(\d+)-(\d+)", content_range.strip())
        if not found:
            raise BlobUploadInvalid(f"malformed Content-Range {content_range!r}")
        start, end = int(found[1]), int(found[2])
        length = _declared_length(request)
        if start != size or end < start or (length is not None and end - start + 1 != length):
            response.headers["Range"] = f"0-{max(size - 1, 0)}"
            raise RangeInvalid(f"Content-Range {content_range} does not continue the upload at {size}")
    size = _receive(reg, request, name, upload_id)
    _upload_answer(response, 202, name, upload_id, size)


def put_upload(reg: Registry, request: Request, response: ResponseWriter, match: re.Match[str]) -> None:
    """`PUT .../uploads/<uuid>?digest=`: the last bytes (maybe none), then the digest check."""
    name, upload_id = check_repository(match["name"]), match["uuid"]
    wanted = request.param("digest")
    if not wanted:
        raise DigestInvalid("the digest parameter is required to finish an upload")
    digest = parse_digest(wanted)
    reg.storage.upload_size(name, upload_id)  # BLOB_UPLOAD_UNKNOWN first
    _receive(reg, request, name, upload_id)
    reg.storage.finish_upload(name, upload_id, digest)
    _created(response, name, str(digest))


def get_upload(reg: Registry, request: Request, response: ResponseWriter, match: re.Match[str]) -> None:
    name, upload_id = check_repository(match["name"]), match["uuid"]
    size = reg.storage.upload_size(name, upload_id)
    _upload_answer(response, 204, name, upload_id, size)


def cancel_upload(reg: Registry, request: Request, response: ResponseWriter, match: re.Match[str]) -> None:
    name, upload_id = check_repository(match["name"]), match["uuid"]
    reg.storage.cancel_upload(name, upload_id)
    response.raw(204, b"", None)


# -- manifests ------------------------------------------------------------------------------
def _reference(value: str) -> str:
    """A manifest reference is a digest or a tag; either is checked before it names a path."""
    return str(parse_digest(value)) if ":" in value else check_tag(value)


def get_manifest(reg: Registry, request: Request, response: ResponseWriter, match: re.Match[str]) -> None:
    """`HEAD|GET /v2/<name>/manifests/<ref>`: with its media type and digest, HEAD included."""
    name, reference = check_repository(match["name"]), _reference(match["reference"])
    raw, digest = reg.storage.get_manifest(name, reference)
    media_type = parse_manifest(raw).media_type
    response.headers["Docker-Content-Digest"] = str(digest)
    response.headers["ETag"] = f'"{digest}"'
    response.raw(200, raw, media_type)


# --8<-- [start:manifest_put]
def put_manifest(reg: Registry, request: Request, response: ResponseWriter, match: re.Match[str]) -> None:
    """`PUT /v2/<name>/manifests/<ref>`: validate, check every blob it needs is here, then store.

    The order is the point: a manifest is the root of an image, and a root
    whose blobs are missing would be a tag nobody can pull. So it is parsed
    as hostile input, each referenced blob (or, for an index, manifest) must
    already be in *this* repository, and only then is it written."""
    name, reference = check_repository(match["name"]), _reference(match["reference"])
    length = _declared_length(request)
    if length is not None and length > MAX_MANIFEST_BYTES:
        raise SizeInvalid(f"manifest of {length} bytes; the limit is {MAX_MANIFEST_BYTES}")
    raw = request.read_body(MAX_MANIFEST_BYTES)
    manifest = parse_manifest(raw, request.headers.get("content-type"))
    if isinstance(manifest, Index):
        missing = [d for d in manifest.manifests if not reg.storage.has_manifest(name, d.digest)]
    else:
        missing = [d for d in manifest.blobs() if not reg.storage.has_blob(name, d.digest)]
    if missing:
        raise ManifestBlobUnknown(f"blob unknown to registry: {missing[0].digest}",
                                  detail={"digest": str(missing[0].digest)})
    tag = None
    if reference.startswith("sha"):
        verifier = DigestVerifier(reference)
        verifier.update(raw)
        verifier.finish()  # DIGEST_INVALID if the body is not the manifest it is PUT as
    else:
        tag = reference
    digest = reg.storage.put_manifest(name, raw, tag)
    response.headers["Location"] = f"/v2/{name}/manifests/{digest}"
    response.headers["Docker-Content-Digest"] = str(digest)
    response.raw(201, b"", None)
# --8<-- [end:manifest_put]


def delete_manifest(reg: Registry, request: Request, response: ResponseWriter, match: re.Match[str]) -> None:
    name, reference = check_repository(match["name"]), _reference(match["reference"])
    reg.storage.delete_manifest(name, reference)
    response.raw(202, b"", None)


# -- listings -------------------------------------------------------------------------------
class PaginationInvalid(RegistryError):
    """PAGINATION_NUMBER_INVALID (400): `n` is not a number (distribution's code)."""
    code, status, default_message = "PAGINATION_NUMBER_INVALID", 400, "invalid number of results requested"


def _positive(request: Request, key: str, default: int) -> int:
    value = request.param(key)
    if value in (None, ""):
        return default
    if not value.isdigit():
        raise PaginationInvalid(f"invalid {key}: {value!r}")
    return int(value)


def _page(request: Request, response: ResponseWriter, items: list[str], base: str) -> list[str]:
    """Items after `last`, at most `n`; a `Link: <...>; rel="next"` when more remain."""
    limit = _positive(request, "n", DEFAULT_PAGE) if request.param("n") else None
    last = request.param("last")
    if last:
        items = [i for i in items if i > last]
    if limit is not None and len(items) > limit:
        items = items[:limit]
        response.headers["Link"] = f'<{base}?{urlencode({"last": items[-1], "n": limit})}>; rel="next"'
    return items


def list_tags(reg: Registry, request: Request, response: ResponseWriter, match: re.Match[str]) -> None:
    name = check_repository(match["name"])
    tags = _page(request, response, reg.storage.tags(name), f"/v2/{name}/tags/list")
    response.json(200, {"name": name, "tags": tags})


def catalog(reg: Registry, request: Request, response: ResponseWriter, match: re.Match[str]) -> None:
    names = _page(request, response, list(reg.storage.repositories()), "/v2/_catalog")
    response.json(200, {"repositories": names})


# --8<-- [start:routes]
ROUTES: list[Route] = [Route(method, re.compile(pattern), handler) for method, pattern, handler in [
    ("GET", r"/v2/?", get_base),
    ("GET", r"/v2/_catalog", catalog),
    ("GET", r"/v1/_ping", v1_ping),
    ("GET", r"/v1/search", v1_search),
    ("GET", rf"/v2/{_NAME}/tags/list", list_tags),
    ("POST", rf"/v2/{_NAME}/blobs/uploads/?", start_upload),
    ("GET", rf"/v2/{_NAME}/blobs/uploads/(?P<uuid>[^/]+)", get_upload),
    ("PATCH", rf"/v2/{_NAME}/blobs/uploads/(?P<uuid>[^/]+)", patch_upload),
    ("PUT", rf"/v2/{_NAME}/blobs/uploads/(?P<uuid>[^/]+)", put_upload),
    ("DELETE", rf"/v2/{_NAME}/blobs/uploads/(?P<uuid>[^/]+)", cancel_upload),
    ("HEAD", rf"/v2/{_NAME}/blobs/(?P<digest>[^/]+)", get_blob),
    ("GET", rf"/v2/{_NAME}/blobs/(?P<digest>[^/]+)", get_blob),
    ("DELETE", rf"/v2/{_NAME}/blobs/(?P<digest>[^/]+)", delete_blob),
    ("HEAD", rf"/v2/{_NAME}/manifests/(?P<reference>[^/]+)", get_manifest),
    ("GET", rf"/v2/{_NAME}/manifests/(?P<reference>[^/]+)", get_manifest),
    ("PUT", rf"/v2/{_NAME}/manifests/(?P<reference>[^/]+)", put_manifest),
    ("DELETE", rf"/v2/{_NAME}/manifests/(?P<reference>[^/]+)", delete_manifest),
]]
# --8<-- [end:routes]


def common_headers() -> dict[str, str]:
    return dict([API_VERSION_HEADER])


__all__ = ["Registry", "ROUTES", "common_headers", "load_users"]
