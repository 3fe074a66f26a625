"""`Cli`: what every command gets - the streams and a lazily made API client.

The client is made on first use, so commands that never talk to the daemon
(`doctor`, `--help`) do not dial it.
"""

from __future__ import annotations

import sys
from typing import IO, TextIO

from minidock.client.api import APIClient
from minidock.client.hosts import Host


class UsageError(Exception):
    """Wrong command-line use: docker prints it with a hint and exits 125."""

    def __init__(self, message: str, command: str | None = None) -> None:
        super().__init__(message)
        self.command = command


class StatusError(Exception):
    """Exit with `status` after printing `message` (if any) - docker's cli.StatusError."""

    def __init__(self, status: int, message: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class Cli:
    """The command's context: where the daemon is, and the three standard streams."""

    def __init__(self, host: Host, out: TextIO | None = None, err: TextIO | None = None,
                 in_: TextIO | None = None) -> None:
        self.host = host
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self.in_ = in_ or sys.stdin
        self._client: APIClient | None = None

    @property
    def client(self) -> APIClient:
        if self._client is None:
            self._client = APIClient(self.host)
        return self._client

    @property
    def out_bytes(self) -> IO[bytes]:
        """stdout as bytes, for container output that is not text."""
        self.out.flush()
        return self.out.buffer  # type: ignore[return-value]

    @property
    def err_bytes(self) -> IO[bytes]:
        self.err.flush()
        return self.err.buffer  # type: ignore[return-value]

    def print(self, text: str = "") -> None:
        self.out.write(text + "\n")

    def warn(self, text: str) -> None:
        self.err.write(text + "\n")
        self.err.flush()

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
