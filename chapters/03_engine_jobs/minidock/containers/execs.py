"""`docker exec`: one more process in a running container (Docker's `daemon/exec`).

An exec is created (its config recorded, an ID returned), then started
once. It runs through the same execution driver as the container's main
process (`driver.exec_process`), with its own streams and no log: dockerd
does not keep exec output. Its exit code is recorded *before* its output
ends, because the CLI asks `GET /exec/<id>/json` for it the moment the
stream closes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from minidock.containers.container import Container
    from minidock.containers.execdriver import Terminal
    from minidock.containers.streams import ContainerStreams


@dataclass
class ExecConfig:
    id: str
    container: Container
    argv: list[str]
    tty: bool = False
    attach_stdin: bool = False
    attach_stdout: bool = False
    attach_stderr: bool = False
    env: list[str] = field(default_factory=list)
    working_dir: str = ""
    user: str = ""
    privileged: bool = False
    detach_keys: str = ""
    started: bool = False
    running: bool = False
    exit_code: int | None = None
    pid: int = 0
    tty_size: tuple[int, int] = (0, 0)
    terminal: Terminal | None = None
    streams: ContainerStreams | None = None

    def inspect(self) -> dict[str, Any]:
        """`GET /exec/<id>/json` (the CLI exits with ExitCode)."""
        return {
            "ID": self.id, "Running": self.running, "ExitCode": self.exit_code,
            "ProcessConfig": {"tty": self.tty, "entrypoint": self.argv[0], "arguments": self.argv[1:],
                              "privileged": self.privileged, "user": self.user},
            "OpenStdin": self.attach_stdin, "OpenStderr": self.attach_stderr, "OpenStdout": self.attach_stdout,
            "CanRemove": False, "ContainerID": self.container.id, "DetachKeys": self.detach_keys,
            "Pid": self.pid,
        }
