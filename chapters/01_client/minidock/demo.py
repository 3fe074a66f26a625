"""`make demo`: run the main job as far as the chapters of this world allow.

Each chapter may bring a demo as `minidock/demos/chNN.py` (a namespace folder
that spans the chapter folders, so no chapter edits another's file); the demo
of the highest chapter in the world runs. It is a story told with the real
`minidock` command: each step prints the command, then its output.
"""

from __future__ import annotations

import importlib
import pkgutil
import shlex
import subprocess
import sys
from collections.abc import Sequence

import minidock.demos


def step(title: str, argv: Sequence[str], *, host: str | None = None, check: bool = True,
         input: bytes | None = None) -> subprocess.CompletedProcess:
    """Run `minidock ARGV` the way a reader would type it, and show both."""
    command = ["minidock", *(["-H", host] if host else []), *argv]
    heading = f"\033[1m# {title}\033[0m" if sys.stdout.isatty() else f"# {title}"
    print(f"\n{heading}\n$ {shlex.join(command)}", flush=True)
    result = subprocess.run([sys.executable, "-m", "minidock", *command[1:]], input=input)
    if check and result.returncode != 0:
        raise SystemExit(f"demo step failed (exit {result.returncode}): {shlex.join(command)}")
    return result


def latest_demo() -> str:
    names = sorted(m.name for m in pkgutil.iter_modules(minidock.demos.__path__) if m.name.startswith("ch"))
    if not names:
        raise SystemExit("no demo in this chapter world")
    return names[-1]


def main() -> int:
    name = latest_demo()
    module = importlib.import_module(f"minidock.demos.{name}")
    return module.main()


if __name__ == "__main__":
    raise SystemExit(main())
