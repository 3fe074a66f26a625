"""`minidock doctor`: every check reports, and the probes read the machine truly."""

import sys
from pathlib import Path

from minidock.doctor import CHECKS, cgroup_layout, is_static_elf, run_checks
from minidock.testing import run_cli


def test_doctor_prints_one_line_per_check_of_the_world():
    result = run_cli("doctor", "--chapter", "1")
    lines = result.stdout.decode().splitlines()
    wanted = [c for c in CHECKS if min(c.chapters) <= 1]
    for check in wanted:
        assert any(check.name in line and line.startswith(("[ok  ]", "[MISS]")) for line in lines), check.name
    assert f"of {len(wanted)} checks pass for chapters 01..01" in lines[-1]
    missing = [line for line in lines if line.startswith("[MISS]")]
    assert result.returncode == (1 if missing else 0)


def test_a_failed_check_says_what_to_do():
    for check in CHECKS:
        assert check.fix and check.chapters


def test_python_check_matches_the_running_interpreter():
    (check, finding), = [(c, f) for c, f in run_checks(1) if c.name == "python"]
    assert finding.ok and sys.version.split()[0] in finding.detail


def test_static_and_dynamic_binaries_are_told_apart():
    assert not is_static_elf(Path("/bin/sh").resolve())  # dash links libc
    busybox = Path("/bin/busybox")
    if busybox.exists():
        assert is_static_elf(busybox.resolve())


def test_cgroup_layout_agrees_with_proc_mounts():
    v1, v2 = cgroup_layout()
    mounts = Path("/proc/self/mounts").read_text()
    assert v2 == (" cgroup2 " in mounts)
    for controller in v1:
        assert controller in mounts
