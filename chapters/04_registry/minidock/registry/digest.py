"""Digests: content addressing, and the check that makes it safe.

A registry stores every blob (layer, config, manifest) under the hash of
its bytes: `sha256:` and 64 lowercase hex digits. The name *is* the content:
two images sharing a layer share one blob, a blob can be fetched from any
mirror, and a client that hashes what it received knows whether it got
what it asked for - no trust in the server, the network or the disk needed.

That last point is only true if the hash is checked, and checked before
the bytes are used. So both sides hash *while streaming*: a
`DigestVerifier` sits between the socket and the file, counts and hashes
every chunk as it is written, and the blob becomes visible (renamed into
place) only after `finish()` has seen the full size and the right digest.
Hashing afterwards would mean reading a 100 MB layer twice; not hashing
would let a corrupted or hostile blob in under a name it does not deserve.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from minidock.registry.errors import DigestInvalid, SizeInvalid

# Algorithms we can *parse*; only these can we *verify* (hashlib has both).
ALGORITHMS = {"sha256": 64, "sha512": 128}
CANONICAL = "sha256"
_DIGEST = re.compile(r"(?P<algorithm>[a-z0-9]+(?:[.+_-][a-z0-9]+)*):(?P<hex>[a-zA-Z0-9=_-]+)", re.ASCII)


class DigestMismatch(DigestInvalid):
    """The bytes do not hash to the digest they were named by."""


class SizeMismatch(SizeInvalid):
    """The bytes are not as long as declared (a truncated stream, or one that runs on)."""


@dataclass(frozen=True, order=True)
class Digest:
    """A parsed, validated digest: `sha256:<64 hex>`. `str()` gives it back."""

    algorithm: str
    hex: str

    def __str__(self) -> str:
        return f"{self.algorithm}:{self.hex}"

    @property
    def short(self) -> str:
        """The first 12 hex digits: how docker names a layer in progress output."""
        return self.hex[:12]

    def hasher(self) -> "hashlib._Hash":
        return hashlib.new(self.algorithm)


def parse_digest(text: str) -> Digest:
    """Parse `algorithm:hex`; anything else - wrong algorithm, wrong length, upper case - is DIGEST_INVALID.

    Strictness matters: the hex part becomes a *path* in the registry's
    storage, so a digest is accepted only in exactly one spelling."""
    match = _DIGEST.fullmatch(text or "")
    if match is None:
        raise DigestInvalid(f"invalid digest {text!r}: expected algorithm:hex", detail=text)
    algorithm, hexpart = match["algorithm"], match["hex"]
    if algorithm not in ALGORITHMS:
        raise DigestInvalid(f"unsupported digest algorithm {algorithm!r}", detail=text)
    if len(hexpart) != ALGORITHMS[algorithm] or not re.fullmatch(r"[a-f0-9]+", hexpart):
        raise DigestInvalid(f"invalid digest {text!r}: {algorithm} needs {ALGORITHMS[algorithm]} lowercase hex digits",
                            detail=text)
    return Digest(algorithm, hexpart)


def digest_of(data: bytes, algorithm: str = CANONICAL) -> Digest:
    """The digest of bytes in memory (a manifest, a config)."""
    return Digest(algorithm, hashlib.new(algorithm, data).hexdigest())


# --8<-- [start:digest_verifier]
class DigestVerifier:
    """Hashes and counts bytes as they stream past, and judges them at the end.

        verifier = DigestVerifier(expected, size)
        for chunk in source:
            verifier.update(chunk)     # raises SizeMismatch as soon as too many bytes came
            out.write(chunk)
        verifier.finish()              # raises SizeMismatch / DigestMismatch; only now rename into place

    `expected` may be None (an upload whose digest is only told at the end):
    then `finish(expected)` takes it. `size` may be None (unknown length).
    """

    def __init__(self, expected: Digest | str | None = None, size: int | None = None) -> None:
        self.expected = parse_digest(expected) if isinstance(expected, str) else expected
        self.size = size
        self.count = 0
        self._hash = hashlib.new(self.expected.algorithm if self.expected else CANONICAL)

    def update(self, chunk: bytes) -> None:
        # lab 04.1: Verify a blob's digest while it streams
        # hint: count the bytes and hash them as they pass; more bytes than declared is a SizeMismatch at once
        self.count += len(chunk)
        if self.size is not None and self.count > self.size:
            raise SizeMismatch(f"content is longer than the {self.size} bytes declared")
        self._hash.update(chunk)
        # end lab 04.1

    @property
    def digest(self) -> Digest:
        """The digest of what has streamed past so far."""
        return Digest(self._hash.name, self._hash.hexdigest())

    def finish(self, expected: Digest | str | None = None) -> Digest:
        """Check the size and the digest of everything seen; return the digest."""
        # lab 04.1: Verify a blob's digest while it streams
        # hint: the digest may be told only now (finish(expected)); a size other than declared: SizeMismatch
        # hint: another digest is a DigestMismatch (detail: expected, actual); another algorithm: DigestInvalid
        if expected is not None:
            self.expected = parse_digest(expected) if isinstance(expected, str) else expected
        if self.size is not None and self.count != self.size:
            raise SizeMismatch(f"content is {self.count} bytes, {self.size} were declared")
        actual = self.digest
        if self.expected is not None:
            if self.expected.algorithm != actual.algorithm:
                # (an upload hashed as sha256 then named by sha512: rare; not worth a second pass)
                raise DigestInvalid(f"cannot verify a {self.expected.algorithm} digest of content hashed "
                                    f"as {actual.algorithm}")
            if actual != self.expected:
                raise DigestMismatch(f"digest mismatch: expected {self.expected}, got {actual}",
                                     detail={"expected": str(self.expected), "actual": str(actual)})
        return actual
        # end lab 04.1
# --8<-- [end:digest_verifier]
