"""Restart policies, and the manager that applies one (moby's `restartmanager`).

`docker run --restart POLICY` chooses what happens when the process exits:

* `no` (the default): nothing;
* `on-failure[:N]`: start it again if it exited non-zero, at most N times (0: no limit);
* `always`: start it again, whatever the exit code;
* `unless-stopped`: like always, except after the user stopped it.

A manual `docker stop` (or `kill`, or `rm -f`) cancels the manager: the
exit it causes is never restarted, whatever the policy. Between two
restarts the manager waits, and the wait doubles each time - 100 ms,
200 ms, 400 ms ... up to a minute - so a container that crashes at once
does not spin. A run that lasted 10 seconds or more resets the wait to
100 ms: it was healthy for a while. While it waits, the container's
status is `restarting`.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from minidock.server.errors import BadParameter

BACKOFF_START = 0.1    # seconds: the first wait
BACKOFF_MAX = 60.0     # never wait longer than this
RESET_AFTER = 10.0     # a run this long resets the backoff
POLICIES = ("no", "on-failure", "always", "unless-stopped")


# --8<-- [start:policy]
@dataclass(frozen=True)
class RestartPolicy:
    name: str = "no"
    maximum_retry_count: int = 0

    @classmethod
    def parse(cls, document: Any) -> RestartPolicy:
        """HostConfig.RestartPolicy, checked with dockerd's messages (`validateRestartPolicy`)."""
        if document in (None, {}):
            return cls()
        if not isinstance(document, dict):
            raise BadParameter("json: cannot unmarshal into Go struct field HostConfig.RestartPolicy "
                               "of type container.RestartPolicy")
        name = document.get("Name") or ""
        count = document.get("MaximumRetryCount") or 0
        if not isinstance(name, str):
            raise BadParameter(f"invalid restart policy '{name}'")
        if not isinstance(count, int) or isinstance(count, bool):
            raise BadParameter("maximum retry count must be an integer")
        if name in ("always", "unless-stopped", "no") and count != 0:
            raise BadParameter(f"maximum retry count cannot be used with restart policy '{name}'")
        if name == "on-failure" and count < 0:
            raise BadParameter("maximum retry count cannot be negative")
        if name not in ("", *POLICIES):
            raise BadParameter(f"invalid restart policy '{name}'")
        return cls(name or "no", count)

    def is_none(self) -> bool:
        return self.name == "no"

    def to_dict(self) -> dict[str, Any]:
        return {"Name": self.name, "MaximumRetryCount": self.maximum_retry_count}
# --8<-- [end:policy]


# --8<-- [start:manager]
class RestartManager:
    """Decides, after each exit, whether and when to start the process again."""

    def __init__(self, policy: RestartPolicy, restart_count: int = 0) -> None:
        self.policy = policy
        self.restart_count = restart_count
        self.backoff = 0.0
        self.canceled = False
        self._wake = threading.Event()

    def should_restart(self, exit_code: int, manually_stopped: bool, ran_for: float) -> tuple[bool, float]:
        """(restart?, seconds to wait first). Counts the restart when the answer is yes."""
        # lab 03.2: Decide whether to restart
        # hint: a cancelled manager (a manual stop) never restarts; a run of RESET_AFTER s or more resets the wait
        # hint: the wait starts at BACKOFF_START and doubles at each exit, up to BACKOFF_MAX
        # hint: on-failure:N restarts a non-zero exit at most N times (0: no limit); count in self.restart_count
        if self.canceled:
            return False, 0.0
        if ran_for >= RESET_AFTER:
            self.backoff = 0.0
        self.backoff = BACKOFF_START if self.backoff == 0 else min(self.backoff * 2, BACKOFF_MAX)
        name = self.policy.name
        if name == "always":
            restart = True
        elif name == "unless-stopped":
            restart = not manually_stopped
        elif name == "on-failure":
            limit = self.policy.maximum_retry_count
            restart = exit_code != 0 and (limit == 0 or self.restart_count < limit)
        else:
            restart = False
        if restart:
            self.restart_count += 1
        return restart, self.backoff
        # end lab 03.2

    def wait(self, delay: float) -> bool:
        """Sleep `delay` seconds; False if cancelled meanwhile (then do not restart)."""
        self._wake.wait(delay)
        return not self.canceled

    def cancel(self) -> None:
        """A manual stop, kill or removal: never restart again (until the next `docker start`)."""
        self.canceled = True
        self._wake.set()
# --8<-- [end:manager]
