"""`top CONTAINER [ps OPTIONS]`: the processes of a container (`GET /containers/{id}/top`).

The daemon runs `ps` (with the user's options, `ps_args`) and answers with
its columns already split: `{"Titles": [...], "Processes": [[...], ...]}`;
the client only lines them up.
"""

from __future__ import annotations

import argparse

from minidock.cli.cli import Cli
from minidock.cli.formatter import check_args, tabulate
from minidock.client.api import quote_name


def add_top_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("container", nargs="?", metavar="CONTAINER")
    # Everything after the container belongs to ps, dashes included (`top web -ef`).
    parser.add_argument("ps_args", nargs=argparse.REMAINDER, metavar="ps OPTIONS")


# --8<-- [start:top]
def top(cli: Cli, args: argparse.Namespace) -> int:
    check_args([args.container] if args.container else [], "top", "CONTAINER [ps OPTIONS]", minimum=1)
    params = {"ps_args": " ".join(args.ps_args)} if args.ps_args else None
    answer = cli.client.get_json(f"/containers/{quote_name(args.container)}/top", params) or {}
    lines = ["\t".join(answer.get("Titles") or [])]
    lines += ["\t".join(process) for process in answer.get("Processes") or []]
    cli.out.write(tabulate("".join(line + "\n" for line in lines), minwidth=20, padding=3))
    return 0
# --8<-- [end:top]
