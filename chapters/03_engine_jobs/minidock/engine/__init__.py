"""The Engine box (chapter 03): every piece of work is a job.

Chapter 02's server routes each request to a job name - `create`, `start`,
`logs` - and until now nothing answered to those names. This chapter adds
the engine that does, the way Docker 1.x was built:

* `job.py` - `Job`, designed after a Unix process: a name, arguments, an
  environment, stdin/stdout/stderr, and an exit status (0, 1, 127);
  failures travel as typed exceptions in `job.error`.
* `env.py` - `Env`, the job's `KEY=VALUE` environment with typed accessors
  (bool, int, list, JSON, sub-environment) that decode a request's JSON body.
* `streams.py` - `Output`, which copies a job's output to any number of
  destinations (an HTTP response and a buffer at once), and `Input`.
* `engine.py` - `Engine`: handlers registered by name, `engine.job(name,
  *args)`, installers, and a shutdown that waits for running jobs.
* `serveapi.py` - serving the API is itself a job: `serveapi`, then
  `acceptconnections`.

See it work: with `--debug`, the daemon logs the tree of jobs each request
causes (`+job create(...)` ... `-job create(...) = OK (0) 1.2ms`):

    MINIDOCK_CHAPTER=3 minidockd --debug -H unix:///tmp/m.sock
    docker -H unix:///tmp/m.sock run --rm busybox echo hi
"""

from minidock.engine.engine import Engine, Installer
from minidock.engine.env import Env
from minidock.engine.errors import DuplicateHandler, EngineShutdown, JobAlreadyRun, JobNotInstalled
from minidock.engine.job import STATUS_ERR, STATUS_NOT_FOUND, STATUS_OK, Handler, Job
from minidock.engine.streams import Input, Output

__all__ = [
    "STATUS_ERR", "STATUS_NOT_FOUND", "STATUS_OK", "DuplicateHandler", "Engine", "EngineShutdown", "Env",
    "Handler", "Input", "Installer", "Job", "JobAlreadyRun", "JobNotInstalled", "Output",
]
