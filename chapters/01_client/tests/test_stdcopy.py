"""The 8-byte frame codec: whatever way the bytes are cut, the streams come out whole."""

import io

import pytest
from hypothesis import given, strategies as st

from minidock.client.stdcopy import STDERR, STDOUT, FrameDecoder, FrameError, demultiplex, encode_frame

frames = st.lists(st.tuples(st.sampled_from([STDOUT, STDERR]), st.binary(max_size=300)), max_size=20)


def cut(data: bytes, points: list[int]) -> list[bytes]:
    points = sorted({p % (len(data) + 1) for p in points})
    edges = [0, *points, len(data)]
    return [data[a:b] for a, b in zip(edges, edges[1:])]


@given(frames, st.lists(st.integers(0, 10_000), max_size=30))
def test_decoder_yields_the_frames_encoded_whatever_the_chunking(sent, points):
    wire = b"".join(encode_frame(kind, payload) for kind, payload in sent)
    decoder = FrameDecoder()
    received = [frame for piece in cut(wire, points) for frame in decoder.feed(piece)]
    assert received == sent
    assert decoder.pending == 0


@given(frames)
def test_demultiplex_keeps_stdout_and_stderr_apart(sent):
    wire = b"".join(encode_frame(kind, payload) for kind, payload in sent)
    out, err = io.BytesIO(), io.BytesIO()
    demultiplex(iter([wire]), out, err)
    assert out.getvalue() == b"".join(p for k, p in sent if k == STDOUT)
    assert err.getvalue() == b"".join(p for k, p in sent if k == STDERR)


def test_the_capture_from_dockerd_decodes():
    # docker-api.md §4.10: `sh -c 'echo out; echo err >&2; exit 3'` on the wire.
    wire = bytes.fromhex("0200000000000004") + b"err\n" + bytes.fromhex("0100000000000004") + b"out\n"
    assert list(FrameDecoder().feed(wire)) == [(STDERR, b"err\n"), (STDOUT, b"out\n")]


def test_a_stream_that_is_not_frames_is_an_error():
    with pytest.raises(FrameError):
        list(FrameDecoder().feed(b"hello world, no header"))


def test_a_truncated_frame_is_reported():
    with pytest.raises(FrameError, match="inside a frame"):
        demultiplex(iter([encode_frame(STDOUT, b"abcdef")[:-2]]), io.BytesIO(), io.BytesIO())
