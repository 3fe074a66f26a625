"""Times as the Engine API writes them.

Inside the daemon a time is an integer of nanoseconds since the epoch
(`time.time_ns()`), 0 meaning "never". On the wire it is one of:

* RFC 3339 with nanoseconds, Go's `time.RFC3339Nano`, trailing zeros of the
  fraction dropped: `2026-11-28T06:24:56.113801018Z` (inspect, the json-file log);
  the zero time is Go's `0001-01-01T00:00:00Z`;
* the same with always nine digits (`RFC3339NanoFixed`), for `logs --timestamps`,
  so that the columns line up;
* integer unix seconds in list endpoints (`Created` in `ps`, `time` in events).
"""

from __future__ import annotations

import calendar
import re
import time

ZERO_TIME = "0001-01-01T00:00:00Z"
NANOS = 1_000_000_000


def now_ns() -> int:
    return time.time_ns()


def _base(ns: int) -> tuple[str, int]:
    seconds, nanos = divmod(ns, NANOS)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)), nanos


def rfc3339_nano(ns: int) -> str:
    """Go's RFC3339Nano in UTC; 0 is the zero time."""
    if not ns:
        return ZERO_TIME
    base, nanos = _base(ns)
    fraction = f"{nanos:09d}".rstrip("0")
    return f"{base}.{fraction}Z" if fraction else f"{base}Z"


def rfc3339_nano_fixed(ns: int) -> str:
    """RFC3339NanoFixed: always nine digits (the prefix `logs --timestamps` writes)."""
    base, nanos = _base(ns)
    return f"{base}.{nanos:09d}Z"


_RFC3339 = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$")


def parse_rfc3339_nano(text: str) -> int:
    """The inverse of `rfc3339_nano` (any offset accepted); ValueError for anything else."""
    if text == ZERO_TIME:
        return 0
    match = _RFC3339.match(text)
    if not match:
        raise ValueError(f"not an RFC 3339 time: {text!r}")
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    seconds = calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0))
    offset = match.group(8)
    if offset != "Z":
        sign = 1 if offset[0] == "+" else -1
        seconds -= sign * (int(offset[1:3]) * 3600 + int(offset[4:6]) * 60)
    return seconds * NANOS + int((match.group(7) or "0").ljust(9, "0"))


def seconds_to_ns(seconds: float) -> int:
    """A query's unix seconds (`since=1700000000.5`) as nanoseconds; 0 stays 0."""
    return int(round(seconds * NANOS)) if seconds else 0
