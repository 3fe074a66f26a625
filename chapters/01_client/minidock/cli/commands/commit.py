"""`commit`: a new image from a container's changes.

The daemon does the work; the client only names the result the way docker
does - fully qualified (`committed:v1` is sent as
`repo=docker.io/library/committed&tag=v1`, docker-api.md §4.7) - and
pauses the container by default so the snapshot is consistent.
"""

from __future__ import annotations

import argparse

from minidock.cli.cli import Cli, StatusError
from minidock.cli.commands.image_ops import add_go_bool
from minidock.cli.commands.registry import reference_or_fail


def add_commit_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-a", "--author", default="", help='Author (e.g., "John Hannibal Smith <hannibal@a-team.com>")')
    parser.add_argument("-c", "--change", action="append", default=[], help="Apply Dockerfile instruction to the created image")
    parser.add_argument("-m", "--message", default="", help="Commit message")
    add_go_bool(parser, "-p", "--pause", dest="pause", default=True, help="Pause container during commit (default true)")
    parser.add_argument("container", metavar="CONTAINER")
    parser.add_argument("repository", nargs="?", metavar="REPOSITORY[:TAG]")


# --8<-- [start:commit]
def commit(cli: Cli, args: argparse.Namespace) -> int:
    """`POST /commit?container=c&repo=<fully qualified>&tag=T&...` -> 201 `{"Id"}`, printed."""
    repo = tag = ""
    if args.repository:
        ref = reference_or_fail(args.repository)
        if ref.digest:
            raise StatusError(1, "refusing to create a tag with a digest reference")
        ref = ref.with_default_tag()
        repo, tag = ref.name, ref.tag or ""
    answer = cli.client.post_json("/commit", {
        "author": args.author, "changes": args.change or None, "comment": args.message,
        "container": args.container, "pause": None if args.pause else False,  # the default (true) is not sent
        "repo": repo, "tag": tag,
    })
    cli.print(str((answer or {}).get("Id", "")))
    return 0
# --8<-- [end:commit]
