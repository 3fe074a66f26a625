"""`inspect`: the daemon's full JSON about containers, images, networks...

A name alone does not say what it names: `busybox` may be a container or an
image. Without `--type`, docker asks each kind of object in turn and takes
the first that answers 200 - a container first, then an image, a network, a
volume, a plugin. Only when all say 404 is the name unknown.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from minidock.cli.cli import Cli, StatusError
from minidock.client.api import quote_name
from minidock.client.errors import NotFound

# --8<-- [start:kinds]
# The fallback chain, in docker's order: kind -> path of its inspect endpoint.
KINDS: dict[str, str] = {
    "container": "/containers/{}/json",
    "image": "/images/{}/json",
    "network": "/networks/{}",
    "volume": "/volumes/{}",
    "plugin": "/plugins/{}/json",
}
# --8<-- [end:kinds]
ALL_TYPES = ("config", "container", "image", "network", "node", "plugin", "secret", "service", "task", "volume")


def add_inspect_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("names", nargs="*", metavar="NAME|ID")
    parser.add_argument("-f", "--format", help="Format output using a custom template")
    parser.add_argument("-s", "--size", action="store_true", help="Display total file sizes if the type is container")
    parser.add_argument("--type", help="Only inspect objects of the given type")


# --8<-- [start:inspect]
def inspect(cli: Cli, args: argparse.Namespace) -> int:
    """Find each name, print what was found, and report the rest (exit 1 if any failed)."""
    from minidock.cli.formatter import check_args

    check_args(args.names, "inspect", "[OPTIONS] NAME|ID [NAME|ID...]", minimum=1)
    if args.type and args.type not in ALL_TYPES:
        choices = ", ".join(f'"{t}"' for t in ALL_TYPES)
        raise StatusError(1, f'unknown type: "{args.type}": must be one of {choices}')
    template = _parse_format(args.format)
    found: list[Any] = []
    errors: list[str] = []
    for name in args.names:
        try:
            found.append(find_object(cli, name, args.type, args.size))
        except NotFound as exc:
            errors.append(str(exc) if args.type else f"Error: No such object: {name}")
    errors += _print(cli, found, template, args.format)
    if errors:
        raise StatusError(1, "\n".join(errors))
    return 0
# --8<-- [end:inspect]


def find_object(cli: Cli, name: str, kind: str | None, size: bool) -> Any:
    """GET the object from its kind's endpoint, or from each kind in turn; NotFound if none has it."""
    kinds = [kind] if kind else list(KINDS)
    if kind and kind not in KINDS:
        raise StatusError(1, f"Error: inspecting {kind} objects needs a swarm manager; this client has none")
    last: NotFound | None = None
    for each in kinds:
        params = {"size": True} if size and each == "container" else None
        try:
            return cli.client.get_json(KINDS[each].format(quote_name(name)), params)
        except NotFound as exc:
            last = exc
    assert last is not None
    raise last


def _parse_format(format: str | None) -> Any:
    """The template (None for the JSON array); a template that does not parse exits 64, as docker's."""
    if not format or format == "json":
        return None
    from minidock.cli.templates import TemplateError, parse

    try:
        return parse(format)
    except TemplateError as exc:
        raise StatusError(64, f"template parsing error: {exc}") from None


def _print(cli: Cli, found: list[Any], template: Any, format: str | None) -> list[str]:
    """Print the objects: an indented JSON array, one compact array (`-f json`), or a template each."""
    from minidock.cli.templates import TemplateError

    if template is None:  # docker re-indents the daemon's JSON with 4 spaces (or compacts it)
        text = json.dumps(found, ensure_ascii=False, **({"separators": (",", ":")} if format == "json" else {"indent": 4}))
        cli.print(text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029") if found else "[]")
        return []
    errors, printed = [], False
    for item in found:
        try:
            cli.print(template.execute(item, missingkey="exported"))
            printed = True
        except TemplateError as exc:
            errors.append(f"template parsing error: {exc}")
    if not printed:
        cli.print()  # docker's TemplateInspector.Flush writes a newline when it has nothing
    return errors
