"""`attach`: join a running container's streams (docker-api.md §5.3, `attach c`)."""

from __future__ import annotations

import argparse
from contextlib import nullcontext

from minidock.cli.cli import Cli
from minidock.cli.containers import ExitWaiter, SignalProxy, inspect_container, stream_session
from minidock.client.errors import ClientError


def add_attach_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--no-stdin", action="store_true", help="Do not attach STDIN")
    parser.add_argument("--sig-proxy", default="true", choices=["true", "false"], help="Proxy all received signals to the process")
    parser.add_argument("--detach-keys", help="Override the key sequence for detaching a container")
    parser.add_argument("container", metavar="CONTAINER")


def attach(cli: Cli, args: argparse.Namespace) -> int:
    info = inspect_container(cli.client, args.container)
    state = info.get("State") or {}
    if not state.get("Running"):
        raise ClientError("You cannot attach to a stopped container, start it first")
    if state.get("Paused"):
        raise ClientError("You cannot attach to a paused container, unpause it first")
    if state.get("Restarting"):
        raise ClientError("You cannot attach to a restarting container, wait until it is running")
    container_id, config = info["Id"], info.get("Config") or {}
    tty = bool(config.get("Tty"))
    stdin = bool(config.get("OpenStdin")) and not args.no_stdin
    waiter = ExitWaiter.send(cli.client, container_id, None)
    hijacked = cli.client.hijack(f"/containers/{container_id}/attach", {
        "stream": True, "stdin": stdin, "stdout": True, "stderr": True, "detachKeys": args.detach_keys})
    proxy = SignalProxy(cli.client, container_id) if args.sig_proxy == "true" and not tty else nullcontext()
    with proxy:
        if stream_session(cli, hijacked, tty=tty, stdin=stdin, resize_path=f"/containers/{container_id}",
                          detach_keys=args.detach_keys):
            return 0
    return waiter.status()
