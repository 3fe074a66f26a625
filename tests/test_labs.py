"""The proof of every lab in labs/catalog.toml (issue 6), run by `make test`:

1. the reference passes the lab's grading tests (`minidock-lab grade ID`);
2. a fresh workspace (`minidock-lab start ID DIR`) imports cleanly, and
   *every* grading test fails there - so each test really grades the lab,
   and `grade` exits non-zero;
3. a correct solution - the reference files of the lab put back - passes.

Each workspace stubs one lab only, so passing 2 and 3 lab by lab is also
what lets the labs of a chapter be done in any order. The labs run in
parallel (a thread per lab, each driving subprocesses); the whole proof
takes about as long as the slowest lab's three pytest runs.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from minidock.labs import REFERENCE_ROOT
from minidock.labs.catalog import Lab, check, load

LABS = load(REFERENCE_ROOT)
LINE = re.compile(r"^(?P<name>.+): (?P<outcome>OK|FAIL|SKIP)\b", re.MULTILINE)
SCORE = re.compile(r"^Score: (\d+)/(\d+)$", re.MULTILINE)


@dataclass
class Run:
    returncode: int
    output: str

    @property
    def outcomes(self) -> dict[str, str]:
        return {m["name"]: m["outcome"] for m in LINE.finditer(self.output)}

    @property
    def score(self) -> tuple[int, int]:
        m = SCORE.search(self.output)
        return (int(m[1]), int(m[2])) if m else (-1, -1)


def minidock_lab(*args: str) -> Run:
    proc = subprocess.run([sys.executable, "-m", "minidock.labs.cli", *args],
                          capture_output=True, text=True, timeout=900)
    return Run(proc.returncode, proc.stdout + proc.stderr)


@dataclass
class Proof:
    reference: Run
    start: Run
    imports: Run
    workspace: Run
    solution: Run


def prove(lab: Lab, workspace: Path) -> Proof:
    reference = minidock_lab("grade", lab.id)
    start = minidock_lab("start", lab.id, str(workspace))
    env = {**os.environ, "PYTHONPATH": str(workspace / "chapters" / "01_client"),
           "MINIDOCK_CHAPTER": str(lab.chapter)}
    proc = subprocess.run([sys.executable, "-c", "import minidock; print(minidock.__file__)"],
                          capture_output=True, text=True, env=env, cwd=workspace)
    imports = Run(proc.returncode, proc.stdout + proc.stderr)
    graded = minidock_lab("grade", lab.id, str(workspace))
    for path in {r.path for r in lab.regions}:  # the student's correct solution
        shutil.copy2(REFERENCE_ROOT / path, workspace / path)
    solution = minidock_lab("grade", lab.id, str(workspace))
    return Proof(reference, start, imports, graded, solution)


@pytest.fixture(scope="module")
def proofs(tmp_path_factory) -> dict[str, Proof]:
    root = tmp_path_factory.mktemp("labs")
    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        futures = {lab.id: pool.submit(prove, lab, root / f"lab-{lab.id}") for lab in LABS}
        return {lab_id: future.result() for lab_id, future in futures.items()}


def test_the_catalog_and_the_markers_agree():
    assert check(REFERENCE_ROOT) == []
    assert len(LABS) >= 10
    for chapter in (1, 2, 3, 4):
        assert 2 <= sum(lab.chapter == chapter for lab in LABS) <= 4, chapter


def test_list_prints_every_lab():
    listed = minidock_lab("list")
    assert listed.returncode == 0, listed.output
    ids = [line.split()[0] for line in listed.output.splitlines()[1:]]
    assert ids == [lab.id for lab in LABS]


@pytest.mark.parametrize("lab", LABS, ids=[lab.id for lab in LABS])
def test_the_lab_is_graded_by_its_tests(lab, proofs, tmp_path):
    proof = proofs[lab.id]
    ref = proof.reference
    assert ref.returncode == 0, f"the reference fails lab {lab.id}:\n{ref.output}"
    passed, total = ref.score
    assert total > 0 and passed == total, ref.output

    assert proof.start.returncode == 0, proof.start.output
    assert proof.imports.returncode == 0, proof.imports.output
    assert "lab-" + lab.id in proof.imports.output, "`import minidock` must be the workspace's copy"

    ws = proof.workspace
    assert ws.returncode != 0, ws.output
    assert ws.score == (0, total), f"every grading test of lab {lab.id} must fail in a fresh workspace:\n{ws.output}"
    assert set(ws.outcomes.values()) == {"FAIL"}, ws.output

    solved = proof.solution
    assert solved.returncode == 0, f"the reference code put back fails lab {lab.id}:\n{solved.output}"
    assert solved.score == (total, total), solved.output


def load_hook():
    import importlib.util

    spec = importlib.util.spec_from_file_location("labs_hook", REFERENCE_ROOT / "docs" / "hooks" / "labs.py")
    hook = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hook)
    return hook


@pytest.mark.parametrize("chapter", [1, 2, 3, 4])
def test_each_chapter_page_gets_its_lab_section_from_the_metadata(chapter):
    (page,) = (REFERENCE_ROOT / "docs" / "chapters").glob(f"{chapter:02d}_*.md")
    text = page.read_text()
    assert f"\n## Lab\n\n<!-- labs:{chapter:02d} -->\n" in text
    hook = load_hook()

    class Config:
        config_file_path = str(REFERENCE_ROOT / "mkdocs.yml")

    class Page:
        class file:
            src_uri = f"chapters/{page.name}"

    rendered = hook.on_page_markdown(text, Page, Config, None)
    assert "<!-- labs:" not in rendered
    for lab in (lab for lab in LABS if lab.chapter == chapter):
        assert f"### Lab {lab.id}: {lab.title}" in rendered
        assert lab.goal in rendered
        assert f"minidock-lab start {lab.id} ~/lab-{lab.id}" in rendered
        assert f"minidock-lab grade {lab.id} ~/lab-{lab.id}" in rendered
        for hint in lab.hints:
            assert f"- {hint}" in rendered
