"""`minidock-lab grade`: run a lab's tests against a tree and print a score, xv6 style.

The tests run in a fresh `python -m pytest` with two things set:

* `MINIDOCK_CHAPTER=N`, the lab's chapter world: only chapters 1..N exist,
  as when the chapter is run on its own;
* `PYTHONPATH=<tree>/chapters/01_client`, so that `import minidock` finds the
  tree's own copy (the student's), ahead of the installed reference.

pytest writes a JUnit XML report; one line per test comes from it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from minidock.labs.catalog import Lab


@dataclass
class Result:
    name: str
    outcome: str  # "OK", "FAIL" or "SKIP"
    seconds: float
    detail: str = ""


def grading_env(tree: Path, chapter: int) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(tree / "chapters" / "01_client"),
                                         *filter(None, [env.get("PYTHONPATH")])])
    env["MINIDOCK_CHAPTER"] = str(chapter)
    env.pop("PYTEST_ADDOPTS", None)
    return env


def run_tests(lab: Lab, tree: Path, timeout: float = 600) -> tuple[list[Result], str]:
    """Run `lab`'s grading tests in `tree`: the results and pytest's own output."""
    with tempfile.TemporaryDirectory(prefix="minidock-grade-") as scratch:
        report = Path(scratch) / "report.xml"
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                   f"--junitxml={report}", "-o", "junit_family=xunit1", *lab.tests]
        try:
            proc = subprocess.run(command, cwd=tree, env=grading_env(tree, lab.chapter),
                                  capture_output=True, text=True, timeout=timeout)
            output = proc.stdout + proc.stderr
        except subprocess.TimeoutExpired:
            return [Result("(all tests)", "FAIL", timeout, f"timed out after {timeout:.0f}s")], ""
        if not report.exists():
            return [Result("(pytest)", "FAIL", 0.0, f"pytest exited {proc.returncode} without a report")], output
        return parse_junit(report.read_text(encoding="utf-8")), output


def parse_junit(xml: str) -> list[Result]:
    results = []
    for case in ET.fromstring(xml).iter("testcase"):
        name = case.get("name", "?")
        seconds = float(case.get("time") or 0)
        failed = case.find("failure") if case.find("failure") is not None else case.find("error")
        skipped = case.find("skipped")
        if failed is not None:
            message = (failed.get("message") or "").strip().splitlines()
            results.append(Result(name, "FAIL", seconds, message[0] if message else ""))
        elif skipped is not None:
            results.append(Result(name, "SKIP", seconds, skipped.get("message") or ""))
        else:
            results.append(Result(name, "OK", seconds))
    return results


def report(results: list[Result], out: TextIO) -> bool:
    """Print the per-test lines and the score; True when every test passed."""
    for r in results:
        line = f"{r.name}: {r.outcome}"
        if r.outcome == "OK":
            line += f" ({r.seconds:.1f}s)"
        elif r.detail:
            detail = r.detail if len(r.detail) <= 100 else r.detail[:99] + "…"
            line += f" ({detail})"
        out.write(line + "\n")
    passed = sum(r.outcome == "OK" for r in results)
    out.write(f"Score: {passed}/{len(results)}\n")
    return bool(results) and passed == len(results)
