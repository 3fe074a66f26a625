"""The container monitor: one thread per running container (Docker 1.5's `daemon/monitor.go`).

`docker start` does not run the process itself. It hands the container to
a monitor, whose thread calls the execution driver's blocking `run` and
stays with the process until it is gone:

    start ──▶ driver.run(...) ──on_start──▶ State running, event `start`, `docker start` returns
                    │ (blocks while the process runs; output flows to the log and attachments)
                    ▼
              exit status ──▶ State exited (or restarting), event `die`
                    │
                    ├─ restart policy says yes ─▶ wait the backoff ─▶ driver.run(...) again
                    └─ otherwise ─▶ `--rm`? remove the container. The thread ends.

The caller of `start` waits only until the process has started (or failed
to): a command that is not found is an error of `docker start` itself,
with exit code 127 recorded on the container.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING

from minidock.containers.execdriver import ExitStatus, Pipes, StartedProcess, StartError

if TYPE_CHECKING:
    from minidock.containers.container import Container
    from minidock.containers.daemon import ContainerDaemon

logger = logging.getLogger("minidockd")


class ContainerMonitor:
    """Runs one container's process, and runs it again when its restart policy says so."""

    def __init__(self, daemon: ContainerDaemon, container: Container) -> None:
        self.daemon = daemon
        self.container = container
        self._started = threading.Event()
        self._error: StartError | None = None

    # --8<-- [start:start]
    def start(self) -> None:
        """Start the monitor thread; return once the process runs, raise StartError if it cannot."""
        with self.container.lock:
            self.container.monitor = self
        thread = threading.Thread(target=self._run, name=f"monitor-{self.container.id[:12]}", daemon=True)
        thread.start()
        self._started.wait()
        if self._error is not None:
            raise self._error
    # --8<-- [end:start]

    # --8<-- [start:run]
    def _run(self) -> None:
        container, daemon = self.container, self.daemon
        first = True
        try:
            while True:
                assert container.streams is not None
                stdout, stderr = container.streams.sinks()
                pipes = Pipes(container.streams.stdin, stdout, stderr)
                began = time.monotonic()
                try:
                    status = daemon.driver.run(container.id, daemon.process_config(container), pipes=pipes,
                                               on_start=lambda started, first=first: self._on_start(started, first))
                except StartError as exc:
                    self._failed(exc, first)
                    return
                except Exception as exc:  # a bug in a driver: the container must not stay "running"
                    logger.exception("container %s: the execution driver failed", container.id[:12])
                    self._failed(StartError(f"execdriver {daemon.driver.name}: {exc}", 128), first)
                    return
                container.streams.end_run()  # all output is in the log; attachments end
                if not self._exited(status, time.monotonic() - began):
                    return
                first = False
        finally:
            self._release()

    def _release(self) -> None:
        """The container has no process and no monitor any more (the caller may hold the lock)."""
        with self.container.lock:
            if self.container.monitor is self:
                self.container.monitor = None
    # --8<-- [end:run]

    def _on_start(self, started: StartedProcess, first: bool) -> None:
        container = self.container
        with container.lock:
            container.state.set_running(started.pid)
            container.terminal = started.terminal
            container.has_been_started_before = True
            container.starting = False
            self.daemon._save(container)
        self.daemon._publish(container, "start")
        if first:
            self._started.set()

    def _failed(self, exc: StartError, first: bool) -> None:
        """The process could not start: record why (ExitCode 127/126, Error), as dockerd does."""
        container = self.container
        assert container.streams is not None
        container.streams.end_run()
        with container.lock:
            container.state.set_start_failed(exc.exit_code, exc.message)
            container.starting = False
            container.terminal = None
            self.daemon._save(container)
            self._release()
            auto_remove = bool(container.host_config.get("AutoRemove")) and container.state.set_removal_in_progress()
        if not first:
            logger.error("container %s: restart failed: %s", container.id[:12], exc.message)
            self.daemon._publish(container, "die", exitCode=str(exc.exit_code))
        if auto_remove:
            self.daemon._remove_now(container)
        self._error = exc
        self._started.set()

    # --8<-- [start:exited]
    def _exited(self, status: ExitStatus, ran_for: float) -> bool:
        """Record the exit; True if the restart policy starts the process again."""
        container, daemon = self.container, self.daemon
        with container.lock:
            container.terminal = None
            manager = container.restart_manager
            if manager is None or daemon.shutting_down or container.state.removal_in_progress:
                restart, delay = False, 0.0
            else:
                restart, delay = manager.should_restart(status.exit_code, container.has_been_manually_stopped,
                                                        ran_for)
            auto_remove = False
            if restart:
                container.state.set_restarting(status.exit_code)
                container.restart_count = manager.restart_count  # type: ignore[union-attr]
            else:
                # One step, under the lock: stopped, monitor gone (a `start` may follow at
                # once), and for `--rm` the removal claimed before anyone can start it again.
                container.state.set_stopped(status.exit_code)
                self._release()
                auto_remove = bool(container.host_config.get("AutoRemove")) and \
                    container.state.set_removal_in_progress()
            daemon._save(container)
        daemon._publish(container, "die", exitCode=str(status.exit_code))
        if not restart:
            if auto_remove:
                daemon._remove_now(container)
            return False
        logger.info("container %s exited with %d: restarting in %.1fs (restart %d)", container.id[:12],
                    status.exit_code, delay, container.restart_count)
        if manager.wait(delay) and not daemon.shutting_down:  # type: ignore[union-attr]
            return True
        with container.lock:  # stopped or removed while waiting
            if container.state.restarting:
                container.state.set_stopped(container.state.exit_code)
                daemon._save(container)
            self._release()
        return False
    # --8<-- [end:exited]
