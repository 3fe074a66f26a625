"""The content store: where pulled blobs land, and only once they are proven.

In the chapter-4 world images are not local objects yet (chapter 05's Graph
builds them); a pull leaves its bytes here, under `<data-root>/content/`:

    blobs/sha256/<hex>          verified blobs: manifests, configs, layers
    ingest/<hex>                 downloads in progress (named by the digest they must reach)
    refs/<name>/_tags/<tag>      `127.0.0.1:5000/test/busybox` + `v1` -> `sha256:<manifest>`

(containerd's content store has the same shape, for the same reasons.)

The invariant: **a file under `blobs/` always hashes to its name.** Bytes
stream into `ingest/` through a `DigestVerifier`, are fsync'ed, and are
renamed into `blobs/` only after the size and the digest matched - a rename
is atomic, so a reader sees the whole verified blob or nothing. A wrong
digest or a short stream deletes the ingest file. A *killed* process leaves
it behind: that is the point - the next pull re-hashes what is there and
asks the registry for the rest only (`Range: bytes=N-`), and the final check
still covers every byte. A ref is written the same way (temp file + rename),
after the blobs it names.

Two pulls of the same layer at once take turns on the ingest file's lock;
the second finds the blob done and downloads nothing.
"""

from __future__ import annotations

import fcntl
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from minidock.registry.digest import Digest, DigestVerifier, digest_of, parse_digest
from minidock.registry.errors import DigestInvalid, SizeInvalid
from minidock.registry.names import REPOSITORY, TAG_RE, InvalidReference, Reference, parse_reference

CHUNK = 1 << 16


class BlobNotFound(KeyError):
    """No verified blob with this digest in the store."""


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: Path, data: bytes) -> None:
    """Write `path` so that a reader (or a crash) sees the old content or the new, never a mix."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, path)
    except BaseException:
        os.unlink(temp)
        raise
    _fsync_dir(path.parent)


# --8<-- [start:ingest]
class Ingest:
    """One blob being written: `offset` bytes already there (and already hashed), the rest to come.

        with store.ingest(digest, size) as ingest:
            if not ingest.done:
                for chunk in fetch(range_start=ingest.offset):
                    ingest.write(chunk)
                ingest.commit()        # verify, then rename into blobs/

    Leaving the `with` without `commit()` because of an error deletes
    the partial file if the bytes were *wrong* (DigestInvalid/SizeInvalid),
    and keeps it (for resuming) if the transfer merely stopped.
    """

    def __init__(self, store: "ContentStore", digest: Digest, size: int) -> None:
        self.store, self.digest, self.size = store, digest, size
        self.path = store.root / "ingest" / digest.hex
        self.done = False
        self._file: BinaryIO | None = None
        self.verifier = DigestVerifier(digest, size)

    def __enter__(self) -> "Ingest":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(self.path, "a+b")
        fcntl.flock(self._file, fcntl.LOCK_EX)  # a concurrent pull of the same blob waits here
        if self.store.has(self.digest):
            self.done = True
            return self
        self._file.seek(0)
        try:
            while chunk := self._file.read(CHUNK):  # re-hash what an earlier, interrupted pull left
                self.verifier.update(chunk)
        except SizeInvalid:  # longer than the blob can be: it is garbage
            self.restart()
        return self

    @property
    def offset(self) -> int:
        """How many bytes are already here: ask the registry for the rest only."""
        return self.verifier.count

    def restart(self) -> None:
        """Throw away the prefix (the registry ignored our Range and sends everything)."""
        assert self._file is not None
        self._file.truncate(0)
        self.verifier = DigestVerifier(self.digest, self.size)

    def write(self, chunk: bytes) -> None:
        assert self._file is not None
        self.verifier.update(chunk)  # raises SizeMismatch before a byte too many is written
        self._file.write(chunk)

    def commit(self) -> None:
        """Verify everything, then make the blob visible under its digest."""
        assert self._file is not None
        self.verifier.finish()
        self._file.flush()
        os.fsync(self._file.fileno())
        target = self.store.blob_path(self.digest)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(self.path, target)
        _fsync_dir(target.parent)
        self.done = True

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object) -> None:
        assert self._file is not None
        if exc is not None and isinstance(exc, (DigestInvalid, SizeInvalid)):
            self.path.unlink(missing_ok=True)  # wrong bytes are never kept, not even for resuming
        elif self.done:
            self.path.unlink(missing_ok=True)  # (only left when another pull finished it first)
        self._file.close()  # closing releases the lock
# --8<-- [end:ingest]


class ContentStore:
    """Verified blobs by digest, plus name:tag references to manifests."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        for sub in ("blobs/sha256", "ingest", "refs"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)

    # Blobs
    def blob_path(self, digest: Digest | str) -> Path:
        parsed = parse_digest(digest) if isinstance(digest, str) else digest
        return self.root / "blobs" / parsed.algorithm / parsed.hex

    def has(self, digest: Digest | str) -> bool:
        return self.blob_path(digest).is_file()

    def size(self, digest: Digest | str) -> int:
        try:
            return self.blob_path(digest).stat().st_size
        except FileNotFoundError:
            raise BlobNotFound(str(digest)) from None

    def open(self, digest: Digest | str) -> BinaryIO:
        try:
            return open(self.blob_path(digest), "rb")
        except FileNotFoundError:
            raise BlobNotFound(str(digest)) from None

    def read(self, digest: Digest | str) -> bytes:
        with self.open(digest) as blob:
            return blob.read()

    def ingest(self, digest: Digest | str, size: int) -> Ingest:
        return Ingest(self, parse_digest(digest) if isinstance(digest, str) else digest, size)

    def put(self, data: bytes, expected: Digest | str | None = None) -> Digest:
        """Store small content held in memory (a manifest, a config), checked against `expected`."""
        expected_digest = parse_digest(expected) if isinstance(expected, str) else expected
        digest = expected_digest or digest_of(data)
        with self.ingest(digest, len(data)) as ingest:
            if not ingest.done:
                ingest.restart()
                ingest.write(data)
                ingest.commit()
        return digest

    def blobs(self) -> Iterator[str]:
        for path in sorted((self.root / "blobs" / "sha256").iterdir()):
            yield f"sha256:{path.name}"

    def partial(self) -> list[Path]:
        """Ingest files left by interrupted pulls."""
        return sorted(self.root.joinpath("ingest").iterdir())

    # References
    def _ref_path(self, name: str, tag: str) -> Path:
        # Both parts are checked against the grammar before they become a path: no `..`, no `/`.
        domain, _, path = name.partition("/")
        try:
            parsed: Reference = parse_reference(name)
        except InvalidReference:
            raise ValueError(f"invalid repository name: {name!r}") from None
        if parsed.name != name or not REPOSITORY.fullmatch(path) or not TAG_RE.fullmatch(tag):
            raise ValueError(f"invalid reference: {name!r}:{tag!r} (give the normalised name)")
        return self.root / "refs" / domain / path / "_tags" / tag

    def set_ref(self, name: str, tag: str, digest: Digest | str) -> None:
        """`name:tag` now means this manifest (which must be in the store already)."""
        if not self.has(digest):
            raise BlobNotFound(str(digest))
        atomic_write(self._ref_path(name, tag), str(digest).encode())

    def get_ref(self, name: str, tag: str) -> str | None:
        try:
            return self._ref_path(name, tag).read_text()
        except FileNotFoundError:
            return None

    def refs(self) -> dict[str, str]:
        """Every `name:tag` -> manifest digest."""
        found = {}
        base = self.root / "refs"
        for link in base.rglob("_tags/*"):
            name = str(link.parent.parent.relative_to(base))
            found[f"{name}:{link.name}"] = link.read_text()
        return dict(sorted(found.items()))
