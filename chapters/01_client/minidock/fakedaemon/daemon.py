"""`FakeDaemon`: listeners, a thread per connection, version checks, routing, clean shutdown.

    with FakeDaemon(tmp_path) as daemon:
        subprocess.run(["docker", "-H", daemon.unix_host, "run", "--rm", "busybox", "echo", "hi"])
        assert ("POST", "/v1.41/containers/create") in daemon.requests

It listens on a unix socket and on 127.0.0.1 (or on the hosts you give it),
answers every request on its own thread, and on exit stops everything it
started: listeners, connections, fake processes. Nothing outlives the
`with` block.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import socket
import sys
import tempfile
import threading
import traceback
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import unquote, urlsplit

from minidock.fakedaemon import routes
from minidock.fakedaemon.lifecycle import NotModified
from minidock.fakedaemon.runtime import SIGKILL
from minidock.fakedaemon.seed import seed
from minidock.fakedaemon.state import State
from minidock.fakedaemon.wire import BadRequest, ClientGone, Conn, HTTPError, NotFound, Responder, read_request

MIN_API_VERSION = "1.24"
VERSION_PREFIX = re.compile(r"^/v(\d+)\.(\d+)(/.*)$")


def version_tuple(text: str) -> tuple[int, int]:
    major, minor = text.split(".")
    return int(major), int(minor)


class FakeDaemon:
    """A scripted Docker Engine API daemon for tests and demos (see the package docstring)."""

    def __init__(self, workdir: Path | str | None = None, api_version: str = "1.41",
                 hosts: Sequence[str] | None = None) -> None:
        self._owns_workdir = workdir is None  # a temp dir we made is ours to remove
        self.workdir = Path(workdir) if workdir is not None else Path(tempfile.mkdtemp(prefix="fakedaemon-"))
        version_tuple(api_version)  # fail early on a malformed version
        self.api_version = api_version
        self.min_api_version = MIN_API_VERSION
        self.socket_path = self.workdir / "fake.sock"
        self.hosts = list(hosts) if hosts else [f"unix://{self.socket_path}", "tcp://127.0.0.1:0"]
        self.state = State()
        seed(self.state)
        self.daemon_id = ":".join(hashlib.sha256(str(self.workdir).encode()).hexdigest()[i:i + 4].upper()
                                  for i in range(0, 48, 4))
        self.logins: dict[str, str] = {}
        self.stopping = threading.Event()
        self.unix_host = ""
        self.tcp_host = ""
        self.listening: list[str] = []
        self._requests: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        self._listeners: list[socket.socket] = []
        self._sockets: set[socket.socket] = set()
        self._threads: set[threading.Thread] = set()
        self._unix_paths: list[Path] = []

    # -- what tests look at ---------------------------------------------------
    @property
    def requests(self) -> list[tuple[str, str]]:
        """(method, path with query) of every request so far, in arrival order (a snapshot)."""
        with self._lock:
            return list(self._requests)

    def connect(self) -> socket.socket:
        """A new client socket connected to the daemon (unix if it listens there, else tcp)."""
        if self.unix_host:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.connect(self.unix_host.removeprefix("unix://"))
            return sock
        host, port = self.tcp_host.removeprefix("tcp://").rsplit(":", 1)
        return socket.create_connection((host, int(port)))

    # -- life cycle -----------------------------------------------------------
    def __enter__(self) -> FakeDaemon:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        try:
            for host in self.hosts:
                self._listen(host)
        except BaseException:
            self.stop()
            raise

    def _listen(self, host: str) -> None:
        parts = urlsplit(host)
        if parts.scheme == "unix":
            path = Path(parts.path)
            if path.exists() and path.is_socket():
                path.unlink()
            listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            listener.bind(str(path))
            self._unix_paths.append(path)
            address = f"unix://{path}"
            if not self.unix_host:
                self.unix_host = address
        elif parts.scheme == "tcp":
            listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind((parts.hostname or "127.0.0.1", parts.port or 0))
            bound_host, bound_port = listener.getsockname()[:2]
            address = f"tcp://{bound_host}:{bound_port}"
            if not self.tcp_host:
                self.tcp_host = address
        else:
            raise ValueError(f"unsupported host {host!r}: use unix:///path or tcp://host:port")
        listener.listen(64)
        listener.settimeout(0.2)  # so the accept loop notices `stopping`
        self._listeners.append(listener)
        self.listening.append(address)
        self._spawn(self._accept_loop, listener, name=f"fake-accept-{address}")

    def _spawn(self, target, *args, name: str) -> None:  # noqa: ANN001
        thread = threading.Thread(target=self._run_tracked, args=(target, *args), name=name, daemon=True)
        with self._lock:
            self._threads.add(thread)
        thread.start()

    def _run_tracked(self, target, *args) -> None:  # noqa: ANN001
        try:
            target(*args)
        finally:
            with self._lock:
                self._threads.discard(threading.current_thread())

    def _accept_loop(self, listener: socket.socket) -> None:
        while not self.stopping.is_set():
            try:
                sock, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            sock.settimeout(None)
            with self._lock:
                if self.stopping.is_set():
                    sock.close()
                    return
                self._sockets.add(sock)
            self._spawn(self._serve_connection, sock, name="fake-conn")

    def stop(self) -> None:
        """Stop listening, end every connection, kill every fake process, wait for our threads."""
        self.stopping.set()
        for listener in self._listeners:
            try:
                listener.shutdown(socket.SHUT_RDWR)  # wakes a blocked accept() at once (Linux)
            except OSError:
                pass
            listener.close()
        with self.state.lock:
            processes = [c.process for c in self.state.containers.values() if c.process and c.process.running]
            processes += [e.process for e in self.state.execs.values() if e.process and e.process.running]
            processes += list(self.state.other_processes)
            for container in self.state.containers.values():
                container.manually_stopped = True
                container.log.close()
            self.state.notify()
        for process in processes:
            process.signal(SIGKILL)
        with self._lock:
            sockets = list(self._sockets)
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for process in processes:
            process.wait(2)
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            if thread is not threading.current_thread():
                thread.join(5)
        for path in self._unix_paths:
            try:
                path.unlink()
            except FileNotFoundError:
                pass
        self._listeners.clear()
        if self._owns_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    # -- one connection ---------------------------------------------------------
    def _base_headers(self) -> dict[str, str]:
        return {"Api-Version": self.api_version, "Docker-Experimental": "false", "Ostype": "linux",
                "Server": "minidock-fake/0.1"}

    def _serve_connection(self, sock: socket.socket) -> None:
        conn = Conn(sock)
        try:
            while not self.stopping.is_set():
                responder = Responder(conn, self._base_headers())
                try:
                    request = read_request(conn)
                except BadRequest as exc:
                    responder.close_after = True
                    try:
                        responder.send_error(400, exc.message)
                    except ClientGone:
                        pass
                    return
                if request is None:
                    return
                with self._lock:
                    self._requests.append((request.method, request.target))
                responder.head_only = request.method == "HEAD"
                if not self._dispatch(request, responder):
                    return
        finally:
            with self._lock:
                self._sockets.discard(sock)
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()

    def _dispatch(self, request, responder: Responder) -> bool:  # noqa: ANN001
        """Answer one request; True if the connection may carry another."""
        try:
            path = request.path
            versioned = VERSION_PREFIX.match(path)
            if versioned:
                wanted = (int(versioned.group(1)), int(versioned.group(2)))
                text = f"{wanted[0]}.{wanted[1]}"
                if wanted < version_tuple(self.min_api_version):
                    raise BadRequest(f"client version {text} is too old. Minimum supported API version is "
                                     f"{self.min_api_version}, please upgrade your client to a newer version")
                if wanted > version_tuple(self.api_version):
                    raise BadRequest(f"client version {text} is too new. Maximum supported API version is "
                                     f"{self.api_version}")
                request.api_version = text
                path = versioned.group(3)
            else:
                request.api_version = self.api_version
            found = routes.match(request.method, path)
            if found is None:
                raise NotFound("page not found")
            route, params = found
            request.params = {key: unquote(value) for key, value in params.items()}
            route.handler(self, request, responder)
        except NotModified:
            try:
                responder.send(304)
            except ClientGone:
                return False
        except HTTPError as exc:
            if responder.started:
                return False
            try:
                responder.send_error(exc.status, exc.message)
            except ClientGone:
                return False
        except ClientGone:
            return False
        except Exception as exc:  # a bug in the fake: answer 500 and keep serving  # noqa: BLE001
            traceback.print_exc(file=sys.stderr)
            if responder.started:
                return False
            responder.close_after = True
            try:
                responder.send_error(500, f"fake daemon error: {type(exc).__name__}: {exc}")
            except ClientGone:
                pass
            return False
        if responder.close_after:
            return False
        try:
            request.drain()
        except (HTTPError, ClientGone):
            return False
        return request.keep_alive
