"""`labs/catalog.toml`: what each lab is about and which tests grade it.

The markers say *where* a lab is; the catalog says the rest - the chapter,
the goal, what to read first, the grading tests, the difficulty. `check`
holds the two together: no lab without a region, no region without a lab.
"""

from __future__ import annotations

import ast
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from minidock.labs import LabError
from minidock.labs.markers import Region, find_regions, stub

CATALOG = Path("labs") / "catalog.toml"


@dataclass
class Lab:
    id: str
    chapter: int
    title: str
    goal: str
    tests: list[str]
    read: list[str] = field(default_factory=list)
    difficulty: int = 1
    regions: list[Region] = field(default_factory=list)

    @property
    def hints(self) -> list[str]:
        return [hint for region in self.regions for hint in region.hints]


def load(root: Path) -> list[Lab]:
    """The catalog's labs, with their regions attached, sorted by id."""
    path = root / CATALOG
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise LabError(f"no lab catalog at {path}") from None
    except tomllib.TOMLDecodeError as e:
        raise LabError(f"{path}: {e}") from None
    labs: list[Lab] = []
    for n, entry in enumerate(data.get("lab", []), 1):
        try:
            lab = Lab(id=str(entry["id"]), chapter=int(entry["chapter"]), title=str(entry["title"]),
                      goal=str(entry["goal"]), tests=[str(t) for t in entry["tests"]],
                      read=[str(r) for r in entry.get("read", [])],
                      difficulty=int(entry.get("difficulty", 1)))
        except KeyError as e:
            raise LabError(f"{path}: lab #{n} has no {e.args[0]!r}") from None
        if not lab.tests:
            raise LabError(f"{path}: lab {lab.id} names no grading tests")
        labs.append(lab)
    regions = find_regions(root)
    for lab in labs:
        lab.regions = [r for r in regions if r.lab_id == lab.id]
    return sorted(labs, key=lambda lab: tuple(int(x) for x in lab.id.split(".")))


def find(labs: list[Lab], lab_id: str) -> Lab:
    for lab in labs:
        if lab.id == lab_id:
            return lab
    raise LabError(f"no lab {lab_id!r}; `minidock-lab list` shows them all")


def check(root: Path) -> list[str]:
    """Every problem of the catalog and markers at `root` (empty: all is well)."""
    try:
        labs = load(root)
        regions = find_regions(root)
    except LabError as e:
        return [str(e)]
    problems: list[str] = []
    ids = [lab.id for lab in labs]
    for dup in sorted({i for i in ids if ids.count(i) > 1}):
        problems.append(f"lab {dup} is in the catalog more than once")
    for lab in labs:
        if not lab.id.startswith(f"{lab.chapter:02d}."):
            problems.append(f"lab {lab.id}: its id does not start with its chapter {lab.chapter:02d}")
        if not lab.regions:
            problems.append(f"lab {lab.id}: no `# lab {lab.id}: ...` region in the code")
        for region in lab.regions:
            if region.title != lab.title:
                problems.append(f"{region.where}: title {region.title!r} is not the catalog's {lab.title!r}")
        for test in lab.tests:
            if not (root / test.split("::")[0]).is_file():
                problems.append(f"lab {lab.id}: no test file {test.split('::')[0]}")
    for region in regions:
        if region.lab_id not in ids:
            problems.append(f"{region.where}: lab {region.lab_id} is not in {CATALOG}")
    by_file: dict[str, list[Region]] = {}
    for region in regions:
        by_file.setdefault(region.path, []).append(region)
    for path, file_regions in by_file.items():
        text = (root / path).read_text(encoding="utf-8")
        for lab_id in sorted({r.lab_id for r in file_regions}):
            stubbed = stub(text, [r for r in file_regions if r.lab_id == lab_id])
            try:
                tree = ast.parse(stubbed, path)
            except SyntaxError as e:
                problems.append(f"{path}:{e.lineno}: the stub of lab {lab_id} is not valid Python "
                                f"({e.msg}); a region must lie inside a function body")
                continue
            bodies = [(node.lineno, node.end_lineno or node.lineno) for node in ast.walk(tree)
                      if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))]
            for number, line in enumerate(stubbed.splitlines(), 1):
                if line.lstrip().startswith(f"raise NotImplementedError('lab {lab_id}:") and \
                        not any(a < number <= b for a, b in bodies):
                    problems.append(f"{path}:{number}: lab {lab_id} is not inside a function body")
    return problems
