"""What can go wrong between the client and the daemon, as named exceptions.

The CLI turns each into docker's wording and exit status in one place
(`cli/main.py`), so no command parses error strings.
"""

from __future__ import annotations


class ClientError(Exception):
    """Any failure the client reports to the user."""


class DaemonUnreachable(ClientError):
    """Nothing answered at the address: no daemon, wrong path, refused."""

    def __init__(self, host: str, reason: str) -> None:
        super().__init__(
            f"Cannot connect to the Docker daemon at {host}. Is the docker daemon running? ({reason})"
        )
        self.host = host
        self.reason = reason


class ProtocolError(ClientError):
    """The peer spoke something that is not the HTTP we expect."""


class APIError(ClientError):
    """The daemon answered with an error status; `message` is its own text."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message

    def __str__(self) -> str:
        return f"Error response from daemon: {self.message}"


class NotFound(APIError):
    """404: no such container, image, exec, ..."""


class Conflict(APIError):
    """409: name in use, container not running, ..."""


class StreamError(ClientError):
    """An error reported inside a JSON progress stream (`errorDetail`).

    `code` is the stream's own error code (0 when it sent none): `build`
    exits with it, as docker does for a failing `RUN`.
    """

    def __init__(self, message: str, code: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


# The one place where statuses become exception classes.
STATUS_ERRORS: dict[int, type[APIError]] = {404: NotFound, 409: Conflict}


def api_error(status: int, message: str) -> APIError:
    return STATUS_ERRORS.get(status, APIError)(status, message)
