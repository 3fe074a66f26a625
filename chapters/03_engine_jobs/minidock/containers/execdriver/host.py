"""The `host` execution driver: a container's process is a plain host process.

This is chapter 03's stand-in for a real container runtime, and it is *not
isolated at all*: no namespaces, no cgroups, no rootfs of its own - those
are chapters 06 and 07. Because of that, it never runs a container's
command with the daemon's power. When the daemon is root, the child drops
to `nobody` before it executes anything:

* `setgroups([])`, `setgid(nogroup)`, `setuid(nobody)` - in that order,
  since after setuid there is no permission left to change groups
  (subprocess's `extra_groups=[]`, `group=`, `user=` do exactly this, in the
  child, between fork and exec);
* its working directory is a scratch directory of its own,
  `<exec-root>/containers/<id>/scratch` (mode 0700, owned by nobody), which
  stands in for the root filesystem chapter 06 brings (`WorkingDir /app`
  becomes `scratch/app`);
* its environment is the container's, and nothing of the daemon's.

When the daemon is not root there is nobody to drop to: the process runs as
the daemon's user, and the driver says so in the log.

Each process starts a new session (`setsid`), so it leads its own process
group: stop, kill and pause signal the whole group, and when the main
process exits the driver kills what is left of its session - on a real
container runtime the kernel does that when the pid namespace's init dies
(chapter 07). A process that starts a session of its own escapes this;
nothing short of a pid namespace catches it. The daemon makes itself a
*child subreaper*, so the orphans of a container are re-parented to it and
reaped when their session is killed, and each main process gets a parent-death
signal, so it does not outlive a daemon that was killed with SIGKILL.

One difference from Docker shows at once: here the process is not pid 1 of
its own namespace, so the kernel does not shield it from signals it has no
handler for. `sleep` dies of SIGTERM at once, where in a Docker container it
would ignore it and `docker stop` would wait for its timeout.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import logging
import os
import grp
import pwd
import selectors
import signal
import struct
import subprocess
import termios
import threading
import time
from pathlib import Path
from typing import Any

from minidock.containers.execdriver import (
    ExitStatus,
    OnStart,
    Pipes,
    ProcessConfig,
    StartedProcess,
    StartError,
    register_driver,
)

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
OUTPUT_GRACE = 2.0   # seconds to wait for output EOF after the session was killed
READ_SIZE = 32 * 1024
PR_SET_CHILD_SUBREAPER = 36


# --8<-- [start:unprivileged]
def unprivileged_ids() -> tuple[int, int]:
    """uid of `nobody` and gid of `nogroup` (Debian) or `nobody` (Fedora)."""
    uid = pwd.getpwnam("nobody").pw_uid
    for group in ("nogroup", "nobody"):
        try:
            return uid, grp.getgrnam(group).gr_gid
        except KeyError:
            continue
    return uid, pwd.getpwnam("nobody").pw_gid
# --8<-- [end:unprivileged]


def process_env(process: ProcessConfig) -> dict[str, str]:
    """Exactly the container's environment (KEY=VALUE), plus the default PATH if it has none."""
    env: dict[str, str] = {}
    for item in process.env:
        key, eq, value = item.partition("=")
        if eq:
            env[key] = value
        else:
            env.pop(key, None)  # "FOO" alone unsets FOO (Docker's ReplaceOrAppendEnvValues)
    env.setdefault("PATH", DEFAULT_PATH)
    return env


def start_error(argv0: str, exc: OSError, *, exec_: bool = False) -> StartError:
    """dockerd's (runc's) words for a command that cannot be executed."""
    if isinstance(exc, FileNotFoundError):
        code = 127
        inner = (f'exec: "{argv0}": stat {argv0}: no such file or directory' if "/" in argv0
                 else f'exec: "{argv0}": executable file not found in $PATH')
    elif isinstance(exc, PermissionError):
        code, inner = 126, f'exec: "{argv0}": permission denied'
    else:
        code, inner = 126 if exc.errno == errno.ENOEXEC else 128, f'exec: "{argv0}": {exc.strerror or exc}'
    if exec_:
        return StartError(f"OCI runtime exec failed: exec failed: unable to start container process: "
                          f"{inner}: unknown", code)
    return StartError(f"OCI runtime create failed: minidock host driver: starting container process caused: "
                      f"{inner}: unknown", code)


# --8<-- [start:proc]
def read_proc_stat(pid: int) -> tuple[str, int, int, int] | None:
    """(state, ppid, pgrp, session) from /proc/<pid>/stat, or None if it is gone.
    The command name is in parentheses and may itself contain ") ", so split at the last one."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as file:
            data = file.read()
    except OSError:
        return None
    fields = data[data.rindex(b")") + 2:].split()
    return fields[0].decode(), int(fields[1]), int(fields[2]), int(fields[3])


def session_members(sid: int) -> list[int]:
    """Every pid whose session is `sid` (zombies included)."""
    members = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            stat = read_proc_stat(int(entry))
            if stat is not None and stat[3] == sid:
                members.append(int(entry))
    return members
# --8<-- [end:proc]


class PtyTerminal:
    """The master side of a container's pseudo-terminal."""

    def __init__(self, master: int) -> None:
        self.master = master

    def resize(self, height: int, width: int) -> None:
        """TIOCSWINSZ: the kernel sends SIGWINCH to the foreground process group."""
        if height > 0 and width > 0:
            try:
                fcntl.ioctl(self.master, termios.TIOCSWINSZ, struct.pack("HHHH", height, width, 0, 0))
            except OSError:
                pass  # the pty is already closed: the process is gone


PR_SET_PDEATHSIG = 1
_libc = ctypes.CDLL(None, use_errno=True)


class ChildSetup:
    """What the child does between fork and exec, after subprocess has dropped to nobody
    (`preexec_fn` runs after setgroups/setgid/setuid, in the child):

    * `prctl(PR_SET_PDEATHSIG, SIGKILL)`: the process dies if the daemon dies - a
      container of this chapter does not outlive its daemon even when the daemon is
      SIGKILLed (its own children are not covered: the setting is not inherited);
    * with a TTY, `ioctl(TIOCSCTTY)`: after setsid, make the pty (stdin) our controlling
      terminal, so that ^C reaches us as SIGINT and a shell has job control.

    Only system calls, no locks: safe in a child forked from a threaded daemon. The
    death signal follows the *thread* that forked, and `run` blocks in that thread
    until the process is gone, so it never fires early."""

    def __init__(self, tty: bool) -> None:
        self.tty = tty

    def __call__(self) -> None:  # pragma: no cover - runs in the child
        _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if self.tty:
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class HostDriver:
    """`host`: run container processes as host processes (as nobody when we are root)."""

    name = "host"

    def __init__(self, exec_root: Path | str, logger: logging.Logger | None = None, **_: Any) -> None:
        self.exec_root = Path(exec_root)
        self.logger = logger or logging.getLogger("minidockd")
        self._lock = threading.Lock()
        self._sessions: dict[str, set[int]] = {}   # container id -> pids of its session leaders
        self._leaders: set[int] = set()              # every live leader (reaped by its own run)
        self.as_root = os.geteuid() == 0
        if self.as_root:
            self.uid, self.gid = unprivileged_ids()
        else:
            self.uid, self.gid = os.geteuid(), os.getegid()
            self.logger.warning("execdriver host: not running as root: container processes run as uid %d "
                                "(ourselves), not as nobody", self.uid)
        self._become_subreaper()

    def _become_subreaper(self) -> None:
        """Orphans of a container process are re-parented to us instead of to pid 1,
        so that we can reap them when we kill the session (and no zombie outlives it)."""
        try:
            _libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
        except AttributeError:
            self.logger.debug("execdriver host: cannot become a child subreaper")

    # ------------------------------------------------------------ directories
    def container_dir(self, container_id: str) -> Path:
        return self.exec_root / "containers" / container_id

    def scratch_dir(self, container_id: str) -> Path:
        """`<exec-root>/containers/<id>/scratch`, 0700, owned by the user the process runs as."""
        scratch = self.container_dir(container_id) / "scratch"
        scratch.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chown(scratch, self.uid, self.gid)
        os.chmod(scratch, 0o700)
        return scratch

    def working_dir(self, container_id: str, working_dir: str) -> Path:
        """The container's WorkingDir, inside its scratch directory (created as the process's user)."""
        scratch = self.scratch_dir(container_id)
        relative = os.path.normpath("/" + (working_dir or "/")).lstrip("/")
        if not relative:
            return scratch
        path = scratch
        for part in relative.split("/"):
            path = path / part
            if not path.is_dir():
                path.mkdir(mode=0o755)
                os.chown(path, self.uid, self.gid)
        return path

    # ------------------------------------------------------------ run and exec
    def run(self, container_id: str, process: ProcessConfig, *, pipes: Pipes, on_start: OnStart) -> ExitStatus:
        return self._run(container_id, process, pipes, on_start, main=True)

    def exec_process(self, container_id: str, process: ProcessConfig, *, pipes: Pipes,
                     on_start: OnStart) -> ExitStatus:
        return self._run(container_id, process, pipes, on_start, main=False)

    # --8<-- [start:spawn]
    def _spawn(self, container_id: str, process: ProcessConfig, *, main: bool
               ) -> tuple[subprocess.Popen[bytes], PtyTerminal | None]:
        cwd = self.working_dir(container_id, process.working_dir)
        env = process_env(process)
        drop = {"user": self.uid, "group": self.gid, "extra_groups": []} if self.as_root else {}
        terminal = None
        if process.tty:
            master, slave = os.openpty()
            terminal = PtyTerminal(master)
            terminal.resize(*(process.console_size if all(process.console_size) else (24, 80)))
            streams: dict[str, Any] = {"stdin": slave, "stdout": slave, "stderr": slave}
        else:
            streams = {"stdin": subprocess.PIPE if process.open_stdin else subprocess.DEVNULL,
                       "stdout": subprocess.PIPE, "stderr": subprocess.PIPE}
        # The signal mask survives fork and exec. The daemon's server threads block
        # SIGTERM and friends (so that the main thread gets them), and a process started
        # from such a thread would ignore `docker stop`. Unblock everything for the fork:
        # the child starts with an empty mask; this thread gets its mask back at once.
        previous = signal.pthread_sigmask(signal.SIG_SETMASK, ())
        try:
            popen = subprocess.Popen(process.argv, cwd=cwd, env=env, start_new_session=True, close_fds=True,
                                     preexec_fn=ChildSetup(process.tty), **drop, **streams)
        except OSError as exc:
            if terminal is not None:
                os.close(terminal.master)
            raise start_error(process.argv[0] if process.argv else "", exc, exec_=not main) from None
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, previous)
            if terminal is not None:
                os.close(slave)  # only the child holds the slave now: its exit is our EOF
        return popen, terminal
    # --8<-- [end:spawn]

    # --8<-- [start:run]
    def _run(self, container_id: str, process: ProcessConfig, pipes: Pipes, on_start: OnStart,
             *, main: bool) -> ExitStatus:
        if not process.argv:
            raise StartError("OCI runtime create failed: no command specified: unknown", 127)
        popen, terminal = self._spawn(container_id, process, main=main)
        pid = popen.pid
        with self._lock:
            self._sessions.setdefault(container_id, set()).add(pid)
            self._leaders.add(pid)
        stop_output = threading.Event()
        stop_stdin = threading.Event()
        pump = threading.Thread(target=self._pump_output, args=(popen, terminal, pipes, stop_output),
                                name=f"output-{container_id[:12]}-{pid}", daemon=True)
        feeder = threading.Thread(target=self._pump_stdin, args=(popen, terminal, pipes, stop_stdin),
                                  name=f"stdin-{container_id[:12]}-{pid}", daemon=True)
        pump.start()
        feeder.start()
        try:
            on_start(StartedProcess(pid, terminal))
        except BaseException:
            self._signal_session(pid, signal.SIGKILL)
            raise
        finally:
            # Wait for the exit without reaping it: while the zombie exists its pid (which is
            # also its process group and session ID) cannot be reused, so killing the rest of
            # the session below cannot hit a stranger.
            os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)
            if main:  # the container's end takes its execs along
                for leader in self._session_leaders(container_id):
                    if leader != pid:
                        self._signal_session(leader, signal.SIGKILL)
                for leader in self._session_leaders(container_id):
                    self._kill_session(leader)
            else:
                self._kill_session(pid)
            with self._lock:
                popen.wait()
                self._leaders.discard(pid)
                self._sessions.get(container_id, set()).discard(pid)
            stop_stdin.set()
            pump.join(OUTPUT_GRACE)
            stop_output.set()
            pump.join()
            feeder.join(1.0)
            if terminal is not None:
                os.close(terminal.master)
        code = popen.returncode
        if code < 0:
            return ExitStatus(128 - code, signal=-code)
        return ExitStatus(code)
    # --8<-- [end:run]

    def _pump_output(self, popen: subprocess.Popen[bytes], terminal: PtyTerminal | None, pipes: Pipes,
                     stop: threading.Event) -> None:
        """Copy the process's output into the sinks until EOF on every stream."""
        selector = selectors.DefaultSelector()
        if terminal is not None:
            selector.register(terminal.master, selectors.EVENT_READ, pipes.stdout)
        else:
            assert popen.stdout is not None and popen.stderr is not None
            selector.register(popen.stdout.fileno(), selectors.EVENT_READ, pipes.stdout)
            selector.register(popen.stderr.fileno(), selectors.EVENT_READ, pipes.stderr)
        try:
            while selector.get_map() and not stop.is_set():
                for key, _ in selector.select(timeout=0.2):
                    try:
                        data = os.read(key.fd, READ_SIZE)
                    except OSError as exc:
                        if exc.errno != errno.EIO:  # EIO: the pty's last slave fd closed = EOF
                            raise
                        data = b""
                    if data:
                        key.data.write(data)
                    else:
                        selector.unregister(key.fd)
                        key.data.close()
        finally:
            for key in list(selector.get_map().values()):
                key.data.close()
            selector.close()
            if terminal is not None:
                pipes.stderr.close()  # a pty has one output: stderr is empty, and over
            for stream in (popen.stdout, popen.stderr):
                if stream is not None:
                    stream.close()

    def _pump_stdin(self, popen: subprocess.Popen[bytes], terminal: PtyTerminal | None, pipes: Pipes,
                    stop: threading.Event) -> None:
        """Copy the container's stdin pipe into the process until either ends."""
        if pipes.stdin is None or (terminal is None and popen.stdin is None):
            return
        target = terminal.master if terminal is not None else popen.stdin.fileno()  # type: ignore[union-attr]
        try:
            while not stop.is_set():
                data = pipes.stdin.read(timeout=0.2)
                if data is None:
                    continue
                if not data:
                    break  # end of input
                view = memoryview(data)
                while view:
                    view = view[os.write(target, view):]
        except OSError:
            pass  # the process closed its stdin or is gone
        finally:
            if terminal is None and popen.stdin is not None:
                try:
                    popen.stdin.close()  # EOF for the process (`cat` ends)
                except OSError:
                    pass

    # ------------------------------------------------------------ signals
    def _session_leaders(self, container_id: str) -> list[int]:
        with self._lock:
            return sorted(self._sessions.get(container_id, ()))

    def _signal_session(self, sid: int, sig: int) -> None:
        """`sig` to the process group `sid` and to every other member of session `sid`."""
        try:
            os.killpg(sid, sig)
        except (ProcessLookupError, PermissionError):
            pass
        for pid in session_members(sid):
            if pid != sid:
                try:
                    os.kill(pid, sig)
                except (ProcessLookupError, PermissionError):
                    pass

    # --8<-- [start:kill_session]
    def _kill_session(self, sid: int) -> None:
        """SIGKILL everything left in session `sid` (but its leader, reaped by its own
        run) and reap those that were re-parented to us. Gives up after ~1 s on
        zombies that belong to someone else to reap."""
        for _ in range(100):
            left = []
            for pid in session_members(sid):
                if pid == sid or pid in self._leaders:
                    continue
                stat = read_proc_stat(pid)
                if stat is None:
                    continue
                if stat[1] == os.getpid():
                    try:  # our child now (we are the subreaper): reap it if it is dead
                        if stat[0] == "Z":
                            os.waitpid(pid, os.WNOHANG)
                            continue
                    except ChildProcessError:
                        continue
                elif stat[0] == "Z":
                    continue  # someone else's zombie: theirs to reap
                left.append(pid)
            if not left:
                return
            self._signal_session(sid, signal.SIGKILL)
            time.sleep(0.01)
        self.logger.warning("execdriver host: processes of session %d survive SIGKILL", sid)
    # --8<-- [end:kill_session]

    def kill(self, pid: int, sig: int) -> None:
        """`sig` to the process group of `pid` (one of our leaders; a pid we have
        already reaped is never signalled: it may belong to someone else by now)."""
        with self._lock:
            if pid not in self._leaders:
                return
            try:
                os.killpg(pid, sig)
            except ProcessLookupError:
                pass

    def pause(self, container_id: str) -> None:
        """SIGSTOP to every process of the container. There is no freezer cgroup before
        chapter 07, so a paused process can tell (it sees SIGSTOP/SIGCONT in waitpid)."""
        for leader in self._session_leaders(container_id):
            self._signal_session(leader, signal.SIGSTOP)

    def unpause(self, container_id: str) -> None:
        for leader in self._session_leaders(container_id):
            self._signal_session(leader, signal.SIGCONT)

    def terminate(self, container_id: str) -> None:
        for leader in self._session_leaders(container_id):
            self._signal_session(leader, signal.SIGKILL)
            self._signal_session(leader, signal.SIGCONT)  # a stopped process dies only when it runs

    def clean(self, container_id: str) -> None:
        """Remove what the driver kept for the container (its scratch directory)."""
        import shutil

        shutil.rmtree(self.container_dir(container_id), ignore_errors=True)

    # ------------------------------------------------------------ facts
    def get_pids(self, container_id: str) -> list[int]:
        pids = []
        for leader in self._session_leaders(container_id):
            for pid in session_members(leader):
                stat = read_proc_stat(pid)
                if stat is not None and stat[0] != "Z":
                    pids.append(pid)
        return sorted(set(pids))

    def info(self, container_id: str) -> dict[str, Any]:
        return {"driver": self.name, "isolation": "none", "uid": self.uid, "gid": self.gid,
                "scratch": str(self.container_dir(container_id) / "scratch"),
                "pids": self.get_pids(container_id)}

    def stats(self, container_id: str) -> dict[str, Any]:
        """CPU time (ns) and resident memory (bytes) summed over the container's processes."""
        ticks = os.sysconf("SC_CLK_TCK")
        page = os.sysconf("SC_PAGE_SIZE")
        cpu = memory = 0
        pids = self.get_pids(container_id)
        for pid in pids:
            try:
                with open(f"/proc/{pid}/stat", "rb") as file:
                    data = file.read()
                fields = data[data.rindex(b")") + 2:].split()
                cpu += (int(fields[11]) + int(fields[12])) * 1_000_000_000 // ticks
                with open(f"/proc/{pid}/statm") as file:
                    memory += int(file.read().split()[1]) * page
            except (OSError, ValueError, IndexError):
                continue
        return {"cpu_usage_ns": cpu, "memory_usage": memory, "pids": len(pids)}


register_driver("host", HostDriver)
