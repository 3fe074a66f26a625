"""The execution driver seam: what runs a container's process (Docker's `daemon/execdriver`).

Docker 1.5's daemon never started a process itself. It handed a `Command`
to an *execdriver* - `native` (libcontainer) or `lxc` - through a small
interface: `Run` (blocks until the process exits), `Exec`, `Kill`, `Pause`,
`Unpause`, `Terminate`, `Clean`, `Name`, `Info`, `GetPidsForContainer`, `Stats`.
Which driver ran was a daemon setting, and the rest of the daemon could not
tell them apart.

minidock keeps that seam. Drivers are registered by name in `DRIVERS`:

* chapter 03: `host` (`host.py`) - the process is a plain host process,
  run as `nobody` in a scratch directory: no isolation at all;
* chapter 06 registers `rootfs` (the image's rootfs, still unisolated);
* chapter 07 registers `native` (namespaces and cgroups, our libcontainer).

A driver is anything with the methods of `Driver` below. `run` is the
plainer of the two shapes Docker had: it blocks until the process exits,
copying its output into the sinks as it comes, and calls `on_start` once
the process is running (that is when `docker start` may answer 204).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol


class DriverError(Exception):
    """Driver registry errors (duplicate or unknown name)."""


# --8<-- [start:start_error]
class StartError(Exception):
    """The process could not be started. `exit_code` is what Docker records
    (127: command not found, 126: not executable), `message` dockerd's words:
    `OCI runtime create failed: ... exec: "nosuch": executable file not found in $PATH: unknown`.
    The CLI maps the words back to its exit status (127 / 126 / 125)."""

    def __init__(self, message: str, exit_code: int = 128) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code
# --8<-- [end:start_error]


# --8<-- [start:process_config]
@dataclass
class ProcessConfig:
    """What to run: Docker's `execdriver.ProcessConfig` plus the bits of `Command` we need."""

    argv: list[str]                     # Path and Args: entrypoint + cmd
    env: list[str] = field(default_factory=list)  # KEY=VALUE, exactly what the process gets
    working_dir: str = ""               # inside the container's filesystem ("" = its root)
    user: str = ""                      # Config.User (the host driver cannot honour it: see host.py)
    tty: bool = False
    open_stdin: bool = False
    console_size: tuple[int, int] = (0, 0)   # (height, width) of the pty, when tty
    hostname: str = ""
# --8<-- [end:process_config]


class InputPipe(Protocol):
    """Where stdin comes from (`streams.StdinPipe`)."""

    def read(self, timeout: float | None = None) -> bytes | None: ...


class OutputPipe(Protocol):
    """Where output goes (`streams.OutputSink`): to the log and the attachments."""

    def write(self, data: bytes) -> None: ...

    def close(self) -> None: ...


@dataclass
class Pipes:
    """The process's three streams, as Docker's `execdriver.Pipes`. With a TTY
    everything the process writes arrives on `stdout` (a pty has one output)."""

    stdin: InputPipe | None
    stdout: OutputPipe
    stderr: OutputPipe


@dataclass(frozen=True)
class ExitStatus:
    exit_code: int            # the exit code, or 128 + the signal that ended the process
    signal: int | None = None
    oom_killed: bool = False


class Terminal(Protocol):
    def resize(self, height: int, width: int) -> None: ...


@dataclass
class StartedProcess:
    """What `on_start` is told: the pid, and the terminal to resize (None without a TTY)."""

    pid: int
    terminal: Terminal | None = None


OnStart = Callable[[StartedProcess], None]


# --8<-- [start:driver]
class Driver(Protocol):
    """The execution driver interface (Docker 1.5's `execdriver.Driver`)."""

    name: str

    def run(self, container_id: str, process: ProcessConfig, *, pipes: Pipes,
            on_start: OnStart) -> ExitStatus:
        """Start the container's main process and block until it has exited and its
        output is read to the end. Raises StartError if it cannot start."""
        ...

    def exec_process(self, container_id: str, process: ProcessConfig, *, pipes: Pipes,
                     on_start: OnStart) -> ExitStatus:
        """Run one more process in a running container (`docker exec`); blocks like `run`."""
        ...

    def kill(self, pid: int, sig: int) -> None:
        """Send `sig` to the process `pid` started (and to its process group)."""
        ...

    def pause(self, container_id: str) -> None: ...

    def unpause(self, container_id: str) -> None: ...

    def terminate(self, container_id: str) -> None:
        """Kill every process of the container now (SIGKILL), e.g. at removal."""
        ...

    def clean(self, container_id: str) -> None:
        """Remove what the driver kept for the container (Docker's `Clean`), at removal."""
        ...

    def get_pids(self, container_id: str) -> list[int]:
        """Every live pid of the container (`docker top`); GetPidsForContainer."""
        ...

    def info(self, container_id: str) -> dict[str, Any]: ...

    def stats(self, container_id: str) -> dict[str, Any]: ...
# --8<-- [end:driver]


# --8<-- [start:registry]
DRIVERS: dict[str, Callable[..., Driver]] = {}


def register_driver(name: str, factory: Callable[..., Driver]) -> None:
    """Make `name` available to `new_driver`; a name can be registered once."""
    if name in DRIVERS:
        raise DriverError(f"execdriver {name!r} is already registered")
    DRIVERS[name] = factory


def new_driver(name: str, **options: Any) -> Driver:
    """A driver by name, built with `options` (exec_root, logger ...)."""
    try:
        factory = DRIVERS[name]
    except KeyError:
        known = ", ".join(sorted(DRIVERS)) or "none"
        raise DriverError(f"unknown execdriver {name!r} (registered: {known})") from None
    return factory(**options)
# --8<-- [end:registry]
