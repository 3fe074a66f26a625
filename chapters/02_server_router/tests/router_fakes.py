"""Stand-ins for `Request` and `ResponseWriter`, for tests that call the router or a
handler directly, without a socket. They have exactly the fields those read and set."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class FakeRequest:
    """The fields of `minidock.server.request.Request` that the router reads and sets."""

    method: str
    path: str
    query: dict[str, list[str]] = field(default_factory=dict)
    vars: dict[str, str] = field(default_factory=dict)
    api_version: str = ""


@dataclass
class FakeResponse:
    """Records what a handler wrote, like `ResponseWriter` would send it."""

    headers: dict[str, str] = field(default_factory=dict)
    sent: list[tuple[str, Any]] = field(default_factory=list)

    def json(self, status: int, obj: Any) -> None:
        self.sent.append(("json", (status, obj)))

    def raw(self, status: int, data: bytes, content_type: str) -> None:
        self.sent.append(("raw", (status, data, content_type)))
