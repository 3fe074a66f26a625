"""docker's humanisation (go-units), its tabwriter layout, and `--format` for list commands."""

import json
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from minidock.cli.cli import StatusError, UsageError
from minidock.cli.formatter import (
    Row, bytes_size, check_args, ellipsis, format_list, go_quote, human_duration, human_size,
    parse_filters, quiet_or, tabulate, truncate_id,
)


@pytest.mark.parametrize(("size", "text"), [
    (0, "0B"), (10, "10B"), (512, "512B"), (999, "999B"), (1000, "1kB"), (4100, "4.1kB"),
    (999_600, "1e+03kB"),  # Go's %.3g, as `docker images` really prints it
    (1_982_296, "1.98MB"), (123_456_789, "123MB"), (5 * 10**12, "5TB"),
])
def test_human_size_is_go_units_with_three_digits(size, text):
    assert human_size(size) == text


@pytest.mark.parametrize(("size", "text"), [
    (4_000_000, "3.815MiB"), (8_000_000_000, "7.451GiB"), (25_000_000_000, "23.28GiB"), (1023, "1023B"), (1024, "1KiB"),
])
def test_bytes_size_is_binary_with_four_digits(size, text):
    assert bytes_size(size) == text


def parse_size(text):
    number, unit = re.fullmatch(r"([0-9.e+]+)([kMGTPEZY]?B)", text).groups()
    return float(number) * 1000 ** ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"].index(unit)


@given(st.integers(min_value=0, max_value=10**24), st.integers(min_value=0, max_value=10**24))
def test_human_size_is_monotone(a, b):
    low, high = sorted((a, b))
    assert parse_size(human_size(low)) <= parse_size(human_size(high))


@given(st.integers(min_value=1, max_value=10**24))
def test_human_size_keeps_three_significant_digits(size):
    assert abs(parse_size(human_size(size)) - size) <= size * 0.005 + 1e-9 * size


HOUR, DAY = 3600, 86400


@pytest.mark.parametrize(("seconds", "text"), [
    (-5, "Less than a second"), (0.9, "Less than a second"), (1, "1 second"), (59.9, "59 seconds"),
    (60, "About a minute"), (119, "About a minute"), (120, "2 minutes"), (59 * 60 + 59, "59 minutes"),
    (HOUR, "About an hour"), (1.49 * HOUR, "About an hour"), (1.5 * HOUR, "2 hours"), (47.4 * HOUR, "47 hours"),
    (47.5 * HOUR, "2 days"), (13.9 * DAY, "13 days"), (14 * DAY, "2 weeks"), (59 * DAY, "8 weeks"),
    (60 * DAY, "2 months"), (729 * DAY, "24 months"), (730 * DAY, "2 years"), (3651 * DAY, "10 years"),
])
def test_human_duration_uses_go_units_thresholds(seconds, text):
    assert human_duration(seconds) == text


def test_truncate_id_drops_the_algorithm():
    assert truncate_id("sha256:71b48f3abebe85ddc6b922883f5e350ab2a48c4899bb5be3c3a3610d9173a0c8") == "71b48f3abebe"
    assert truncate_id("4f8b1a6c2d3e4f5a6b7c8d9e0f1a2b3c") == "4f8b1a6c2d3e"
    assert truncate_id("abc") == "abc"


def test_ellipsis_counts_columns():
    assert ellipsis("sh -c 'while true; do echo tick; done'", 20) == "sh -c 'while true; …"
    assert ellipsis("short", 20) == "short"
    assert ellipsis("日本語のコマンド", 7) == "日本語…"  # wide characters take two columns


def test_go_quote():
    assert go_quote('echo "hi"\n') == '"echo \\"hi\\"\\n"'
    assert go_quote("sh -c 'x; …'") == "\"sh -c 'x; …'\""


# -- tabwriter -------------------------------------------------------------------

def test_tabulate_pads_columns_but_not_the_last_cell():
    text = "CONTAINER ID\tIMAGE\tNAMES\n4f8b1a6c2d3e\tbusybox\tweb\n"
    assert tabulate(text) == (
        "CONTAINER ID   IMAGE     NAMES\n"
        "4f8b1a6c2d3e   busybox   web\n"
    )


def test_tabulate_columns_are_blocks_of_consecutive_lines():
    # Go's own example for text/tabwriter (minwidth 0, padding 1).
    text = "aaaa\tbbb\td\naa\tb\tdd\na\t\naa\tcccc\teee\n"
    assert tabulate(text, minwidth=0, padding=1) == "aaaa bbb d\naa   b   dd\na    \naa   cccc eee\n"


@given(st.integers(min_value=1, max_value=4).flatmap(
    lambda width: st.lists(st.lists(st.text(alphabet="ab c", max_size=14), min_size=width, max_size=width), min_size=1, max_size=6)))
def test_tabulate_aligns_every_column_of_uniform_rows(rows):
    widths = [max(10, max(len(row[c]) for row in rows) + 3) for c in range(len(rows[0]) - 1)]
    expected = ["".join(cell.ljust(w) for cell, w in zip(row, widths)) + row[-1] for row in rows]
    assert tabulate("".join("\t".join(row) + "\n" for row in rows)) == "".join(line + "\n" for line in expected)


# -- --format for list commands --------------------------------------------------

HEADERS = {"ID": "CONTAINER ID", "Names": "NAMES", "Status": "STATUS"}
ROWS = [
    Row("*formatter.ContainerContext", {"ID": "4f8b1a6c2d3e", "Names": "web", "Status": "Up 5 minutes",
                                        "Label": lambda name: {"app": "demo"}.get(name, "")}),
    Row("*formatter.ContainerContext", {"ID": "aaaaaaaaaaaa", "Names": "d1<x>", "Status": "Exited (0)",
                                        "Label": lambda name: ""}),
]


def test_table_format_prints_docker_headers_and_aligns():
    assert format_list("table {{.ID}}\\t{{.Names}}", ROWS, HEADERS) == (
        "CONTAINER ID   NAMES\n"
        "4f8b1a6c2d3e   web\n"
        "aaaaaaaaaaaa   d1<x>\n"
    )


def test_header_functions_keep_the_header_and_labels_name_their_column():
    text = format_list('table {{upper .Names}}\t{{.Label "com.example.app_name"}}', ROWS, HEADERS)
    assert text.splitlines()[0] == "NAMES     app name"


def test_a_format_without_table_prints_one_line_per_item():
    assert format_list("{{.ID}}: {{.Status}}", ROWS, HEADERS) == "4f8b1a6c2d3e: Up 5 minutes\naaaaaaaaaaaa: Exited (0)\n"
    assert format_list("{{.ID}}\\n", ROWS[:1], HEADERS) == "4f8b1a6c2d3e\n\n"


def test_json_prints_one_object_per_item_sorted_and_html_escaped():
    lines = format_list("json", ROWS, HEADERS).splitlines()
    assert lines[1] == '{"ID":"aaaaaaaaaaaa","Names":"d1\\u003cx\\u003e","Status":"Exited (0)"}'
    assert [json.loads(line)["Names"] for line in lines] == ["web", "d1<x>"]
    assert format_list("{{json .}}", ROWS, HEADERS).splitlines() == lines


def test_an_empty_list_in_table_form_still_has_its_header():
    assert format_list("table {{.ID}}\t{{.Names}}", [], HEADERS) == "CONTAINER ID   NAMES\n"


def test_template_errors_are_exit_status_one_with_dockers_words():
    with pytest.raises(StatusError) as error:
        format_list("{{.Nope}}", ROWS, HEADERS)
    assert error.value.status == 1
    assert error.value.message == ('template parsing error: template: :1:2: executing "" at <.Nope>: '
                                   "can't evaluate field Nope in type *formatter.ContainerContext")
    with pytest.raises(StatusError, match="template parsing error: template: :1: unclosed action"):
        format_list("{{.ID", ROWS, HEADERS)


def test_quiet_wins_and_table_alone_means_the_default():
    assert quiet_or("{{.Names}}", True, "table X") == "{{.ID}}"
    assert quiet_or("table", False, "table X") == "table X"
    assert quiet_or(None, False, "table X") == "table X"
    assert quiet_or("{{.Names}}", False, "table X") == "{{.Names}}"


def test_filters_become_dockers_sorted_json():
    assert parse_filters(["status=exited", "name=web", "status=created", "Label = a=b"], "ps") == (
        '{"label":{"a=b":true},"name":{"web":true},"status":{"created":true,"exited":true}}'
    )
    assert parse_filters([], "ps") is None
    with pytest.raises(UsageError, match='invalid argument "foo" for "-f, --filter" flag: bad format of filter'):
        parse_filters(["foo"], "ps")


@pytest.mark.parametrize(("args", "minimum", "maximum", "words"), [
    (["x"], 0, 0, "'minidock c' accepts no arguments"),
    ([], 1, None, "'minidock c' requires at least 1 argument\n"),
    (["a", "b", "c"], 1, 2, "'minidock c' requires at least 1 and at most 2 arguments"),
    (["a", "b"], 0, 1, "'minidock c' requires at most 1 argument\n"),
])
def test_wrong_argument_counts_exit_one_with_dockers_words(args, minimum, maximum, words):
    with pytest.raises(StatusError) as error:
        check_args(args, "c", "[OPTIONS]", minimum, maximum)
    assert error.value.status == 1 and words in error.value.message
    assert "Usage:  minidock c [OPTIONS]" in error.value.message
