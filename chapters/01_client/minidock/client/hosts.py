"""Where the daemon is: `-H`/`DOCKER_HOST` strings parsed into a `Host`.

Docker's client reaches its daemon in three ways (the seed's "Docker Client"
box): `unix:///path/to.sock`, `tcp://host:port` and `fd://N`. This module only
parses and checks the address; `transport.py` dials it.
"""

from __future__ import annotations

import os
import re
from collections import namedtuple

DEFAULT_UNIX_SOCKET = "/var/run/minidock.sock"
DEFAULT_HOST = f"unix://{DEFAULT_UNIX_SOCKET}"
DEFAULT_TCP_PORT = 2375  # Docker's plain-HTTP port (2376 is TLS, which we do not speak)

_HOSTNAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$")


class InvalidHost(ValueError):
    """A -H / DOCKER_HOST value that names no daemon we can dial."""


class Host(namedtuple("Host", "proto address")):
    """A parsed daemon address (a record; a namedtuple because it is on every command's start-up path).

    `proto` is "unix", "tcp" or "fd"; `address` is a socket path, a
    `(host, port)` pair or a file-descriptor number, to match the proto.
    """

    __slots__ = ()

    def __str__(self) -> str:
        if self.proto == "tcp":
            host, port = self.address  # type: ignore[misc]
            return f"tcp://{'[' + host + ']' if ':' in host else host}:{port}"
        return f"{self.proto}://{self.address}"


# --8<-- [start:parse_host]
def parse_host(value: str | None) -> Host:
    """Parse a daemon address as the docker CLI accepts it.

    `None` or "" means the default unix socket. `tcp://host` gets port 2375.
    A bare `host:port` (no scheme) is read as tcp, like docker does.
    """
    if not value:
        return Host("unix", DEFAULT_UNIX_SOCKET)
    value = value.strip()
    scheme, sep, rest = value.partition("://")
    if not sep:  # "localhost:2375" -> tcp
        scheme, rest = "tcp", value
    scheme = scheme.lower()
    if scheme == "unix":
        path = rest or DEFAULT_UNIX_SOCKET
        if not path.startswith("/"):
            raise InvalidHost(f"invalid unix socket path {path!r}: it must be absolute")
        if "\0" in path or len(path.encode()) > 107:  # sun_path holds 108 bytes with the NUL
            raise InvalidHost(f"invalid unix socket path {path!r}: too long or contains NUL")
        return Host("unix", path)
    if scheme == "tcp":
        return Host("tcp", _parse_tcp(rest, value))
    if scheme == "fd":
        if not rest.isdigit():
            raise InvalidHost(f"invalid fd address {value!r}: expected fd://N with N a descriptor number")
        return Host("fd", int(rest))
    raise InvalidHost(f"invalid bind address format: {value} (the schemes are unix://, tcp:// and fd://)")
# --8<-- [end:parse_host]


def _parse_tcp(rest: str, original: str) -> tuple[str, int]:
    # lab 01.2: Parse a tcp:// daemon address
    # hint: an IPv6 host comes in brackets ([::1]:2375); a bare host with a second colon is an error
    # hint: no port means DEFAULT_TCP_PORT (2375); a port is a number from 1 to 65535
    # hint: every refusal is an InvalidHost whose message quotes the original address
    rest = rest.rstrip("/")
    if not rest:
        raise InvalidHost(f"invalid tcp address {original!r}: no host")
    if rest.startswith("["):  # [::1]:2375
        host, bracket, tail = rest[1:].partition("]")
        if not bracket or (tail and not tail.startswith(":")):
            raise InvalidHost(f"invalid tcp address {original!r}")
        port_text = tail[1:]
    else:
        host, _, port_text = rest.partition(":")
        if ":" in port_text:
            raise InvalidHost(f"invalid tcp address {original!r}: put an IPv6 host in brackets")
        if not _HOSTNAME.match(host):
            raise InvalidHost(f"invalid tcp address {original!r}: bad host name {host!r}")
    if not host:
        raise InvalidHost(f"invalid tcp address {original!r}: no host")
    if port_text == "":
        return host, DEFAULT_TCP_PORT
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise InvalidHost(f"invalid tcp address {original!r}: bad port {port_text!r}")
    return host, int(port_text)
    # end lab 01.2


def host_from_environment(flag: str | None, environ: dict[str, str] | os._Environ[str] = os.environ) -> Host:
    """`-H` wins over `DOCKER_HOST`, which wins over the default socket."""
    return parse_host(flag or environ.get("DOCKER_HOST") or None)
