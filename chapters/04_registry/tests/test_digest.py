"""Digests: strict parsing, and the streaming verifier that guards every blob."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, strategies as st

from minidock.registry.digest import DigestMismatch, DigestVerifier, SizeMismatch, digest_of, parse_digest
from minidock.registry.errors import DigestInvalid


def test_a_sha256_digest_parses_and_prints_back() -> None:
    text = "sha256:" + "a" * 64
    digest = parse_digest(text)
    assert (digest.algorithm, str(digest), digest.short) == ("sha256", text, "a" * 12)


def test_sha512_parses_too() -> None:
    assert parse_digest("sha512:" + "0" * 128).algorithm == "sha512"


@pytest.mark.parametrize("bad", [
    "", "sha256", "sha256:", "sha256:" + "a" * 63, "sha256:" + "a" * 65, "sha256:" + "A" * 64,
    "md5:" + "a" * 32, "sha256:../../etc/passwd", "sha256:" + "g" * 64, " sha256:" + "a" * 64,
    "sha512:" + "a" * 64,
])
def test_malformed_digests_are_digest_invalid(bad: str) -> None:
    with pytest.raises(DigestInvalid):
        parse_digest(bad)


@given(st.lists(st.binary(max_size=300), max_size=8))
def test_the_verifier_accepts_exactly_the_bytes_named_by_the_digest(chunks: list[bytes]) -> None:
    data = b"".join(chunks)
    verifier = DigestVerifier(digest_of(data), len(data))
    for chunk in chunks:
        verifier.update(chunk)
    assert verifier.finish() == parse_digest("sha256:" + hashlib.sha256(data).hexdigest())


@given(st.binary(min_size=1, max_size=200), st.integers(min_value=0, max_value=199), st.integers(0, 7))
def test_one_flipped_bit_is_a_digest_mismatch(data: bytes, where: int, bit: int) -> None:
    where %= len(data)
    corrupt = bytearray(data)
    corrupt[where] ^= 1 << bit
    verifier = DigestVerifier(digest_of(data), len(data))
    verifier.update(bytes(corrupt))
    with pytest.raises(DigestMismatch):
        verifier.finish()


def test_a_truncated_stream_is_a_size_mismatch() -> None:
    verifier = DigestVerifier(digest_of(b"abcdef"), 6)
    verifier.update(b"abc")
    with pytest.raises(SizeMismatch):
        verifier.finish()


def test_a_stream_longer_than_declared_fails_at_once() -> None:
    verifier = DigestVerifier(digest_of(b"abc"), 3)
    with pytest.raises(SizeMismatch):
        verifier.update(b"abcd")


def test_the_digest_may_be_told_at_the_end() -> None:
    verifier = DigestVerifier()
    verifier.update(b"data")
    assert verifier.finish(str(digest_of(b"data"))) == digest_of(b"data")
    with pytest.raises(DigestMismatch):
        DigestVerifier().finish(digest_of(b"other"))
