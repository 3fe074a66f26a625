"""A container's state, and waiting for it to change: Docker's `container/state.go`.

The state is a handful of facts - running, paused, restarting, dead, the
pid, the last exit code, when it started and finished - plus one lock. The
lock is the container's lock: whoever changes the state holds it, and every
change that ends a run wakes the *waiters*.

A waiter is how `docker run` learns the exit status. The CLI sends
`POST /wait?condition=next-exit` *before* `POST /start`, so the wait must be
registered at once, while the container has not even started: `wait()`
returns a `WaitHandle` that is already on the list. Conditions:

* `not-running`: resolves at once if the container is not running, else at its next exit;
* `next-exit`: resolves at the next exit (or restart), whatever the state now;
* `removed`: resolves when the container is removed (`--rm` waits for this).

Any waiter also resolves when the container is removed: there is nothing
left to wait for. The result is read when the condition is met, so a
container that exits with 3 and is restarted by its policy still reports 3.
"""

from __future__ import annotations

import threading
from typing import Any

from minidock.cli.formatter import human_duration  # go-units' HumanDuration, as dockerd's `Up 5 seconds`
from minidock.containers.times import now_ns, parse_rfc3339_nano, rfc3339_nano
from minidock.server.errors import BadParameter

NOT_RUNNING = "not-running"
NEXT_EXIT = "next-exit"
REMOVED = "removed"
WAIT_CONDITIONS = (NOT_RUNNING, NEXT_EXIT, REMOVED)


# --8<-- [start:wait_handle]
class WaitHandle:
    """One `POST /wait`: resolved once, by the state change it waits for."""

    def __init__(self, condition: str) -> None:
        self.condition = condition
        self._done = threading.Event()
        self._result: dict[str, Any] | None = None
        self._cancel: Any = None  # set by State: removes us from its list

    def _resolve(self, exit_code: int, error: str) -> None:
        if self._done.is_set():
            return
        self._result = {"StatusCode": exit_code, "Error": {"Message": error} if error else None}
        self._done.set()

    def done(self) -> bool:
        return self._done.is_set()

    def result(self, timeout: float | None = None) -> dict[str, Any]:
        """`{"StatusCode": 0, "Error": None}` once resolved; TimeoutError if not within `timeout`."""
        if not self._done.wait(timeout):
            raise TimeoutError(f"container did not reach {self.condition!r} within {timeout} s")
        assert self._result is not None
        return self._result

    def cancel(self) -> None:
        """The client went away: stop waiting (dockerd answers StatusCode -1, "context canceled")."""
        if self._cancel is not None:
            self._cancel(self)
# --8<-- [end:wait_handle]


class State:
    """The facts `docker inspect` shows under `State`, with the lock that guards them.

    Docker counts a restarting container as running (`Running` and
    `Restarting` are both true): it has not finished, stop and rm must treat
    it as alive. `status()` is the one word (`running`, `exited` ...) and
    `string()` the sentence `docker ps` prints."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.cond = threading.Condition(self.lock)
        self.running = False
        self.paused = False
        self.restarting = False
        self.oom_killed = False  # no memory cgroup before chapter 07: always false
        self.removal_in_progress = False
        self.dead = False
        self.removed = False  # gone from the daemon; never written to disk
        self.pid = 0
        self.exit_code = 0
        self.error = ""
        self.started_at = 0  # ns since the epoch; 0 = never
        self.finished_at = 0
        self._waiters: list[WaitHandle] = []

    # --8<-- [start:transitions]
    def set_running(self, pid: int) -> None:
        with self.lock:
            self.running, self.paused, self.restarting, self.dead = True, False, False, False
            self.pid = pid
            self.exit_code = 0
            self.error = ""
            self.started_at = now_ns()
            self.cond.notify_all()

    def set_stopped(self, exit_code: int, error: str = "") -> None:
        """The process exited (or never started); ends `not-running` and `next-exit` waits."""
        with self.lock:
            self.running, self.paused, self.restarting = False, False, False
            self.pid = 0
            self.exit_code = exit_code
            self.error = error
            self.finished_at = now_ns()
            self._fire((NOT_RUNNING, NEXT_EXIT))

    def set_restarting(self, exit_code: int) -> None:
        """The process exited and the restart policy will start it again: still "running"."""
        with self.lock:
            self.running, self.paused, self.restarting = True, False, True
            self.pid = 0
            self.exit_code = exit_code
            self.finished_at = now_ns()
            self._fire((NOT_RUNNING, NEXT_EXIT))

    def set_start_failed(self, exit_code: int, error: str) -> None:
        """The command could not be started (127 not found, 126 not executable):
        nothing ran, so StartedAt stays what it was and `ps` still says Created."""
        with self.lock:
            self.running, self.paused, self.restarting = False, False, False
            self.pid = 0
            self.exit_code = exit_code
            self.error = error
            self._fire((NOT_RUNNING, NEXT_EXIT))

    def set_paused(self, paused: bool) -> None:
        with self.lock:
            self.paused = paused
            self.cond.notify_all()

    def set_removal_in_progress(self) -> bool:
        """Claim the removal; False if someone else already did (Docker's guard against two rm)."""
        with self.lock:
            if self.removal_in_progress:
                return False
            self.removal_in_progress = True
            return True

    def reset_removal_in_progress(self) -> None:
        with self.lock:
            self.removal_in_progress = False

    def set_dead(self) -> None:
        with self.lock:
            self.dead = True
            self.cond.notify_all()

    def set_removed(self) -> None:
        """The container is gone: every waiter resolves, whatever it waited for."""
        with self.lock:
            self.removed = True
            self.removal_in_progress = False
            self._fire(WAIT_CONDITIONS)
    # --8<-- [end:transitions]

    def _fire(self, conditions: tuple[str, ...]) -> None:
        """Resolve the waiters for `conditions`. The caller holds the lock."""
        keep = []
        for handle in self._waiters:
            if handle.condition in conditions or self.removed:
                handle._resolve(self.exit_code, self.error)
            else:
                keep.append(handle)
        self._waiters = keep
        self.cond.notify_all()

    # --8<-- [start:wait]
    def wait(self, condition: str = NOT_RUNNING) -> WaitHandle:
        """A handle that is registered before this returns, so a wait sent before
        `start` cannot miss the exit."""
        if condition in ("", None):
            condition = NOT_RUNNING
        if condition not in WAIT_CONDITIONS:
            raise BadParameter(f"invalid condition: {condition}")
        handle = WaitHandle(condition)
        with self.lock:
            if self.removed or (condition == NOT_RUNNING and not self.running):
                handle._resolve(self.exit_code, self.error)
            else:
                self._waiters.append(handle)
                handle._cancel = self._forget
        return handle
    # --8<-- [end:wait]

    def _forget(self, handle: WaitHandle) -> None:
        with self.lock:
            if handle in self._waiters:
                self._waiters.remove(handle)

    def wait_until_stopped(self, timeout: float | None) -> bool:
        """Block until the container is no longer running (restarting counts as running);
        True if it stopped within `timeout` seconds."""
        with self.lock:
            return self.cond.wait_for(lambda: not self.running or self.removed, timeout)

    # --8<-- [start:status]
    def status(self) -> str:
        """The one word: created, running, paused, restarting, removing, exited, dead."""
        with self.lock:
            if self.running:
                if self.paused:
                    return "paused"
                if self.restarting:
                    return "restarting"
                return "running"
            if self.removal_in_progress:
                return "removing"
            if self.dead:
                return "dead"
            if not self.started_at:
                return "created"
            return "exited"

    def string(self, now: int | None = None) -> str:
        """What `docker ps` prints under STATUS (moby's State.String)."""
        now = now_ns() if now is None else now
        with self.lock:
            if self.running:
                if self.paused:
                    return f"Up {human_duration((now - self.started_at) / 1e9)} (Paused)"
                if self.restarting:
                    return f"Restarting ({self.exit_code}) {human_duration((now - self.finished_at) / 1e9)} ago"
                return f"Up {human_duration((now - self.started_at) / 1e9)}"
            if self.removal_in_progress:
                return "Removal In Progress"
            if self.dead:
                return "Dead"
            if not self.started_at:
                return "Created"
            if not self.finished_at:
                return ""
            return f"Exited ({self.exit_code}) {human_duration((now - self.finished_at) / 1e9)} ago"
    # --8<-- [end:status]

    def to_dict(self) -> dict[str, Any]:
        """The `State` object of `docker inspect`."""
        with self.lock:
            return {
                "Status": self.status(), "Running": self.running, "Paused": self.paused,
                "Restarting": self.restarting, "OOMKilled": self.oom_killed, "Dead": self.dead,
                "Pid": self.pid, "ExitCode": self.exit_code, "Error": self.error,
                "StartedAt": rfc3339_nano(self.started_at), "FinishedAt": rfc3339_nano(self.finished_at),
            }

    def to_record(self) -> dict[str, Any]:
        """What config.v2.json keeps (inspect's fields plus RemovalInProgress)."""
        record = self.to_dict()
        record["RemovalInProgress"] = self.removal_in_progress
        return record

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> State:
        state = cls()
        state.running = bool(record.get("Running"))
        state.paused = bool(record.get("Paused"))
        state.restarting = bool(record.get("Restarting"))
        state.oom_killed = bool(record.get("OOMKilled"))
        state.removal_in_progress = bool(record.get("RemovalInProgress"))
        state.dead = bool(record.get("Dead"))
        state.pid = int(record.get("Pid") or 0)
        state.exit_code = int(record.get("ExitCode") or 0)
        state.error = str(record.get("Error") or "")
        state.started_at = parse_rfc3339_nano(record.get("StartedAt") or "0001-01-01T00:00:00Z")
        state.finished_at = parse_rfc3339_nano(record.get("FinishedAt") or "0001-01-01T00:00:00Z")
        return state
