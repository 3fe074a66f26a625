"""The Engine: job names mapped to handlers, and the jobs running now."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from typing import Any, BinaryIO, Protocol

from minidock.engine.env import Env
from minidock.engine.errors import DuplicateHandler, EngineShutdown
from minidock.engine.job import Handler, Job


class Installer(Protocol):
    """A component that installs itself on an engine by registering its jobs
    (Docker's `engine.Installer`: `registry.NewService().Install(eng)`)."""

    def install(self, engine: Engine) -> None: ...


# --8<-- [start:engine]
class Engine:
    """The engine runs jobs by name, as a shell runs commands found on its `$PATH`.

    Components do not call each other: they register handlers under job
    names (`create`, `image_inspect`, `allocate_interface` ...) and ask the
    engine for a job by name. So the daemon is a set of small programs that
    a later chapter can add to - a name nobody registered is a job that
    fails with status 127, and its caller decides what absent means. The
    engine also knows which jobs are running, so that a shutdown can refuse
    new work and wait for the work in progress."""

    def __init__(self, logger: logging.Logger | None = None, debug: bool = False) -> None:
        self.logger = logger or logging.getLogger("minidock.engine")
        self.debug = debug  # trace every job as `+job` / `-job` lines
        self._handlers: dict[str, Handler] = {}
        self._catchall: Handler | None = None
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)  # notified when a job finishes
        self._running: set[Job] = set()
        self._shutting_down = False
    # --8<-- [end:engine]

    # --8<-- [start:engine_register]
    def register(self, name: str, handler: Handler) -> None:
        """Serve the job `name` with `handler(job) -> int | None`. A name has one handler."""
        if not name:
            raise ValueError("a job needs a name")
        with self._lock:
            if name in self._handlers:
                raise DuplicateHandler(name)
            self._handlers[name] = handler

    def register_catchall(self, handler: Handler) -> None:
        """Serve every job that has no handler of its own (it reads `job.name`)."""
        self._catchall = handler

    def has(self, name: str) -> bool:
        """Is a handler registered under this very name (the catch-all does not count)?"""
        return name in self._handlers

    def names(self) -> list[str]:
        return sorted(self._handlers)

    def handler_for(self, name: str) -> Handler | None:
        """The handler that runs job `name`: its own, else the catch-all, else None."""
        handler = self._handlers.get(name)
        if handler is None and name:
            handler = self._catchall
        return handler

    def install(self, installer: Installer) -> None:
        """Let a component register its jobs."""
        installer.install(self)
    # --8<-- [end:engine_register]

    # --8<-- [start:engine_job]
    def job(self, name: str, *args: str, env: Env | Mapping[str, Any] | None = None,
            stdin: BinaryIO | bytes | None = None) -> Job:
        """A new job, ready to run: `engine.job("create", env={"Image": "busybox"}).run()`.
        Like `exec.Command` in Go, making a job starts nothing."""
        return Job(self, name, args, env=env, stdin=stdin)
    # --8<-- [end:engine_job]

    # -- what Job.run tells the engine ------------------------------------------------

    def job_started(self, job: Job, *, nested: bool) -> None:
        """Count `job` as running, unless the engine is shutting down. A job that a
        running job starts (`nested`) is still allowed: it is part of work in progress."""
        with self._lock:
            if self._shutting_down and not nested:
                raise EngineShutdown(job.name)
            self._running.add(job)

    def job_finished(self, job: Job) -> None:
        with self._lock:
            self._running.discard(job)
            self._changed.notify_all()

    # --8<-- [start:job_log]
    def trace(self, depth: int, message: str) -> None:
        """Under `--debug`, one line per job start and end, indented by nesting:
        the log shows the tree of jobs one request causes."""
        if self.debug:
            self.logger.debug("%s%s", "  " * depth, message)
    # --8<-- [end:job_log]

    @property
    def running(self) -> list[Job]:
        with self._lock:
            return list(self._running)

    @property
    def shutting_down(self) -> bool:
        return self._shutting_down

    # --8<-- [start:engine_shutdown]
    def shutdown(self, timeout: float = 10.0) -> bool:
        """Refuse new jobs from now on, and wait up to `timeout` seconds for the running
        ones to finish. True if they all did. (Docker 1.x waited 5 s, then went on.)"""
        deadline = time.monotonic() + timeout
        with self._lock:
            self._shutting_down = True
            while self._running and (remaining := deadline - time.monotonic()) > 0:
                self._changed.wait(remaining)
            left = sorted(job.call_string() for job in self._running)
        if left:
            self.logger.warning("engine shutdown: %d job(s) still running after %gs: %s",
                                len(left), timeout, ", ".join(left))
        return not left
    # --8<-- [end:engine_shutdown]
