"""The engine's own errors; the errors jobs raise are the server's (`minidock.server.errors`).

A job reports failure the way a handler does: by raising a typed error
(`NotFound`, `Conflict`, `BadParameter` ...), which `Job.run` keeps in
`job.error`. Docker 1.x kept only the last line the job wrote to stderr, and
the API guessed the HTTP status from its words; here the exception object
travels intact from the job to the HTTP response.
"""

from __future__ import annotations

from minidock.server.errors import JobNotInstalled, Unavailable

__all__ = ["DuplicateHandler", "EngineShutdown", "JobAlreadyRun", "JobNotInstalled"]


class DuplicateHandler(ValueError):
    """Two components registered the same job name: a bug in the installers, caught at start-up."""

    def __init__(self, name: str) -> None:
        super().__init__(f"a handler for job {name!r} is already registered")
        self.name = name


class EngineShutdown(Unavailable):
    """The engine is shutting down and starts no new jobs (503, like dockerd while it stops)."""

    def __init__(self, name: str) -> None:
        super().__init__(f"the daemon is shutting down: job {name!r} was not started")
        self.job = name


class JobAlreadyRun(RuntimeError):
    """`run()` was called twice on one job; make a new job instead (a process runs once)."""
