"""The user's terminal: raw mode, its size, and resize notifications.

With `-t`, the container has a pseudo-terminal, and the user's terminal must
get out of the way: in raw mode every key (ctrl-c included) goes to the
container as a byte, and echo and line editing happen over there. We must
put the terminal back however we leave, or the user's shell is left unusable.
"""

from __future__ import annotations

import fcntl
import os
import signal
import struct
import termios
import tty
from collections.abc import Callable, Iterator
from contextlib import contextmanager


@contextmanager
def raw_terminal(fd: int) -> Iterator[None]:
    """Raw mode for the duration of the block, restored on any exit."""
    if not os.isatty(fd):
        yield
        return
    saved = termios.tcgetattr(fd)
    tty.setraw(fd, termios.TCSANOW)
    try:
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def terminal_size(fd: int) -> tuple[int, int] | None:
    """(rows, columns) of the terminal on fd, or None if fd is not a terminal."""
    try:
        rows, cols, _, _ = struct.unpack("HHHH", fcntl.ioctl(fd, termios.TIOCGWINSZ, b"\0" * 8))
    except OSError:
        return None
    return (rows, cols) if rows and cols else None


@contextmanager
def on_resize(callback: Callable[[], None]) -> Iterator[None]:
    """Call `callback` on every SIGWINCH (the terminal was resized) inside the block."""
    previous = signal.signal(signal.SIGWINCH, lambda _signum, _frame: callback())
    try:
        yield
    finally:
        signal.signal(signal.SIGWINCH, previous)
