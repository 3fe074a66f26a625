"""The json-file log: one JSON object per line, partial lines kept, tail/since/until, follow."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from minidock.containers.jsonfile import MAX_LINE, JSONFileLog, LogStream, encode_entry, read_entries
from minidock.containers.times import parse_rfc3339_nano

LINE_SHAPE = r'^\{"log":".*","stream":"(stdout|stderr)","time":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z"\}$'


def lines_of(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_bytes().splitlines()]


def test_a_line_looks_like_dockerds(tmp_path: Path) -> None:
    log = JSONFileLog(tmp_path / "c-json.log")
    log.write("stdout", b"hi\n")
    raw = (tmp_path / "c-json.log").read_text()
    assert raw.startswith('{"log":"hi\\n","stream":"stdout","time":"') and raw.endswith('Z"}\n')
    import re

    assert re.match(LINE_SHAPE, raw.strip())
    assert encode_entry("stdout", b"a<b>&c", 1)[:40] == b'{"log":"a\\u003cb\\u003e\\u0026c","stream":'


def test_output_is_cut_at_newlines_and_partial_lines_wait(tmp_path: Path) -> None:
    path = tmp_path / "c-json.log"
    log = JSONFileLog(path)
    log.begin_run()
    log.write("stdout", b"one\ntw")
    log.write("stderr", b"err")
    assert [e["log"] for e in lines_of(path)] == ["one\n"]
    log.write("stdout", b"o\nthree\nfo")
    assert [e["log"] for e in lines_of(path)] == ["one\n", "two\n", "three\n"]
    log.end_run()  # EOF: the unfinished lines go out as they are
    entries = lines_of(path)
    assert [(e["stream"], e["log"]) for e in entries] == [
        ("stdout", "one\n"), ("stdout", "two\n"), ("stdout", "three\n"), ("stdout", "fo"), ("stderr", "err")]
    times = [parse_rfc3339_nano(e["time"]) for e in entries]
    assert times == sorted(times)


def test_a_very_long_line_is_written_in_pieces(tmp_path: Path) -> None:
    path = tmp_path / "c-json.log"
    log = JSONFileLog(path)
    log.write("stdout", b"x" * (MAX_LINE * 2 + 10) + b"\n")
    pieces = [e["log"] for e in lines_of(path)]
    assert [len(p) for p in pieces] == [MAX_LINE, MAX_LINE, 11] and pieces[-1].endswith("\n")


@settings(max_examples=60)
@given(st.lists(st.tuples(st.sampled_from(["stdout", "stderr"]),
                          st.binary(min_size=1, max_size=50)), max_size=20))
def test_whatever_the_chunks_the_log_holds_the_same_bytes_per_stream(tmp_path_factory, chunks) -> None:
    """Splitting never loses, reorders or duplicates a byte of a stream (valid UTF-8 aside)."""
    path = tmp_path_factory.mktemp("log") / "c-json.log"
    log = JSONFileLog(path)
    chunks = [(s, d.decode("utf-8", "replace").encode()) for s, d in chunks]
    for stream, data in chunks:
        log.write(stream, data)
    log.end_run()
    entries = [e for e, _ in read_entries(path) if e is not None]
    for stream in ("stdout", "stderr"):
        assert b"".join(e.data for e in entries if e.stream == stream) == \
            b"".join(d for s, d in chunks if s == stream)
    for stream in ("stdout", "stderr"):  # every entry but a stream's last is a whole line
        assert all(e.data.endswith(b"\n") for e in [e for e in entries if e.stream == stream][:-1])


def write_at(log: JSONFileLog, stream: str, data: bytes) -> int:
    before = time.time_ns()
    log.write(stream, data)
    return before


def test_tail_since_until_and_streams(tmp_path: Path) -> None:
    log = JSONFileLog(tmp_path / "c-json.log")
    stamps = []
    for n in range(6):
        stamps.append(write_at(log, "stderr" if n % 2 else "stdout", f"line{n}\n".encode()))
        time.sleep(0.002)

    def read(**kw) -> list[bytes]:
        return [e.data for e in LogStream(log, **{"streams": {"stdout", "stderr"}, **kw})]

    assert read() == [f"line{n}\n".encode() for n in range(6)]
    assert read(tail=2) == [b"line4\n", b"line5\n"]
    assert read(tail=0) == []
    assert read(tail=-1) == read()
    assert [e.data for e in LogStream(log, streams={"stderr"}, tail=2)] == [b"line3\n", b"line5\n"]
    assert read(since_ns=stamps[3]) == [b"line3\n", b"line4\n", b"line5\n"]
    assert read(until_ns=stamps[2]) == [b"line0\n", b"line1\n"]
    assert read(since_ns=stamps[1], until_ns=stamps[3], tail=1) == [b"line2\n"]


def test_follow_sees_new_lines_and_ends_with_the_run(tmp_path: Path) -> None:
    log = JSONFileLog(tmp_path / "c-json.log")
    log.begin_run()
    log.write("stdout", b"before\n")
    stream = LogStream(log, streams={"stdout"}, follow=True)
    got = []
    reader = threading.Thread(target=lambda: got.extend(e.data for e in stream))
    reader.start()
    time.sleep(0.05)
    log.write("stdout", b"during\nlast")
    time.sleep(0.05)
    assert reader.is_alive()
    log.end_run()
    reader.join(5)
    assert not reader.is_alive()
    assert got == [b"before\n", b"during\n", b"last"]


def test_follow_of_a_stopped_container_ends_at_once_and_close_ends_a_follow(tmp_path: Path) -> None:
    log = JSONFileLog(tmp_path / "c-json.log")
    log.write("stdout", b"x\n")
    assert [e.data for e in LogStream(log, streams={"stdout"}, follow=True)] == [b"x\n"]
    log.begin_run()
    stream = LogStream(log, streams={"stdout"}, follow=True, tail=0)
    reader = threading.Thread(target=lambda: list(stream))
    reader.start()
    time.sleep(0.05)
    stream.close()  # the client went away
    reader.join(5)
    assert not reader.is_alive()
