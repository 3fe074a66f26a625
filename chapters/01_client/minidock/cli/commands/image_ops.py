"""`tag`, `rmi`, `history`: naming, removing and explaining local images.

All three are one request each. What the client adds is docker's reading of
names (a tag target is normalised; `tag` refuses a digest) and docker's way
of printing the answers: `Untagged:`/`Deleted:` lines, and a history table
with human times and sizes.
"""

from __future__ import annotations

import argparse
import json
import re
import time
from datetime import datetime
from typing import Any

from minidock.cli.cli import Cli, StatusError
from minidock.client.api import quote_name
from minidock.client.errors import APIError, NotFound
from minidock.client.reference import InvalidReference, parse_reference


def add_go_bool(parser: argparse.ArgumentParser, *flags: str, dest: str, default: bool, help: str) -> None:
    """A Go boolean flag: `-H`, `--human`, and also `--human=false` / `-H=false`.

    argparse has no flag that takes an optional `=value` without also eating
    the next word (`history -H busybox` must not read `busybox` as the value),
    so the `=false`/`=true` spellings are registered as flags of their own.
    """
    parser.add_argument(*flags, dest=dest, action="store_true", default=default, help=help)
    for value, action in (("false", "store_false"), ("true", "store_true")):
        parser.add_argument(*(f"{flag}={value}" for flag in flags), dest=dest, action=action, help=argparse.SUPPRESS)


# -- tag --------------------------------------------------------------------------

def add_tag_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("source", metavar="SOURCE_IMAGE[:TAG]")
    parser.add_argument("target", metavar="TARGET_IMAGE[:TAG]")


# --8<-- [start:tag]
def tag(cli: Cli, args: argparse.Namespace) -> int:
    """`POST /images/{source}/tag?repo=R&tag=T` -> 201: the target in its short form."""
    if not re.fullmatch(r"(sha256:)?[a-f0-9]{64}", args.source):  # an ID is a valid source too
        _parse_or_fail(args.source)
    target = _parse_or_fail(args.target)
    if target.digest:
        raise StatusError(1, "refusing to create a tag with a digest reference")
    target = target.with_default_tag()
    cli.client.request("POST", f"/images/{quote_name(args.source)}/tag",
                       {"repo": target.familiar_name, "tag": target.tag}).read()
    return 0
# --8<-- [end:tag]


def _parse_or_fail(text: str):  # noqa: ANN202
    try:
        return parse_reference(text)
    except InvalidReference as exc:
        raise StatusError(1, f'Error parsing reference: "{text}" is not a valid repository/tag: {exc}') from None


# -- rmi ---------------------------------------------------------------------------

def add_rmi_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-f", "--force", action="store_true", help="Force removal of the image")
    parser.add_argument("--no-prune", action="store_true", help="Do not delete untagged parents")
    parser.add_argument("images", nargs="+", metavar="IMAGE")


# --8<-- [start:rmi]
def rmi(cli: Cli, args: argparse.Namespace) -> int:
    """`DELETE /images/{name}` for each image; report every answer, fail if any failed.

    As in docker, one image's error does not stop the others. With `-f`,
    images that do not exist are only reported (exit 0); any other error
    still fails the command.
    """
    errors, fatal = [], False
    params = {"force": args.force or None, "noprune": args.no_prune or None}
    for image in args.images:
        try:
            answers = cli.client.request("DELETE", f"/images/{quote_name(image)}", params)
            items = json.loads(answers.read() or b"[]") or []
        except APIError as exc:
            fatal = fatal or not isinstance(exc, NotFound)
            errors.append(str(exc))
            continue
        for item in items:
            if item.get("Deleted"):
                cli.print(f"Deleted: {item['Deleted']}")
            else:
                cli.print(f"Untagged: {item.get('Untagged', '')}")
    if errors:
        message = "\n".join(errors)
        if not args.force or fatal:
            raise StatusError(1, message)
        cli.warn(message)
    return 0
# --8<-- [end:rmi]


# -- history -------------------------------------------------------------------------

HISTORY_HEADERS = {"ID": "IMAGE", "CreatedSince": "CREATED", "CreatedAt": "CREATED AT",
                   "CreatedBy": "CREATED BY", "Size": "SIZE", "Comment": "COMMENT"}
HISTORY_TABLE = "table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}"
NON_HUMAN_HISTORY_TABLE = "table {{.ID}}\t{{.CreatedAt}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}"


def add_history_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", help="Format output using a custom template")
    add_go_bool(parser, "-H", "--human", dest="human", default=True,
                help="Print sizes and dates in human readable format (default true)")
    parser.add_argument("--no-trunc", action="store_true", help="Don't truncate output")
    parser.add_argument("-q", "--quiet", action="store_true", help="Only show image IDs")
    parser.add_argument("image", metavar="IMAGE")


def go_rfc3339(unix_seconds: int) -> str:
    """Go's `time.RFC3339` in local time: `2024-09-25T21:33:20Z`, or with an offset like `+02:00`."""
    text = datetime.fromtimestamp(unix_seconds).astimezone().isoformat()
    return text.removesuffix("+00:00") + "Z" if text.endswith("+00:00") else text


def history_row(layer: dict[str, Any], *, human: bool, trunc: bool, now: float):  # noqa: ANN201
    """One history entry as the fields docker's template sees (`formatter/history.go`)."""
    from minidock.cli.formatter import Row, ellipsis, human_size, since, truncate_id

    image_id = str(layer.get("Id") or "")
    if trunc and image_id != "<missing>":
        image_id = truncate_id(image_id)
    created = int(layer.get("Created") or 0)
    created_at = go_rfc3339(created)
    created_by = str(layer.get("CreatedBy") or "").replace("\t", " ")
    size = int(layer.get("Size") or 0)
    return Row("*history.historyContext", {
        "ID": image_id,
        "CreatedSince": since(created, now) if human else created_at,
        "CreatedAt": created_at,
        "CreatedBy": ellipsis(created_by, 45) if trunc else created_by,
        "Size": human_size(size) if human else str(size),
        "Comment": str(layer.get("Comment") or ""),
    })


# --8<-- [start:history]
def history(cli: Cli, args: argparse.Namespace) -> int:
    """`GET /images/{name}/history`: the layers, newest first, as a table."""
    from minidock.cli.formatter import format_list, quiet_or

    layers = cli.client.get_json(f"/images/{quote_name(args.image)}/history") or []
    now = time.time()
    rows = [history_row(layer, human=args.human, trunc=not args.no_trunc, now=now) for layer in layers]
    table = HISTORY_TABLE if args.human else NON_HUMAN_HISTORY_TABLE
    cli.out.write(format_list(quiet_or(args.format, args.quiet, table), rows, HISTORY_HEADERS))
    return 0
# --8<-- [end:history]
