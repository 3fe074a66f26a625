"""The client library: the Engine API spoken over any transport.

`APIClient` is what every CLI command uses. It owns the three steps of the
client's life cycle - send the request, let the daemon process it, take the
result - and the rules that hold for every request:

* API version negotiation, as the docker CLI does it: `HEAD /_ping` first,
  read `Api-Version`, use the lower of the daemon's and ours, then send every
  request to `/vX.Y/...` (`/_ping` itself stays unversioned).
* Errors: a status >= 400 becomes an `APIError` carrying the daemon's own
  message, taken from the JSON body `{"message": ...}`.
* Connections: keep-alive, and more than one at once when a command needs it
  (`run` attaches, waits and starts on three connections).
"""

from __future__ import annotations

import json as jsonlib
import os
import threading
from collections import namedtuple
from collections.abc import Iterator
from typing import Any

from minidock.client.errors import ClientError, ProtocolError, api_error
from minidock.client.hosts import Host
from minidock.client.http import Body, Connection, Response
from minidock.client.transport import Dialer

CLIENT_API_VERSION = "1.41"  # the highest Engine API version this client speaks
FALLBACK_API_VERSION = "1.24"  # a daemon that sends no Api-Version is this old (moby's rule)
USER_AGENT = "minidock-client/0.1.0 (linux)"


def version_tuple(version: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in version.split("."))
    except ValueError:
        raise ClientError(f"bad API version {version!r}") from None


# What `HEAD /_ping` tells about the daemon.
Ping = namedtuple("Ping", "api_version os_type experimental builder_version")


# --8<-- [start:negotiate]
def negotiate(ours: str, daemons: str | None) -> str:
    """The version both sides speak: the lower of the two (docker's rule)."""
    theirs = daemons or FALLBACK_API_VERSION
    return theirs if version_tuple(theirs) < version_tuple(ours) else ours
# --8<-- [end:negotiate]


def encode_query(params: dict[str, Any] | None) -> str:
    """Query strings as the daemon expects: booleans as 1/0, None left out, lists repeated."""
    if not params:
        return ""
    pairs = []
    for key, value in sorted(params.items()):  # Go's url.Values.Encode sorts: same bytes as docker
        if value is None:
            continue
        for item in value if isinstance(value, (list, tuple)) else [value]:
            pairs.append((key, "1" if item is True else "0" if item is False else str(item)))
    # Go's url.Values.Encode: spaces as "+", everything else percent-encoded.
    return "?" + "&".join(f"{quote(k, ' ')}={quote(v, ' ')}".replace(" ", "+") for k, v in pairs) if pairs else ""


def error_message(response: Response) -> str:
    """The daemon's message: JSON `{"message"}` only when Content-Type is exactly application/json."""
    raw = response.read()
    if response.headers.get("content-type") == "application/json":
        try:
            message = jsonlib.loads(raw).get("message")
        except (ValueError, AttributeError):
            message = None
        if message:
            return str(message)
    text = raw.decode("utf-8", "replace").strip()
    return text or f"{response.status} {response.reason}".strip()


class APIClient:
    """A connection to one daemon, speaking the Engine API."""

    def __init__(self, host: Host, version: str | None = None, timeout: float | None = None) -> None:
        self.host = host
        self.dialer = Dialer(host) if timeout is None else Dialer(host, timeout)
        # DOCKER_API_VERSION pins the version: no negotiation, like the docker CLI.
        self.pinned_version = version or os.environ.get("DOCKER_API_VERSION") or None
        self._version: str | None = self.pinned_version
        self._ping: Ping | None = None
        self._idle: list[Connection] = []
        self._lock = threading.Lock()

    # -- connections ------------------------------------------------------

    def _connection(self) -> tuple[Connection, bool]:
        """An idle keep-alive connection if there is one (reused=True), else a new one."""
        with self._lock:
            while self._idle:
                conn = self._idle.pop()
                if not conn.closed:
                    return conn, True
        return self._new_connection(), False

    def _new_connection(self) -> Connection:
        conn = Connection(self.dialer.dial())
        conn.on_idle = self._release
        return conn

    def _release(self, conn: Connection) -> None:
        with self._lock:
            self._idle.append(conn)

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()

    # -- version negotiation ----------------------------------------------

    def ping(self) -> Ping:
        """`HEAD /_ping`, falling back to `GET` as the docker CLI does."""
        response = self._send("HEAD", "/_ping")
        if response.status not in (200, 500):
            response.close()
            response = self._send("GET", "/_ping")
            response.read()
        headers = response.headers
        self._ping = Ping(
            api_version=headers.get("api-version", ""),
            os_type=headers.get("ostype", ""),
            experimental=headers.get("docker-experimental", "") == "true",
            builder_version=headers.get("builder-version", ""),
        )
        if self.pinned_version is None:
            self._version = negotiate(CLIENT_API_VERSION, self._ping.api_version or None)
        return self._ping

    @property
    def version(self) -> str:
        """The negotiated API version (pings the daemon the first time)."""
        if self._version is None:
            self.ping()
        assert self._version is not None
        return self._version

    # -- requests -----------------------------------------------------------

    # --8<-- [start:send]
    def _send(self, method: str, path: str, body: Body = None, headers: dict[str, str] | None = None) -> Response:
        """Send on a pooled connection; a stale keep-alive connection is retried once on a new one."""
        all_headers = {"User-Agent": USER_AGENT, **(headers or {})}
        conn, reused = self._connection()
        try:
            return conn.request(method, path, all_headers, body)
        except (ConnectionError, ProtocolError):
            conn.close()
            # A reused connection may have been closed by the daemon while idle;
            # nothing was processed then, so one retry on a new connection is safe.
            if not reused or not isinstance(body, (bytes, type(None))):
                raise
            return self._new_connection().request(method, path, all_headers, body)

    def request(
        self,
        method: str,
        path: str,
        params: dict[str, Any] | None = None,
        *,
        json: Any = None,
        body: Body = None,
        headers: dict[str, str] | None = None,
        versioned: bool = True,
    ) -> Response:
        """One API request; raises `APIError` (with the daemon's message) on a status >= 400."""
        headers = dict(headers or {})
        if json is not None:
            body = jsonlib.dumps(json, separators=(",", ":")).encode()
            headers.setdefault("Content-Type", "application/json")
        target = (f"/v{self.version}" if versioned else "") + path + encode_query(params)
        response = self._send(method, target, body, headers)
        if response.status >= 400:
            raise api_error(response.status, error_message(response))
        return response
    # --8<-- [end:send]

    def get_json(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return _decode(self.request("GET", path, params))

    def post_json(self, path: str, params: dict[str, Any] | None = None, json: Any = None) -> Any:
        return _decode(self.request("POST", path, params, json=json))

    def stream_json(self, method: str, path: str, params: dict[str, Any] | None = None, **kwargs: Any) -> Iterator[dict]:
        """A body of one JSON object per line (progress, events), decoded as each arrives."""
        response = self.request(method, path, params, **kwargs)
        try:
            for line in response.iter_lines():
                try:
                    yield jsonlib.loads(line)
                except ValueError:
                    raise ClientError(f"bad JSON in stream: {line[:80]!r}") from None
        finally:
            response.close()

    # --8<-- [start:hijack]
    def hijack(self, path: str, params: dict[str, Any] | None = None, json: Any = None,
               content_type: str = "text/plain"):
        """Ask the daemon to turn this connection into a raw two-way byte stream.

        The request carries `Connection: Upgrade` and `Upgrade: tcp`; the daemon
        must answer `101 UPGRADED`, after which HTTP is over: the same socket
        carries the container's stdin one way and its output the other.
        """
        from minidock.client.hijack import HijackedConnection

        headers = {"Connection": "Upgrade", "Upgrade": "tcp", "Content-Type": content_type}
        body = jsonlib.dumps(json, separators=(",", ":")).encode() if json is not None else None
        if json is not None:
            headers["Content-Type"] = "application/json"
        conn = Connection(self.dialer.dial())  # never a pooled one: it will not come back
        conn.on_idle = None
        response = conn.request("POST", f"/v{self.version}{path}{encode_query(params)}", {"User-Agent": USER_AGENT, **headers}, body)
        if response.status >= 400:
            message = error_message(response)
            conn.close()
            raise api_error(response.status, message)
        if response.status != 101:
            conn.close()
            raise ClientError(f"unable to upgrade to tcp, received {response.status}")
        return HijackedConnection(conn.sock, conn.reader)
    # --8<-- [end:hijack]


def _decode(response: Response) -> Any:
    raw = response.read()
    if not raw.strip():
        return None
    try:
        return jsonlib.loads(raw)
    except ValueError:
        raise ClientError(f"the daemon sent a body that is not JSON: {raw[:80]!r}") from None


def quote_name(name: str) -> str:
    """Names in paths keep `/` and `:` (images like localhost:5001/a/b:v1)."""
    return quote(name, "/:@")


_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


def quote(text: str, safe: str) -> str:
    """Percent-encode every byte but the unreserved ones and `safe` (RFC 3986).

    `urllib.parse.quote` does the same; this keeps its import (and
    `ipaddress`'s) off the start-up path of every command.
    """
    keep = _UNRESERVED | frozenset(safe.encode())
    return "".join(chr(b) if b in keep else f"%{b:02X}" for b in text.encode())
