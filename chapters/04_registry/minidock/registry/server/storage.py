"""The registry's storage: a content-addressed filesystem, laid out as distribution's.

# --8<-- [start:storage_layout]
    <root>/
      blobs/sha256/ab/abcdef.../data                  every blob once, named by its digest
      repositories/<name>/
        _layers/sha256/<hex>/link                     "this repository may serve this blob"
        _manifests/revisions/sha256/<hex>/link        the manifests pushed to it
        _manifests/tags/<tag>/current/link            tag -> manifest digest
        _uploads/<uuid>/data, startedat               uploads in progress
      _tmp/                                           temp files, renamed into place when complete
# --8<-- [end:storage_layout]

Three invariants make it safe:

* **A blob under `blobs/` is what its name says.** It is renamed there only
  after its digest was verified; nothing writes into `blobs/` in place.
* **Every write is atomic.** A file is written in `_tmp/`, fsync'ed, and
  renamed over its final name: a reader sees the old content or the new,
  never half; a crash leaves at worst a stray temp file.
* **No name from the network becomes a path unchecked.** A repository name
  goes through the grammar (`names.check_repository`), a digest through
  `parse_digest`, a tag through `check_tag`, an upload id through `_UUID`,
  *before* a path is joined from them. The grammar has no `..`, no `/` at
  either end, no empty component: nothing can climb out of `<root>`.

The repository links (`_layers`) are why one registry can hold many
repositories without leaking: a blob is served from `/v2/a/blobs/<d>` only
if something pushed it *to `a`* (or mounted it there).
"""

from __future__ import annotations

import os
import re
import shutil
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from minidock.registry.digest import Digest, DigestVerifier, digest_of, parse_digest
from minidock.registry.errors import (
    BlobUnknown, BlobUploadUnknown, ManifestUnknown, NameUnknown,
)
from minidock.registry.names import check_repository, check_tag

CHUNK = 1024 * 1024
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


class Storage:
    """The filesystem store under `root`. Thread-safe: each connection thread calls it."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).resolve()
        self.tmp = self.root / "_tmp"
        self.tmp.mkdir(parents=True, exist_ok=True)
        (self.root / "repositories").mkdir(exist_ok=True)
        (self.root / "blobs").mkdir(exist_ok=True)
        self._lock = threading.Lock()
        # The running hash of each chunked upload: PATCH after PATCH adds to it, so the
        # final PUT need not read the whole file again. Lost on restart -> rehash the file.
        self._hashers: dict[str, DigestVerifier] = {}

    # -- paths: built only from checked parts ----------------------------------------
    def blob_path(self, digest: Digest) -> Path:
        return self.root / "blobs" / digest.algorithm / digest.hex[:2] / digest.hex / "data"

    def _repo(self, name: str) -> Path:
        return self.root / "repositories" / check_repository(name)

    def _layer_link(self, name: str, digest: Digest) -> Path:
        return self._repo(name) / "_layers" / digest.algorithm / digest.hex / "link"

    def _revision_link(self, name: str, digest: Digest) -> Path:
        return self._repo(name) / "_manifests" / "revisions" / digest.algorithm / digest.hex / "link"

    def _tag_link(self, name: str, tag: str) -> Path:
        return self._repo(name) / "_manifests" / "tags" / check_tag(tag) / "current" / "link"

    def _upload_dir(self, name: str, upload_id: str) -> Path:
        if not _UUID.fullmatch(upload_id or ""):
            raise BlobUploadUnknown(detail={"uuid": str(upload_id)[:100]})
        return self._repo(name) / "_uploads" / upload_id

    # -- atomic writes ----------------------------------------------------------------
    def _write_atomic(self, path: Path, data: bytes) -> None:
        """Write `data` as `path`, all or nothing: temp file, fsync, rename."""
        fd, temp = self._temp_file()
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            self._install(Path(temp), path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise

    def _temp_file(self) -> tuple[int, str]:
        path = self.tmp / uuid.uuid4().hex
        return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644), str(path)

    @staticmethod
    def _install(temp: Path, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        os.replace(temp, path)

    # -- blobs ------------------------------------------------------------------------------
    def blob_size(self, name: str, digest: Digest) -> int:
        """The size of a blob this repository may serve; BLOB_UNKNOWN otherwise."""
        if not self._layer_link(name, digest).is_file():
            raise BlobUnknown(detail={"digest": str(digest)})
        try:
            return self.blob_path(digest).stat().st_size
        except FileNotFoundError:
            raise BlobUnknown(detail={"digest": str(digest)}) from None

    def has_blob(self, name: str, digest: Digest) -> bool:
        return self._layer_link(name, digest).is_file() and self.blob_path(digest).is_file()

    def open_blob(self, name: str, digest: Digest) -> BinaryIO:
        self.blob_size(name, digest)
        return open(self.blob_path(digest), "rb")

    def link_blob(self, name: str, digest: Digest) -> None:
        self._write_atomic(self._layer_link(name, digest), str(digest).encode())

    def unlink_blob(self, name: str, digest: Digest) -> None:
        """DELETE of a blob: the repository forgets it (the data stays for other repositories)."""
        link = self._layer_link(name, digest)
        if not link.is_file():
            raise BlobUnknown(detail={"digest": str(digest)})
        link.unlink()

    def mount_blob(self, name: str, digest: Digest, source: str) -> bool:
        """Cross-repository mount: link a blob of `source` into `name` without a byte sent."""
        if not self.has_blob(check_repository(source), digest):
            return False
        self.link_blob(name, digest)
        return True

    def _commit_blob(self, name: str, temp: Path, digest: Digest) -> None:
        """A verified file becomes the blob `digest` (or is dropped if we had it) and is linked."""
        final = self.blob_path(digest)
        with self._lock:
            if final.is_file():
                temp.unlink(missing_ok=True)
            else:
                self._install(temp, final)
        self.link_blob(name, digest)

    # -- uploads ----------------------------------------------------------------------------
    def start_upload(self, name: str) -> str:
        upload_id = str(uuid.uuid4())
        directory = self._upload_dir(name, upload_id)
        directory.mkdir(parents=True)
        (directory / "data").touch()
        (directory / "startedat").write_text(time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
        self._hashers[upload_id] = DigestVerifier()
        return upload_id

    def upload_size(self, name: str, upload_id: str) -> int:
        try:
            return (self._upload_dir(name, upload_id) / "data").stat().st_size
        except FileNotFoundError:
            raise BlobUploadUnknown(detail={"uuid": upload_id}) from None

    # --8<-- [start:blob_upload]
    def append_upload(self, name: str, upload_id: str, source: BinaryIO, limit: int | None = None) -> int:
        """Append what `source` yields (at most `limit` bytes) to the upload; its new size.

        The bytes are hashed as they are written, so the final PUT needs no
        second pass over a large layer."""
        data = self._upload_dir(name, upload_id) / "data"
        if not data.is_file():
            raise BlobUploadUnknown(detail={"uuid": upload_id})
        hasher = self._hashers.get(upload_id)
        with open(data, "ab") as out:
            if hasher is None or hasher.count != out.tell():
                hasher = self._rehash(data)  # a restart lost the running hash
            left = limit
            while left is None or left > 0:
                chunk = source.read(CHUNK if left is None else min(CHUNK, left))
                if not chunk:
                    break
                hasher.update(chunk)
                out.write(chunk)
                if left is not None:
                    left -= len(chunk)
            self._hashers[upload_id] = hasher
            return out.tell()

    def finish_upload(self, name: str, upload_id: str, digest: Digest) -> None:
        """Check the upload against the digest the client claims; only then is it a blob.

        A mismatch is DIGEST_INVALID and the upload is discarded: a blob
        never enters `blobs/` under a name its bytes do not have."""
        directory = self._upload_dir(name, upload_id)
        data = directory / "data"
        if not data.is_file():
            raise BlobUploadUnknown(detail={"uuid": upload_id})
        hasher = self._hashers.pop(upload_id, None)
        if hasher is None or hasher.count != data.stat().st_size:
            hasher = self._rehash(data)
        try:
            hasher.finish(digest)
            with open(data, "rb") as f:
                os.fsync(f.fileno())
            temp = self.tmp / uuid.uuid4().hex
            os.replace(data, temp)
            self._commit_blob(name, temp, digest)
        finally:
            shutil.rmtree(directory, ignore_errors=True)
    # --8<-- [end:blob_upload]

    def cancel_upload(self, name: str, upload_id: str) -> None:
        directory = self._upload_dir(name, upload_id)
        if not directory.is_dir():
            raise BlobUploadUnknown(detail={"uuid": upload_id})
        self._hashers.pop(upload_id, None)
        shutil.rmtree(directory, ignore_errors=True)

    @staticmethod
    def _rehash(path: Path) -> DigestVerifier:
        verifier = DigestVerifier()
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(CHUNK), b""):
                verifier.update(chunk)
        return verifier

    # -- manifests --------------------------------------------------------------------------
    def put_manifest(self, name: str, raw: bytes, tag: str | None) -> Digest:
        """Store a (validated) manifest as a blob, link it as a revision, and move the tag."""
        digest = digest_of(raw)
        if not self.blob_path(digest).is_file():
            self._write_atomic(self.blob_path(digest), raw)
        self._write_atomic(self._revision_link(name, digest), str(digest).encode())
        if tag is not None:
            self._write_atomic(self._tag_link(name, tag), str(digest).encode())
        return digest

    def resolve(self, name: str, reference: str) -> Digest:
        """A tag or a digest -> the manifest digest; MANIFEST_UNKNOWN if the repository has none."""
        if reference.startswith(("sha256:", "sha512:")):
            digest = parse_digest(reference)
            if self._revision_link(name, digest).is_file():
                return digest
        else:
            link = self._tag_link(name, reference)
            if link.is_file():
                return parse_digest(link.read_text().strip())
        if not self._repo(name).is_dir():
            raise NameUnknown(detail={"name": name})
        raise ManifestUnknown(f"manifest unknown: {name}:{reference}" if ":" not in reference else None,
                              detail={"name": name, "reference": reference})

    def get_manifest(self, name: str, reference: str) -> tuple[bytes, Digest]:
        digest = self.resolve(name, reference)
        try:
            return self.blob_path(digest).read_bytes(), digest
        except FileNotFoundError:
            raise ManifestUnknown(detail={"digest": str(digest)}) from None

    def has_manifest(self, name: str, digest: Digest) -> bool:
        return self._revision_link(name, digest).is_file()

    def delete_manifest(self, name: str, reference: str) -> None:
        """By digest: the revision and every tag pointing at it go. By tag: just the tag."""
        digest = self.resolve(name, reference)
        if not reference.startswith("sha"):
            self._tag_link(name, reference).unlink()
            return
        self._revision_link(name, digest).unlink()
        for tag in self.tags(name):
            link = self._tag_link(name, tag)
            if link.read_text().strip() == str(digest):
                link.unlink()

    # -- listings ----------------------------------------------------------------------------
    def tags(self, name: str) -> list[str]:
        directory = self._repo(name) / "_manifests" / "tags"
        if not self._repo(name).is_dir():
            raise NameUnknown(detail={"name": name})
        if not directory.is_dir():
            return []
        return sorted(t.name for t in directory.iterdir() if (t / "current" / "link").is_file())

    def repositories(self) -> Iterator[str]:
        """Every repository (a directory with a `_manifests`), in lexical order."""
        base = self.root / "repositories"
        found = []
        for manifests in base.rglob("_manifests"):
            if manifests.is_dir():
                found.append(manifests.parent.relative_to(base).as_posix())
        yield from sorted(found)
