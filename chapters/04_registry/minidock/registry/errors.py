"""The distribution spec's error codes, as exceptions that know their HTTP status.

A registry answers every failure with the same body shape:

    {"errors": [{"code": "BLOB_UNKNOWN", "message": "blob unknown to registry", "detail": ...}]}

The *code* is what a client acts on (skopeo, dockerd and our own client
switch on it); the status is decided by the code, once, in this table -
never by the words of a message. The server turns a `RegistryError` into
its status and body in one place (`server/app.py`); the client turns such a
body back into the same exception class (`error_from_body`).
"""

from __future__ import annotations

import json
from typing import Any


class RegistryError(Exception):
    """An error of the registry protocol: a code, a status, a message and an optional detail."""

    code: str = "UNKNOWN"
    status: int = 500
    default_message: str = "unknown error"

    def __init__(self, message: str | None = None, detail: Any = None) -> None:
        self.message = message or self.default_message
        self.detail = detail
        super().__init__(self.message)

    def to_json(self) -> dict[str, Any]:
        """The body the spec prescribes: a list of errors, here always one."""
        entry: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.detail is not None:
            entry["detail"] = self.detail
        return {"errors": [entry]}

    def body(self) -> bytes:
        return json.dumps(self.to_json()).encode() + b"\n"



# --8<-- [start:error_codes]
class BlobUnknown(RegistryError):
    """BLOB_UNKNOWN (404): no such blob in this repository."""
    code, status, default_message = "BLOB_UNKNOWN", 404, "blob unknown to registry"


class BlobUploadInvalid(RegistryError):
    """BLOB_UPLOAD_INVALID (400): the upload is broken (bad chunk order, bad range)."""
    code, status, default_message = "BLOB_UPLOAD_INVALID", 400, "blob upload invalid"


class BlobUploadUnknown(RegistryError):
    """BLOB_UPLOAD_UNKNOWN (404): no upload session with this id (finished, cancelled, or never)."""
    code, status, default_message = "BLOB_UPLOAD_UNKNOWN", 404, "blob upload unknown to registry"


class DigestInvalid(RegistryError):
    """DIGEST_INVALID (400): the content does not hash to the digest given, or the digest is malformed."""
    code, status, default_message = "DIGEST_INVALID", 400, "provided digest did not match uploaded content"


class ManifestBlobUnknown(RegistryError):
    """MANIFEST_BLOB_UNKNOWN (400): the manifest refers to a blob the registry does not have."""
    code, status, default_message = "MANIFEST_BLOB_UNKNOWN", 400, "blob unknown to registry"


class ManifestInvalid(RegistryError):
    """MANIFEST_INVALID (400): the manifest cannot be parsed or fails validation."""
    code, status, default_message = "MANIFEST_INVALID", 400, "manifest invalid"


class ManifestUnknown(RegistryError):
    """MANIFEST_UNKNOWN (404): no manifest with this tag or digest."""
    code, status, default_message = "MANIFEST_UNKNOWN", 404, "manifest unknown"


class NameInvalid(RegistryError):
    """NAME_INVALID (400): the repository name breaks the grammar."""
    code, status, default_message = "NAME_INVALID", 400, "invalid repository name"


class NameUnknown(RegistryError):
    """NAME_UNKNOWN (404): no repository with this name."""
    code, status, default_message = "NAME_UNKNOWN", 404, "repository name not known to registry"


class SizeInvalid(RegistryError):
    """SIZE_INVALID (400): the content's length is not the length declared."""
    code, status, default_message = "SIZE_INVALID", 400, "provided length did not match content length"


class Unauthorized(RegistryError):
    """UNAUTHORIZED (401): authentication required."""
    code, status, default_message = "UNAUTHORIZED", 401, "authentication required"


class Denied(RegistryError):
    """DENIED (403): authenticated, but not allowed."""
    code, status, default_message = "DENIED", 403, "requested access to the resource is denied"


class Unsupported(RegistryError):
    """UNSUPPORTED (405, or 415 for a media type): the operation or content is not supported."""
    code, status, default_message = "UNSUPPORTED", 405, "The operation is unsupported."


class TooManyRequests(RegistryError):
    """TOOMANYREQUESTS (429): slow down."""
    code, status, default_message = "TOOMANYREQUESTS", 429, "too many requests"
# --8<-- [end:error_codes]


class RangeInvalid(RegistryError):
    """Not a spec code: a chunk whose `Content-Range` does not continue the upload is a 416
    (the spec's status); the body still carries BLOB_UPLOAD_INVALID."""
    code, status, default_message = "BLOB_UPLOAD_INVALID", 416, "requested range not satisfiable"


ERRORS_BY_CODE: dict[str, type[RegistryError]] = {
    cls.code: cls for cls in (BlobUnknown, BlobUploadInvalid, BlobUploadUnknown, DigestInvalid,
                              ManifestBlobUnknown, ManifestInvalid, ManifestUnknown, NameInvalid,
                              NameUnknown, SizeInvalid, Unauthorized, Denied, Unsupported, TooManyRequests)
}


def error_from_body(status: int, body: bytes) -> RegistryError:
    """The exception a registry's error answer stands for (the first error of the list).

    A body that is not the spec's shape (a proxy's HTML page) still gives an
    error, with the status and the start of the body as its message."""
    try:
        first = json.loads(body)["errors"][0]
        cls = ERRORS_BY_CODE.get(first.get("code", ""), RegistryError)
        error = cls(str(first.get("message") or cls.default_message), first.get("detail"))
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        error = RegistryError(f"status {status}: {body[:200].decode('utf-8', 'replace').strip()}")
    error.status = status
    return error
