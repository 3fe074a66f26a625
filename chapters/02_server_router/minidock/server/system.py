"""The handlers chapter 02 answers for real: `/_ping`, `/version`, `/info`.

They are what every client asks first: the docker CLI sends `HEAD /_ping`
before each command to learn the API version, docker-py starts with
`GET /version`, and `docker info` reads `GET /info`. Their answers must be
*true* (the kernel, the CPUs, the memory of this machine, the data root of
this daemon) and of the right JSON types: the CLI decodes them into Go
structs, and an `NCPU` sent as a string is a crash, not a cosmetic slip.

The handlers need a few facts that only the daemon knows (its data root,
its debug flag, the API version it advertises). They get them from a
`DaemonFacts` record that the daemon builds once at start-up; this module
reads everything else from the machine (`os.uname`, `/proc/meminfo`,
`/etc/os-release`, `/sys/fs/cgroup`) at the moment of the request.

Besides the three, two answers for subsystems minidock never has, so that
clients that probe them get dockerd's answers (routes.py says why):
swarm mode (503 "not a swarm manager") and plugins (none: `[]` and 404).
"""

from __future__ import annotations

import os
import platform
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import minidock
from minidock.server.errors import NotFound, Unavailable

if TYPE_CHECKING:
    from minidock.server.request import Request
    from minidock.server.response import ResponseWriter
    from minidock.server.router import Handler

# Go's names for machine architectures: `docker version` shows GOARCH ("amd64"),
# `docker info` shows the kernel's (`uname -m`, "x86_64"), as dockerd does.
GO_ARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "armv6l": "arm", "i686": "386",
           "i386": "386", "ppc64le": "ppc64le", "s390x": "s390x", "riscv64": "riscv64"}

NOT_A_SWARM_MANAGER = ('This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" '
                       'to connect this node to swarm and try again.')
CHAPTER_02_WARNING = "WARNING: minidock is an educational engine; chapter 02 has no container runtime yet"


# --8<-- [start:daemon_facts]
@dataclass(frozen=True)
class DaemonFacts:
    """What the system handlers know about the daemon, fixed at start-up.

    The daemon builds one from its configuration:

        DaemonFacts(data_root=config.data_root, engine_id=load_engine_id(config.data_root),
                    api_version=config.api_version, debug=config.debug)
    """

    data_root: Path | str  # DockerRootDir
    engine_id: str  # ID: stable per data root (see load_engine_id)
    api_version: str = "1.41"  # the advertised (maximum) API version
    min_api_version: str = "1.24"
    debug: bool = False
    server_version: str = minidock.__version__
    start_time: float = field(default_factory=time.time)
    warnings: tuple[str, ...] = (CHAPTER_02_WARNING,)
# --8<-- [end:daemon_facts]


# --8<-- [start:engine_id]
def load_engine_id(data_root: Path | str) -> str:
    """The engine's ID, kept in `<data-root>/engine-id` (as moby does since 23.0).

    Made once, a random UUID, so that `docker info` shows the same ID across
    restarts of a daemon on the same data root, and a different one for
    another data root. Written to a temporary file and renamed, so a crash
    never leaves a half-written ID."""
    path = Path(data_root) / "engine-id"
    try:
        existing = path.read_text().strip()
    except FileNotFoundError:
        existing = ""
    if existing:
        return existing
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    new_id = str(uuid.uuid4())
    temporary = path.with_name(f".engine-id.{os.getpid()}.tmp")
    with open(temporary, "w") as file:
        file.write(new_id + "\n")
        file.flush()
        os.fsync(file.fileno())
    os.replace(temporary, path)
    return new_id
# --8<-- [end:engine_id]


# ---------------------------------------------------------------- /_ping ----
# --8<-- [start:ping]
def ping(request: Request, response: ResponseWriter) -> None:
    """`HEAD /_ping` and `GET /_ping`: is the daemon there, and which API does it speak?

    The answer that matters is in the headers every response carries
    (`Api-Version`, `Ostype`, `Docker-Experimental`: the response writer adds
    them). The CLI pings with HEAD before every command, so HEAD has no body;
    docker-py's `ping()` wants the body to be exactly `OK`."""
    response.headers["Cache-Control"] = "no-cache, no-store, must-revalidate"
    response.headers["Pragma"] = "no-cache"
    body = b"" if request.method == "HEAD" else b"OK"
    response.raw(200, body, "text/plain; charset=utf-8")
# --8<-- [end:ping]


# ---------------------------------------------------------------- /version ----
def go_version() -> str:
    """What stands where dockerd names its Go toolchain: our interpreter ("python3.11.2")."""
    return f"python{platform.python_version()}"


def build_time() -> str:
    """When this copy of minidock was built: the time of the package's root
    file, in the format dockerd uses ("2020-06-22T15:49:27.000000000+00:00")."""
    mtime = os.stat(minidock.__file__).st_mtime
    return datetime.fromtimestamp(int(mtime), timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000000000+00:00")


def git_commit() -> str:
    """The commit of the source tree the daemon runs from, if it runs from a
    git checkout (12 hex digits, like dockerd's "48a66213fe"); else "unknown"."""
    git = Path(minidock.__file__).resolve().parents[3] / ".git"
    try:
        head = (git / "HEAD").read_text().strip()
        if head.startswith("ref: "):
            ref = head[5:]
            ref_file = git / ref
            if ref_file.exists():
                head = ref_file.read_text().strip()
            else:
                packed = (git / "packed-refs").read_text().splitlines()
                head = next(line.split()[0] for line in packed if line.endswith(" " + ref))
        return head[:12] if len(head) >= 12 else "unknown"
    except (OSError, StopIteration, IndexError):
        return "unknown"


# --8<-- [start:version_body]
def version_body(facts: DaemonFacts) -> dict[str, Any]:
    """The body of `GET /version` (docker-api.md §6.5): every field a string
    except `Experimental`; inside `Components[].Details`, strings only."""
    uname = os.uname()
    fields = {
        "ApiVersion": facts.api_version,
        "Arch": GO_ARCH.get(uname.machine, uname.machine),
        "BuildTime": build_time(),
        "GitCommit": git_commit(),
        "GoVersion": go_version(),
        "KernelVersion": uname.release,
        "MinAPIVersion": facts.min_api_version,
        "Os": "linux",
    }
    return {
        "Platform": {"Name": "minidock"},
        "Components": [{"Name": "Engine", "Version": facts.server_version,
                        "Details": {**fields, "Experimental": "false"}}],
        "Version": facts.server_version,
        **fields,
        "Experimental": False,
    }
# --8<-- [end:version_body]


def version(facts: DaemonFacts, request: Request, response: ResponseWriter) -> None:
    """`GET /version`."""
    response.json(200, version_body(facts))


# ---------------------------------------------------------------- /info ----
def mem_total() -> int:
    """Physical memory in bytes (`MemTotal` of /proc/meminfo is in KiB)."""
    with open("/proc/meminfo") as meminfo:
        for line in meminfo:
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    return 0


def os_release() -> dict[str, str]:
    """`/etc/os-release` (or `/usr/lib/os-release`) as a dict, quotes removed."""
    for name in ("/etc/os-release", "/usr/lib/os-release"):
        try:
            with open(name) as release:
                pairs = (line.rstrip("\n").split("=", 1) for line in release if "=" in line)
                return {key: value.strip().strip('"').strip("'") for key, value in pairs}
        except OSError:
            continue
    return {}


def ncpu() -> int:
    """The CPUs this daemon may run on: Go's `runtime.NumCPU()` counts the affinity mask too."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def cgroup_version() -> str:
    """"2" on a unified hierarchy (it has `cgroup.controllers` at its root), else "1"."""
    return "2" if os.path.exists("/sys/fs/cgroup/cgroup.controllers") else "1"


def sysctl_on(path: str) -> bool:
    try:
        with open(path) as value:
            return value.read().strip() == "1"
    except OSError:
        return False


def open_fds() -> int:
    try:
        return len(os.listdir("/proc/self/fd"))
    except OSError:
        return 0


def proxy_setting(name: str) -> str:
    """The daemon's own proxy environment, as dockerd reports it (either case)."""
    return os.environ.get(name, os.environ.get(name.lower(), ""))


# --8<-- [start:info_body]
def info_body(facts: DaemonFacts) -> dict[str, Any]:
    """The body of `GET /info`: true facts about this daemon and this machine.

    Chapter 02 has no containers, images, drivers, runtimes or resource
    controls yet, so it says so: zero counts, empty driver and runtime names,
    and `false` for every resource limit. Later chapters build their own
    `info` from this body and correct what they bring."""
    uname = os.uname()
    release = os_release()
    return {
        "ID": facts.engine_id,
        "Containers": 0, "ContainersRunning": 0, "ContainersPaused": 0, "ContainersStopped": 0,
        "Images": 0,
        "Driver": "", "DriverStatus": [],
        "DockerRootDir": str(facts.data_root),
        "Plugins": {"Volume": [], "Network": [], "Authorization": None, "Log": []},
        "MemoryLimit": False, "SwapLimit": False, "KernelMemory": False, "KernelMemoryTCP": False,
        "CpuCfsPeriod": False, "CpuCfsQuota": False, "CPUShares": False, "CPUSet": False,
        "PidsLimit": False, "OomKillDisable": False,
        "IPv4Forwarding": sysctl_on("/proc/sys/net/ipv4/ip_forward"),
        "BridgeNfIptables": sysctl_on("/proc/sys/net/bridge/bridge-nf-call-iptables"),
        "BridgeNfIp6tables": sysctl_on("/proc/sys/net/bridge/bridge-nf-call-ip6tables"),
        "Debug": facts.debug,
        "NFd": open_fds(),
        "NGoroutines": threading.active_count(),  # our goroutines are threads
        "SystemTime": datetime.now(timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z"),
        "LoggingDriver": "json-file",
        "CgroupDriver": "cgroupfs",
        "CgroupVersion": cgroup_version(),
        "NEventsListener": 0,
        "KernelVersion": uname.release,
        "OperatingSystem": release.get("PRETTY_NAME", "Linux"),
        "OSVersion": release.get("VERSION_ID", ""),
        "OSType": "linux",
        "Architecture": uname.machine,
        "NCPU": ncpu(),
        "MemTotal": mem_total(),
        "IndexServerAddress": "https://index.docker.io/v1/",
        "RegistryConfig": {
            "AllowNondistributableArtifactsCIDRs": [], "AllowNondistributableArtifactsHostnames": [],
            "InsecureRegistryCIDRs": ["127.0.0.0/8"],
            "IndexConfigs": {"docker.io": {"Name": "docker.io", "Mirrors": [], "Secure": True, "Official": True}},
            "Mirrors": [],
        },
        "GenericResources": None,
        "HttpProxy": proxy_setting("HTTP_PROXY"),
        "HttpsProxy": proxy_setting("HTTPS_PROXY"),
        "NoProxy": proxy_setting("NO_PROXY"),
        "Name": socket.gethostname(),
        "Labels": [],
        "ExperimentalBuild": False,
        "ServerVersion": facts.server_version,
        "Runtimes": {},
        "DefaultRuntime": "",
        "Swarm": {"NodeID": "", "NodeAddr": "", "LocalNodeState": "inactive", "ControlAvailable": False,
                  "Error": "", "RemoteManagers": None},
        "LiveRestoreEnabled": False,
        "Isolation": "",
        "InitBinary": "",
        "ContainerdCommit": {"ID": "", "Expected": ""},
        "RuncCommit": {"ID": "", "Expected": ""},
        "InitCommit": {"ID": "", "Expected": ""},
        "SecurityOptions": [],
        "Warnings": list(facts.warnings),
    }
# --8<-- [end:info_body]


def info(facts: DaemonFacts, request: Request, response: ResponseWriter) -> None:
    """`GET /info`."""
    response.json(200, info_body(facts))


# ---------------------------------------------------------------- swarm, plugins ----
def not_swarm_manager(request: Request, response: ResponseWriter) -> None:
    """Every swarm-manager route, as a dockerd outside a swarm answers it."""
    raise Unavailable(NOT_A_SWARM_MANAGER)


def plugins(request: Request, response: ResponseWriter) -> None:
    """`GET /plugins`: minidock has no plugin subsystem, so there are none."""
    response.json(200, [])


def plugin_inspect(request: Request, response: ResponseWriter) -> None:
    """`GET /plugins/{name}/json`: no plugin by any name (dockerd's words)."""
    raise NotFound(f'plugin "{request.vars["name"]}" not found')


# --8<-- [start:install]
def handlers_for(facts: DaemonFacts) -> dict[str, Handler]:
    """The jobs chapter 02 serves, keyed by the job names of routes.py."""
    return {
        "ping": ping,
        "version": partial(version, facts),
        "info": partial(info, facts),
        "swarm": not_swarm_manager,
        "plugins": plugins,
        "plugin_inspect": plugin_inspect,
    }


def install(handlers: dict[str, Handler], facts: DaemonFacts) -> None:
    """Add chapter 02's handlers to a handler table (the router's, usually)."""
    handlers.update(handlers_for(facts))
# --8<-- [end:install]
