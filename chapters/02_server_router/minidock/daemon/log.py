"""Log lines like dockerd's, so the two daemons' logs read alike.

dockerd logs through logrus's text formatter, one event per line:

    time="2026-11-28T06:24:18.290758909Z" level=info msg="API listen on /var/run/docker.sock"

`key=value` pairs, values quoted only when they need it, the time with nine
fractional digits. We produce the same lines with the standard `logging`
module: one `Formatter`, and fields passed as `extra={"fields": {...}}`.
(The module is `log.py`, not `logging.py`, so that it does not shadow the
standard library's `logging` inside this package.)
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import TextIO

LOGGER_NAME = "minidock"

# logrus's level names (Python says "WARNING" and "CRITICAL").
LEVEL_NAMES = {
    logging.DEBUG: "debug",
    logging.INFO: "info",
    logging.WARNING: "warning",
    logging.ERROR: "error",
    logging.CRITICAL: "fatal",
}

_BARE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._/@^+")


def quote(value: object) -> str:
    """logrus's rule: bare when every character is harmless, else Go's %q (close to JSON's)."""
    text = str(value)
    if text and all(ch in _BARE for ch in text):
        return text
    return json.dumps(text, ensure_ascii=False)


def timestamp(seconds_ns: int) -> str:
    """RFC 3339 with nanoseconds, UTC, as dockerd prints it: 2026-11-28T06:24:18.290758909Z."""
    seconds, nanos = divmod(seconds_ns, 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{nanos:09d}Z"


# --8<-- [start:formatter]
class LogrusFormatter(logging.Formatter):
    """`time="…" level=info msg="…" key=value …`: one event per line, like dockerd."""

    def format(self, record: logging.LogRecord) -> str:
        parts = [
            f'time="{timestamp(int(record.created * 1_000_000_000))}"',
            f"level={LEVEL_NAMES.get(record.levelno, record.levelname.lower())}",
            f"msg={quote(record.getMessage())}",
        ]
        fields = getattr(record, "fields", None) or {}
        parts += [f"{key}={quote(value)}" for key, value in sorted(fields.items())]
        line = " ".join(parts)
        if record.exc_info:  # a bug in a handler: the traceback follows its line
            line += "\n" + self.formatException(record.exc_info)
        return line
# --8<-- [end:formatter]


def setup_logging(debug: bool = False, stream: TextIO | None = None) -> logging.Logger:
    """The daemon's logger: dockerd-like lines on stderr, debug lines only with -D."""
    logger = logging.getLogger(LOGGER_NAME)
    for handler in list(logger.handlers):  # called again (tests): one handler, not two
        if getattr(handler, "minidock", False):
            logger.removeHandler(handler)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.minidock = True  # type: ignore[attr-defined]
    handler.setFormatter(LogrusFormatter())
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG if debug else logging.INFO)
    logger.propagate = False
    return logger
