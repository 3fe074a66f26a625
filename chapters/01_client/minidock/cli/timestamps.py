"""Times on the command line: `--since`/`--until` as docker accepts them.

A value is unix seconds (`1700000000` or `1700000000.5`), an RFC 3339 date
(`2026-11-28T06:24:18Z`, or just `2026-11-28`), or a duration before now
(`10m`, `1h30m`, `45s`). The daemon always gets unix seconds.
"""

from __future__ import annotations

import re
import time
from datetime import datetime, timezone

from minidock.client.errors import ClientError

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}


class TimeError(ClientError):
    """A --since/--until value in none of the accepted forms."""


def parse_time(value: str, now: float | None = None) -> str:
    """The unix-seconds string the daemon expects, for any form docker accepts."""
    now = time.time() if now is None else now
    value = value.strip()
    if re.fullmatch(r"\d+(\.\d+)?", value):
        return value
    if _DURATION.fullmatch(value) or (value and "".join(m.group(0) for m in _DURATION.finditer(value)) == value):
        seconds = sum(float(n) * _SECONDS[unit] for n, unit in _DURATION.findall(value))
        return f"{now - seconds:.9f}".rstrip("0").rstrip(".")
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise TimeError(f"invalid time {value!r}: use unix seconds, RFC 3339 (2006-01-02T15:04:05Z) or a duration (10m)") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return f"{moment.timestamp():.9f}".rstrip("0").rstrip(".")
