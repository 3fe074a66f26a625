"""What a handler receives: one request, with checked ways to read its parts.

A handler never parses bytes itself. It asks the request: `param("all")`,
`bool_param("stream")`, `int_param("tail", -1)`, `json_body()`,
`body_reader()`. Each helper checks its input and raises `BadParameter`
(400, with a message saying what was wrong) instead of letting a
`ValueError` escape as a 500: hostile or merely sloppy input is the
client's error, and the client should be told which.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from minidock.server.errors import BadParameter
from minidock.server.http import BodyReader, Headers, RequestHead

_REQUIRED: Any = object()


# --8<-- [start:request]
@dataclass
class Request:
    """One API request, as the router and the handlers see it.

    `path` is the URL path, percent-decoded (`/images/my%2Fimage/json` ->
    `/images/my/image/json`: docker's names contain `/`). `vars` are the path
    variables of the matched route (`{"name": "web"}`) and `api_version` the
    negotiated version; the router sets both. `remote` is the peer
    (`127.0.0.1:51234`, or `@` for a unix socket, as Go writes it).
    """

    method: str
    target: str
    headers: Headers
    body: BodyReader
    remote: str = ""
    version: str = "HTTP/1.1"
    keep_alive: bool = True  # what the client asked for (Connection: close / keep-alive)
    path: str = ""
    query: dict[str, list[str]] = field(default_factory=dict)
    vars: dict[str, str] = field(default_factory=dict)
    api_version: str = ""
    max_body: int | None = None  # the server's Limits.max_body: the default cap of every body read

    @classmethod
    def from_head(cls, head: RequestHead, body: BodyReader, *, remote: str = "",
                  max_body: int | None = None) -> Request:
        parts = urlsplit(head.target)
        return cls(method=head.method, target=head.target, headers=head.headers, body=body, remote=remote,
                   version=head.version, keep_alive=head.keep_alive, path=unquote(parts.path),
                   query=parse_qs(parts.query, keep_blank_values=True), max_body=max_body)

    # -- query parameters ---------------------------------------------------------
    def param(self, name: str, default: str | None = None) -> str | None:
        """The last value of query parameter `name` (Go's `r.Form.Get` takes the first; the
        CLI never repeats a scalar parameter), or `default` if it is absent."""
        values = self.query.get(name)
        return values[-1] if values else default

    def bool_param(self, name: str, default: bool = False) -> bool:
        """A boolean query parameter as the clients send them: 1/0, true/false, True/False.

        Absent or empty is `default`; anything else is a 400, not a silent False."""
        value = self.param(name)
        if value is None or value == "":
            return default
        if value in ("1", "true", "True"):
            return True
        if value in ("0", "false", "False"):
            return False
        raise BadParameter(f"invalid boolean value {value!r} for query parameter {name!r}: use 1/0 or true/false")

    def int_param(self, name: str, default: int) -> int:
        """An integer query parameter; absent or empty is `default`, garbage is a 400."""
        value = self.param(name)
        if value is None or value == "":
            return default
        try:
            return int(value, 10)
        except ValueError:
            raise BadParameter(f"invalid value {value!r} for query parameter {name!r}: not an integer") from None

    # -- the body -------------------------------------------------------------------
    @property
    def has_body(self) -> bool:
        return self.body.chunked or self.body.length > 0

    def body_reader(self, max_size: int | None = _REQUIRED) -> BodyReader:
        """The body as a stream (`.read(n)`), for uploads handled piece by piece.

        Capped at the server's `max_body` unless the handler says otherwise:
        a route that takes image tarballs (`load`, `build`, `import`, archive
        uploads) passes `max_size=None` and streams them to disk."""
        self.body.limit = self.max_body if max_size is _REQUIRED else max_size
        return self.body

    def read_body(self, max_size: int | None = _REQUIRED) -> bytes:
        """The whole body in memory (capped: a 413 beyond the limit)."""
        return self.body_reader(max_size).read()

    def json_body(self, default: Any = _REQUIRED) -> Any:
        """The body decoded as JSON, after moby's `CheckForJSON`.

        A body must come with `Content-Type: application/json` (parameters
        such as `; charset=utf-8` are fine); no body and no Content-Type is
        allowed, and gives `default` - or a 400 if the handler gave none.
        Bad JSON is a 400 that quotes the decoder."""
        content_type = self.headers.get("content-type", "")
        if content_type or self.has_body:
            mime = content_type.split(";", 1)[0].strip().lower()
            if mime != "application/json":
                raise BadParameter(f"Content-Type specified ({content_type}) must be 'application/json'")
        raw = self.read_body()
        if not raw.strip():
            if default is _REQUIRED:
                raise BadParameter("invalid JSON: got EOF while reading request body")
            return default
        try:
            return json.loads(raw)
        except UnicodeDecodeError as exc:
            raise BadParameter(f"invalid JSON: the body is not UTF-8 ({exc.reason})") from None
        except json.JSONDecodeError as exc:
            raise BadParameter(f"invalid JSON: {exc}") from None
# --8<-- [end:request]
