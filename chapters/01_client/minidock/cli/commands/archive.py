"""`save`, `load`, `import`, `export`: images and filesystems as tar streams.

These commands move big bodies, so nothing is held in memory: a response
is copied to its file chunk by chunk, and a file is sent as a chunked
request body as it is read (client/http.py `Body`). Two rules come from
docker: a binary tar is never written to a terminal, and `-o FILE` appears
whole or not at all (written to a temporary file, then renamed).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack
from typing import BinaryIO

from minidock.cli.cli import Cli, StatusError
from minidock.cli.commands.registry import reference_or_fail, show_progress
from minidock.client.api import quote_name
from minidock.client.errors import ClientError
from minidock.client.http import Response

TERMINAL_REFUSAL = "cowardly refusing to save to a terminal. Use the -o flag or redirect"


# --8<-- [start:output]
def check_output(cli: Cli, output: str | None, what: str) -> None:
    """Before asking the daemon: refuse a terminal as the tar's destination, and a missing directory."""
    if output is None:
        if cli.out.isatty():
            raise StatusError(1, TERMINAL_REFUSAL)
        return
    directory = os.path.dirname(os.path.abspath(output))
    if not os.path.isdir(directory):
        raise StatusError(1, f'failed to {what}: invalid output path: directory "{directory}" does not exist')


def copy_to_output(cli: Cli, response: Response, output: str | None) -> None:
    """The body to stdout, or to `output` through a temporary file renamed into place."""
    if output is None:
        out = cli.out_bytes
        for chunk in response.iter_chunks():
            out.write(chunk)
        out.flush()
        return
    directory = os.path.dirname(os.path.abspath(output))
    fd, temp = tempfile.mkstemp(prefix=".minidock_temp_", dir=directory)
    try:
        with os.fdopen(fd, "wb") as file:
            for chunk in response.iter_chunks():
                file.write(chunk)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temp, output)
    except BaseException:
        os.unlink(temp)
        raise
# --8<-- [end:output]


def open_input(path: str) -> BinaryIO:
    try:
        return open(path, "rb")
    except OSError as exc:
        raise StatusError(1, f"open {path}: {exc.strerror.lower() if exc.strerror else exc}") from None


def json_messages(response: Response) -> Iterator[dict]:
    """The lines of a progress stream, decoded (like `APIClient.stream_json`, for a response in hand)."""
    try:
        for line in response.iter_lines():
            try:
                yield json.loads(line)
            except ValueError:
                raise ClientError(f"bad JSON in stream: {line[:80]!r}") from None
    finally:
        response.close()


# -- save / export ---------------------------------------------------------------

def add_save_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-o", "--output", help="Write to a file, instead of STDOUT")
    parser.add_argument("--platform", action="append", help=argparse.SUPPRESS)
    parser.add_argument("images", nargs="+", metavar="IMAGE")


def save(cli: Cli, args: argparse.Namespace) -> int:
    """`GET /images/get?names=A&names=B` -> a tar of the images (docker-api.md §5.1)."""
    check_output(cli, args.output, "save image")
    response = cli.client.request("GET", "/images/get", {"names": args.images})
    copy_to_output(cli, response, args.output)
    return 0


def add_export_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-o", "--output", help="Write to a file, instead of STDOUT")
    parser.add_argument("container", metavar="CONTAINER")


def export(cli: Cli, args: argparse.Namespace) -> int:
    """`GET /containers/{id}/export` -> a tar of the container's filesystem."""
    check_output(cli, args.output, "export container")
    response = cli.client.request("GET", f"/containers/{quote_name(args.container)}/export")
    copy_to_output(cli, response, args.output)
    return 0


# -- load --------------------------------------------------------------------------

def add_load_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-i", "--input", help="Read from tar archive file, instead of STDIN")
    parser.add_argument("-q", "--quiet", action="store_true", help="Suppress the load output")
    parser.add_argument("--platform", action="append", help=argparse.SUPPRESS)


# --8<-- [start:load]
def load(cli: Cli, args: argparse.Namespace) -> int:
    """`POST /images/load?quiet=` with the tar streamed as a chunked body; the answer is a stream."""
    with ExitStack() as stack:
        if args.input:
            source = stack.enter_context(open_input(args.input))
        elif sys.stdin.isatty():
            raise StatusError(1, "requested load from stdin, but stdin is empty")
        else:
            source = sys.stdin.buffer
        quiet = args.quiet or not cli.out.isatty()  # docker asks for no progress bars off a terminal
        response = cli.client.request("POST", "/images/load", {"quiet": quiet}, body=source,
                                      headers={"Content-Type": "application/x-tar"})
    if response.headers.get("content-type", "").startswith("application/json"):
        show_progress(cli, json_messages(response))
    else:
        copy_to_output(cli, response, None)
    return 0
# --8<-- [end:load]


# -- import --------------------------------------------------------------------------

def add_import_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-c", "--change", action="append", default=[], help="Apply Dockerfile instruction to the created image")
    parser.add_argument("-m", "--message", default="", help="Set commit message for imported image")
    parser.add_argument("--platform", help="Set platform if server is multi-platform capable")
    parser.add_argument("source", metavar="file|URL|-")
    parser.add_argument("repository", nargs="?", metavar="REPOSITORY[:TAG]")


def import_(cli: Cli, args: argparse.Namespace) -> int:
    """`POST /images/create?fromSrc=-&repo=R:T` with the tar as body; prints the new image's ID.

    A URL is not fetched by the client: it goes as `fromSrc=<url>` and the
    daemon downloads it.
    """
    if args.repository:
        reference_or_fail(args.repository)
    is_url = args.source.startswith(("http://", "https://"))
    params = {"changes": args.change or None, "fromSrc": args.source if is_url else "-",
              "message": args.message or None, "platform": args.platform.lower() if args.platform else None,
              "repo": args.repository or None}
    with ExitStack() as stack:
        if is_url:
            body = None
        elif args.source == "-":
            body = sys.stdin.buffer
        else:
            body = stack.enter_context(open_input(args.source))
        response = cli.client.request("POST", "/images/create", params, body=body,
                                      headers={"Content-Type": "text/plain"})
    show_progress(cli, json_messages(response))
    return 0


# `import` is a Python keyword, so the function is `import_`; main.py looks the
# command up by its name with getattr, which any string can name.
globals()["import"] = import_
