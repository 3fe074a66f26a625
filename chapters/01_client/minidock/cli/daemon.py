"""`minidockd`: the daemon's command, filled in by chapter 02.

The console script exists from chapter 01 on so that the book's commands are
stable; in the chapter-1 world it says which chapter brings the daemon.
"""

from __future__ import annotations

import importlib
import sys


def main(argv: list[str] | None = None) -> int:
    try:
        daemon = importlib.import_module("minidock.daemon")
    except ModuleNotFoundError as exc:
        if exc.name != "minidock.daemon":
            raise
        print(f"minidockd: {exc}. The daemon (server and router) is built in chapter 02.", file=sys.stderr)
        return 1
    return daemon.main(sys.argv[1:] if argv is None else argv)
