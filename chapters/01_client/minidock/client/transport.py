"""Dialing the daemon: a `Host` becomes a connected stream socket.

Whatever the transport, what comes back is the same thing, a connected
byte stream, and everything above it (HTTP, streams, hijacking) is shared.

* `unix://` - a path in the file system; the daemon's usual home.
* `tcp://`  - host and port; plain HTTP (no TLS in minidock).
* `fd://N`  - a socket that is already connected, inherited on descriptor N
  (a parent process, a test or a socket-activation wrapper made it). It is
  one connection; when a command needs a second one at the same time (`run`
  attaches, waits and starts on three), we dial the address the fd's peer is
  bound to, if it has one.
"""

from __future__ import annotations

import socket
import threading

from minidock.client.errors import ClientError, DaemonUnreachable
from minidock.client.hosts import Host

CONNECT_TIMEOUT = 10.0


# --8<-- [start:dialer]
class Dialer:
    """Makes connections to one daemon address."""

    def __init__(self, host: Host, timeout: float = CONNECT_TIMEOUT) -> None:
        self.host = host
        self.timeout = timeout
        self._fd_taken = False  # the inherited fd is handed out once
        self._lock = threading.Lock()

    def dial(self) -> socket.socket:
        if self.host.proto == "unix":
            return self._connect(socket.AF_UNIX, self.host.address)
        if self.host.proto == "tcp":
            return self._dial_tcp(*self.host.address)  # type: ignore[misc]
        return self._dial_fd(self.host.address)  # type: ignore[arg-type]

    def _connect(self, family: int, address) -> socket.socket:  # noqa: ANN001
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(address)
        except OSError as exc:
            sock.close()
            raise DaemonUnreachable(str(self.host), exc.strerror or str(exc)) from exc
        sock.settimeout(None)  # after connecting, reads wait as long as the daemon needs
        return sock

    def _dial_tcp(self, host: str, port: int) -> socket.socket:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except socket.gaierror as exc:
            raise DaemonUnreachable(str(self.host), exc.strerror or str(exc)) from exc
        last: DaemonUnreachable | None = None
        for family, _, _, _, address in infos:
            try:
                sock = self._connect(family, address)
            except DaemonUnreachable as exc:
                last = exc
                continue
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return sock
        assert last is not None
        raise last

    def _dial_fd(self, fd: int) -> socket.socket:
        with self._lock:
            first, self._fd_taken = not self._fd_taken, True
        try:
            inherited = socket.socket(fileno=fd)
        except OSError as exc:
            raise DaemonUnreachable(str(self.host), f"descriptor {fd}: {exc.strerror or exc}") from exc
        if inherited.type != socket.SOCK_STREAM:
            inherited.detach()
            raise ClientError(f"{self.host}: descriptor {fd} is not a stream socket")
        if first:
            return inherited
        # A second connection at once: reach the same daemon by the peer's address.
        try:
            peer = inherited.getpeername()
        except OSError:
            peer = None
        family = inherited.family
        inherited.detach()  # the first connection still owns fd N
        if not peer:
            raise ClientError(
                f"{self.host} is a single connection to an unnamed peer, and this command needs "
                "another one at the same time; use unix:// or tcp:// for it"
            )
        return self._connect(family, peer)
# --8<-- [end:dialer]
