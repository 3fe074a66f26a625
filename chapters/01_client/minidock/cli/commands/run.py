"""`run` and `create`: the client's longest conversation.

`minidock run busybox echo hi` is, on the wire (docker-api.md §5.3):

    POST /containers/create          -> 201 {"Id": ...}   (404 "No such image": pull, then again)
    POST /containers/ID/attach       -> 101, a hijacked stream   (connection 2)
    POST /containers/ID/wait         -> 200 head now, body at exit (connection 1)
    POST /containers/ID/start        -> 204                       (connection 3)
    ... output frames until the stream ends ...
    {"StatusCode": 0}                -> our exit status
"""

from __future__ import annotations

import argparse
import os
import sys
from contextlib import nullcontext

from minidock.cli.cli import Cli, StatusError
from minidock.cli.container_opts import CreateRequest, OptionError, add_container_arguments, create_request
from minidock.cli.containers import ExitWaiter, SignalProxy, stream_session
from minidock.client.errors import APIError, ClientError, NotFound
from minidock.client.terminal import terminal_size


def add_create_arguments(parser: argparse.ArgumentParser) -> None:
    add_container_arguments(parser)


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    add_create_arguments(parser)
    parser.add_argument("-d", "--detach", action="store_true", help="Run container in background and print container ID")
    parser.add_argument("--detach-keys", help="Override the key sequence for detaching a container")
    parser.add_argument("--sig-proxy", default="true", choices=["true", "false"], help="Proxy received signals to the process")
    parser.add_argument("-a", "--attach", action="append", default=[], choices=["stdin", "stdout", "stderr"],
                        help="Attach to STDIN, STDOUT or STDERR")


# --8<-- [start:create_container]
def create_container(cli: Cli, request: CreateRequest, pull_policy: str = "missing") -> str:
    """`POST /containers/create`; on "No such image", pull it and try once more (docker's rule)."""
    params = {"name": request.name, "platform": request.platform}
    if pull_policy == "always":
        pull_for_run(cli, request)
    try:
        answer = cli.client.post_json("/containers/create", params, json=request.body)
    except NotFound as exc:
        if pull_policy == "never" or "No such image" not in exc.message:
            raise
        cli.warn(f"Unable to find image '{image_with_tag(request.body['Image'])}' locally")
        pull_for_run(cli, request)
        answer = cli.client.post_json("/containers/create", params, json=request.body)
    for warning in answer.get("Warnings") or []:
        cli.warn(f"WARNING: {warning}")
    return answer["Id"]
# --8<-- [end:create_container]


def image_with_tag(image: str) -> str:
    last = image.rsplit("/", 1)[-1]
    return image if (":" in last or "@" in image) else f"{image}:latest"


def pull_for_run(cli: Cli, request: CreateRequest) -> None:
    """Pull the image with its progress on stderr (stdout is the container's), as `docker run` does."""
    from minidock.cli.commands.registry import auth_headers, reference_or_fail
    from minidock.client.jsonmessage import display_stream

    ref = reference_or_fail(request.body["Image"])
    if ref.tag is None and ref.digest is None:
        ref = ref.with_default_tag()
    params = {"fromImage": ref.name, "platform": request.platform, "tag": ref.digest or ref.tag}
    messages = cli.client.stream_json("POST", "/images/create", params, headers=auth_headers(ref.domain))
    display_stream(messages, cli.err, tty=cli.err.isatty())


def _parse(cli: Cli, args: argparse.Namespace, attach: bool) -> CreateRequest:
    if attach and args.tty and args.interactive and not sys.stdin.isatty():
        raise StatusError(1, "the input device is not a TTY")
    size = terminal_size(sys.stdout.fileno()) if args.tty else None
    try:
        return create_request(args, dict(os.environ), attach=attach, console_size=size)
    except OptionError as exc:
        raise StatusError(125, f"minidock: {exc}\n\nRun 'minidock {'run' if attach else 'create'} --help' for more information") from None


def create(cli: Cli, args: argparse.Namespace) -> int:
    request = _parse(cli, args, attach=False)
    try:
        cli.print(create_container(cli, request, args.pull))
    except ClientError as exc:
        raise StatusError(125, f"minidock: {exc}") from None
    return 0


# --8<-- [start:run]
def run(cli: Cli, args: argparse.Namespace) -> int:
    request = _parse(cli, args, attach=not args.detach)
    try:
        container_id = create_container(cli, request, args.pull)
    except ClientError as exc:  # refused by the daemon, or the pull failed
        raise StatusError(125, f"minidock: {exc}\n\nRun 'minidock run --help' for more information") from None
    client = cli.client
    if args.detach:
        start_container(cli, container_id)
        cli.print(container_id)
        return 0

    streams = set(args.attach) or {"stdout", "stderr", *(["stdin"] if args.interactive else [])}
    hijacked = client.hijack(f"/containers/{container_id}/attach", {
        "stream": True, "stdin": "stdin" in streams, "stdout": "stdout" in streams,
        "stderr": "stderr" in streams, "detachKeys": args.detach_keys,
    })
    waiter = ExitWaiter.send(client, container_id, "removed" if args.rm else "next-exit")
    start_container(cli, container_id)
    proxy = SignalProxy(client, container_id) if args.sig_proxy == "true" and not args.tty else None
    with proxy if proxy else nullcontext():
        detached = stream_session(cli, hijacked, tty=args.tty, stdin="stdin" in streams,
                                  resize_path=f"/containers/{container_id}", detach_keys=args.detach_keys)
    if detached:
        return 0
    return waiter.status()
# --8<-- [end:run]


def start_container(cli: Cli, container_id: str) -> None:
    """Start; a refusal maps to docker's exit codes (126 cannot run, 127 not found, 125 other)."""
    try:
        cli.client.request("POST", f"/containers/{container_id}/start").read()
    except APIError as exc:
        message = exc.message
        if "executable file not found" in message or "no such file or directory" in message:
            status = 127
        elif "permission denied" in message or "cannot execute" in message:
            status = 126
        else:
            status = 125
        raise StatusError(status, f"minidock: {exc}") from None

