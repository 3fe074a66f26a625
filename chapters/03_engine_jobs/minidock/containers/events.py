"""The events bus: what `docker events` shows, as dockerd's `daemon/events` keeps it.

Every change the daemon makes to a container is published as an event
(`create`, `start`, `die`, `destroy` ...). The bus keeps the last
`HISTORY` events in a ring buffer, so a subscriber can ask for the past
(`--since`), and hands each new event to every live subscriber.

A subscriber has its own bounded queue: a slow `docker events` client must
not hold up the daemon, so a subscriber whose queue is full is closed (its
iteration ends) instead of blocking `publish`, and the daemon logs it.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Iterator
from typing import Any

from minidock.server.errors import BadParameter

HISTORY = 1024          # dockerd keeps 256; a little more costs nothing here
SUBSCRIBER_QUEUE = 4096

# The filter keys dockerd accepts for /events (plus `name`, which we add: a
# container's name, as `container=` also matches).
EVENT_FILTERS = frozenset({"container", "daemon", "event", "image", "label", "network", "node", "plugin",
                           "scope", "service", "type", "volume", "config", "secret", "name"})

Event = dict[str, Any]


# --8<-- [start:make_event]
def make_event(kind: str, action: str, actor_id: str, attributes: dict[str, str],
               *, origin: str = "", at_ns: int | None = None) -> Event:
    """An event in dockerd's JSON shape. Container and image events also carry
    the pre-1.22 fields `status`, `id` and `from`, which the CLI still reads."""
    now = time.time_ns() if at_ns is None else at_ns
    event: Event = {}
    if kind in ("container", "image"):
        event["status"] = action
        event["id"] = actor_id
        if origin:
            event["from"] = origin
    event.update({"Type": kind, "Action": action, "Actor": {"ID": actor_id, "Attributes": dict(attributes)},
                  "scope": "local", "time": now // 1_000_000_000, "timeNano": now})
    return event
# --8<-- [end:make_event]


def validate_filters(filters: dict[str, list[str]] | None) -> dict[str, list[str]]:
    filters = {k: list(v) for k, v in (filters or {}).items() if v}
    for key in filters:
        if key not in EVENT_FILTERS:
            raise BadParameter(f"Invalid filter '{key}'")
    return filters


def _fuzzy(values: list[str], text: str) -> bool:
    """moby's FuzzyMatch: equal, or a prefix of it (IDs are typed short)."""
    return any(text == v or (text and text.startswith(v)) for v in values)


# --8<-- [start:matches]
def matches(event: Event, filters: dict[str, list[str]]) -> bool:
    """Does `event` pass every filter? Within one key the values are alternatives (OR);
    across keys they must all hold (AND), as in dockerd."""
    kind = event.get("Type", "")
    actor = event.get("Actor", {})
    attributes = actor.get("Attributes", {})
    if "type" in filters and kind not in filters["type"]:
        return False
    if "event" in filters:
        action = event.get("Action", "")
        # `exec_start: sh -c ...` is matched by `exec_start` (moby issue 25798).
        if action not in filters["event"] and action.split(":", 1)[0] not in filters["event"]:
            return False
    if "container" in filters:
        if kind != "container" or not (_fuzzy(filters["container"], actor.get("ID", ""))
                                       or attributes.get("name", "") in filters["container"]):
            return False
    if "name" in filters and attributes.get("name", "") not in filters["name"]:
        return False
    if "image" in filters:
        image = attributes.get("image", "") or event.get("from", "")
        bare = image.split(":", 1)[0] if "@" not in image else image
        if not any(v in (image, bare) or (kind == "image" and _fuzzy([v], actor.get("ID", "")))
                   for v in filters["image"]):
            return False
    for label in filters.get("label", ()):
        key, eq, value = label.partition("=")
        if key not in attributes or (eq and attributes[key] != value):
            return False
    if "scope" in filters and event.get("scope") not in filters["scope"]:
        return False
    for other in ("daemon", "network", "volume", "plugin", "node", "service", "config", "secret"):
        if other in filters and (kind != other or not _fuzzy(filters[other], actor.get("ID", ""))):
            return False
    return True
# --8<-- [end:matches]


class Subscription:
    """One `GET /events`: the past events it asked for, then live ones, until
    `until` passes or it is closed. Iterate it (blocking), or poll with `get(timeout)`."""

    def __init__(self, bus: EventBus, filters: dict[str, list[str]], until_ns: int) -> None:
        self._bus = bus
        self.filters = filters
        self.until_ns = until_ns
        self._queue: collections.deque[Event] = collections.deque()
        self._cond = threading.Condition()
        self.closed = False

    def _offer(self, event: Event) -> bool:
        """From publish (the bus lock held): queue it, or report overflow (False)."""
        if not matches(event, self.filters):
            return True
        with self._cond:
            if self.closed:
                return True
            if len(self._queue) >= SUBSCRIBER_QUEUE:
                return False
            self._queue.append(event)
            self._cond.notify_all()
        return True

    def get(self, timeout: float | None = None) -> Event | None:
        """The next event; None if none came within `timeout`; StopIteration when done."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while True:
                if self._queue:
                    event = self._queue.popleft()
                    if self.until_ns and event["timeNano"] > self.until_ns:
                        self._close_locked()
                        raise StopIteration
                    return event
                if self.closed:
                    raise StopIteration
                now_ns = time.time_ns()
                if self.until_ns and now_ns >= self.until_ns:
                    self._close_locked()
                    raise StopIteration
                waits = []
                if deadline is not None:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        return None
                    waits.append(left)
                if self.until_ns:
                    waits.append((self.until_ns - now_ns) / 1e9)
                self._cond.wait(min(waits) if waits else None)

    def __iter__(self) -> Iterator[Event]:
        while True:
            try:
                event = self.get(None)
            except StopIteration:
                return
            if event is not None:
                yield event

    def _close_locked(self) -> None:
        self.closed = True
        self._cond.notify_all()

    def close(self) -> None:
        with self._cond:
            self._close_locked()
        self._bus._unsubscribe(self)

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# --8<-- [start:bus]
class EventBus:
    """Publish events; subscribe with `since`/`until` (unix seconds) and filters."""

    def __init__(self, history: int = HISTORY, logger: logging.Logger | None = None) -> None:
        self._lock = threading.Lock()
        self._history: collections.deque[Event] = collections.deque(maxlen=history)
        self._subscribers: list[Subscription] = []
        self.logger = logger or logging.getLogger("minidockd")
        self.closed = False

    def publish(self, kind: str, action: str, actor_id: str, attributes: dict[str, str] | None = None,
                *, origin: str = "") -> Event:
        event = make_event(kind, action, actor_id, attributes or {}, origin=origin)
        with self._lock:
            self._history.append(event)
            for sub in list(self._subscribers):
                if not sub._offer(event):
                    self.logger.warning("events: subscriber too slow, %d events queued: closing it",
                                        SUBSCRIBER_QUEUE)
                    self._subscribers.remove(sub)
                    with sub._cond:
                        sub._close_locked()
        return event

    def subscribe(self, since: float | None = None, until: float | None = None,
                  filters: dict[str, list[str]] | None = None) -> Subscription:
        """Past events from `since` (if given), then live ones until `until` (if given)."""
        filters = validate_filters(filters)
        since_ns = int(since * 1e9) if since else 0
        until_ns = int(until * 1e9) if until else 0
        if since_ns and until_ns and until_ns < since_ns:
            raise BadParameter(f"`since` time ({since}) cannot be after `until` time ({until})")
        sub = Subscription(self, filters, until_ns)
        with self._lock:
            if since is not None and since_ns:
                for event in self._history:
                    if event["timeNano"] >= since_ns and (not until_ns or event["timeNano"] <= until_ns):
                        sub._offer(event)
            if self.closed or (until_ns and until_ns <= time.time_ns()):
                with sub._cond:          # only the past was asked for
                    sub._close_locked()  # the queued history is still delivered
            else:
                self._subscribers.append(sub)
        return sub

    def close(self) -> None:
        """The daemon is stopping: every subscription ends (after what it has queued)."""
        with self._lock:
            self.closed = True
            subscribers, self._subscribers = self._subscribers, []
        for sub in subscribers:
            with sub._cond:
                sub._close_locked()

    def history(self) -> list[Event]:
        with self._lock:
            return list(self._history)

    def _unsubscribe(self, sub: Subscription) -> None:
        with self._lock:
            if sub in self._subscribers:
                self._subscribers.remove(sub)
# --8<-- [end:bus]
