"""What this machine has and lacks, for each chapter.

A student's VM is not ours: the kernel may lack overlayfs, cgroups may be v1,
v2 or both, busybox may be dynamic. Each check below is data - a name, the
chapters that need it, a probe and what to do about a failure - so the list
reads as the book's requirements page. Probes only look; they change nothing.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Finding:
    ok: bool
    detail: str


@dataclass(frozen=True)
class Check:
    name: str
    chapters: tuple[int, ...]  # the chapters that need it
    probe: Callable[[], Finding]
    fix: str  # what to do when the probe fails


def _root() -> Finding:
    uid = os.geteuid()
    return Finding(uid == 0, "running as root" if uid == 0 else f"running as uid {uid}")


def _python() -> Finding:
    version = platform.python_version_tuple()
    return Finding((int(version[0]), int(version[1])) >= (3, 11), f"Python {platform.python_version()}")


def _kernel() -> Finding:
    release = platform.release()
    try:
        major, minor = (int(part) for part in release.split(".")[:2])
    except ValueError:
        return Finding(False, f"cannot read kernel version {release!r}")
    return Finding((major, minor) >= (4, 18), f"Linux {release}")


def _filesystem(name: str, option: str) -> Callable[[], Finding]:
    def probe() -> Finding:
        if name in Path("/proc/filesystems").read_text().split():
            return Finding(True, f"{name} in /proc/filesystems")
        return _kernel_feature(name, option)()
    return probe


def cgroup_layout() -> tuple[list[str], bool]:
    """(v1 controllers mounted, is a cgroup2 hierarchy mounted)"""
    v1: list[str] = []
    v2 = False
    for line in Path("/proc/self/mounts").read_text().splitlines():
        fields = line.split()
        if len(fields) < 4:
            continue
        if fields[2] == "cgroup2":
            v2 = True
        elif fields[2] == "cgroup":
            v1 += [opt for opt in fields[3].split(",") if opt in _CONTROLLERS]
    return sorted(set(v1)), v2


_CONTROLLERS = {"cpu", "cpuacct", "cpuset", "memory", "pids", "blkio", "devices", "freezer", "net_cls", "hugetlb", "perf_event"}


def _cgroups() -> Finding:
    v1, v2 = cgroup_layout()
    if v2 and not v1:
        controllers = Path("/sys/fs/cgroup/cgroup.controllers")
        names = controllers.read_text().split() if controllers.exists() else []
        return Finding(True, f"cgroup v2 (unified), controllers: {' '.join(names) or 'none listed'}")
    if v1:
        return Finding(True, f"cgroup v1 controllers: {' '.join(v1)}" + ("; plus a cgroup2 mount" if v2 else ""))
    return Finding(False, "no cgroup file system mounted")


def _namespaces() -> Finding:
    kinds = ["mnt", "uts", "ipc", "pid", "net", "user", "cgroup"]
    missing = [k for k in kinds if not Path(f"/proc/self/ns/{k}").exists()]
    return Finding(not missing, "all namespace kinds present" if not missing else f"missing: {', '.join(missing)}")


def kernel_config() -> dict[str, str]:
    """The running kernel's build options (CONFIG_X -> y/m), if the kernel says."""
    import gzip

    for path in (Path("/proc/config.gz"), Path(f"/boot/config-{platform.release()}")):
        try:
            data = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
        except OSError:
            continue
        return dict(line.split("=", 1) for line in data.decode(errors="replace").splitlines()
                    if line.startswith("CONFIG_") and "=" in line)
    return {}


def _kernel_feature(module: str, option: str) -> Callable[[], Finding]:
    """Loaded, built in (per the kernel config) or available as a module file."""
    def probe() -> Finding:
        if Path(f"/sys/module/{module}").exists():
            return Finding(True, f"{module} loaded")
        setting = kernel_config().get(option)
        if setting == "y":
            return Finding(True, f"{module} built into the kernel ({option}=y)")
        modules = Path(f"/lib/modules/{platform.release()}")
        if setting == "m" or (modules.is_dir() and list(modules.rglob(f"{module}.ko*"))):
            return Finding(True, f"{module} available as a module")
        return Finding(False, f"no {module} support found ({option} not set)")
    return probe


def _iptables() -> Finding:
    path = shutil.which("iptables")
    if not path:
        return Finding(False, "iptables not installed")
    try:
        out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Finding(False, f"iptables --version failed: {exc}")
    backend = "nf_tables" if "nf_tables" in out else "legacy" if "legacy" in out else "unknown"
    return Finding(True, f"{out} (backend: {backend})")


def is_static_elf(path: Path) -> bool:
    """A static binary has no PT_INTERP program header (no dynamic loader to find in a rootfs)."""
    import struct

    data = path.read_bytes()[:4096]
    if data[:4] != b"\x7fELF" or data[4] != 2:  # 64-bit only
        return False
    phoff, = struct.unpack_from("<Q", data, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
    return not any(
        struct.unpack_from("<I", data, phoff + i * phentsize)[0] == 3  # PT_INTERP
        for i in range(phnum) if phoff + (i + 1) * phentsize <= len(data)
    )


def _busybox() -> Finding:
    for candidate in ("/bin/busybox", "/usr/bin/busybox"):
        path = Path(candidate)
        if path.exists():
            if is_static_elf(path.resolve()):
                return Finding(True, f"static busybox at {candidate}")
            return Finding(False, f"{candidate} is dynamically linked")
    return Finding(False, "no busybox found")


def _program(name: str, *args: str) -> Callable[[], Finding]:
    def probe() -> Finding:
        path = shutil.which(name) or (f"/usr/sbin/{name}" if Path(f"/usr/sbin/{name}").exists() else None)
        if not path:
            return Finding(False, f"{name} not found")
        if not args:
            return Finding(True, path)
        try:
            out = subprocess.run([path, *args], capture_output=True, text=True, timeout=10).stdout.strip()
        except (OSError, subprocess.TimeoutExpired) as exc:
            return Finding(False, f"{path}: {exc}")
        return Finding(True, out.splitlines()[0] if out else path)
    return probe


def _module(name: str) -> Callable[[], Finding]:
    def probe() -> Finding:
        import importlib.util

        spec = importlib.util.find_spec(name)
        return Finding(spec is not None, f"python module {name}" + ("" if spec else " not importable"))
    return probe


# --8<-- [start:checks]
CHECKS: list[Check] = [
    Check("python", (1,), _python, "install Python 3.11 or newer (Debian 12: apt-get install python3 python3-venv)"),
    Check("root", (3, 6, 7), _root, "run as root (sudo -i): the daemon runs containers and creates mounts, cgroups, bridges"),
    Check("kernel", (6, 7), _kernel, "use a Linux kernel >= 4.18 (any current Debian/Ubuntu has one)"),
    Check("docker CLI", (1,), _program("docker", "--version"), "optional: the Go docker CLI, to compare with ours (https://docs.docker.com/engine/install/)"),
    Check("dockerd (reference)", (1,), _program("dockerd", "--version"), "apt-get install docker.io (the interop tests run a private dockerd 20.10)"),
    Check("busybox (offline image)", (1, 4), _busybox, "apt-get install busybox-static (the offline base image is built from it)"),
    Check("skopeo", (4,), _program("skopeo", "--version"), "apt-get install skopeo (registry interop tests)"),
    Check("docker-registry", (4,), _program("docker-registry", "--version"), "apt-get install docker-registry (a stock registry to test against)"),
    Check("overlayfs", (6,), _filesystem("overlay", "CONFIG_OVERLAY_FS"), "load the overlay module (modprobe overlay) or use the vfs graphdriver"),
    Check("bridge", (6,), _kernel_feature("bridge", "CONFIG_BRIDGE"), "modprobe bridge"),
    Check("veth", (6, 7), _kernel_feature("veth", "CONFIG_VETH"), "modprobe veth"),
    Check("iptables", (6,), _iptables, "apt-get install iptables"),
    Check("pyroute2", (6,), _module("pyroute2"), "pip install pyroute2 (make demo installs it in .venv)"),
    Check("namespaces", (7,), _namespaces, "use a kernel with CONFIG_NAMESPACES (all distribution kernels have it)"),
    Check("cgroups", (7,), _cgroups, "mount cgroup v2 at /sys/fs/cgroup (systemd does) or the v1 controllers"),
]
# --8<-- [end:checks]


def run_checks(limit: int | None = None) -> list[tuple[Check, Finding]]:
    """Every check needed by a chapter of the world (all chapters for None)."""
    results = []
    for check in CHECKS:
        if limit is not None and min(check.chapters) > limit:
            continue
        try:
            finding = check.probe()
        except OSError as exc:
            finding = Finding(False, f"probe failed: {exc}")
        results.append((check, finding))
    return results
