"""`events`: the daemon's event stream (`GET /events`), one line per event.

The answer is a chunked body that never ends by itself: the daemon writes
one JSON object per line as things happen (`create`, `start`, `die`...) and
flushes each at once. `--until` makes the daemon close it; otherwise it runs
until Ctrl-C.
"""

from __future__ import annotations

import argparse
import re
import time
from datetime import datetime
from typing import Any

from minidock.cli.cli import Cli, StatusError
from minidock.cli.formatter import check_args, parse_filters


def add_events_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("extra", nargs="*", help=argparse.SUPPRESS)
    parser.add_argument("-f", "--filter", action="append", help="Filter output based on conditions provided")
    parser.add_argument("--format", help="Format output using a custom template")
    parser.add_argument("--since", help="Show all events created since timestamp")
    parser.add_argument("--until", help="Stream events until this timestamp")


# --8<-- [start:events]
def events(cli: Cli, args: argparse.Namespace) -> int:
    check_args(args.extra, "events", "[OPTIONS]", maximum=0)
    template = _parse_format(args.format)
    now = time.time()
    params = {
        "filters": parse_filters(args.filter, "events"),
        "since": get_timestamp(args.since, now) if args.since else None,
        "until": get_timestamp(args.until, now) if args.until else None,
    }
    for event in cli.client.stream_json("GET", "/events", params):
        cli.print(pretty_event(event) if template is None else _render(template, event))
        cli.out.flush()  # events are read as they happen: never sit in a buffer
    return 0
# --8<-- [end:events]


def pretty_event(event: dict[str, Any]) -> str:
    """docker's default line: `<time> container die <id> (exitCode=137, image=busybox, name=d1)`."""
    nanos = event.get("timeNano") or (event.get("time") or 0) * 1_000_000_000
    line = f"{rfc3339_nano(nanos)} " if nanos else ""
    actor = event.get("Actor") or {}
    line += f"{event.get('Type', '')} {event.get('Action', '')} {actor.get('ID', '')}"
    attributes = actor.get("Attributes") or {}
    if attributes:
        line += " (" + ", ".join(f"{k}={attributes[k]}" for k in sorted(attributes)) + ")"
    return line


def rfc3339_nano(nanos: int) -> str:
    """Go's RFC3339NanoFixed in local time: `2026-11-28T06:35:42.093880303Z` (or `+01:00`)."""
    seconds, fraction = divmod(nanos, 1_000_000_000)
    moment = datetime.fromtimestamp(seconds).astimezone()
    offset = moment.strftime("%z")
    zone = "Z" if offset in ("+0000", "") else f"{offset[:3]}:{offset[3:]}"
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{fraction:09d}{zone}"


# --8<-- [start:timestamp]
_DURATION = re.compile(r"[-+]?(?:(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+")
_UNIT = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}


def get_timestamp(value: str, now: float) -> str:
    """docker's `timetypes.GetTimestamp`: a Go duration ago (`10m`), an RFC 3339 date, or unix seconds.

    Durations and dates become unix seconds on the client (`1795852772`,
    `1796083200.000000000`); a number goes to the daemon as typed.
    """
    if value != "0" and _DURATION.fullmatch(value):
        sign = -1 if value.startswith("-") else 1
        seconds = sum(float(n) * _UNIT[u] for n, u in re.findall(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)", value))
        return str(int(now - sign * seconds))
    if re.fullmatch(r"\d+(?:\.\d{1,9})?", value):
        return value
    try:
        moment = datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError:
        raise StatusError(1, f'failed to parse value as time or duration: "{value}"') from None
    if moment.tzinfo is None:  # no zone given: local time, as docker
        moment = moment.astimezone()
    return f"{int(moment.timestamp())}.{moment.microsecond * 1000:09d}"
# --8<-- [end:timestamp]


def _parse_format(format: str | None) -> Any:
    if not format:
        return None
    from minidock.cli.templates import TemplateError, parse

    try:
        return parse("{{json .}}" if format == "json" else format)
    except TemplateError as exc:
        raise StatusError(64, f"Error parsing format: {exc}") from None


def _render(template: Any, event: dict[str, Any]) -> str:
    """An event as docker's events.Message struct: Go field names, the wire JSON for `{{json .}}`."""
    from minidock.cli.templates import Struct, TemplateError

    actor = event.get("Actor") or {}
    message = Struct("*events.Message", {
        "Status": event.get("status", ""), "ID": event.get("id", ""), "From": event.get("from", ""),
        "Type": event.get("Type", ""), "Action": event.get("Action", ""),
        "Actor": Struct("events.Actor", {"ID": actor.get("ID", ""), "Attributes": actor.get("Attributes") or {}}),
        "Scope": event.get("scope", ""), "Time": event.get("time", 0), "TimeNano": event.get("timeNano", 0),
    }, raw=event)
    try:
        return template.execute(message)
    except TemplateError as exc:
        raise StatusError(64, f"Error parsing format: {exc}") from None
