"""One registry, one session: where it is, how to reach it, and who we are to it.

Transport. We use the standard library's `http.client` (not chapter 01's
small client): a registry lives on the network, behind TLS more often than
not, and `http.client` + `ssl` give certificate verification we should not
hand-roll. One connection per request, like dockerd's transfers, so three
layers can stream at once from three threads without sharing a socket.

Scheme. HTTPS with certificate verification, always - except for a
registry on this machine (`localhost`, `127.0.0.0/8`, `::1`) or one the
daemon was started with `--insecure-registry`, which get plain HTTP.
(dockerd tries TLS first and falls back; a teaching daemon that must work
offline against `127.0.0.1:5000` is clearer saying it once, here.)

Auth. A request that gets `401` is answered once: the challenge is parsed
(`auth.py`), a Basic header or a Bearer token for the request's scope is
obtained, and the request is sent again. Tokens are kept per scope, so the
next request of the same pull carries its token from the start.
"""

from __future__ import annotations

import http.client
import ipaddress
import ssl
import threading
import urllib.parse
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import BinaryIO

from minidock.registry.client.auth import Challenge, Credentials, parse_challenges, token_from_body, token_url
from minidock.registry.errors import RegistryError, Unauthorized, error_from_body

DOCKER_HUB = "docker.io"
DOCKER_HUB_ENDPOINT = "registry-1.docker.io"  # where docker.io's V2 API really is
TIMEOUT = 60.0          # a read that stalls this long is a dead transfer
CONNECT_TIMEOUT = 5.0   # a registry that does not answer a connect (or TLS handshake) in 5 s is down
MAX_REDIRECTS = 5
USER_AGENT = "minidock/0.1 (registry client)"


class RegistryUnreachable(RegistryError):
    """The registry could not be reached at all (DNS, refused, TLS): dockerd says `Get "url": ...`."""
    code, status, default_message = "UNREACHABLE", 500, "registry unreachable"


def is_local(host: str) -> bool:
    """`localhost`, 127.0.0.0/8 and ::1 (with or without a port): plain HTTP is acceptable there."""
    name = host.rsplit(":", 1)[0] if host.count(":") == 1 or host.startswith("[") else host
    name = name.strip("[]")
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def base_url(host: str, insecure: Iterable[str] = ()) -> str:
    """The V2 API's root for a registry host: `http://127.0.0.1:5000` or `https://registry-1.docker.io`."""
    if host == DOCKER_HUB:
        host = DOCKER_HUB_ENDPOINT
    scheme = "http" if is_local(host) or host in set(insecure) else "https"
    return f"{scheme}://{host}"


@dataclass
class Response:
    """A response whose body has not been read yet: read it, stream it, or close it."""

    status: int
    headers: http.client.HTTPMessage
    raw: http.client.HTTPResponse
    connection: http.client.HTTPConnection
    url: str

    def header(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name, default)

    def read(self, limit: int | None = None) -> bytes:
        """The whole body (at most `limit` bytes: a manifest cannot be 1 GB)."""
        try:
            return self.raw.read() if limit is None else self.raw.read(limit + 1)
        except (OSError, http.client.HTTPException) as exc:
            raise RegistryUnreachable(f"reading {self.url}: {exc!r}") from None
        finally:
            self.close()

    def chunks(self, size: int = 1 << 16) -> Iterable[bytes]:
        try:
            while chunk := self.raw.read(size):
                yield chunk
            # http.client's read(n) returns b"" on a connection closed early, however many bytes
            # Content-Length promised: a short body must be told apart from a complete one here.
            if self.raw.length:
                raise RegistryUnreachable(f"reading {self.url}: connection closed with {self.raw.length} "
                                          "bytes still to come (unexpected EOF)")
        except (OSError, http.client.HTTPException) as exc:  # a dropped connection, a short body
            raise RegistryUnreachable(f"reading {self.url}: {exc!r}") from None
        finally:
            self.close()

    def close(self) -> None:
        self.connection.close()

    def error(self) -> RegistryError:
        """This (error) response as the registry's error code."""
        return error_from_body(self.status, self.read(64 * 1024))


class Session:
    """Requests to one registry, authenticated as needed. Thread-safe: share it among a pull's workers."""

    def __init__(self, host: str, *, insecure: Iterable[str] = (), credentials: Credentials | None = None,
                 timeout: float = TIMEOUT, ssl_context: ssl.SSLContext | None = None) -> None:
        self.host = host
        self.base = base_url(host, insecure)
        self.credentials = credentials
        self.timeout = timeout
        self.ssl_context = ssl_context or ssl.create_default_context()
        self._tokens: dict[str, str] = {}  # scope -> "Bearer …" or "Basic …"
        self._lock = threading.Lock()

    def _connect(self, url: str) -> tuple[http.client.HTTPConnection, str]:
        parts = urllib.parse.urlsplit(url)
        connection: http.client.HTTPConnection
        if parts.scheme == "https":
            connection = http.client.HTTPSConnection(parts.netloc, timeout=self.timeout, context=self.ssl_context)
        elif parts.scheme == "http":
            connection = http.client.HTTPConnection(parts.netloc, timeout=self.timeout)
        else:
            raise RegistryUnreachable(f"unsupported URL scheme in {url!r}")
        target = parts.path or "/"
        return connection, target + (f"?{parts.query}" if parts.query else "")

    def _send(self, method: str, url: str, headers: Mapping[str, str], body: bytes | BinaryIO | None) -> Response:
        connection, target = self._connect(url)
        try:
            # Connect with a short timeout (an unreachable mirror or an offline Docker Hub must
            # fail fast, not hang the pull), then read with the patient one.
            connection.timeout = min(CONNECT_TIMEOUT, self.timeout)
            connection.connect()
            if connection.sock is not None:
                connection.sock.settimeout(self.timeout)
            connection.request(method, target, body=body, headers={"User-Agent": USER_AGENT, **headers})
            raw = connection.getresponse()
        except (OSError, http.client.HTTPException) as exc:
            connection.close()
            raise RegistryUnreachable(f'{method} "{url}": {exc}') from None
        return Response(raw.status, raw.headers, raw, connection, url)

    # --8<-- [start:request]
    def request(self, method: str, path_or_url: str, *, scope: str = "", headers: Mapping[str, str] | None = None,
                body: bytes | BinaryIO | None = None, ok: tuple[int, ...] = (200,)) -> Response:
        """Send a request; answer one auth challenge; follow redirects (blob storage often is elsewhere).

        A status outside `ok` becomes the registry's error (`ManifestUnknown`, `BlobUnknown`, ...)."""
        url = urllib.parse.urljoin(self.base + "/", path_or_url)
        headers = dict(headers or {})
        for _ in range(MAX_REDIRECTS):
            same_host = urllib.parse.urlsplit(url).netloc == urllib.parse.urlsplit(self.base).netloc
            with self._lock:
                authorization = self._tokens.get(scope) if same_host else None
            sent = {**headers, **({"Authorization": authorization} if authorization else {})}
            response = self._send(method, url, sent, body)
            if response.status == 401 and same_host:
                challenge_header = response.header("WWW-Authenticate", "")
                error = response.error()
                if not self._answer_challenge(challenge_header or "", scope, authorization):
                    raise error
                if hasattr(body, "seek"):
                    body.seek(0)  # type: ignore[union-attr]
                continue  # once more, with the new Authorization
            if response.status in (301, 302, 303, 307, 308) and method in ("GET", "HEAD"):
                location = response.header("Location")
                response.close()
                if not location:
                    raise RegistryUnreachable(f"{method} {url}: redirect without Location")
                url = urllib.parse.urljoin(url, location)  # credentials stay with the registry's host
                continue
            if response.status not in ok:
                raise response.error() if method != "HEAD" else _head_error(response)
            return response
        raise RegistryUnreachable(f"{method} {url}: too many redirects or auth rounds")
    # --8<-- [end:request]

    def _answer_challenge(self, header: str, scope: str, tried: str | None) -> bool:
        """Get an Authorization for `scope` from the challenge; False if we have nothing new to offer."""
        challenges = {c.scheme: c for c in parse_challenges(header)}
        authorization: str | None = None
        if "bearer" in challenges and "realm" in challenges["bearer"].params:
            authorization = "Bearer " + self._fetch_token(challenges["bearer"], scope)
        elif "basic" in challenges and self.credentials:
            authorization = self.credentials.basic()
        if authorization is None or authorization == tried:
            return False
        with self._lock:
            self._tokens[scope] = authorization
        return True

    def _fetch_token(self, challenge: Challenge, scope: str) -> str:
        url = token_url(challenge, [part for part in scope.split(" ") if part])
        headers = {"Authorization": self.credentials.basic()} if self.credentials else {}
        response = self._send("GET", url, headers, None)
        body = response.read(1 << 20)
        if response.status == 401:
            raise Unauthorized("unauthorized: incorrect username or password")
        if response.status != 200:
            raise Unauthorized(f"token server {challenge.params['realm']} answered {response.status}")
        try:
            return token_from_body(body)
        except ValueError as exc:
            raise Unauthorized(str(exc)) from None

    def ping(self) -> None:
        """`GET /v2/`: is this a V2 registry, and does it want credentials right away?"""
        self.request("GET", "/v2/").read(4096)


def _head_error(response: Response) -> RegistryError:
    """A HEAD has no body: its status alone says what went wrong."""
    from minidock.registry import errors

    response.close()
    by_status: dict[int, type[RegistryError]] = {401: errors.Unauthorized, 403: errors.Denied,
                                                  429: errors.TooManyRequests}
    error = by_status.get(response.status, RegistryError)(f"HEAD {response.url}: status {response.status}")
    error.status = response.status
    return error
