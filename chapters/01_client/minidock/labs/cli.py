"""`minidock-lab`: list, show, start, grade and check the labs.

    minidock-lab list                 every lab: id, chapter, title, grading tests
    minidock-lab show ID              goal, what to read first, hints, the commands
    minidock-lab start ID DIR         a workspace with lab ID stubbed out, as a git repository
    minidock-lab grade ID [DIR]       run the grading tests on DIR (default: the reference)
    minidock-lab check                markers and catalog agree
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from minidock.labs import REFERENCE_ROOT, LabError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="minidock-lab", description="Labs generated from the minidock reference code.")
    parser.add_argument("--root", type=Path, default=REFERENCE_ROOT,
                        help="the reference tree (default: %(default)s)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser("list", help="list every lab")
    show = sub.add_parser("show", help="what a lab asks, and how to start and grade it")
    show.add_argument("id")
    start = sub.add_parser("start", help="create a student workspace for a lab")
    start.add_argument("id")
    start.add_argument("dir", type=Path)
    grade = sub.add_parser("grade", help="run a lab's grading tests")
    grade.add_argument("id")
    grade.add_argument("dir", type=Path, nargs="?", help="the workspace (default: the reference)")
    sub.add_parser("check", help="check that the markers and the catalog agree")
    return parser


def graded_by(tests: list[str]) -> str:
    """`test_hosts.py (3 tests), test_tcp_hosts.py`: a file, or how many of its tests."""
    files: dict[str, int] = {}
    for test in tests:
        name, _, node = test.partition("::")
        files[name] = files.get(name, 0) + (1 if node else 0)
    return ", ".join(Path(name).name + (f" ({n} test{'s' if n > 1 else ''})" if n else "")
                     for name, n in files.items())


def cmd_list(root: Path, args: argparse.Namespace) -> int:
    from minidock.labs.catalog import load

    rows = [("ID", "CHAPTER", "TITLE", "GRADED BY")]
    for lab in load(root):
        rows.append((lab.id, f"{lab.chapter:02d}", lab.title, graded_by(lab.tests)))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for row in rows:
        print("   ".join(cell.ljust(w) for cell, w in zip(row, widths)) + "   " + row[3])
    return 0


def cmd_show(root: Path, args: argparse.Namespace) -> int:
    from minidock.labs.catalog import find, load

    lab = find(load(root), args.id)
    print(f"Lab {lab.id}: {lab.title}  (chapter {lab.chapter:02d}, difficulty {lab.difficulty}/3)\n")
    print(lab.goal + "\n")
    if lab.read:
        print("Read first (docs/):")
        for page in lab.read:
            print(f"  {page}")
    print("Where:")
    for region in lab.regions:
        print(f"  {region.where}")
    if lab.hints:
        print("Hints:")
        for hint in lab.hints:
            print(f"  - {hint}")
    print("Graded by:")
    for test in lab.tests:
        print(f"  {test}")
    print(f"\n  minidock-lab start {lab.id} ~/lab-{lab.id}\n  minidock-lab grade {lab.id} ~/lab-{lab.id}")
    return 0


def cmd_start(root: Path, args: argparse.Namespace) -> int:
    from minidock.labs.catalog import find, load
    from minidock.labs.workspace import start

    lab = find(load(root), args.id)
    dest = args.dir.resolve()
    start(lab, root, dest)
    print(f"Lab {lab.id}: {lab.title}")
    print(f"Workspace: {dest} (a git repository; `git diff` shows your work)")
    print("Write the parts marked `# lab {0}` in:".format(lab.id))
    for path in sorted({r.path for r in lab.regions}):
        print(f"  {path}")
    print(f"Then: minidock-lab grade {lab.id} {args.dir}")
    return 0


def cmd_grade(root: Path, args: argparse.Namespace) -> int:
    from minidock.labs.catalog import find, load
    from minidock.labs.grade import report, run_tests

    lab = find(load(root), args.id)
    tree = (args.dir or root).resolve()
    if not (tree / "chapters" / "01_client" / "minidock").is_dir():
        raise LabError(f"{tree} is not a minidock tree (no chapters/01_client/minidock)")
    print(f"Grading lab {lab.id} ({lab.title}) in {tree}, chapter world {lab.chapter}")
    results, output = run_tests(lab, tree)
    ok = report(results, sys.stdout)
    if not results:
        sys.stdout.write(output[-2000:])
    return 0 if ok else 1


def cmd_check(root: Path, args: argparse.Namespace) -> int:
    from minidock.labs.catalog import check, load

    problems = check(root)
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        return 1
    labs = load(root)
    regions = sum(len(lab.regions) for lab in labs)
    print(f"{len(labs)} labs, {regions} regions: OK")
    return 0


COMMANDS = {"list": cmd_list, "show": cmd_show, "start": cmd_start, "grade": cmd_grade, "check": cmd_check}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args.root.resolve(), args)
    except LabError as e:
        print(f"minidock-lab: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
