"""`diff`: what changed in a container's filesystem (`GET /containers/c/changes`)."""

from __future__ import annotations

import argparse

from minidock.cli.cli import Cli
from minidock.client.api import quote_name

KINDS = {0: "C", 1: "A", 2: "D"}  # changed, added, deleted (docker's archive.ChangeType)


def add_diff_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("container", metavar="CONTAINER")


def diff(cli: Cli, args: argparse.Namespace) -> int:
    changes = cli.client.get_json(f"/containers/{quote_name(args.container)}/changes") or []
    for change in changes:
        cli.print(f"{KINDS.get(change.get('Kind'), '?')} {change.get('Path', '')}")
    return 0
