"""`exec`: run another process in a running container.

Two objects on the daemon side: the exec instance (`POST /containers/c/exec`)
and its start (`POST /exec/ID/start`, hijacked unless detached). The exit code
is asked for afterwards (`GET /exec/ID/json`): the stream itself has none.
"""

from __future__ import annotations

import argparse
import os
import sys

from minidock.cli.cli import Cli, StatusError
from minidock.cli.container_opts import OptionError, parse_env
from minidock.cli.containers import inspect_container, stream_session
from minidock.client.api import quote_name


def add_exec_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-d", "--detach", action="store_true", help="Detached mode: run command in the background")
    parser.add_argument("-i", "--interactive", action="store_true", help="Keep STDIN open even if not attached")
    parser.add_argument("-t", "--tty", action="store_true", help="Allocate a pseudo-TTY")
    parser.add_argument("-e", "--env", action="append", default=[], help="Set environment variables")
    parser.add_argument("--env-file", action="append", default=[], help="Read in a file of environment variables")
    parser.add_argument("-u", "--user", help="Username or UID")
    parser.add_argument("-w", "--workdir", help="Working directory inside the container")
    parser.add_argument("--privileged", action="store_true", help="Give extended privileges to the command")
    parser.add_argument("--detach-keys", help="Override the key sequence for detaching a container")
    parser.add_argument("container", metavar="CONTAINER")
    parser.add_argument("command", nargs=argparse.REMAINDER, metavar="COMMAND [ARG...]")


# --8<-- [start:exec]
def exec(cli: Cli, args: argparse.Namespace) -> int:  # noqa: A001 - docker's command name
    if not args.command:
        raise StatusError(1, '"minidock exec" requires at least 2 arguments.')
    if args.tty and args.interactive and not sys.stdin.isatty():
        raise StatusError(1, "the input device is not a TTY")
    try:
        env = parse_env(args.env, args.env_file, dict(os.environ))
    except OptionError as exc:
        raise StatusError(125, str(exc)) from None
    info = inspect_container(cli.client, args.container)  # a clear 404 before anything else
    attach = not args.detach
    created = cli.client.post_json(f"/containers/{quote_name(info['Id'])}/exec", json={
        "User": args.user or "", "Privileged": args.privileged, "Tty": args.tty,
        "AttachStdin": attach and args.interactive, "AttachStdout": attach, "AttachStderr": attach,
        "Detach": args.detach, "DetachKeys": args.detach_keys or "", "Env": env,
        "WorkingDir": args.workdir or "", "Cmd": args.command,
    })
    exec_id = created["Id"]
    if args.detach:
        cli.client.request("POST", f"/exec/{exec_id}/start", json={"Detach": True, "Tty": args.tty}).read()
        return 0
    hijacked = cli.client.hijack(f"/exec/{exec_id}/start", json={"Detach": False, "Tty": args.tty})
    stream_session(cli, hijacked, tty=args.tty, stdin=args.interactive,
                   resize_path=f"/exec/{exec_id}", detach_keys=args.detach_keys)
    return int(cli.client.get_json(f"/exec/{exec_id}/json").get("ExitCode") or 0)
# --8<-- [end:exec]
