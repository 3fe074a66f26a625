"""`minidockd`: start up, serve until told to stop, shut down cleanly.

The life of the daemon process, in the order dockerd lives it
(`cmd/dockerd/daemon.go`, `start`):

1. read the flags (config.py); a bad one is a message and exit status 1;
2. make the exec root and the data root (mode 0700: they will hold every
   container's secrets), and take the pidfile (pidfile.py): one daemon per
   pidfile, and one per data root;
3. build the router: the route table (routes.py) plus the handlers this
   chapter has (system.py), then let later chapters install theirs
   (installers.py);
4. open a listener for each `-H` and serve each one (server.py), through
   `daemon.serve_api`, which a later chapter may replace;
5. wait for SIGTERM or SIGINT, then shut down: stop accepting, let running
   requests finish (`--shutdown-timeout`), remove the unix sockets and the
   pidfile, and exit 0. A second signal cuts what is left at once.
"""

from __future__ import annotations

import os
import select
import signal
import sys
import threading
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from logging import Logger
from pathlib import Path
from socket import socket
from types import ModuleType

import minidock
from minidock.chapters import selected_chapter
from minidock.daemon.config import MIN_API_VERSION, ConfigError, DaemonConfig, parse_config
from minidock.daemon.installers import Daemon, InstallerError, argument_adders, find_installers, run_installers
from minidock.daemon.log import setup_logging
from minidock.daemon.pidfile import PidFile, PidFileError
from minidock.server import listeners, system
from minidock.server.http import Limits
from minidock.server.request import Request
from minidock.server.response import ResponseWriter
from minidock.server.router import Handler, Router
from minidock.server.routes import ROUTES
from minidock.server.server import Server, address_of

SERVER_HEADER = f"minidock/{minidock.__version__} (linux)"
DATA_ROOT_LOCK = "minidockd.pid"  # the data root's own pidfile (see take_pidfiles)


class StartupError(RuntimeError):
    """The daemon cannot start; the message is printed as dockerd prints its own."""


# --8<-- [start:common_headers]
def common_headers(api_version: str) -> Callable[[], dict[str, str]]:
    """The headers on every response, errors included: the CLI reads the API version
    and the OS from whatever the daemon answers (docker-api.md §3.5)."""
    headers = {
        "Api-Version": api_version,
        "Docker-Experimental": "false",
        "Ostype": "linux",
        "Server": SERVER_HEADER,
    }
    return lambda: dict(headers)
# --8<-- [end:common_headers]


# --8<-- [start:request_log]
def with_request_log(dispatch: Handler, logger: Logger) -> Handler:
    """moby's debug middleware: under `-D`, one line per request before it is routed."""

    def logged(request: Request, response: ResponseWriter) -> None:
        logger.debug("Calling %s %s", request.method, request.target)
        dispatch(request, response)

    return logged
# --8<-- [end:request_log]


def make_root(path: Path, logger: Logger) -> None:
    """Create a state directory, mode 0700. An existing one is left as it is (it could be a
    directory the user shares, such as /tmp): only a warning if others may read it."""
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise StartupError(f"failed to create {path}: {exc.strerror}") from None
    if not path.is_dir():
        raise StartupError(f"failed to create {path}: it exists and is not a directory")
    if path.stat().st_mode & 0o077:
        logger.warning("%s can be read by other users: minidock keeps its state there", path)


def take_pidfiles(config: DaemonConfig, stack: ExitStack) -> None:
    """One daemon per pidfile (dockerd's rule) and one per data root (ours: two daemons
    on one data root would corrupt each other's state, whatever `-p` each was given)."""
    paths = [config.pidfile, config.data_root / DATA_ROOT_LOCK]
    if paths[0].resolve() == paths[1].resolve():
        paths = paths[:1]
    for path in paths:
        pidfile = PidFile(path)
        try:
            pidfile.acquire()
        except PidFileError as exc:
            raise StartupError(f"failed to start daemon: {exc}") from None
        stack.callback(pidfile.release)


@dataclass
class Listener:
    """One listening socket, and the socket file to remove at shutdown (unix:// only)."""

    sock: socket
    address: str  # as `API listen on` names it, like dockerd: a path, or host:port
    socket_file: tuple[str, int, int] | None = None  # path, st_dev, st_ino of the file we made

    def remove_socket_file(self) -> None:
        """Remove our socket file - if it is still ours (no other daemon replaced it)."""
        if self.socket_file is None:
            return
        path, dev, ino = self.socket_file
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            return
        if (st.st_dev, st.st_ino) == (dev, ino):
            listeners.unlink_socket(path)


# --8<-- [start:open_listeners]
def open_listeners(config: DaemonConfig, logger: Logger, stack: ExitStack) -> list[Listener]:
    """A listening socket for each `-H`; any failure names the address and stops the start."""
    opened = []
    for host in config.hosts:
        try:
            sockets = listeners.listen(host, group=config.group, logger=logger)
        except listeners.ListenError as exc:
            raise StartupError(f"failed to load listeners: {exc}") from None
        except OSError as exc:
            raise StartupError(f"failed to load listeners: cannot listen on {host}: {exc.strerror or exc}") from None
        for sock in sockets:
            stack.callback(sock.close)
            listener = Listener(sock, address_of(sock).removeprefix("unix://").removeprefix("tcp://"))
            if host.proto == "unix":  # fd:// sockets belong to whoever made them (systemd)
                st = os.lstat(host.address)
                listener.socket_file = (host.address, st.st_dev, st.st_ino)
                stack.callback(listener.remove_socket_file)
            opened.append(listener)
    return opened
# --8<-- [end:open_listeners]


# --8<-- [start:signals]
class Signals:
    """SIGTERM and SIGINT, delivered to the main thread, which sleeps until one comes.

    A signal interrupts whichever thread the kernel picks, but Python runs
    its handlers only in the main thread, between two bytecodes: a main
    thread asleep in `Event.wait()` may never get to run one. So the main
    thread sleeps in `select()` on a pipe, and `signal.set_wakeup_fd` makes
    the interpreter write each signal's number into that pipe, from any
    thread: the classic self-pipe trick. Other threads may wake the sleeper
    too (`wake()`), with a zero byte."""

    def __init__(self) -> None:
        self._read, self._write = os.pipe()
        os.set_blocking(self._read, False)
        os.set_blocking(self._write, False)

    def install(self) -> None:
        signal.set_wakeup_fd(self._write, warn_on_full_buffer=False)
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda signum, frame: None)  # the pipe tells; the default would kill us

    def wake(self) -> None:
        try:
            os.write(self._write, b"\0")
        except BlockingIOError:
            pass  # the pipe is full: the sleeper wakes anyway

    def wait(self) -> list[int]:
        """Sleep until a signal or a wake(); the signals that came, in order."""
        select.select([self._read], [], [])
        try:
            data = os.read(self._read, 256)
        except BlockingIOError:
            return []
        return [signum for signum in data if signum]


def signal_name(signum: int) -> str:
    return {signal.SIGTERM: "terminated", signal.SIGINT: "interrupt"}.get(signum, str(signum))
# --8<-- [end:signals]


# --8<-- [start:shutdown]
def shut_down(server: Server, timeout: float, signals: Signals, logger: Logger) -> int:
    """Let running requests finish (up to `timeout`) while listening for a second
    signal, which means "do not wait": then every connection is cut. The exit status:
    0 after a graceful shutdown, 128 + the signal after a forced one (as a shell says)."""
    done = threading.Event()

    def graceful() -> None:
        try:
            server.shutdown(timeout)
        finally:
            done.set()
            signals.wake()

    threading.Thread(target=graceful, name="shutdown", daemon=True).start()
    while not done.is_set():
        for signum in signals.wait():
            logger.info("Processing signal '%s'", signal_name(signum))
            logger.warning("Forced shutdown: running requests are cut")
            server.shutdown(0)  # the second call: every connection is cut now
            return 128 + signum
    return 0
# --8<-- [end:shutdown]


# --8<-- [start:main]
def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        installers = find_installers()
        config = parse_config(argv, extensions=argument_adders(installers))
    except (ConfigError, InstallerError) as exc:
        print(f"minidockd: {exc}", file=sys.stderr)
        return 1
    if config.options.version:
        print(f"minidockd version {minidock.__version__}, API {config.api_version} (minimum {MIN_API_VERSION})")
        return 0
    logger = setup_logging(config.debug)
    signals = Signals()
    signals.install()  # from here on, a SIGTERM during start-up stops the daemon once it is up
    with ExitStack() as stack:
        try:
            server = start(config, installers, logger, stack)
        except (StartupError, InstallerError) as exc:
            print(exc, file=sys.stderr)
            return 1
        while not (received := signals.wait()):
            pass
        first, *more = received
        logger.info("Processing signal '%s'", signal_name(first))
        if more:  # a second signal came with the first one: no patience at all
            logger.info("Processing signal '%s'", signal_name(more[0]))
            server.shutdown(0)
            status = 128 + more[0]
        else:
            status = shut_down(server, config.shutdown_timeout, signals, logger)
        # Leaving the `with` runs the installers' shutdown callbacks, removes the unix
        # socket files, then the pidfiles: the reverse of the order they were made.
    logger.info("Daemon shutdown complete")
    return status
# --8<-- [end:main]


# --8<-- [start:start]
def start(config: DaemonConfig, installers: list[ModuleType], logger: Logger,
          stack: ExitStack) -> Server:
    """Everything between the flags and `API listen on`; each step registers its undoing on `stack`."""
    logger.info("Starting up")
    for root in (config.exec_root, config.data_root):
        make_root(root, logger)
    take_pidfiles(config, stack)

    facts = system.DaemonFacts(data_root=config.data_root, engine_id=system.load_engine_id(config.data_root),
                               api_version=config.api_version, min_api_version=MIN_API_VERSION,
                               debug=config.debug)
    router = Router(ROUTES, system.handlers_for(facts), max_version=config.api_version,
                    min_version=MIN_API_VERSION)
    daemon = Daemon(config=config, router=router, logger=logger,
                    data_root=config.data_root, exec_root=config.exec_root, facts=facts)
    stack.callback(run_shutdown_callbacks, daemon)
    run_installers(installers, daemon)
    logger.info("minidock daemon", extra={"fields": {
        "api-version": config.api_version, "chapter": selected_chapter() or "all",
        "installers": ",".join(m.__name__.rpartition(".")[2] for m in installers) or "none",
        "version": minidock.__version__}})

    opened = open_listeners(config, logger, stack)
    server = Server(with_request_log(router, logger), limits=Limits(), logger=logger,
                    common_headers=common_headers(config.api_version))
    stack.callback(server.shutdown, 0)  # (after a graceful shutdown: cuts what a handler still holds)
    try:
        daemon.serve_api(server, [listener.sock for listener in opened])  # installers.serve_each, or a chapter's
    except Exception as exc:
        raise StartupError(f"failed to serve the API: {exc}") from exc
    logger.info("Daemon has completed initialization")
    for listener in opened:
        logger.info("API listen on %s", listener.address)
    return server
# --8<-- [end:start]


def run_shutdown_callbacks(daemon: Daemon) -> None:
    """The installers' clean-ups, last installed first; one failing does not stop the others."""
    for callback in reversed(daemon.shutdown_callbacks):
        try:
            callback()
        except Exception:  # noqa: BLE001 - log and go on: the daemon is stopping anyway
            daemon.logger.exception("shutdown callback %r failed", callback)
