"""Listening sockets for `-H`: `unix://PATH`, `tcp://HOST:PORT`, `fd://` and `fd://N`.

The client dials (chapter 01's `transport.py`); the daemon listens. Each
transport has its sharp edge, handled here:

* **unix** - the socket is a file, and whoever can open it owns the daemon
  (it runs containers as root). So it is mode 0660, group `-G` (default:
  `docker` if that group exists, else root's group), created under a umask
  that never lets it be world-accessible even for an instant. A socket file
  left by a crashed daemon is "stale": we remove it, but only if nobody
  answers on it, and only if it *is* a socket - `-H unix:///etc/passwd`
  must not delete a file.
* **tcp** - plain HTTP with no authentication: anyone who can reach the port
  is root on this machine. dockerd says so when the address is not a
  loopback one, and so do we.
* **fd** - socket activation: systemd (or any parent) opened the listening
  sockets and passed them to us as descriptors 3, 4, ...; `LISTEN_FDS` says
  how many and `LISTEN_PID` says for whom (a child that inherited the
  environment must not take them). `fd://` takes them all, `fd://N` the one
  on descriptor N; like `sd_listen_fds(1)` we unset the variables after
  reading them, so our own children do not see them.
"""

from __future__ import annotations

import grp
import ipaddress
import logging
import os
import socket
import stat
import threading
from collections.abc import MutableMapping

from minidock.client.hosts import Host, InvalidHost, parse_host

SOCKET_MODE = 0o660
DEFAULT_GROUP = "docker"
SD_LISTEN_FDS_START = 3  # systemd's convention: the first passed descriptor

_umask_lock = threading.Lock()
_log = logging.getLogger("minidock.server.listeners")


class ListenError(OSError):
    """A `-H` address the daemon cannot listen on; the message says why."""


def parse_listen_address(value: str) -> Host:
    """Parse a daemon `-H` value: the client's syntax, plus `fd://` alone (all activated sockets).

    Chapter 01's `parse_host` wants `fd://N` (a client uses one descriptor);
    a daemon may take every socket it was handed, so `fd://` is
    `Host("fd", None)` here."""
    if value.strip().lower() in ("fd://", "fd://*"):
        return Host("fd", None)
    return parse_host(value)


# --8<-- [start:listen]
def listen(host: Host, *, group: str | None = None,
           logger: logging.Logger | None = None) -> list[socket.socket]:
    """Listening sockets for one `-H` address (a list: `fd://` can stand for several)."""
    if host.proto == "unix":
        return [listen_unix(host.address, group=group, logger=logger)]
    if host.proto == "tcp":
        return [listen_tcp(*host.address, logger=logger)]
    if host.proto == "fd":
        return listen_fds(host.address)
    raise ListenError(f"cannot listen on {host}: unknown protocol {host.proto!r}")
# --8<-- [end:listen]


# --8<-- [start:listen_unix]
def listen_unix(path: str, *, group: str | None = None, logger: logging.Logger | None = None) -> socket.socket:
    """A unix socket at `path`, mode 0660, owned by `group`; a stale socket file is replaced."""
    gid = _socket_gid(group, logger or _log)
    _remove_stale_socket(path)
    parent = os.path.dirname(path)
    if parent:
        os.makedirs(parent, mode=0o755, exist_ok=True)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        # bind() creates the file with mode 0777 & ~umask. With umask 0777 it is born 0000 and
        # only then opened up to 0660 for its group: never a moment when anyone may connect.
        # (The umask is per process: a lock keeps our own threads from interleaving here.)
        with _umask_lock:
            old = os.umask(0o777)
            try:
                sock.bind(path)
            finally:
                os.umask(old)
        if gid is not None:
            os.chown(path, -1, gid)
        os.chmod(path, SOCKET_MODE)
        sock.listen(socket.SOMAXCONN)
    except OSError as exc:
        sock.close()
        raise ListenError(f"cannot listen on unix://{path}: {exc.strerror or exc}") from exc
    return sock


def _remove_stale_socket(path: str) -> None:
    """Remove a socket file nobody listens on; refuse to touch anything else."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(mode):
        raise ListenError(f"cannot listen on unix://{path}: the file exists and is not a socket; "
                          "refusing to remove it")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.settimeout(1.0)
        try:
            probe.connect(path)
        except (ConnectionRefusedError, FileNotFoundError):
            pass  # stale: its daemon is gone
        except OSError as exc:
            raise ListenError(f"cannot listen on unix://{path}: cannot tell whether a daemon uses it "
                              f"({exc.strerror or exc})") from exc
        else:
            raise ListenError(f"cannot listen on unix://{path}: another daemon is listening on it")
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _socket_gid(group: str | None, logger: logging.Logger) -> int | None:
    """The gid for the socket file: `-G` (a name or a number) must exist; without -G, `docker`
    if it exists, else root's group (0) - or, when we are not root, our own (None: unchanged)."""
    if group is not None:
        try:
            return grp.getgrnam(group).gr_gid
        except KeyError:
            if group.isdigit():
                return int(group)
            raise ListenError(f"group {group} not found: create it, or pass an existing group to -G") from None
    try:
        return grp.getgrnam(DEFAULT_GROUP).gr_gid
    except KeyError:
        logger.debug("group %s not found; the socket belongs to group %s", DEFAULT_GROUP,
                     "root" if os.geteuid() == 0 else os.getegid())
        return 0 if os.geteuid() == 0 else None


def unlink_socket(path: str) -> None:
    """Remove our socket file at shutdown (only if it still is a socket)."""
    try:
        if stat.S_ISSOCK(os.lstat(path).st_mode):
            os.unlink(path)
    except FileNotFoundError:
        pass
# --8<-- [end:listen_unix]


# --8<-- [start:listen_tcp]
def listen_tcp(host: str, port: int, *, logger: logging.Logger | None = None) -> socket.socket:
    """A TCP listener (port 0 picks a free one); a warning when it is reachable from other hosts."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise ListenError(f"cannot listen on tcp://{host}:{port}: {exc.strerror}") from exc
    family, _, _, _, address = infos[0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # restart without waiting out TIME_WAIT
        sock.bind(address)
        sock.listen(socket.SOMAXCONN)
    except OSError as exc:
        sock.close()
        raise ListenError(f"cannot listen on tcp://{host}:{port}: {exc.strerror or exc}") from exc
    if not ipaddress.ip_address(address[0].split("%")[0]).is_loopback:
        (logger or _log).warning(
            "Binding to IP address without --tlsverify is insecure and gives root access on this machine "
            "to everyone who has access to your network. host=\"tcp://%s:%s\"", host, port)
    return sock
# --8<-- [end:listen_tcp]


# --8<-- [start:listen_fds]
_activated: list[int] | None = None  # the handed-over descriptors, read once per process
_activated_lock = threading.Lock()


def activated_fds(environ: MutableMapping[str, str] = os.environ) -> list[int]:
    """The descriptors passed by socket activation (`LISTEN_PID`, `LISTEN_FDS`), read once.

    Like `sd_listen_fds(unset_environment=1)`: the variables are removed after
    the first read, and the descriptors are made close-on-exec, so neither
    reaches a process we start. (Hence the cache: a second `-H fd://4` must
    still find them.)"""
    global _activated
    with _activated_lock:
        if _activated is not None:
            return list(_activated)
        pid_text, count_text = environ.get("LISTEN_PID"), environ.get("LISTEN_FDS")
        if pid_text is None or count_text is None:
            raise ListenError("fd:// needs listening sockets handed over by socket activation, "
                              "and LISTEN_PID/LISTEN_FDS are not set: start minidockd from systemd "
                              "(a .socket unit) or use unix:// or tcp://")
        if not pid_text.strip().isdigit() or int(pid_text) != os.getpid():
            raise ListenError(f"fd://: LISTEN_PID={pid_text} names another process (this is pid {os.getpid()}): "
                              "the sockets were not handed to us")
        if not count_text.strip().isdigit():
            raise ListenError(f"fd://: invalid LISTEN_FDS={count_text!r}: expected a number")
        fds = list(range(SD_LISTEN_FDS_START, SD_LISTEN_FDS_START + int(count_text)))
        for name in ("LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"):
            environ.pop(name, None)
        for fd in fds:
            try:
                os.set_inheritable(fd, False)
            except OSError as exc:
                raise ListenError(f"fd://: LISTEN_FDS={count_text} but descriptor {fd} is not open") from exc
        _activated = fds
        return list(fds)


def listen_fds(which: int | None = None, environ: MutableMapping[str, str] = os.environ) -> list[socket.socket]:
    """The activated listening sockets: all of them (`fd://`), or the one on descriptor `which`."""
    fds = activated_fds(environ)
    if not fds:
        raise ListenError("no sockets found via socket activation (LISTEN_FDS=0): "
                          "make sure the service was started by systemd")
    if which is not None:
        if which not in fds:
            raise ListenError(f"fd://{which}: not one of the activated sockets "
                              f"(descriptors {fds[0]}..{fds[-1]})")
        fds = [which]
    return [_listening_socket(fd) for fd in fds]


def _listening_socket(fd: int) -> socket.socket:
    try:
        sock = socket.socket(fileno=fd)  # family and type are read from the descriptor
    except OSError as exc:
        raise ListenError(f"fd://{fd}: descriptor {fd} is not a socket ({exc.strerror or exc})") from exc
    try:
        listening = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN)
    except OSError:
        listening = 0
    if sock.type != socket.SOCK_STREAM or not listening:
        sock.detach()  # not ours to close
        raise ListenError(f"fd://{fd}: descriptor {fd} is not a listening stream socket")
    return sock
# --8<-- [end:listen_fds]


def reset_activation_cache() -> None:
    """Forget the activated descriptors (for tests that hand over sockets more than once)."""
    global _activated
    with _activated_lock:
        _activated = None


__all__ = ["InvalidHost", "ListenError", "activated_fds", "listen", "listen_fds", "listen_tcp", "listen_unix",
           "parse_listen_address", "unlink_socket"]
