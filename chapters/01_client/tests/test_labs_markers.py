"""The lab tooling on a tiny throwaway tree: markers, stubs, check, list, start and grade.

The real catalog is proven in tests/test_labs.py; here every case is small
enough to see why it passes or fails.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hypothesis import given, strategies as st

from minidock.labs import LabError
from minidock.labs.catalog import check, load
from minidock.labs.markers import parse, stub

CODE = textwrap.dedent('''\
    """A module with one lab."""


    # --8<-- [start:double]
    def double(x: int) -> int:
        """Twice x."""
        # lab 01.9: Double a number
        # hint: add it to itself
        y = x + x
        return y
        # end lab 01.9
    # --8<-- [end:double]


    def triple(x: int) -> int:
        return 3 * x
    ''')

TEST = textwrap.dedent('''\
    import minidock
    from minidock.sample import double, triple

    def test_double():
        assert double(2) == 4

    def test_double_negative():
        assert double(-3) == -6

    def test_the_tree_s_own_copy_is_imported():
        import os
        assert minidock.__file__.startswith(os.environ["EXPECTED_ROOT"]), minidock.__file__
        assert double(1) == 2
    ''')

CATALOG = textwrap.dedent('''\
    [[lab]]
    id = "01.9"
    chapter = 1
    title = "Double a number"
    goal = "Write double()."
    read = ["chapters/01_client.md"]
    tests = ["chapters/01_client/tests/test_sample.py"]
    difficulty = 1
    ''')


def make_tree(root: Path, code: str = CODE, catalog: str = CATALOG) -> Path:
    pkg = root / "chapters" / "01_client" / "minidock"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sample.py").write_text(code)
    tests = root / "chapters" / "01_client" / "tests"
    tests.mkdir()
    (tests / "test_sample.py").write_text(TEST)
    (root / "labs").mkdir()
    (root / "labs" / "catalog.toml").write_text(catalog)
    return root


def lab(*args: str, root: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    import os

    return subprocess.run([sys.executable, "-m", "minidock.labs.cli", "--root", str(root), *args],
                          capture_output=True, text=True, env={**os.environ, **(env or {})})


def test_parse_finds_the_region_its_title_and_hints():
    (region,) = parse(CODE, "sample.py")
    assert (region.lab_id, region.title, region.hints) == ("01.9", "Double a number", ["add it to itself"])
    assert CODE.splitlines()[region.start].strip() == "# lab 01.9: Double a number"
    assert CODE.splitlines()[region.end].strip() == "# end lab 01.9"
    assert region.indent == "    "


def test_the_stub_keeps_the_markers_and_hints_and_raises_naming_the_lab():
    stubbed = stub(CODE, parse(CODE))
    assert "y = x + x" not in stubbed
    assert "# hint: add it to itself" in stubbed and "# end lab 01.9" in stubbed
    assert '"""Twice x."""' in stubbed and "# --8<-- [end:double]" in stubbed
    namespace: dict = {}
    exec(compile(stubbed, "sample.py", "exec"), namespace)
    with pytest.raises(NotImplementedError, match="lab 01.9: Double a number"):
        namespace["double"](2)
    assert namespace["triple"](2) == 6


@pytest.mark.parametrize("bad, message", [
    ("def f():\n    # lab 01.9: T\n    pass\n", "never closed"),
    (CODE.replace("# end lab 01.9", "# end lab 01.8"), "closes lab 01.9"),
    ("x = 1\n# end lab 01.9\n", "without a start"),
    (CODE.replace("    return y\n", "    return y\n# --8<-- [end:double]\n"), "straddles"),
    (CODE.replace("    y = x + x\n", "    # lab 01.7: Inner\n"), "starts inside"),
])
def test_malformed_markers_are_errors_that_name_the_line(bad, message):
    with pytest.raises(LabError, match=message):
        parse(bad, "sample.py")


@given(st.lists(st.text(alphabet="abc =+()1\n", max_size=30), max_size=8))
def test_text_without_markers_has_no_regions_and_stubs_to_itself(chunks):
    text = "\n".join(chunks)
    assert parse(text) == []
    assert stub(text, []) in (text, text + "\n") or text == ""


def test_check_accepts_the_tiny_tree(tmp_path):
    assert check(make_tree(tmp_path)) == []
    (only,) = load(tmp_path)
    assert only.regions and only.hints == ["add it to itself"]


@pytest.mark.parametrize("catalog, code, message", [
    (CATALOG.replace('"Double a number"', '"Other title"'), CODE, "is not the catalog's"),
    (CATALOG.replace('"01.9"', '"01.5"'), CODE, "no `# lab 01.5"),
    (CATALOG, "# lab 01.9: Double a number\ny = 1\n# end lab 01.9\n", "not inside a function body"),
    (CATALOG.replace("test_sample.py", "test_missing.py"), CODE, "no test file"),
])
def test_check_reports_each_problem(tmp_path, catalog, code, message):
    problems = check(make_tree(tmp_path, code, catalog))
    assert any(message in p for p in problems), problems
    assert lab("check", root=tmp_path).returncode == 1


def test_list_and_show_print_the_lab(tmp_path):
    make_tree(tmp_path)
    listed = lab("list", root=tmp_path)
    assert listed.returncode == 0, listed.stderr
    header, row = listed.stdout.splitlines()
    assert header.split()[:3] == ["ID", "CHAPTER", "TITLE"]
    assert row.split()[:2] == ["01.9", "01"] and "Double a number" in row
    assert row.endswith("   test_sample.py")
    shown = lab("show", "01.9", root=tmp_path)
    assert "add it to itself" in shown.stdout and "minidock-lab grade 01.9" in shown.stdout


def test_start_then_grade_fails_and_the_solution_passes(tmp_path):
    ref = make_tree(tmp_path / "ref")
    work = tmp_path / "work"
    started = lab("start", "01.9", str(work), root=ref)
    assert started.returncode == 0, started.stderr
    assert "NotImplementedError" in (work / "chapters/01_client/minidock/sample.py").read_text()
    log = subprocess.run(["git", "-C", str(work), "log", "--format=%an %s"], capture_output=True, text=True)
    assert log.stdout.strip() == "minidock-lab minidock lab 01.9: start"

    env = {"EXPECTED_ROOT": str(work)}
    graded = lab("grade", "01.9", str(work), root=ref, env=env)
    assert graded.returncode == 1
    assert "test_double: FAIL" in graded.stdout and "Score: 0/3" in graded.stdout

    (work / "chapters/01_client/minidock/sample.py").write_text(CODE)  # the student's solution
    graded = lab("grade", "01.9", str(work), root=ref, env=env)
    assert graded.returncode == 0, graded.stdout
    assert "test_double: OK" in graded.stdout and "Score: 3/3" in graded.stdout

    reference = lab("grade", "01.9", root=ref, env={"EXPECTED_ROOT": str(ref)})
    assert reference.returncode == 0, reference.stdout


def test_start_refuses_a_non_empty_dir_and_an_unknown_lab(tmp_path):
    ref = make_tree(tmp_path / "ref")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("mine")
    refused = lab("start", "01.9", str(tmp_path / "full"), root=ref)
    assert refused.returncode == 1 and "not an empty directory" in refused.stderr
    assert (tmp_path / "full" / "x").read_text() == "mine"
    unknown = lab("start", "09.9", str(tmp_path / "w"), root=ref)
    assert unknown.returncode == 1 and "no lab '09.9'" in unknown.stderr and "Traceback" not in unknown.stderr
    assert not (tmp_path / "w").exists()
