"""How the docker CLI turns API answers into text.

The daemon answers in numbers (`"Size": 1982296`, `"Created": 1795847058`)
and the CLI humanises them on the client side (`1.98MB`, `5 minutes ago`),
with the rules of docker's `go-units` package, copied here exactly so that
our output and docker's can be compared byte for byte. The same goes for the
table layout (Go's `text/tabwriter`, elastic tabstops) and for `--format`:
every list command (ps, images, stats) renders one template per item, and a
`table ` prefix adds a header row and aligns the columns.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterable
from datetime import datetime, timezone
from typing import Any

from minidock.cli.templates import HEADER_FUNCTIONS, Struct, TemplateError, parse

DECIMAL_UNITS = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"]
BINARY_UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"]


# --8<-- [start:humanise]
def _scale(size: float, base: float, units: list[str]) -> tuple[float, str]:
    """Divide by `base` until the number is below it: (1982296, 1000) -> (1.982296, "MB")."""
    i = 0
    while size >= base and i < len(units) - 1:
        size /= base
        i += 1
    return size, units[i]


def human_size(size: float, precision: int = 3) -> str:
    """go-units HumanSizeWithPrecision: decimal units, `precision` significant digits (`1.98MB`)."""
    value, unit = _scale(float(size), 1000.0, DECIMAL_UNITS)
    return f"{value:.{precision}g}{unit}"


def bytes_size(size: float) -> str:
    """go-units BytesSize: binary units, 4 significant digits (`3.815MiB`, `23.28GiB`)."""
    value, unit = _scale(float(size), 1024.0, BINARY_UNITS)
    return f"{value:.4g}{unit}"


def human_duration(seconds: float) -> str:
    """go-units HumanDuration: `Less than a second`, `About a minute`, `3 weeks`..."""
    whole = int(seconds)
    if whole < 1:
        return "Less than a second"
    if whole == 1:
        return "1 second"
    if whole < 60:
        return f"{whole} seconds"
    minutes = int(seconds / 60)
    if minutes == 1:
        return "About a minute"
    if minutes < 60:
        return f"{minutes} minutes"
    hours = int(seconds / 3600 + 0.5)
    if hours == 1:
        return "About an hour"
    if hours < 48:
        return f"{hours} hours"
    if hours < 24 * 7 * 2:
        return f"{hours // 24} days"
    if hours < 24 * 30 * 2:
        return f"{hours // 24 // 7} weeks"
    if hours < 24 * 365 * 2:
        return f"{hours // 24 // 30} months"
    return f"{int(seconds / 3600) // 24 // 365} years"
# --8<-- [end:humanise]


def since(unix_seconds: float, now: float | None = None) -> str:
    """`5 minutes ago` for a list endpoint's integer `Created` (computed on the client)."""
    now = datetime.now(timezone.utc).timestamp() if now is None else now
    return human_duration(now - unix_seconds) + " ago"


def truncate_id(full_id: str) -> str:
    """docker's TruncateID: drop an algorithm prefix (`sha256:`), keep 12 characters."""
    return full_id.partition(":")[2][:12] if ":" in full_id else full_id[:12]


def go_time(unix_seconds: float) -> str:
    """Go's time.Time.String() in local time: `2026-11-28 06:24:18 +0000 UTC`."""
    moment = datetime.fromtimestamp(unix_seconds).astimezone()
    return moment.strftime("%Y-%m-%d %H:%M:%S %z ") + (moment.tzname() or "")


def display_width(text: str) -> int:
    """Terminal columns: East Asian wide and full-width characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def ellipsis(text: str, width: int) -> str:
    """docker's Ellipsis: cut to `width` columns, the last one being `…`."""
    if width <= 0:
        return ""
    if width == 1:
        return text[:1]
    if display_width(text) <= width:
        return text
    used, out = 0, ""
    for ch in text:
        used += display_width(ch)
        if used > width - 1:
            break
        out += ch
    return out + "…"


# --8<-- [start:tabwriter]
def tabulate(text: str, minwidth: int = 10, padding: int = 3) -> str:
    """Align tab-terminated cells as Go's text/tabwriter (elastic tabstops) does.

    A column is a run of consecutive lines that have a cell there; its width
    is the widest cell plus `padding`, at least `minwidth`. The text after a
    line's last tab belongs to no column and is never padded, so a table has
    no trailing spaces. docker uses `tabwriter.NewWriter(out, 10, 1, 3, ' ', 0)`.
    """
    lines = [line.split("\t") for line in text.split("\n")]
    out: list[str] = []

    def write_lines(first: int, end: int, widths: list[int]) -> None:
        for cells in lines[first:end]:
            out.append("".join(
                cell + " " * (widths[j] - display_width(cell)) if j < len(widths) else cell
                for j, cell in enumerate(cells)
            ))

    def format_block(first: int, end: int, widths: list[int]) -> None:
        column = len(widths)
        this = first
        while this < end:
            if column >= len(lines[this]) - 1:  # no cell in this column on this line
                this += 1
                continue
            write_lines(first, this, widths)
            first, width = this, minwidth
            while this < end and column < len(lines[this]) - 1:
                width = max(width, display_width(lines[this][column]) + padding)
                this += 1
            format_block(first, this, widths + [width])
            first = this
        write_lines(first, end, widths)

    format_block(0, len(lines), [])
    return "\n".join(out)
# --8<-- [end:tabwriter]


class Row(Struct):
    """One item of a list command as `--format` sees it: docker's formatter *Context structs.

    The keys are the fields a template may name (`.ID`, `.Names`); a value
    may be a function for fields that take arguments (`{{.Label "app"}}`).
    """

    def marshal_json(self) -> str:
        """`{{json .}}`: every plain field, keys sorted, HTML-escaped (Go's json.Marshal of a map)."""
        fields = {key: value for key, value in sorted(self.items()) if not callable(value)}
        text = json.dumps(fields, ensure_ascii=False, separators=(",", ":"))
        return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


# --8<-- [start:format_list]
def format_list(format: str, rows: Iterable[Row], headers: dict[str, str]) -> str:
    """Render a list command's items through `--format`, as docker's formatter.Context does.

    `table ...` renders a header row (the same template over `headers`, with
    the string functions made identity) and aligns the columns; `json` is
    `{{json .}}`; anything else is one rendered line per item. `\\t` and `\\n`
    typed literally in the format become a tab and a newline.
    """
    from minidock.cli.cli import StatusError

    table = format.startswith("table")
    text = format[len("table"):] if table else "{{json .}}" if format == "json" else format
    text = text.strip(" ").replace("\\t", "\t").replace("\\n", "\n")
    try:
        template = parse(text)
        body = "".join(template.execute(row) + "\n" for row in rows)
    except TemplateError as exc:
        raise StatusError(1, f"template parsing error: {exc}") from None
    if not table:
        return body
    header: list[str] = []
    try:
        template.execute({**headers, "Label": header_label}, functions=HEADER_FUNCTIONS, out=header)
    except TemplateError:
        pass  # docker ignores header errors and keeps what was written
    return tabulate("".join(header) + "\n" + body)
# --8<-- [end:format_list]


def go_quote(text: str) -> str:
    """Go's strconv.Quote: double quotes, backslash escapes, printable Unicode kept."""
    escapes = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r",
               "\a": "\\a", "\b": "\\b", "\f": "\\f", "\v": "\\v"}
    out = []
    for ch in text:
        if ch in escapes:
            out.append(escapes[ch])
        elif ch.isprintable():
            out.append(ch)
        elif ord(ch) < 0x80:
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(f"\\u{ord(ch):04x}" if ord(ch) < 0x10000 else f"\\U{ord(ch):08x}")
    return '"' + "".join(out) + '"'


def join_host_port(host: str, port: object) -> str:
    """Go's net.JoinHostPort: IPv6 addresses go in brackets (`[::]:8080`)."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


# -- command-line checks shared by the reading commands --------------------------

def check_args(args: list[str], command: str, usage: str, minimum: int = 0, maximum: int | None = None) -> None:
    """docker's cli.NoArgs / RequiresMinArgs / RequiresMaxArgs / RequiresRangeArgs: wrong counts exit 1."""
    from minidock.cli.cli import StatusError

    if minimum <= len(args) and (maximum is None or len(args) <= maximum):
        return

    def plural(n: int) -> str:
        return f"{n} argument" + ("" if n == 1 else "s")

    see = "Run"
    if maximum == 0:
        problem = "accepts no arguments"
    elif maximum is None:
        problem, see = f"requires at least {plural(minimum)}", "See"
    elif minimum == 0:
        problem = f"requires at most {plural(maximum)}"
    elif minimum == maximum:
        problem = f"requires {plural(minimum)}"
    else:
        problem = f"requires at least {minimum} and at most {plural(maximum)}"
    raise StatusError(1, f"minidock: 'minidock {command}' {problem}\n\nUsage:  minidock {command} {usage}\n\n"
                         f"{see} 'minidock {command} --help' for more information")


def header_label(name: str) -> str:
    """The column title of `{{.Label "com.example.some_label"}}`: `some label`."""
    return name.split(".")[-1].replace("-", " ").replace("_", " ")


def parse_filters(values: list[str] | None, command: str) -> str | None:
    """`-f status=exited -f name=web` -> the `filters` query value `{"name":{"web":true},...}`."""
    from minidock.cli.cli import UsageError

    if not values:
        return None
    filters: dict[str, dict[str, bool]] = {}
    for value in values:
        name, sep, wanted = value.partition("=")
        if not sep:
            raise UsageError(
                f'invalid argument "{value}" for "-f, --filter" flag: bad format of filter (expected name=value)',
                f"minidock {command}",
            )
        filters.setdefault(name.strip().lower(), {})[wanted.strip()] = True
    return json.dumps(filters, sort_keys=True, separators=(",", ":"))


def quiet_or(format: str | None, quiet: bool, default_table: str) -> str:
    """The format a list command renders with: `-q` wins, then --format, then its table."""
    if quiet:
        return "{{.ID}}"
    if not format or format == "table":
        return default_table
    return format

