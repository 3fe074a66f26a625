"""The conversations that several container commands share.

`run`, `start -a`, `attach` and `exec` all do the same dance, and it is the
heart of the client chapter: ask the daemon for a hijacked stream, ask it on
another connection to report the exit, *then* start the process, pump bytes
until the output ends, and exit with the container's own status. The order
matters: a container that exits at once would otherwise finish before we
listen (so attach and wait are sent before start, each on its own
connection - docker-api.md §4.11).
"""

from __future__ import annotations

import json
import signal
import sys
import threading
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any

from minidock.cli.cli import Cli
from minidock.client.api import APIClient, quote_name
from minidock.client.errors import ClientError
from minidock.client.http import Response
from minidock.client.terminal import on_resize, raw_terminal, terminal_size

# Signals the CLI forwards to a non-TTY container (docker's signal proxy).
PROXIED_SIGNALS = ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2")


def inspect_container(client: APIClient, name: str) -> dict[str, Any]:
    return client.get_json(f"/containers/{quote_name(name)}/json")


# --8<-- [start:wait]
@dataclass
class ExitWaiter:
    """A `POST /containers/{id}/wait` whose headers came back and whose body comes at exit.

    The daemon flushes the 200 head at once and writes `{"StatusCode": N}`
    when the condition is met; the connection stays busy until then.
    """

    response: Response

    @classmethod
    def send(cls, client: APIClient, container_id: str, condition: str | None) -> "ExitWaiter":
        params = {"condition": condition} if condition else None
        return cls(client.request("POST", f"/containers/{container_id}/wait", params))

    def status(self) -> int:
        body = json.loads(self.response.read() or b"{}")
        error = (body.get("Error") or {}).get("Message")
        if error:
            raise ClientError(error)
        return int(body.get("StatusCode", 0))
# --8<-- [end:wait]


def resize(client: APIClient, path: str, fd: int) -> None:
    """Tell the daemon our terminal's size (`POST …/resize?h=&w=`)."""
    size = terminal_size(fd)
    if size:
        try:
            client.request("POST", f"{path}/resize", {"h": size[0], "w": size[1]}).read()
        except ClientError:
            pass  # the process may have exited meanwhile; nothing to resize


class SignalProxy:
    """Forward the signals we receive to the container (`POST …/kill?signal=`)."""

    def __init__(self, client: APIClient, container_id: str) -> None:
        self.client, self.container_id = client, container_id
        self.previous: dict[int, Any] = {}

    def __enter__(self) -> "SignalProxy":
        for name in PROXIED_SIGNALS:
            number = getattr(signal, name)
            self.previous[number] = signal.signal(number, self._forward)
        return self

    def _forward(self, signum: int, _frame: object) -> None:
        name = signal.Signals(signum).name
        threading.Thread(target=self._kill, args=(name,), daemon=True).start()

    def _kill(self, name: str) -> None:
        try:
            self.client.request("POST", f"/containers/{self.container_id}/kill", {"signal": name}).read()
        except ClientError:
            pass

    def __exit__(self, *exc: object) -> None:
        for number, handler in self.previous.items():
            signal.signal(number, handler)


# --8<-- [start:stream_session]
def stream_session(cli: Cli, hijacked, *, tty: bool, stdin: bool, resize_path: str | None,
                   detach_keys: str | None) -> bool:
    """Pump the hijacked connection with the terminal set up; True if the user detached."""
    from minidock.client.hijack import DEFAULT_DETACH_KEYS

    in_fd = sys.stdin.fileno()
    use_raw = tty and stdin and sys.stdin.isatty()
    out_fd = sys.stdout.fileno()
    with raw_terminal(in_fd) if use_raw else nullcontext():
        if tty and resize_path and sys.stdout.isatty():
            resize(cli.client, resize_path, out_fd)
            resize_context = on_resize(lambda: threading.Thread(
                target=resize, args=(cli.client, resize_path, out_fd), daemon=True).start())
        else:
            resize_context = nullcontext()
        with resize_context:
            return hijacked.stream(sys.stdin.buffer if stdin else None, cli.out_bytes, cli.err_bytes,
                                   tty=tty, detach_keys=detach_keys or DEFAULT_DETACH_KEYS)
# --8<-- [end:stream_session]

