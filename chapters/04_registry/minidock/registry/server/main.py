"""`minidock-registry --listen HOST:PORT --root DIR [--users FILE]`: run the private registry.

It prints one line when it is ready - `minidock-registry listening on
http://127.0.0.1:5000` - (with `--listen 127.0.0.1:0` the port is the one the
kernel picked), serves until SIGINT or SIGTERM, then shuts down gracefully.
Plain HTTP only: the docker daemon accepts it for 127.0.0.0/8 and for
registries named with `--insecure-registry`.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

from minidock.registry.server.app import Registry, common_headers, load_users
from minidock.registry.server.storage import Storage
from minidock.server.http import Limits
from minidock.server.listeners import ListenError, listen_tcp
from minidock.server.server import Server


@dataclass
class RunningRegistry:
    """A registry serving in this process's threads (tests use it; `main` too)."""

    server: Server
    registry: Registry
    host: str
    port: int

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def address(self) -> str:
        """`127.0.0.1:5000`: how an image reference names this registry."""
        return f"{self.host}:{self.port}"

    def stop(self) -> None:
        self.server.shutdown(timeout=2.0)

    def __enter__(self) -> RunningRegistry:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_registry(root: str | Path, host: str = "127.0.0.1", port: int = 0,
                   users: dict[str, str] | None = None) -> RunningRegistry:
    """Listen on host:port and serve the registry rooted at `root`; returns at once."""
    registry = Registry(Storage(root), users)
    # Blobs stream: the cap of a body read whole (manifests) is set per handler.
    server = Server(registry.dispatch, limits=Limits(read_timeout=120.0),
                    logger=logging.getLogger("minidock.registry"), common_headers=common_headers)
    listener = listen_tcp(host, port)
    server.serve(listener)
    bound_host, bound_port = listener.getsockname()[:2]
    return RunningRegistry(server, registry, bound_host, bound_port)


def parse_listen(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not host:
        raise argparse.ArgumentTypeError(f"invalid --listen {value!r}: expected HOST:PORT")
    return host.strip("[]"), int(port)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="minidock-registry", description="A private Docker registry (V2 API).")
    parser.add_argument("--listen", type=parse_listen, default=("127.0.0.1", 5000), metavar="HOST:PORT")
    parser.add_argument("--root", required=True, help="storage directory")
    parser.add_argument("--users", help="users file: user:<sha256 hex of the password> per line")
    parser.add_argument("--debug", "-D", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.INFO,
                        format="%(asctime)s %(levelname)s %(message)s")
    try:
        users = load_users(args.users) if args.users else None
        running = start_registry(args.root, *args.listen, users=users)
    except (OSError, ValueError, ListenError) as exc:
        print(f"minidock-registry: {exc}", file=sys.stderr)
        return 1
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    print(f"minidock-registry listening on {running.url}", flush=True)
    while not stop.wait(3600):
        pass
    running.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
