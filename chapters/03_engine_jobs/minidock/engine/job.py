"""The Job: one unit of work, run by the engine like a process is run by a shell."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, BinaryIO

from minidock.engine.env import Env
from minidock.engine.errors import JobAlreadyRun, JobNotInstalled
from minidock.engine.streams import Input, Output
from minidock.server.errors import APIError, InternalError

if TYPE_CHECKING:
    from minidock.engine.engine import Engine

Handler = Callable[["Job"], "int | None"]

# The exit statuses a job can end with, as a shell reports a command's.
STATUS_OK = 0
STATUS_ERR = 1
STATUS_NOT_FOUND = 127  # "command not found": no handler has this job's name

# How deep the current thread is in nested jobs: a handler that runs a job makes a child.
_depth = threading.local()


# --8<-- [start:job]
class Job:
    """A job is the unit of work in the engine, designed after a Unix process.

    Like a process it has a name (the program to run), arguments, an
    environment of `KEY=VALUE` strings, three standard streams, and it ends
    with an exit status: 0 for success, 1 for an error, 127 when no handler
    has that name ("command not found"). Everything the daemon does is a job,
    from serving the API to creating a container to looking up an image,
    so every piece of work goes through one door: it can be logged as a
    tree, waited for at shutdown, and a job that a later chapter brings is
    simply absent until then. Unlike a process, a failed job carries its
    error as a typed exception (`job.error`), not as its last line of stderr.
    """

    def __init__(self, engine: Engine, name: str, args: tuple[str, ...] = (),
                 env: Env | Mapping[str, Any] | None = None,
                 stdin: BinaryIO | bytes | None = None) -> None:
        for arg in args:
            if not isinstance(arg, str):
                raise TypeError(f"job {name!r}: arguments are strings, not {type(arg).__name__} ({arg!r})")
        self.engine = engine
        self.name = name
        self.args = list(args)
        self.env = env if isinstance(env, Env) else Env(env)
        self.stdin = Input(stdin)
        self.stdout = Output()
        self.stderr = Output()
        self.status: int | None = None       # set when run() returns
        self.error: BaseException | None = None
        self.duration: float | None = None   # seconds, set when run() returns
        self._started = False
    # --8<-- [end:job]

    def call_string(self) -> str:
        """`create(foo, bar)`: how the debug log names the job (Docker's CallString)."""
        return f"{self.name}({', '.join(self.args)})"

    def status_string(self) -> str:
        """`OK (0)` / `ERR (1)` (Docker's StatusString)."""
        return f"{'OK' if self.status == STATUS_OK else 'ERR'} ({self.status})"

    def __repr__(self) -> str:
        return f"<Job {self.call_string()} status={self.status}>"

    # --8<-- [start:job_run]
    def run(self) -> int:
        """Run the job's handler in this thread and return its exit status.

        A failure does not escape: it becomes the status (1, or 127 for a job
        nobody registered) and `job.error`. The engine counts the job as
        running meanwhile, so that a shutdown can wait for it."""
        if self._started:
            raise JobAlreadyRun(f"job {self.call_string()} has already run; make a new job")
        self._started = True
        depth = getattr(_depth, "value", 0)
        start = time.monotonic()
        try:
            self.engine.job_started(self, nested=depth > 0)  # refused during a shutdown
        except APIError as exc:
            self.status, self.error, self.duration = STATUS_ERR, exc, 0.0
            return self.status
        self.engine.trace(depth, f"+job {self.call_string()}")
        _depth.value = depth + 1
        try:
            handler = self.engine.handler_for(self.name)
            if handler is None:
                self.status, self.error = STATUS_NOT_FOUND, JobNotInstalled(self.name)
            else:
                self.status = exit_status(handler(self))
        except APIError as exc:  # a typed error: the job's answer, e.g. "No such container"
            self.status, self.error = STATUS_ERR, exc
        except Exception as exc:  # a bug in a handler: say where
            self.status, self.error = STATUS_ERR, exc
            self.engine.logger.error("job %s failed: %s", self.call_string(), exc, exc_info=exc)
        finally:
            _depth.value = depth
            self.duration = time.monotonic() - start
            self.engine.job_finished(self)
        why = f": {self.error}" if self.error is not None else ""
        self.engine.trace(depth, f"-job {self.call_string()} = {self.status_string()} "
                                 f"{format_duration(self.duration)}{why}")
        return self.status
    # --8<-- [end:job_run]

    def run_or_raise(self) -> Job:
        """Run, and raise the job's error if it failed (a typed error: `NotFound`,
        `Conflict`, `JobNotInstalled` ...). Returns the job, for its outputs."""
        if self.run() != STATUS_OK:
            if self.error is not None:
                raise self.error
            raise InternalError(f"job {self.call_string()} failed with status {self.status}")
        return self


def exit_status(result: object) -> int:
    """A handler's return value as an exit status: None means 0, like falling off `main`."""
    if result is None:
        return STATUS_OK
    if isinstance(result, int) and not isinstance(result, bool):
        return result
    raise TypeError(f"a job handler returns an exit status (int or None), not {result!r}")


def format_duration(seconds: float) -> str:
    """`0.4ms`, `12.3ms`, `2.05s`: short, like Go's time.Duration."""
    if seconds < 1:
        return f"{seconds * 1000:.1f}ms"
    return f"{seconds:.2f}s"
