"""The registry's auth challenge, and the answers we give it.

A registry that wants credentials answers `401` with a *challenge* saying how
to authenticate (RFC 7235 syntax):

    WWW-Authenticate: Basic realm="minidock-registry"
    WWW-Authenticate: Bearer realm="https://auth.docker.io/token",service="registry.docker.io",
                      scope="repository:library/busybox:pull"

* `Basic`: send `Authorization: Basic base64(user:password)` with every request.
* `Bearer`: ask the *token server* at `realm` for a token for this `service`
  and `scope` (with Basic credentials if we have some; anonymously
  otherwise - Docker Hub gives anonymous pull tokens), then send
  `Authorization: Bearer <token>`. A token is good for its scope, so the
  session keeps one per scope.

The daemon keeps no passwords: the CLI sends them with every pull/push in
`X-Registry-Auth`, and the engine job hands them to the client as
`Credentials` (or an `auth` lookup gives them per registry host).
"""

from __future__ import annotations

import base64
import json
import re
import urllib.parse
from dataclasses import dataclass


@dataclass(frozen=True)
class Credentials:
    """What a user gave `docker login`: a username and a password (or an identity token)."""

    username: str = ""
    password: str = ""
    identitytoken: str = ""

    def basic(self) -> str:
        raw = f"{self.username}:{self.password}".encode()
        return "Basic " + base64.b64encode(raw).decode()

    def __bool__(self) -> bool:
        return bool(self.username or self.identitytoken)


@dataclass(frozen=True)
class Challenge:
    """One parsed `WWW-Authenticate` challenge: its scheme and parameters."""

    scheme: str  # lower case: "basic" or "bearer"
    params: dict[str, str]


_PARAM = re.compile(r'\s*([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,"]*))\s*,?')


# --8<-- [start:auth_challenge]
def parse_challenges(header: str) -> list[Challenge]:
    """`Bearer realm="…",service="…",scope="…"` -> [Challenge("bearer", {...})].

    One header may hold several challenges (`Basic realm="x", Bearer realm="y"`):
    a new scheme starts wherever a bare token is followed by a space."""
    challenges: list[Challenge] = []
    rest = header.strip()
    while rest:
        scheme_match = re.match(r"([A-Za-z][A-Za-z0-9_-]*)(?:\s+|$)", rest)
        if scheme_match is None:
            break
        scheme, rest = scheme_match[1].lower(), rest[scheme_match.end():]
        params: dict[str, str] = {}
        while (param := _PARAM.match(rest)) and not re.match(r"[A-Za-z][A-Za-z0-9_-]*\s+[A-Za-z]", rest):
            value = param[2] if param[2] is not None else param[3]
            params[param[1].lower()] = re.sub(r"\\(.)", r"\1", value)
            rest = rest[param.end():]
        challenges.append(Challenge(scheme, params))
        rest = rest.lstrip(", ")
    return challenges


def token_url(challenge: Challenge, scopes: list[str]) -> str:
    """The token server request for a Bearer challenge: `realm?service=…&scope=…&scope=…`.

    Our own scopes come first (the challenge's scope is only the one request that failed)."""
    query = [("service", challenge.params["service"])] if "service" in challenge.params else []
    wanted = scopes or ([challenge.params["scope"]] if "scope" in challenge.params else [])
    query += [("scope", scope) for scope in wanted]
    realm = challenge.params["realm"]
    separator = "&" if "?" in realm else "?"
    return realm + (separator + urllib.parse.urlencode(query) if query else "")


def token_from_body(body: bytes) -> str:
    """The token server's answer: `{"token": …}` (or OAuth2's `{"access_token": …}`)."""
    try:
        doc = json.loads(body)
        token = doc.get("token") or doc.get("access_token")
    except (ValueError, AttributeError):
        token = None
    if not isinstance(token, str) or not token:
        raise ValueError("the token server's answer holds no token")
    return token
# --8<-- [end:auth_challenge]


def scope_for(repository: str, actions: str) -> str:
    """`repository:test/busybox:pull,push` - what a token lets us do."""
    return f"repository:{repository}:{actions}"
