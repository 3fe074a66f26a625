"""The content store: only verified blobs are visible, and an interrupted write can resume."""

from __future__ import annotations

import hashlib
import os
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minidock.registry.contentstore import BlobNotFound, ContentStore
from minidock.registry.digest import DigestMismatch, SizeMismatch


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def visible(store: ContentStore) -> list[str]:
    return list(store.blobs())


def test_put_and_read_back(tmp_path) -> None:
    store = ContentStore(tmp_path)
    digest = store.put(b"config bytes")
    assert str(digest) == sha(b"config bytes")
    assert store.has(digest) and store.read(digest) == b"config bytes" and store.size(digest) == 12
    assert store.partial() == []


def test_a_wrong_digest_leaves_nothing(tmp_path) -> None:
    store = ContentStore(tmp_path)
    with pytest.raises(DigestMismatch):
        store.put(b"evil", sha(b"good"))
    assert visible(store) == [] and store.partial() == []
    with pytest.raises(BlobNotFound):
        store.read(sha(b"good"))


def test_too_many_bytes_stop_the_write_at_once(tmp_path) -> None:
    store = ContentStore(tmp_path)
    with pytest.raises(SizeMismatch), store.ingest(sha(b"abc"), 3) as ingest:
        ingest.write(b"ab")
        ingest.write(b"cd")  # one byte too many: refused before it is written
    assert visible(store) == [] and store.partial() == []


def test_a_short_write_is_refused(tmp_path) -> None:
    store = ContentStore(tmp_path)
    with pytest.raises(SizeMismatch), store.ingest(sha(b"abc"), 3) as ingest:
        ingest.write(b"ab")
        ingest.commit()
    assert visible(store) == []


def test_an_interrupted_write_resumes_from_what_is_there(tmp_path) -> None:
    data = os.urandom(100_000)
    store = ContentStore(tmp_path)
    with pytest.raises(ConnectionError), store.ingest(sha(data), len(data)) as ingest:
        ingest.write(data[:40_000])
        raise ConnectionError("the registry hung up")
    assert visible(store) == []  # not visible...
    assert [p.name for p in store.partial()] == [sha(data)[7:]]  # ...but kept for next time
    with store.ingest(sha(data), len(data)) as ingest:
        assert ingest.offset == 40_000  # re-hashed on open
        ingest.write(data[40_000:])
        ingest.commit()
    assert store.read(sha(data)) == data and store.partial() == []


def test_a_tampered_partial_file_fails_the_final_check(tmp_path) -> None:
    data = b"x" * 1000
    store = ContentStore(tmp_path)
    with pytest.raises(ConnectionError), store.ingest(sha(data), len(data)) as ingest:
        ingest.write(data[:500])
        raise ConnectionError
    store.partial()[0].write_bytes(b"y" * 500)  # someone changed the prefix on disk
    with pytest.raises(DigestMismatch), store.ingest(sha(data), len(data)) as ingest:
        ingest.write(data[ingest.offset:])
        ingest.commit()
    assert visible(store) == [] and store.partial() == []


def test_a_partial_file_longer_than_the_blob_is_discarded(tmp_path) -> None:
    store = ContentStore(tmp_path)
    (tmp_path / "ingest" / sha(b"abc")[7:]).write_bytes(b"abcdef")
    with store.ingest(sha(b"abc"), 3) as ingest:
        assert ingest.offset == 0
        ingest.write(b"abc")
        ingest.commit()
    assert store.read(sha(b"abc")) == b"abc"


def test_two_writers_of_one_blob_take_turns(tmp_path) -> None:
    store = ContentStore(tmp_path)
    data = os.urandom(50_000)
    wrote = []

    def writer() -> None:
        with store.ingest(sha(data), len(data)) as ingest:
            if not ingest.done:
                for n in range(0, len(data), 1000):
                    ingest.write(data[n:n + 1000])
                ingest.commit()
                wrote.append(1)

    threads = [threading.Thread(target=writer) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert wrote == [1] and store.read(sha(data)) == data and store.partial() == []


def test_refs_name_manifests_that_are_there(tmp_path) -> None:
    store = ContentStore(tmp_path)
    digest = str(store.put(b"{}"))
    store.set_ref("127.0.0.1:5000/test/busybox", "v1", digest)
    store.set_ref("docker.io/library/busybox", "latest", digest)
    assert store.get_ref("127.0.0.1:5000/test/busybox", "v1") == digest
    assert store.get_ref("127.0.0.1:5000/test/busybox", "v2") is None
    assert store.refs() == {"127.0.0.1:5000/test/busybox:v1": digest, "docker.io/library/busybox:latest": digest}
    with pytest.raises(BlobNotFound):
        store.set_ref("docker.io/library/busybox", "latest", sha(b"not stored"))


@pytest.mark.parametrize("name,tag", [("../../etc", "x"), ("docker.io/library/busybox", "../x"),
                                      ("docker.io/../busybox", "v1"), ("busybox", "v1"),
                                      ("docker.io/library/Busybox", "v1"), ("docker.io/a//b", "v1")])
def test_refs_refuse_names_outside_the_grammar(tmp_path, name: str, tag: str) -> None:
    store = ContentStore(tmp_path)
    digest = str(store.put(b"{}"))
    with pytest.raises(ValueError):
        store.set_ref(name, tag, digest)
    assert store.refs() == {}


@settings(max_examples=40, deadline=None)
@given(data=st.binary(max_size=5000), cuts=st.lists(st.integers(0, 5000), max_size=6),
       interrupt_at=st.integers(0, 5000))
def test_any_chunking_and_any_interruption_end_in_the_same_blob(tmp_path_factory, data: bytes, cuts: list[int],
                                                                 interrupt_at: int) -> None:
    """Whatever the chunk boundaries and wherever a first attempt stopped, the blob is the data."""
    store = ContentStore(tmp_path_factory.mktemp("store"))
    stop = min(interrupt_at, len(data))
    with pytest.raises(ConnectionError), store.ingest(sha(data), len(data)) as ingest:
        ingest.write(data[:stop])
        raise ConnectionError
    with store.ingest(sha(data), len(data)) as ingest:
        bounds = sorted({ingest.offset, len(data), *(c for c in cuts if ingest.offset < c < len(data))})
        for start, end in zip(bounds, bounds[1:]):
            ingest.write(data[start:end])
        ingest.commit()
    assert store.read(sha(data)) == data and store.partial() == []
