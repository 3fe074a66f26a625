"""Container life-cycle commands: one small request per container named.

Each takes several containers; like docker, a failure on one is reported
(`Error response from daemon: …`) and the others still get their request;
the exit status is 1 if any failed.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from contextlib import nullcontext

from minidock.cli.cli import Cli
from minidock.cli.containers import ExitWaiter, SignalProxy, inspect_container, stream_session
from minidock.client.api import quote_name
from minidock.client.errors import APIError, ClientError


def for_each(cli: Cli, names: list[str], action: Callable[[str], object], echo: bool = True) -> int:
    failed = 0
    for name in names:
        try:
            result = action(name)
        except APIError as exc:
            cli.warn(str(exc))
            failed += 1
            continue
        if echo:
            cli.print(str(result) if result is not None else name)
    return 1 if failed else 0


def _post(cli: Cli, name: str, action: str, params: dict | None = None) -> None:
    cli.client.request("POST", f"/containers/{quote_name(name)}/{action}", params).read()


def add_start_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-a", "--attach", action="store_true", help="Attach STDOUT/STDERR and forward signals")
    parser.add_argument("-i", "--interactive", action="store_true", help="Attach container's STDIN")
    parser.add_argument("--detach-keys", help="Override the key sequence for detaching a container")
    parser.add_argument("containers", nargs="+", metavar="CONTAINER")


def start(cli: Cli, args: argparse.Namespace) -> int:
    if not (args.attach or args.interactive):
        status = for_each(cli, args.containers, lambda name: _post(cli, name, "start"))
        if status:
            cli.warn(f"Error: failed to start containers: {', '.join(args.containers)}")
        return status
    if len(args.containers) > 1:
        raise ClientError("you cannot start and attach multiple containers at once")
    # start -a: the same attach-wait-start order as run.
    info = inspect_container(cli.client, args.containers[0])
    container_id, tty = info["Id"], bool(info["Config"].get("Tty"))
    stdin = args.interactive and bool(info["Config"].get("OpenStdin"))
    hijacked = cli.client.hijack(f"/containers/{container_id}/attach", {
        "stream": True, "stdin": stdin, "stdout": True, "stderr": True, "detachKeys": args.detach_keys})
    waiter = ExitWaiter.send(cli.client, container_id, "next-exit")
    _post(cli, container_id, "start")
    with SignalProxy(cli.client, container_id) if not tty else nullcontext():
        if stream_session(cli, hijacked, tty=tty, stdin=stdin, resize_path=f"/containers/{container_id}",
                          detach_keys=args.detach_keys):
            return 0
    return waiter.status()


def add_stop_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-t", "--time", "--timeout", type=int, dest="time", help="Seconds to wait before killing the container")
    parser.add_argument("-s", "--signal", help="Signal to send to the container")
    parser.add_argument("containers", nargs="+", metavar="CONTAINER")


def stop(cli: Cli, args: argparse.Namespace) -> int:
    params = {"t": args.time, "signal": args.signal}
    return for_each(cli, args.containers, lambda name: _post(cli, name, "stop", params))


add_restart_arguments = add_stop_arguments


def restart(cli: Cli, args: argparse.Namespace) -> int:
    params = {"t": args.time, "signal": args.signal}
    return for_each(cli, args.containers, lambda name: _post(cli, name, "restart", params))


def add_kill_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-s", "--signal", help="Signal to send to the container")
    parser.add_argument("containers", nargs="+", metavar="CONTAINER")


def kill(cli: Cli, args: argparse.Namespace) -> int:
    return for_each(cli, args.containers, lambda name: _post(cli, name, "kill", {"signal": args.signal}))


def add_rm_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-f", "--force", action="store_true", help="Force the removal of a running container (uses SIGKILL)")
    parser.add_argument("-v", "--volumes", action="store_true", help="Remove anonymous volumes associated with the container")
    parser.add_argument("-l", "--link", action="store_true", help="Remove the specified link")
    parser.add_argument("containers", nargs="+", metavar="CONTAINER")


def rm(cli: Cli, args: argparse.Namespace) -> int:
    params = {"force": args.force or None, "v": args.volumes or None, "link": args.link or None}

    def remove(name: str) -> None:
        cli.client.request("DELETE", f"/containers/{quote_name(name)}", params).read()

    return for_each(cli, args.containers, remove)


def add_pause_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("containers", nargs="+", metavar="CONTAINER")


add_unpause_arguments = add_pause_arguments


def pause(cli: Cli, args: argparse.Namespace) -> int:
    return for_each(cli, args.containers, lambda name: _post(cli, name, "pause"))


def unpause(cli: Cli, args: argparse.Namespace) -> int:
    return for_each(cli, args.containers, lambda name: _post(cli, name, "unpause"))


def add_rename_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("container", metavar="CONTAINER")
    parser.add_argument("new_name", metavar="NEW_NAME")


def rename(cli: Cli, args: argparse.Namespace) -> int:
    new_name = args.new_name.strip().lstrip("/")
    if not new_name:
        raise ClientError("Neither old nor new names may be empty")
    _post(cli, args.container, "rename", {"name": new_name})
    return 0


def add_wait_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("containers", nargs="+", metavar="CONTAINER")


def wait(cli: Cli, args: argparse.Namespace) -> int:
    return for_each(cli, args.containers,
                    lambda name: ExitWaiter.send(cli.client, quote_name(name), None).status())
