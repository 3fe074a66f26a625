"""The detach-key proxy: typing passes through untouched, the detach keys end the session.

`EscapeProxy.feed` sees stdin in whatever pieces the terminal delivers, so
each property holds *whatever the chunking*: the sequence may arrive split
across two reads, and bytes held back as a possible start of it must come
out again, in order, when it turns out not to be the sequence.
"""

from __future__ import annotations

from hypothesis import example, given, strategies as st

from minidock.client.hijack import DEFAULT_DETACH_KEYS, EscapeProxy, parse_detach_keys

CTRL_P_CTRL_Q = parse_detach_keys(DEFAULT_DETACH_KEYS)

# Detach keys as `--detach-keys` makes them: one to four control or plain bytes. Distinct
# bytes: a sequence that overlaps itself (`aab`) is a case this simple matcher, like
# docker's, does not promise to find after a false start.
keys_strategy = st.lists(st.integers(1, 127), min_size=1, max_size=4, unique=True).map(bytes)


def cut(data: bytes, points: list[int]) -> list[bytes]:
    points = sorted({p % (len(data) + 1) for p in points})
    edges = [0, *points, len(data)]
    return [data[a:b] for a, b in zip(edges, edges[1:])]


def feed_all(proxy: EscapeProxy, chunks: list[bytes]) -> tuple[bytes, bool]:
    """Feed the pieces until a detach; (everything forwarded, detached?)."""
    out = b""
    for chunk in chunks:
        forwarded, detached = proxy.feed(chunk)
        out += forwarded
        if detached:
            return out, True
    return out, False


@given(keys_strategy, st.binary(max_size=200), st.lists(st.integers(0, 1000), max_size=20))
@example(CTRL_P_CTRL_Q, b"a\x10b\x10\x10c", [2, 3])
def test_bytes_without_the_sequence_pass_through_in_order_whatever_the_chunking(
        keys: bytes, data: bytes, points: list[int]) -> None:
    data = data.replace(keys, b"")
    if keys in data:  # removing one occurrence can make another
        return
    proxy = EscapeProxy(keys)
    forwarded, detached = feed_all(proxy, cut(data, points))
    assert not detached
    # Only a possible beginning of the sequence may still be held back, at the very end.
    held = data[len(forwarded):]
    assert data.startswith(forwarded)
    assert keys.startswith(held) and len(held) < len(keys)


@given(keys_strategy, st.binary(max_size=100), st.binary(max_size=100), st.lists(st.integers(0, 1000), max_size=20))
@example(CTRL_P_CTRL_Q, b"ls\x10", b"more", [3, 4])
def test_the_sequence_detaches_and_is_not_forwarded(keys: bytes, before: bytes, after: bytes,
                                                    points: list[int]) -> None:
    before = before.replace(keys, b"")
    if (before + keys).find(keys) != len(before):  # the first occurrence must be the one we put in
        return
    proxy = EscapeProxy(keys)
    forwarded, detached = feed_all(proxy, cut(before + keys + after, points))
    assert detached
    assert forwarded == before


def test_ctrl_p_alone_is_held_then_released_by_the_next_key() -> None:
    proxy = EscapeProxy(CTRL_P_CTRL_Q)
    assert proxy.feed(b"\x10") == (b"", False)
    assert proxy.feed(b"x") == (b"\x10x", False)
    assert proxy.feed(b"\x10") == (b"", False)
    assert proxy.feed(b"\x11rest") == (b"", True)
