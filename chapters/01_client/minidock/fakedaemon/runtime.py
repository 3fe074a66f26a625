"""Fake processes: a program from programs.py running in a thread, with stdio, a terminal and signals.

No host process is ever started. A `Process` has what the daemon deals
with when it runs a real one: a pid, stdin, stdout and stderr, maybe a
terminal (with a size, echo and line editing), signals (TERM, KILL, INT ...),
a paused state, and an exit status (128 + N after signal N, as a shell
reports it).

The program's side of it is a `Context`: what a process sees of the world -
its arguments, environment, working directory, files, stdio. Programs block
only in `Context.read`, `readline` and `sleep`, and those wake up for
signals, so `docker stop` and `docker kill` interrupt any of them.
"""

from __future__ import annotations

import dataclasses
import itertools
import signal as _signal
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from minidock.fakedaemon.filetree import FileTree

SIGINT, SIGKILL, SIGTERM = 2, 9, 15
# Signals whose default action is to do nothing (signal(7)); STOP/TSTP are treated alike.
IGNORED_BY_DEFAULT = {17, 18, 19, 20, 21, 22, 23, 28}

_pids = itertools.count(1000)


def parse_signal(text: str) -> int:
    """`SIGTERM`, `TERM`, `term` or `15` -> 15, as `docker kill --signal` accepts them."""
    text = text.strip()
    if text.isdigit():
        number = int(text)
        if 0 < number < 65:
            return number
        raise ValueError(text)
    name = text.upper()
    name = name if name.startswith("SIG") else "SIG" + name
    try:
        return int(_signal.Signals[name])
    except KeyError:
        raise ValueError(text) from None


class Killed(Exception):
    """Raised inside a program when a signal it does not handle arrives."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


class ProcessIO:
    """The kernel's side of one fake process: pending signals, stdin bytes, paused or not.

    One condition variable guards it all, so a program blocked reading stdin
    wakes up for a signal as well as for input.
    """

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.stdin: deque[bytes] = deque()  # b"" in the queue is one end-of-file (a tty's ^D)
        self.stdin_closed = False
        self.pending: set[int] = set()
        self.paused = False

    def deliver(self, signum: int) -> None:
        with self.cond:
            if signum == 18:  # CONT also resumes a stopped process
                self.paused = False
            if signum not in IGNORED_BY_DEFAULT:
                self.pending.add(signum)
            self.cond.notify_all()

    def acknowledge(self, signum: int) -> None:
        """A handler (the interactive shell's, for INT) dealt with it."""
        with self.cond:
            self.pending.discard(signum)

    def _check_locked(self) -> None:
        if SIGKILL in self.pending:
            raise Killed(SIGKILL)
        while self.paused:
            self.cond.wait()
            if SIGKILL in self.pending:
                raise Killed(SIGKILL)
        if self.pending:
            raise Killed(min(self.pending))

    def check(self) -> None:
        """Die here if a signal is pending; wait here while paused."""
        with self.cond:
            self._check_locked()

    def sleep(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        with self.cond:
            while True:
                self._check_locked()
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return
                self.cond.wait(remaining)

    def set_paused(self, paused: bool) -> None:
        with self.cond:
            self.paused = paused
            self.cond.notify_all()

    # -- stdin ------------------------------------------------------------
    def feed(self, data: bytes) -> None:
        with self.cond:
            if not self.stdin_closed:
                self.stdin.append(data)
                self.cond.notify_all()

    def close_stdin(self) -> None:
        with self.cond:
            self.stdin_closed = True
            self.cond.notify_all()

    def read(self, size: int = 65536) -> bytes:
        """Some bytes of stdin (blocking); b"" at end of file."""
        with self.cond:
            while True:
                self._check_locked()
                if self.stdin:
                    chunk = self.stdin.popleft()
                    if len(chunk) > size:
                        self.stdin.appendleft(chunk[size:])
                        chunk = chunk[:size]
                    return chunk
                if self.stdin_closed:
                    return b""
                self.cond.wait()


class StdinReader:
    """File-like reading (read, readline) over a byte source such as `ProcessIO.read`."""

    def __init__(self, source: Callable[[int], bytes]) -> None:
        self.source = source
        self.buffer = bytearray()
        self.eof = False

    def read(self, size: int = -1) -> bytes:
        """`size` < 0: everything up to EOF; else at most `size` bytes, blocking for at least one."""
        if size < 0:
            while not self.eof:
                chunk = self.source(65536)
                if not chunk:
                    self.eof = True
                self.buffer += chunk
            data, self.buffer = bytes(self.buffer), bytearray()
            return data
        if not self.buffer and not self.eof:
            chunk = self.source(size)
            if not chunk:
                return b""
            self.buffer += chunk
        data = bytes(self.buffer[:size])
        del self.buffer[:size]
        return data

    def readline(self) -> bytes:
        while b"\n" not in self.buffer:
            chunk = self.source(65536)
            if not chunk:
                data, self.buffer = bytes(self.buffer), bytearray()
                return data
            self.buffer += chunk
        end = self.buffer.index(b"\n") + 1
        data = bytes(self.buffer[:end])
        del self.buffer[:end]
        return data


def bytes_reader(data: bytes) -> StdinReader:
    chunks = deque([data]) if data else deque()
    return StdinReader(lambda size: chunks.popleft() if chunks else b"")


class Terminal:
    """A pseudo-terminal's line discipline, in the default (canonical) mode.

    Input is collected a line at a time and echoed; Enter (`\\r`) becomes
    `\\n`; backspace and ^U edit the line; ^C sends SIGINT; ^D at the start
    of a line is end-of-file. Output `\\n` becomes `\\r\\n`. A terminal has a
    single output stream, so stderr comes out here too.
    """

    def __init__(self, io: ProcessIO, echo: Callable[[bytes], None], rows: int = 24, cols: int = 80) -> None:
        self.io = io
        self.echo_to = echo
        self.rows, self.cols = rows, cols
        self.echo = True
        self.line = bytearray()
        self.lock = threading.Lock()

    def output(self, data: bytes) -> bytes:
        return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")

    def input(self, data: bytes) -> None:
        with self.lock:
            echo = bytearray()

            def flush_echo() -> None:
                # The echo of a line goes out before the line reaches the program,
                # so it precedes the program's answer, as on a real terminal.
                if echo and self.echo:
                    self.echo_to(bytes(echo))
                echo.clear()

            for value in data:
                byte = bytes([value])
                if byte == b"\r":
                    byte = b"\n"
                if byte == b"\n":
                    echo += b"\r\n"
                    flush_echo()
                    self.io.feed(bytes(self.line) + b"\n")
                    self.line.clear()
                elif byte == b"\x03":  # ^C
                    echo += b"^C\r\n"
                    flush_echo()
                    self.line.clear()
                    self.io.deliver(SIGINT)
                elif byte == b"\x04":  # ^D
                    flush_echo()
                    self.io.feed(bytes(self.line))  # at the start of a line: b"", i.e. EOF
                    self.line.clear()
                elif byte in (b"\x7f", b"\x08"):
                    if self.line:
                        self.line.pop()
                        echo += b"\b \b"
                elif byte == b"\x15":  # ^U
                    echo += b"\b \b" * len(self.line)
                    self.line.clear()
                else:
                    self.line += byte
                    echo += byte if value >= 0x20 or byte == b"\t" else b"^" + bytes([value + 64])
            flush_echo()

    def resize(self, rows: int, cols: int) -> None:
        self.rows, self.cols = rows, cols


@dataclass
class Context:
    """What a running program sees: its argv, environment, files and stdio."""

    argv: list[str]
    env: dict[str, str]
    cwd: str
    fs: FileTree
    hostname: str
    user: str
    io: ProcessIO
    stdin: StdinReader
    out: Callable[[bytes], None]
    err: Callable[[bytes], None]
    terminal: Terminal | None = None
    interactive_tty: bool = False  # stdin is the terminal (not a pipe or a file)

    def derive(self, **changes) -> Context:  # noqa: ANN003
        return dataclasses.replace(self, **changes)

    def write(self, text: str | bytes) -> None:
        self.out(text.encode() if isinstance(text, str) else text)

    def error(self, text: str | bytes) -> None:
        self.err(text.encode() if isinstance(text, str) else text)

    def sleep(self, seconds: float) -> None:
        self.io.sleep(seconds)

    def check(self) -> None:
        self.io.check()


Program = Callable[[Context], int]


@dataclass(eq=False)  # a process is itself, not its fields: hashable, compared by identity
class Process:
    """One program run: started by `start()`, ended by its return, `exit N` or a signal."""

    argv: list[str]
    env: dict[str, str]
    cwd: str
    fs: FileTree
    hostname: str
    user: str
    tty: bool
    open_stdin: bool
    output: Callable[[int, bytes], None]  # (stream 1|2, bytes) -> the container's log / the attach
    on_exit: Callable[[Process], None] = lambda process: None
    size: tuple[int, int] = (24, 80)
    pid: int = field(default_factory=lambda: next(_pids))
    exit_code: int | None = None
    started_at: float = 0.0
    io: ProcessIO = field(default_factory=ProcessIO)
    terminal: Terminal | None = None
    done: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None

    def __post_init__(self) -> None:
        if self.tty:
            self.terminal = Terminal(self.io, lambda data: self.output(1, data), *self.size)
        if not self.open_stdin:
            self.io.close_stdin()  # stdin is /dev/null

    def _write(self, stream: int, data: bytes) -> None:
        self.io.check()  # a killed or paused process writes nothing more
        if not data:
            return
        if self.terminal is not None:
            data, stream = self.terminal.output(data), 1
        self.output(stream, data)

    def start(self, program: Program) -> None:
        self.started_at = time.time()
        self.thread = threading.Thread(target=self._run, args=(program,), name=f"fake-pid-{self.pid}", daemon=True)
        self.thread.start()

    def _run(self, program: Program) -> None:
        ctx = Context(
            argv=list(self.argv), env=dict(self.env), cwd=self.cwd, fs=self.fs, hostname=self.hostname,
            user=self.user, io=self.io, stdin=StdinReader(self.io.read),
            out=lambda data: self._write(1, data), err=lambda data: self._write(2, data),
            terminal=self.terminal, interactive_tty=self.terminal is not None,
        )
        try:
            code = program(ctx)
        except Killed as killed:
            code = 128 + killed.signum
        except Exception:  # a bug in the fake: say so loudly, as a crash would  # noqa: BLE001
            traceback.print_exc()
            code = 255
        self.exit_code = code & 0xFF
        try:
            self.on_exit(self)  # the daemon records the exit before anyone waiting sees `done`
        finally:
            self.done.set()

    # -- what the daemon does to a running process ----------------------------
    def signal(self, signum: int) -> None:
        self.io.deliver(signum)

    def feed_stdin(self, data: bytes) -> None:
        if self.terminal is not None:
            self.terminal.input(data)
        else:
            self.io.feed(data)

    def close_stdin(self) -> None:
        self.io.close_stdin()

    def resize(self, rows: int, cols: int) -> None:
        if self.terminal is not None:
            self.terminal.resize(rows, cols)
            self.io.deliver(28)  # SIGWINCH, ignored by default as the kernel would

    def set_paused(self, paused: bool) -> None:
        self.io.set_paused(paused)

    @property
    def running(self) -> bool:
        return self.thread is not None and not self.done.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        return self.done.wait(timeout)
