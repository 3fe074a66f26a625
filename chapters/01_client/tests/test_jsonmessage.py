"""The JSON progress stream: the model's laws (hypothesis), and what each view prints."""

from __future__ import annotations

import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minidock.client.errors import StreamError
from minidock.client.jsonmessage import (
    LayerLine,
    ProgressModel,
    TextLine,
    display_stream,
    human_size,
    plain_line,
)

# -- strategies: messages as a daemon sends them ---------------------------------------

layer_ids = st.sampled_from(["a3ed95caeb02", "774af47cc413", "f2124a55fd76", "latest", "0123456789ab"])
statuses = st.sampled_from(["Pulling fs layer", "Waiting", "Downloading", "Verifying Checksum",
                            "Download complete", "Extracting", "Pull complete", "Preparing", "Pushing",
                            "Pushed", "Layer already exists"]) | st.text(max_size=30)
texts = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=40)


@st.composite
def layer_messages(draw) -> dict:
    message = {"status": draw(statuses), "id": draw(layer_ids)}
    if draw(st.booleans()):
        total = draw(st.integers(0, 10**9))
        message["progressDetail"] = {"current": draw(st.integers(0, 10**9)), "total": total} \
            if draw(st.booleans()) else {}
    if draw(st.booleans()):
        message["progress"] = "[==>   ] " + draw(st.text(max_size=10))
    return message


plain_status = st.builds(lambda s: {"status": s}, statuses)
stream_text = st.builds(lambda s: {"stream": s}, texts)
aux = st.builds(lambda d: {"progressDetail": {}, "aux": {"Tag": "v1", "Digest": d, "Size": 527}},
                st.text(alphabet="0123456789abcdef", min_size=4, max_size=8))
messages = st.lists(layer_messages() | plain_status | stream_text | aux, max_size=40)


# -- the model -------------------------------------------------------------------------

@given(messages)
def test_model_keeps_the_last_status_per_id_in_first_appearance_order(stream: list[dict]) -> None:
    model = ProgressModel()
    for message in stream:
        model.apply(message)
    ids_in_order = list(dict.fromkeys(m["id"] for m in stream if "id" in m))
    last_status = {m["id"]: m["status"] for m in stream if "id" in m}
    assert list(model.layers) == ids_in_order
    assert [line.id for line in model.lines if isinstance(line, LayerLine)] == ids_in_order
    assert {i: line.status for i, line in model.layers.items()} == last_status


@given(messages)
def test_model_keeps_text_lines_in_order_and_collects_aux(stream: list[dict]) -> None:
    model = ProgressModel()
    for message in stream:
        model.apply(message)
    expected = [m["stream"] if "stream" in m else m["status"] + "\n"
                for m in stream if "id" not in m and "aux" not in m]
    assert [line.text for line in model.lines if isinstance(line, TextLine)] == expected
    assert model.aux == [m["aux"] for m in stream if "aux" in m]


def test_model_reads_byte_counts() -> None:
    model = ProgressModel()
    model.apply({"status": "Downloading", "id": "abc", "progressDetail": {"current": 10, "total": 40}})
    assert model.layers["abc"] == LayerLine("abc", "Downloading", 10, 40)


# -- errors ------------------------------------------------------------------------------

@given(st.lists(layer_messages() | plain_status | stream_text, max_size=15), texts, st.booleans())
@settings(max_examples=60)
def test_an_error_raises_with_its_message_after_the_earlier_messages(before: list[dict], message: str,
                                                                     tty: bool) -> None:
    out = io.StringIO()
    error = {"errorDetail": {"message": message}, "error": message}
    with pytest.raises(StreamError) as caught:
        display_stream([*before, error, {"status": "never shown"}], out, tty=tty)
    assert caught.value.message == message
    shown = out.getvalue()
    assert "never shown" not in shown
    if not tty:  # the plain view wrote every earlier message as it came
        assert shown == "".join(plain_line(m) for m in before)


def test_an_error_code_travels_with_the_error() -> None:
    with pytest.raises(StreamError) as caught:
        display_stream([{"errorDetail": {"message": "The command '/bin/sh -c exit 3' returned a non-zero code: 3",
                                         "code": 3}}], io.StringIO(), tty=False)
    assert caught.value.code == 3


def test_a_401_in_the_stream_says_authentication_is_required() -> None:
    with pytest.raises(StreamError, match="^authentication is required$"):
        display_stream([{"errorDetail": {"message": "unauthorized", "code": 401}}], io.StringIO(), tty=False)


# -- the plain view ------------------------------------------------------------------------

@given(messages)
def test_plain_view_never_raises_and_writes_every_stream_text_unchanged(stream: list[dict]) -> None:
    out = io.StringIO()
    display_stream(stream, out, tty=False)
    shown, position = out.getvalue(), 0
    for message in stream:
        if "stream" in message:
            position = shown.index(message["stream"], position) + len(message["stream"])


def test_plain_view_is_dockers_non_tty_output() -> None:
    out = io.StringIO()
    aux = display_stream([
        {"status": "Pulling from library/alpine", "id": "latest"},
        {"status": "Pulling fs layer", "progressDetail": {}, "id": "a3ed95caeb02"},
        {"status": "Downloading", "progressDetail": {"current": 1024, "total": 2048},
         "progress": "[=========================>                         ]  1.024kB/2.048kB", "id": "a3ed95caeb02"},
        {"status": "Download complete", "progressDetail": {}, "id": "a3ed95caeb02"},
        {"status": "Pull complete", "progressDetail": {}, "id": "a3ed95caeb02"},
        {"status": "Digest: sha256:c899b2aa39cceae6e6361b590fc82d739bca696a86d36d9f885733f54debceb2"},
        {"status": "Status: Downloaded newer image for alpine:latest"},
        {"progressDetail": {}, "aux": {"Tag": "latest"}},
    ], out, tty=False)
    assert out.getvalue() == (
        "latest: Pulling from library/alpine\n"
        "a3ed95caeb02: Pulling fs layer\n"
        "a3ed95caeb02: Download complete\n"
        "a3ed95caeb02: Pull complete\n"
        "Digest: sha256:c899b2aa39cceae6e6361b590fc82d739bca696a86d36d9f885733f54debceb2\n"
        "Status: Downloaded newer image for alpine:latest\n"
    )
    assert aux == [{"Tag": "latest"}]


# -- the terminal view ------------------------------------------------------------------------

def test_terminal_view_ends_with_each_layers_final_status() -> None:
    out = io.StringIO()
    display_stream([
        {"status": "Pulling from library/alpine", "id": "latest"},
        {"status": "Pulling fs layer", "progressDetail": {}, "id": "aaaaaaaaaaaa"},
        {"status": "Pulling fs layer", "progressDetail": {}, "id": "bbbbbbbbbbbb"},
        {"status": "Downloading", "progressDetail": {"current": 1000, "total": 3000}, "id": "aaaaaaaaaaaa"},
        {"status": "Pull complete", "progressDetail": {}, "id": "aaaaaaaaaaaa"},
        {"status": "Already exists", "progressDetail": {}, "id": "bbbbbbbbbbbb"},
        {"stream": "Step 1/2 : FROM busybox"}, {"stream": "\n"},
        {"status": "Status: Downloaded newer image for alpine:latest"},
    ], out, tty=True)
    screen = out.getvalue()
    assert "1kB/3kB" in screen  # the bar's numbers were drawn while downloading
    # The last thing written for each row is its final state, and text lines follow the rows.
    final = screen[screen.rindex("aaaaaaaaaaaa: "):]
    assert final.startswith("aaaaaaaaaaaa: Pull complete")
    assert "bbbbbbbbbbbb: Already exists" in final
    assert final.index("bbbbbbbbbbbb: Already exists") < final.index("Step 1/2 : FROM busybox\n") \
        < final.index("Status: Downloaded newer image for alpine:latest")


def test_human_size_is_go_units() -> None:
    assert [human_size(n) for n in (0, 999, 1000, 1024, 1982296, 3_402_000)] == \
        ["0B", "999B", "1kB", "1.024kB", "1.982MB", "3.402MB"]


@given(messages)
@settings(max_examples=50, deadline=None)
def test_terminal_view_never_raises_either(stream: list[dict]) -> None:
    """Statuses are shown as text, never read as rich markup (`[bold]`, `[/]`)."""
    display_stream(stream + [{"status": "[/] [bold", "id": "x", "progressDetail": {}}], io.StringIO(), tty=True)
