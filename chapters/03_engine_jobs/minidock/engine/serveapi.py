"""Serving the API is itself a job: `serveapi`, then `acceptconnections`.

Docker 1.x's `main` did not start an HTTP server; it ran two jobs:

    eng.Job("serveapi", "unix:///var/run/docker.sock", "tcp://...").Run()
    ...                                   # the daemon finishes starting up
    eng.Job("acceptconnections").Run()

`serveapi` set up a listener for each address but held it closed until
`acceptconnections`, so no client was answered by a half-started daemon;
`acceptconnections` opened the doors and told systemd the daemon was ready.

We keep both jobs with the same meaning. Chapter 02's `main.py` opens the
listening sockets itself (it owns their clean-up) and hands them to
`daemon.serve_api(server, sockets)`; `install_serveapi` replaces that seam
with `ApiService.serve_api`, which runs the two jobs. Until
`acceptconnections`, a client that connects waits in the kernel's backlog.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping

from minidock.daemon.installers import Daemon
from minidock.engine.engine import Engine
from minidock.engine.job import Job
from minidock.server.errors import BadParameter, NotFound
from minidock.server.server import Server, address_of


# --8<-- [start:serveapi]
class ApiService:
    """The API server as the engine sees it: two jobs, `serveapi` and `acceptconnections`."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.server: Server | None = None
        self.listeners: dict[str, socket.socket] = {}  # address (as -H spells it) -> listening socket
        self.staged: list[socket.socket] = []          # served once connections are accepted
        self.accepting = False

    def install(self, engine: Engine) -> None:
        engine.register("serveapi", self.serveapi)
        engine.register("acceptconnections", self.acceptconnections)

    def serve_api(self, server: Server, sockets: list[socket.socket]) -> None:
        """Chapter 02's `Daemon.serve_api` seam, done with jobs."""
        self.server = server
        self.listeners = {address_of(sock): sock for sock in sockets}
        self.engine.job("serveapi", *self.listeners).run_or_raise()
        self.engine.job("acceptconnections").run_or_raise()

    def serveapi(self, job: Job) -> None:
        """serveapi(ADDRESS...): serve the API on these listeners, once connections are accepted."""
        if not job.args:
            raise BadParameter("serveapi: no address to serve the API on")
        for address in job.args:
            if address not in self.listeners:
                raise NotFound(f"serveapi: the daemon has no listener on {address}")
            self.staged.append(self.listeners[address])
        if self.accepting:
            self._serve_staged()

    def acceptconnections(self, job: Job) -> None:
        """acceptconnections(): start answering on every listener, and tell systemd we are ready."""
        self.accepting = True
        self._serve_staged()
        notify_ready(job.engine)

    def _serve_staged(self) -> None:
        assert self.server is not None, "serve_api hands over the server first"
        staged, self.staged = self.staged, []
        for sock in staged:
            self.server.serve(sock)
# --8<-- [end:serveapi]


def install_serveapi(engine: Engine, daemon: Daemon) -> ApiService:
    """Register `serveapi` and `acceptconnections` on `engine`, and make the daemon
    serve its API through them (replacing chapter 02's `daemon.serve_api`)."""
    service = ApiService(engine)
    engine.install(service)
    daemon.serve_api = service.serve_api
    return service


def notify_ready(engine: Engine, environ: Mapping[str, str] = os.environ) -> bool:
    """`sd_notify(READY=1)`: under systemd (`Type=notify`), say that start-up is over.
    A datagram to the unix socket named by `$NOTIFY_SOCKET` (`@name`: an abstract one)."""
    address = environ.get("NOTIFY_SOCKET", "")
    if not address:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.sendto(b"READY=1", address)
    except OSError as exc:
        engine.logger.warning("could not tell systemd the daemon is ready (NOTIFY_SOCKET=%s): %s",
                              environ["NOTIFY_SOCKET"], exc)
        return False
    return True
