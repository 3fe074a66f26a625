"""The Docker Server box: accept connections, one thread each, requests in, replies out.

    listener --accept--> conn-N thread: read head -> dispatch(request, response) -> reply
                                        ^                                           |
                                        +------------- keep-alive ------------------+

Why a thread per connection? Docker's server is Go's `net/http`, which runs
every connection in its own goroutine: a handler simply *blocks* - on
`/wait` until a container exits, on `/events` for hours, on an attach for
as long as the container lives - and the other clients are not affected.
A Python thread is the plain equivalent: a handler is ordinary blocking
code, and nothing else in the daemon waits for it. (`docker run` needs
this: it holds `/attach` and `/wait` open on two connections while it sends
`/start` on a third.) Threads cost memory, so the limits in `http.py` make
sure no client keeps one for nothing.

The connection's thread owns its socket: only it closes the socket. Other
threads (the shutdown) may `shutdown()` it, which wakes a blocked `recv` or
`send` at once; closing a descriptor under another thread's feet could hand
its number to a new socket.
"""

from __future__ import annotations

import errno
import itertools
import logging
import os
import selectors
import signal
import socket
import threading
import time
from collections.abc import Callable

from minidock.server.errors import APIError, InternalError
from minidock.server.http import BodyReader, Limits, RequestHead, SocketReader, format_head, read_head
from minidock.server.request import Request
from minidock.server.response import ConnectionIO, ResponseWriter, encode_json

Dispatch = Callable[[Request, ResponseWriter], None]

LINGER_SECONDS = 1.0      # after an error answer, how long we read what the client still sends
LINGER_BYTES = 1024 * 1024
SHUTDOWN_GRACE = 2.0      # after cutting connections, how long we wait for their threads to notice

__all__ = ["Limits", "Server"]


# --8<-- [start:server]
class Server:
    """Serves HTTP on any number of listening sockets with one `dispatch` (the router).

    `dispatch(request, response)` answers one request through the response
    writer. What escapes it is answered here, in one place: an `APIError`
    becomes its status and `{"message": ...}`; anything else is a bug, logged
    with its traceback and answered 500. If the response had already
    started, the connection is closed instead (the client sees a cut stream).
    """

    def __init__(self, dispatch: Dispatch, *, limits: Limits | None = None,
                 logger: logging.Logger | None = None,
                 common_headers: Callable[[], dict[str, str]] | None = None) -> None:
        self.dispatch = dispatch
        self.limits = limits or Limits()
        self.logger = logger or logging.getLogger("minidock.server")
        self.common_headers = common_headers or dict
        self._listeners: list[socket.socket] = []
        self._accept_threads: list[threading.Thread] = []
        self._connections: set[_Connection] = set()
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)  # notified when a connection ends
        self._closing = False
        self._wake_r, self._wake_w = os.pipe()  # one byte here wakes every accept loop
        self._numbers = itertools.count(1)

    @property
    def connection_count(self) -> int:
        """Live connection threads (hijacked ones included)."""
        with self._lock:
            return len(self._connections)

    @property
    def addresses(self) -> list[str]:
        """What we listen on, as `-H` would spell it (`unix:///run/x.sock`, `tcp://127.0.0.1:2375`)."""
        return [address_of(listener) for listener in self._listeners]

    @property
    def closing(self) -> bool:
        return self._closing

    # --8<-- [end:server]

    def serve(self, listener: socket.socket) -> None:
        """Start accepting on a listening socket (in a thread of its own; returns at once)."""
        with self._lock:
            if self._closing:
                raise RuntimeError("the server is shutting down")
            listener.setblocking(False)  # accept only after select says so; never block in it
            self._listeners.append(listener)
            thread = threading.Thread(target=self._accept_loop, args=(listener,),
                                      name=f"accept-{address_of(listener)}", daemon=True)
            self._accept_threads.append(thread)
        start_without_signals(thread)

    # --8<-- [start:accept_loop]
    def _accept_loop(self, listener: socket.socket) -> None:
        with selectors.DefaultSelector() as selector:
            selector.register(listener, selectors.EVENT_READ)
            selector.register(self._wake_r, selectors.EVENT_READ)
            while not self._closing:
                ready = {key.fileobj for key, _ in selector.select()}
                if self._wake_r in ready or self._closing:
                    self._close_backlog(listener)
                    return
                try:
                    sock, peer = listener.accept()
                except (BlockingIOError, InterruptedError, ConnectionAbortedError):
                    continue  # the client gave up between select and accept
                except OSError as exc:
                    if exc.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                        self.logger.error("accept on %s: %s; retrying", address_of(listener), exc.strerror)
                        time.sleep(0.1)  # out of descriptors: let some connections end (Go does the same)
                        continue
                    if not self._closing:
                        self.logger.error("accept on %s failed: %s", address_of(listener), exc)
                    return
                self._start_connection(sock, peer)

    @staticmethod
    def _close_backlog(listener: socket.socket) -> None:
        """At shutdown: connections the kernel completed but we never accepted get a clean
        end of stream (closing the listener over them would reset them instead)."""
        while True:
            try:
                sock, _ = listener.accept()
            except OSError:  # BlockingIOError: the backlog is empty
                return
            sock.close()

    def _start_connection(self, sock: socket.socket, peer: object) -> None:
        sock.setblocking(True)
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # every chunk goes out when written
        with self._lock:
            if self._closing:
                sock.close()
                return
            connection = _Connection(self, sock, remote_of(sock, peer), next(self._numbers))
            self._connections.add(connection)
        threading.Thread(target=connection.run, name=f"conn-{connection.number}", daemon=True).start()
    # --8<-- [end:accept_loop]

    def _forget(self, connection: _Connection) -> None:
        with self._lock:
            self._connections.discard(connection)
            self._changed.notify_all()

    # --8<-- [start:shutdown]
    def shutdown(self, timeout: float = 10.0) -> None:
        """Stop gracefully: no new connections; idle ones closed now; running requests get
        `timeout` seconds to finish; then whatever is left (streams, hijacked
        connections, slow handlers) is cut.

        A second call (the daemon's second SIGINT) cuts every connection at once."""
        with self._lock:
            again, self._closing = self._closing, True
            everyone = list(self._connections)
            idle = [c for c in everyone if c.state == _Connection.IDLE]
            for connection in idle:
                connection.condemned = True  # it may not start another request
        if again:
            for connection in everyone:
                connection.abort()
            return
        os.write(self._wake_w, b"x")
        for thread in self._accept_threads:
            thread.join()
        for listener in self._listeners:
            listener.close()
        for connection in idle:
            connection.abort()
        self.logger.debug("shutdown: waiting up to %gs for %d connection(s)", timeout, self.connection_count)
        if not self._wait_for_connections(timeout):
            with self._lock:
                left = list(self._connections)
            self.logger.info("shutdown: closing %d connection(s) still open after %gs", len(left), timeout)
            for connection in left:
                connection.abort()
            if not self._wait_for_connections(SHUTDOWN_GRACE):
                self.logger.warning("shutdown: %d handler(s) did not return", self.connection_count)
        for fd in (self._wake_r, self._wake_w):
            try:
                os.close(fd)
            except OSError:
                pass
        self._wake_r = self._wake_w = -1

    def _wait_for_connections(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self._lock:
            while self._connections:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._changed.wait(left)
        return True
    # --8<-- [end:shutdown]


# --8<-- [start:connection]
class _Connection:
    """One client connection and the thread that serves it, request after request.

    Its state tells the shutdown what it may do: an IDLE connection (between
    requests) can be closed at once; a BUSY one is finishing a request and
    gets time; a HIJACKED one belongs to its handler until the handler returns.
    """

    IDLE, BUSY, HIJACKED = "idle", "busy", "hijacked"

    def __init__(self, server: Server, sock: socket.socket, remote: str, number: int) -> None:
        self.server = server
        self.sock = sock
        self.remote = remote
        self.number = number
        self.state = self.IDLE
        self.condemned = False  # set by the shutdown: do not start another request
        self._sock_lock = threading.Lock()
        self._closed = False
        self.unread_input = False  # the client may still be sending: linger before closing
        self.io = ConnectionIO(sock, keep_alive=lambda: not server.closing, on_hijack=self._on_hijack)

    def run(self) -> None:
        try:
            self._serve()
        except Exception:  # a bug in the server itself: log it, free the thread, keep the daemon
            self.server.logger.exception("connection %s (%s) failed", self.number, self.remote)
        finally:
            if self.unread_input:
                self._linger()
            self._close()
            self.server._forget(self)

    def _serve(self) -> None:
        reader = SocketReader(self.sock)
        limits = self.server.limits
        while self._wait_for_request(reader, limits.idle_timeout):
            try:
                head = read_head(reader, limits)
            except APIError as exc:  # not HTTP, too big, too slow: answer and hang up
                self.server.logger.debug("conn-%s (%s): bad request: %s", self.number, self.remote, exc)
                self._reply_and_linger(exc)
                return
            if head is None or not self._handle(head, reader):
                return

    def _wait_for_request(self, reader: SocketReader, idle_timeout: float) -> bool:
        """Wait (at most `idle_timeout`) for the first byte of the next request."""
        if not self._set_state(self.IDLE):
            return False
        if not reader.buffer:  # (a pipelined request may be buffered already)
            reader.set_limits(idle_timeout)
            try:
                if not reader.fill():
                    return False  # the client closed, or the shutdown closed us
            except TimeoutError:
                return False  # idle for too long: hang up without a word, as Go does
        return self._set_state(self.BUSY)

    def _set_state(self, state: str) -> bool:
        with self.server._lock:
            if self.condemned or (state == self.IDLE and self.server.closing):
                return False
            self.state = state
            return True
    # --8<-- [end:connection]

    # --8<-- [start:handle]
    def _handle(self, head: RequestHead, reader: SocketReader) -> bool:
        """Run one request through dispatch; True if the connection can carry another."""
        server, limits = self.server, self.server.limits
        body = BodyReader(reader, head, limit=limits.max_body, read_timeout=limits.read_timeout)
        request = Request.from_head(head, body, remote=self.remote, max_body=limits.max_body)
        response = ResponseWriter(self.io, request, server.common_headers)
        body.on_first_read = response.send_continue
        failed = False
        try:
            server.dispatch(request, response)
        except Exception as exc:  # noqa: BLE001 - the one place every handler error is answered
            failed = True
            if not self._answer_error(request, response, exc):
                return False
        if response.hijacked:
            return False  # HTTP is over on this connection; the handler had it until now
        self.unread_input = not body.done
        try:
            if response.open_stream is not None:
                if failed:
                    return False  # a cut stream tells the client something went wrong
                response.open_stream.close()
            if not response.started:
                response.raw(200, b"", None)  # a handler that wrote nothing: 200, empty (as in Go)
        except ConnectionError:
            return False
        if response.close_connection or self.io.failed:
            return False
        if body.done or body.drain():
            self.unread_input = False
            return True
        return False

    def _answer_error(self, request: Request, response: ResponseWriter, exc: Exception) -> bool:
        """Answer what escaped the handler; False if the connection must close."""
        logger = self.server.logger
        if self.io.failed:  # the client went away while we wrote: nobody to answer
            logger.debug("conn-%s: client %s gone during %s %s: %s",
                         self.number, self.remote, request.method, request.path, exc)
            return False
        if not isinstance(exc, APIError):
            logger.error("Handler for %s %s returned error: %s", request.method, request.path, exc, exc_info=exc)
            exc = InternalError(str(exc) or type(exc).__name__)
        elif exc.status >= 500:
            logger.error("Handler for %s %s returned error: %s", request.method, request.path, exc)
        else:
            logger.debug("Handler for %s %s returned error: %s", request.method, request.path, exc)
        if response.started:
            return response.open_stream is None and not response.hijacked and not response.close_connection
        try:
            response.error(exc)
        except ConnectionError:
            return False
        return True
    # --8<-- [end:handle]

    def _reply_and_linger(self, exc: APIError) -> None:
        """Answer a request we could not read; `run` then lingers and closes."""
        headers = [*self.server.common_headers().items(), ("Content-Type", "application/json")]
        body = encode_json({"message": exc.message})
        headers += [("Content-Length", str(len(body))), ("Connection", "close")]
        self.unread_input = True
        try:
            self.io.send(format_head(exc.status, headers) + body)
        except OSError:
            self.unread_input = False

    def _linger(self) -> None:
        """Close without losing our last answer while the client is still sending.

        Closing a socket with unread input makes the kernel send a TCP reset,
        and a reset can destroy our answer (a 413, a 431) before the client
        has read it. So: shut our side (the client sees the end of the answer),
        read and discard for a moment, then close. Go's server does the same."""
        try:
            self.sock.shutdown(socket.SHUT_WR)
            self.sock.settimeout(LINGER_SECONDS)
            deadline, skipped = time.monotonic() + LINGER_SECONDS, 0
            while skipped < LINGER_BYTES and time.monotonic() < deadline:
                data = self.sock.recv(64 * 1024)
                if not data:
                    break
                skipped += len(data)
        except OSError:
            pass

    def _on_hijack(self) -> None:
        with self.server._lock:
            self.state = self.HIJACKED

    def abort(self) -> None:
        """Called by another thread: wake this connection's blocked reads and writes, for good."""
        with self._sock_lock:
            if not self._closed:
                try:
                    self.sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def _close(self) -> None:
        with self._sock_lock:
            self._closed = True
            self.sock.close()


# --8<-- [start:signals]
# The signals a daemon acts on. Python runs signal handlers in the main thread only, but
# the kernel delivers a process's signal to *any* thread that does not block it: if a
# connection thread takes SIGTERM, the main thread, asleep in a wait, never hears of it.
PROCESS_SIGNALS = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT,
                   signal.SIGUSR1, signal.SIGUSR2, signal.SIGCHLD}


def start_without_signals(thread: threading.Thread) -> None:
    """Start `thread` with the process signals blocked, so they always reach the main thread.

    A thread inherits the signal mask of the thread that creates it: the accept
    loops start with these signals blocked, and so do the connection threads
    they start, and any thread a handler starts."""
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, PROCESS_SIGNALS)
    try:
        thread.start()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
# --8<-- [end:signals]


def address_of(listener: socket.socket) -> str:
    """A listening socket's address as `-H` spells it."""
    try:
        name = listener.getsockname()
    except OSError:
        return "closed"
    if listener.family == socket.AF_UNIX:
        if isinstance(name, bytes):  # an abstract socket: b"\0name"
            name = "@" + name[1:].decode(errors="replace")
        return f"unix://{name}"
    host, port = name[0], name[1]
    return f"tcp://[{host}]:{port}" if listener.family == socket.AF_INET6 else f"tcp://{host}:{port}"


def remote_of(sock: socket.socket, peer: object) -> str:
    """The client's address for logs and `Request.remote`: `host:port`, or `@` on a unix socket."""
    if sock.family == socket.AF_INET6 and isinstance(peer, tuple):
        return f"[{peer[0]}]:{peer[1]}"
    if sock.family == socket.AF_INET and isinstance(peer, tuple):
        return f"{peer[0]}:{peer[1]}"
    return "@"
