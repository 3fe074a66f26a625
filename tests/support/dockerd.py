"""A private, throw-away Docker daemon (Debian's dockerd 20.10) for interop tests.

minidock is proven against the real thing: the tests drive a stock dockerd
with the real Go `docker` CLI and with our own `minidock` client. That daemon
must never meet anything else on the machine, so `PrivateDockerd` gives it
a world of its own:

* one temporary directory holds everything: the API socket, `--data-root`,
  `--exec-root`, the pid file, the daemon config, the logs, and the state,
  root and sockets of a containerd of its own;
* a Linux bridge of its own (default `mdk-test0` with `10.213.77.1/24`;
  `MINIDOCK_TEST_BRIDGE` and `MINIDOCK_TEST_SUBNET` change them), made with
  pyroute2 and handed to dockerd with `--bridge`. docker0 is never touched;
  with `--iptables=false --ip-masq=false --ip-forward=false` there is no NAT
  and no forwarding, so containers reach the bridge and nothing beyond;
* its own cgroup parent, named after the temporary directory.

Why our own containerd, started beside dockerd and passed with `--containerd`:
dockerd 20.10 starts a managed containerd only when `/run/containerd/containerd.sock`
does not exist (it checks with lstat, nothing more); if a system containerd
ever appears, a managed daemon would quietly share it. Starting containerd
ourselves, with its root and state under our directory, makes privacy a fact
rather than an accident of the machine.

Stopping leaves nothing behind, even when a test failed or start-up did not
finish: containers are removed, dockerd and containerd are stopped by PID
(SIGTERM, then SIGKILL), containerd's shims — which re-parent themselves to
PID 1 and so are nobody's descendants — are found by the private socket path
in their command line, mounts under the directory are detached, cgroups,
bridge and directory are removed. A run killed outright (SIGKILL) is swept
up by the next `start()`: every directory records its owner, and one whose
owner is gone is cleaned the same way.
"""

from __future__ import annotations

import ctypes
import errno
import hashlib
import http.client
import ipaddress
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from .busybox import BusyboxNotFound, build_busybox_rootfs_tar, find_static_busybox

DOCKERD = "/usr/sbin/dockerd"
DOCKER_CLI_CANDIDATES = ("/usr/local/bin/docker",)  # the real Go CLI 28, then `docker` on PATH
BRIDGE_ENV, DEFAULT_BRIDGE = "MINIDOCK_TEST_BRIDGE", "mdk-test0"
SUBNET_ENV, DEFAULT_SUBNET = "MINIDOCK_TEST_SUBNET", "10.213.77.1/24"
DIR_PREFIX = "minidock-dockerd-"
BRIDGE_ALIAS_PREFIX = "minidock-test root="
STATE_FILE = "owner.json"  # who made this directory: lets a later run sweep it up

# Host paths dockerd and containerd create whatever they are told: the plugin
# socket directory is compiled into dockerd, and containerd's shims put their
# sockets in /run/containerd/s/<sha256> whatever the state directory is.
# We remove them again when we made them and they are empty.
HOST_DIRS = (Path("/run/docker/plugins"), Path("/run/docker"),
             Path("/run/containerd/s"), Path("/run/containerd"))
SHIM_SOCKET_DIR = Path("/run/containerd/s")

# Each required program and the Debian package that ships it.
REQUIRED_PROGRAMS = {
    "dockerd": "docker.io",
    "containerd": "containerd",
    "containerd-shim-runc-v2": "containerd",
    "runc": "runc",
}

MNT_DETACH = 2
PR_SET_PDEATHSIG = 1


class DockerdUnavailable(RuntimeError):
    """This machine cannot run dockerd at all (not root, not installed, kernel lacks a feature)."""


class DockerdError(RuntimeError):
    """dockerd should run here but did not start, or did not stop cleanly."""


# --- what the machine must have ---------------------------------------------------------

def find_docker_cli() -> str | None:
    for candidate in DOCKER_CLI_CANDIDATES:
        if os.access(candidate, os.X_OK):
            return candidate
    return shutil.which("docker")


def missing_requirements() -> list[str]:
    """Why this machine cannot run a private dockerd; empty when it can."""
    problems = []
    if os.geteuid() != 0:
        problems.append("needs root (dockerd makes mounts, cgroups, namespaces and a bridge)")
    search_path = os.environ.get("PATH", "") + ":/usr/sbin:/sbin"
    for program, package in REQUIRED_PROGRAMS.items():
        if shutil.which(program, path=search_path) is None:
            problems.append(f"{program} is not installed (apt-get install {package})")
    if find_docker_cli() is None:
        problems.append("no docker CLI (expected the Go CLI at /usr/local/bin/docker)")
    try:
        import pyroute2  # noqa: F401 - only asking whether it is there
    except ImportError:
        problems.append("pyroute2 is not installed (pip install pyroute2)")
    try:
        find_static_busybox()
    except BusyboxNotFound as exc:
        problems.append(str(exc))
    for ns in ("mnt", "pid", "net", "uts", "ipc"):
        if not Path(f"/proc/self/ns/{ns}").exists():
            problems.append(f"kernel has no {ns} namespaces")
    problems.extend(_cgroup_problems())
    return problems


def _cgroup_problems() -> list[str]:
    mounts = _mountinfo()
    v1 = {opt for m in mounts if m.fstype == "cgroup" for opt in m.super_options.split(",")}
    v2 = any(m.fstype == "cgroup2" and m.mount_point == "/sys/fs/cgroup" for m in mounts)
    if v2:
        return []
    if not v1:
        return ["no cgroup filesystem is mounted under /sys/fs/cgroup"]
    return [f"the cgroup v1 {c!r} controller is not mounted" for c in ("memory", "devices", "pids")
            if c not in v1]


# --- /proc: mounts and processes --------------------------------------------------------

@dataclass(frozen=True)
class _Mount:
    root: str
    mount_point: str
    fstype: str
    super_options: str


def _unescape(field_: str) -> str:
    """mountinfo escapes space, tab, newline and backslash as octal (\\040)."""
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field_)


def _mountinfo() -> list[_Mount]:
    mounts = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        left, _, right = line.partition(" - ")
        fields, tail = left.split(), right.split()
        mounts.append(_Mount(_unescape(fields[3]), _unescape(fields[4]), tail[0],
                             tail[2] if len(tail) > 2 else ""))
    return mounts


def mounts_under(path: Path) -> list[str]:
    """Mount points at or below `path`, deepest first (the order to unmount them)."""
    top = str(path)
    found = {m.mount_point for m in _mountinfo()
             if m.mount_point == top or m.mount_point.startswith(top + "/")}
    return sorted(found, key=lambda p: (p.count("/"), p), reverse=True)


@dataclass(frozen=True)
class Process:
    pid: int
    ppid: int
    start_time: int  # clock ticks after boot: with the pid, names one process for good
    state: str
    argv: tuple[str, ...]


def processes() -> dict[int, Process]:
    """Every process on the machine, from /proc."""
    found = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
            raw_argv = Path(entry.path, "cmdline").read_bytes()
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue  # it exited while we looked
        after_comm = stat[stat.rindex(")") + 2:].split()
        argv = tuple(a.decode(errors="replace") for a in raw_argv.split(b"\0") if a)
        pid = int(entry.name)
        found[pid] = Process(pid, int(after_comm[1]), int(after_comm[19]), after_comm[0], argv)
    return found


def process(pid: int) -> Process:
    """One process by PID (without its argv); LookupError when there is none."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        raise LookupError(pid) from None
    after_comm = stat[stat.rindex(")") + 2:].split()
    return Process(pid, int(after_comm[1]), int(after_comm[19]), after_comm[0], ())


def _is_running(proc: Process) -> bool:
    """Still the same process, and not a zombie waiting for a parent that is not us."""
    try:
        now = process(proc.pid)
    except LookupError:
        return False
    return now.start_time == proc.start_time and now.state not in ("Z", "X")


def _descendants_and_self(roots: set[int], table: dict[int, Process]) -> set[int]:
    children: dict[int, list[int]] = {}
    for proc in table.values():
        children.setdefault(proc.ppid, []).append(proc.pid)
    found, todo = set(), list(roots)
    while todo:
        pid = todo.pop()
        if pid in found or pid not in table:
            continue
        found.add(pid)
        todo.extend(children.get(pid, []))
    return found


def processes_of(root: Path, also: set[int] = frozenset()) -> dict[int, Process]:
    """The processes that belong to the private daemon living in `root`.

    Those are the daemons we started (`also`), every process whose command
    line names a path inside `root` (containerd and its shims, whose
    `-address` is our private socket), and all their descendants (the
    containers' processes are children of the shims).
    """
    table = processes()
    marker = str(root) + "/"
    seeds = {p.pid for p in table.values() if any(marker in arg for arg in p.argv)} | set(also)
    seeds.discard(os.getpid())
    return {pid: table[pid] for pid in _descendants_and_self(seeds, table) if pid != os.getpid()}


def kill_processes(procs: dict[int, Process], sig: int = signal.SIGKILL, timeout: float = 10.0) -> list[Process]:
    """Signal each process (if it is still the same one) and wait; return those still running."""
    for proc in procs.values():
        if _is_running(proc):
            try:
                os.kill(proc.pid, sig)
            except ProcessLookupError:
                pass
    deadline = time.monotonic() + timeout
    left = [p for p in procs.values() if _is_running(p)]
    while left and time.monotonic() < deadline:
        time.sleep(0.05)
        left = [p for p in left if _is_running(p)]
    return left


def _set_parent_death_signal() -> None:
    """Runs in the child before exec: SIGTERM it when the test process dies.

    So a test run killed outright still shuts its dockerd down (gracefully:
    dockerd stops its containers); what remains (containerd, the bridge, the
    directory) is swept up by the next run's start().
    """
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


# --- HTTP over the unix socket -----------------------------------------------------------

class _UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self.unix_path)
        self.sock = sock


def _unix_socket_accepts(path: Path) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(1.0)
        try:
            sock.connect(str(path))
        except OSError:
            return False
    return True


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"


# --- the daemon ---------------------------------------------------------------------------

@dataclass
class PrivateDockerd:
    """A stock dockerd that lives entirely in one temporary directory.

        with PrivateDockerd() as daemon:
            daemon.import_busybox()
            daemon.docker("run", "--rm", "busybox", "echo", "hi")

    `host` is the `-H`/`DOCKER_HOST` value for clients.
    """

    bridge: str = field(default_factory=lambda: os.environ.get(BRIDGE_ENV) or DEFAULT_BRIDGE)
    subnet: str = field(default_factory=lambda: os.environ.get(SUBNET_ENV) or DEFAULT_SUBNET)
    storage_driver: str = "vfs"  # overlay2 works too, but vfs needs nothing from the filesystem
    base_dir: Path | None = None  # where the temporary directory goes (default: $TMPDIR or /tmp)
    start_timeout: float = 30.0
    stop_timeout: float = 15.0
    dockerd_binary: str = DOCKERD
    docker_cli: str = field(default_factory=lambda: find_docker_cli() or "docker")

    root: Path | None = field(default=None, init=False)
    start_seconds: float | None = field(default=None, init=False)  # how long start() took
    dockerd_process: subprocess.Popen | None = field(default=None, init=False, repr=False)
    containerd_process: subprocess.Popen | None = field(default=None, init=False, repr=False)
    _bridge_made: bool = field(default=False, init=False, repr=False)
    _host_dirs_made: list[Path] = field(default_factory=list, init=False, repr=False)

    # -- where things live
    @property
    def socket_path(self) -> Path:
        return self._root / "docker.sock"

    @property
    def host(self) -> str:
        return f"unix://{self.socket_path}"

    @property
    def data_root(self) -> Path:
        return self._root / "data"

    @property
    def exec_root(self) -> Path:
        return self._root / "exec"

    @property
    def containerd_socket(self) -> Path:
        return self.exec_root / "containerd" / "containerd.sock"

    @property
    def dockerd_log(self) -> Path:
        return self._root / "dockerd.log"

    @property
    def containerd_log(self) -> Path:
        return self._root / "containerd.log"

    @property
    def cgroup_parent(self) -> str:
        return "/" + self._root.name

    @property
    def _root(self) -> Path:
        if self.root is None:
            raise DockerdError("the private dockerd has not been started")
        return self.root

    # -- life cycle
    def __enter__(self) -> PrivateDockerd:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> PrivateDockerd:
        """Make the directory and bridge, start containerd and dockerd, wait for `/_ping`."""
        problems = missing_requirements()
        if problems:
            raise DockerdUnavailable("; ".join(problems))
        started = time.monotonic()
        base = Path(self.base_dir or tempfile.gettempdir()).resolve()
        sweep_stale(base)
        self.root = Path(tempfile.mkdtemp(prefix=DIR_PREFIX, dir=base)).resolve()
        try:
            if len(str(self.containerd_socket) + ".ttrpc") > 100:
                raise DockerdError(f"{self.root} is too long a path for unix sockets; pass base_dir='/tmp'")
            _write_owner(self.root, bridge=self.bridge)
            self._host_dirs_made = [d for d in HOST_DIRS if not d.exists()]
            self._make_bridge()
            self._start_containerd()
            self._start_dockerd()
            self.start_seconds = time.monotonic() - started
        except BaseException:
            try:
                self.stop()
            except DockerdError as cleanup_error:
                raise DockerdError(f"start failed, and so did the clean-up: {cleanup_error}") from None
            raise
        return self

    def stop(self) -> None:
        """Stop everything and remove every trace; raise DockerdError naming anything left."""
        if self.root is None:
            return
        errors: list[str] = []
        if self.dockerd_process is not None and self.dockerd_process.poll() is None:
            self._remove_all_containers(errors)
        ours = processes_of(self.root, self._started_pids())  # before the tree falls apart
        for name in ("dockerd_process", "containerd_process"):
            child: subprocess.Popen | None = getattr(self, name)
            if child is not None:
                _terminate(child, self.stop_timeout, errors)
        errors.extend(cleanup_root(self.root, ours, bridge=self.bridge if self._bridge_made else None))
        _remove_empty_dirs(self._host_dirs_made)
        self.root = None
        self.dockerd_process = self.containerd_process = None
        self._bridge_made = False
        if errors:
            raise DockerdError("the private dockerd did not clean up: " + "; ".join(errors))

    def ping(self, timeout: float = 2.0) -> bool:
        """Does the daemon answer `HEAD /_ping` with 200 OK?"""
        connection = _UnixHTTPConnection(str(self.socket_path), timeout)
        try:
            connection.request("HEAD", "/_ping")
            return connection.getresponse().status == 200
        except (OSError, http.client.HTTPException):
            return False
        finally:
            connection.close()

    # -- clients
    def client_env(self) -> dict[str, str]:
        """An environment for docker clients: no DOCKER_* from outside, a private CLI config."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKER_")}
        env["DOCKER_CONFIG"] = str(self._root / "cli-config")  # never read or write ~/.docker
        return env

    def docker(self, *args: str, input: str | bytes | None = None, timeout: float = 120.0,
               check: bool = False) -> subprocess.CompletedProcess:
        """Run the real Go docker CLI against this daemon; text output unless `input` is bytes."""
        return subprocess.run(
            [self.docker_cli, "-H", self.host, *args],
            input=input, capture_output=True, text=not isinstance(input, bytes),
            env=self.client_env(), timeout=timeout, check=check,
        )

    def import_busybox(self, tag: str = "busybox:latest") -> str:
        """Make `tag` exist in this daemon from the machine's busybox; return the image ID."""
        tar = build_busybox_rootfs_tar(self._root / "busybox-rootfs.tar")
        try:
            result = self.docker("import", "--change", 'CMD ["sh"]', str(tar), tag)
        finally:
            tar.unlink(missing_ok=True)
        if result.returncode != 0:
            raise DockerdError(f"docker import failed ({result.returncode}): {result.stderr.strip()}")
        return result.stdout.strip()

    # -- the steps of start()
    def _make_bridge(self) -> None:
        from pyroute2 import IPRoute
        from pyroute2.netlink.exceptions import NetlinkError

        gateway = ipaddress.ip_interface(self.subnet)
        with IPRoute() as ipr:
            existing = ipr.link_lookup(ifname=self.bridge)
            if existing and _is_orphan_bridge(ipr.link("get", index=existing[0])[0].get_attr("IFLA_IFALIAS")):
                ipr.link("del", index=existing[0])
            elif existing:
                raise DockerdError(
                    f"a network interface named {self.bridge!r} already exists "
                    f"(another private dockerd?); choose another name with {BRIDGE_ENV}"
                )
            for msg in ipr.get_addr(family=socket.AF_INET):
                network = ipaddress.ip_network(f"{msg.get_attr('IFA_ADDRESS')}/{msg['prefixlen']}", strict=False)
                if network.overlaps(gateway.network):
                    raise DockerdError(
                        f"{gateway.network} overlaps {network} of {msg.get_attr('IFA_LABEL')}; "
                        f"choose another subnet with {SUBNET_ENV}"
                    )
            try:
                ipr.link("add", ifname=self.bridge, kind="bridge")
            except NetlinkError as exc:
                if exc.code in (errno.EOPNOTSUPP, errno.ENODEV):
                    raise DockerdUnavailable(f"the kernel cannot make bridges: {exc}") from None
                raise
            self._bridge_made = True
            index = ipr.link_lookup(ifname=self.bridge)[0]
            ipr.link("set", index=index, ifalias=_bridge_alias(self._root))
            ipr.addr("add", index=index, address=str(gateway.ip), prefixlen=gateway.network.prefixlen)
            ipr.link("set", index=index, state="up")
        # Nothing that arrives on our bridge is forwarded, whatever the
        # machine's ip_forward says (the setting goes away with the bridge).
        Path(f"/proc/sys/net/ipv4/conf/{self.bridge}/forwarding").write_text("0\n")

    def _start_containerd(self) -> None:
        data, state = self.data_root / "containerd", self.exec_root / "containerd"
        state.mkdir(parents=True)
        config = self._root / "containerd.toml"
        config.write_text("\n".join([
            "version = 2",
            f'root = "{data}"',
            f'state = "{state}"',
            'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
            "[grpc]",
            f'  address = "{self.containerd_socket}"',
            "[debug]",
            '  address = ""',
            "[metrics]",
            '  address = ""',
            '[plugins."io.containerd.internal.v1.opt"]',  # else it creates /opt/containerd
            f'  path = "{data / "opt"}"',
            "",
        ]))
        # No parent-death signal for containerd: if the test process dies,
        # dockerd (which gets one) still needs containerd to stop its containers.
        self.containerd_process = self._spawn(["containerd", "--config", str(config)], self.containerd_log,
                                              die_with_parent=False)
        self._wait_until(lambda: _unix_socket_accepts(self.containerd_socket),
                         self.containerd_process, "containerd to listen on " + str(self.containerd_socket),
                         self.containerd_log)

    def _dockerd_args(self) -> list[str]:
        daemon_json = self._root / "daemon.json"
        # Our own config file, so /etc/docker/daemon.json is never read. The
        # key path has no command-line flag in 20.10; without it dockerd
        # writes its identity key to /etc/docker/key.json.
        daemon_json.write_text(json.dumps({"deprecated-key-path": str(self._root / "key.json")}) + "\n")
        return [
            self.dockerd_binary,
            "--host", self.host,
            "--data-root", str(self.data_root),
            "--exec-root", str(self.exec_root),
            "--pidfile", str(self._root / "dockerd.pid"),
            "--config-file", str(daemon_json),
            "--containerd", str(self.containerd_socket),
            "--storage-driver", self.storage_driver,
            "--bridge", self.bridge,
            "--iptables=false", "--ip-masq=false", "--ip-forward=false", "--userland-proxy=false",
            "--exec-opt", "native.cgroupdriver=cgroupfs",
            "--cgroup-parent", self.cgroup_parent,
            "--shutdown-timeout", "5",
        ]

    def _start_dockerd(self) -> None:
        self.dockerd_process = self._spawn(self._dockerd_args(), self.dockerd_log)
        self._wait_until(self.ping, self.dockerd_process, f"dockerd to answer HEAD /_ping on {self.socket_path}",
                         self.dockerd_log)

    def _spawn(self, argv: list[str], log: Path, die_with_parent: bool = True) -> subprocess.Popen:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("DOCKER_", "CONTAINERD_", "NOTIFY_SOCKET", "LISTEN_"))}
        env["PATH"] = env.get("PATH", "/usr/bin:/bin") + ":/usr/sbin:/sbin"
        with log.open("ab") as log_file:
            return subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=log_file, stderr=subprocess.STDOUT,
                env=env, cwd=self._root, start_new_session=True,  # ^C in a terminal is for pytest only
                preexec_fn=_set_parent_death_signal if die_with_parent else None,
            )

    def _wait_until(self, ready: Callable[[], bool], process: subprocess.Popen, what: str, log: Path) -> None:
        deadline = time.monotonic() + self.start_timeout
        while not ready():
            if process.poll() is not None:
                raise DockerdError(f"gave up waiting for {what}: it exited with {process.returncode}; "
                                   f"last lines of {log}:\n{_tail(log)}")
            if time.monotonic() > deadline:
                raise DockerdError(f"gave up waiting for {what} after {self.start_timeout:.0f}s; "
                                   f"last lines of {log}:\n{_tail(log)}")
            time.sleep(0.05)

    # -- the steps of stop()
    def _started_pids(self) -> set[int]:
        return {p.pid for p in (self.dockerd_process, self.containerd_process) if p is not None}

    def _remove_all_containers(self, errors: list[str]) -> None:
        """`docker rm -f` everything: SIGKILL now beats dockerd's polite stop at shutdown."""
        try:
            ids = self.docker("ps", "-aq", "--no-trunc", timeout=30).stdout.split()
            if ids:
                removed = self.docker("rm", "-f", "-v", *ids, timeout=60)
                if removed.returncode != 0:
                    errors.append(f"docker rm -f failed: {removed.stderr.strip()}")
        except subprocess.TimeoutExpired as exc:
            errors.append(f"removing containers timed out: {exc}")


def _terminate(process: subprocess.Popen, timeout: float, errors: list[str]) -> None:
    """SIGTERM, wait up to `timeout`, then SIGKILL; always reap it."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
            return
        except subprocess.TimeoutExpired:
            errors.append(f"{process.args[0]} (pid {process.pid}) ignored SIGTERM for {timeout:.0f}s")
            process.kill()
    process.wait()


# --- cleaning a directory's world, ours or a stale one -----------------------------------

def _bridge_alias(root: Path) -> str:
    """The bridge's ifalias names the directory it was made for: that is how we know it is ours."""
    return f"{BRIDGE_ALIAS_PREFIX}{root}"


def _is_orphan_bridge(alias: str | None) -> bool:
    """A bridge we made for a directory that is gone, or whose owner is dead."""
    if not alias or not alias.startswith(BRIDGE_ALIAS_PREFIX):
        return False
    root = Path(alias[len(BRIDGE_ALIAS_PREFIX):])
    return not root.is_dir() or not _owner_alive(root)


def _write_owner(root: Path, bridge: str) -> None:
    me = process(os.getpid())
    (root / STATE_FILE).write_text(json.dumps({"pid": me.pid, "start_time": me.start_time, "bridge": bridge}))


def _owner_alive(root: Path) -> bool:
    try:
        owner = json.loads((root / STATE_FILE).read_text())
        return process(owner["pid"]).start_time == owner["start_time"]
    except (LookupError, OSError, ValueError, KeyError):
        return False


def sweep_stale(base: Path) -> None:
    """Clean the directories of earlier runs whose test process died without cleaning up."""
    swept = False
    for root in sorted(base.glob(DIR_PREFIX + "*")):
        if root.is_dir() and (root / STATE_FILE).exists() and not _owner_alive(root):
            bridge = json.loads((root / STATE_FILE).read_text()).get("bridge")
            cleanup_root(root, processes_of(root), bridge=bridge)
            swept = True
    if swept:  # who made them is unknown now; empty, they serve nobody
        _remove_empty_dirs(HOST_DIRS)


def _remove_empty_dirs(directories: Iterable[Path]) -> None:
    for directory in sorted(directories, key=lambda d: len(d.parts), reverse=True):
        try:
            directory.rmdir()  # only if empty: someone else may use it by now
        except OSError:
            pass


def cleanup_root(root: Path, ours: dict[int, Process], bridge: str | None) -> list[str]:
    """Remove every trace of the daemon that lived in `root`; return what could not be removed.

    `ours` are its processes as seen while the tree was whole; those started
    since (found again by their command lines) are added.
    """
    errors: list[str] = []
    ours = {**ours, **processes_of(root)}
    shim_sockets = [_shim_socket(p.argv) for p in ours.values()]
    left = kill_processes(ours, signal.SIGKILL)
    if left:
        errors.append("processes still running: " + ", ".join(f"{p.pid} {' '.join(p.argv)}" for p in left))
    for path in shim_sockets:
        if path is not None:
            path.unlink(missing_ok=True)
    libc = ctypes.CDLL(None, use_errno=True)
    failures: list[str] = []
    for _round in range(3):  # a detached mount can uncover one stacked below it
        failures = [f"umount {mount_point}: {os.strerror(ctypes.get_errno())}"
                    for mount_point in mounts_under(root)
                    if libc.umount2(mount_point.encode(), MNT_DETACH) != 0]
        if not mounts_under(root):
            break
    else:
        errors.append(f"mounts left under {root}: {mounts_under(root)} ({'; '.join(failures)})")
    errors.extend(_remove_cgroups("/" + root.name))
    if bridge is not None:
        errors.extend(_delete_bridge(bridge, root))
    if not mounts_under(root):  # never rm -rf through a mount
        shutil.rmtree(root, ignore_errors=True)
        if root.exists():
            errors.append(f"could not remove {root}")
    return errors


def _shim_socket(argv: tuple[str, ...]) -> Path | None:
    """The socket a containerd-shim-runc-v2 serves on: /run/containerd/s/sha256(address/ns/id).

    containerd 1.6 fixes that directory whatever its state dir, and the shim
    removes the socket itself only when it exits cleanly.
    """
    if not argv or not argv[0].endswith("containerd-shim-runc-v2"):
        return None
    flags = dict(zip(argv[1::2], argv[2::2]))
    try:
        key = os.path.join(flags["-address"], flags["-namespace"], flags["-id"])
    except KeyError:
        return None
    return SHIM_SOCKET_DIR / hashlib.sha256(key.encode()).hexdigest()


def _remove_cgroups(parent: str) -> list[str]:
    """rmdir our cgroup parent, leaves first, in every hierarchy (v1 controllers and v2)."""
    errors = []
    for mount in _mountinfo():
        if mount.fstype not in ("cgroup", "cgroup2"):
            continue
        top = Path(mount.mount_point + parent)
        if not top.is_dir():
            continue
        for directory, _subdirs, _files in os.walk(top, topdown=False):
            try:
                os.rmdir(directory)
            except OSError as exc:
                errors.append(f"rmdir {directory}: {exc.strerror}")
    return errors


def _delete_bridge(name: str, root: Path) -> list[str]:
    """Delete the bridge if it is the one made for `root` (its alias says so)."""
    from pyroute2 import IPRoute
    from pyroute2.netlink.exceptions import NetlinkError

    with IPRoute() as ipr:
        found = ipr.link_lookup(ifname=name)
        if not found:
            return []
        alias = ipr.link("get", index=found[0])[0].get_attr("IFLA_IFALIAS")
        if alias != _bridge_alias(root):
            return []  # not ours: some other run's bridge of the same name
        try:
            ipr.link("del", index=found[0])
        except NetlinkError as exc:
            return [f"could not delete bridge {name}: {exc}"]
    return []
