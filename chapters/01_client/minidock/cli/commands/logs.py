"""`logs`: the container's recorded output, stdout and stderr kept apart.

The client must know whether the container has a TTY before it reads: with
one, the bytes are raw; without, they are frames (stdcopy.py). So logs
inspects first (docker-api.md §4.10).
"""

from __future__ import annotations

import argparse

from minidock.cli.cli import Cli
from minidock.cli.containers import inspect_container
from minidock.cli.timestamps import parse_time
from minidock.client.stdcopy import demultiplex


def add_logs_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-f", "--follow", action="store_true", help="Follow log output")
    parser.add_argument("-n", "--tail", default="all", help='Number of lines to show from the end of the logs (default "all")')
    parser.add_argument("-t", "--timestamps", action="store_true", help="Show timestamps")
    parser.add_argument("--since", help="Show logs since timestamp (e.g. 2013-01-02T13:23:37Z) or relative (e.g. 42m)")
    parser.add_argument("--until", help="Show logs before a timestamp or relative")
    parser.add_argument("--details", action="store_true", help="Show extra details provided to logs")
    parser.add_argument("container", metavar="CONTAINER")


# --8<-- [start:logs]
def logs(cli: Cli, args: argparse.Namespace) -> int:
    info = inspect_container(cli.client, args.container)
    response = cli.client.request("GET", f"/containers/{info['Id']}/logs", {
        "stdout": True, "stderr": True, "follow": args.follow or None, "tail": args.tail,
        "timestamps": args.timestamps or None, "details": args.details or None,
        "since": parse_time(args.since) if args.since else None,
        "until": parse_time(args.until) if args.until else None,
    })
    try:
        if info["Config"].get("Tty"):
            out = cli.out_bytes
            for chunk in response.iter_chunks():
                out.write(chunk)
                out.flush()
        else:
            demultiplex(response.iter_chunks(), cli.out_bytes, cli.err_bytes)
    finally:
        response.close()
    return 0
# --8<-- [end:logs]
