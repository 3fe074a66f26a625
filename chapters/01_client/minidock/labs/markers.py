"""The lab markers: plain comments around the code a student writes.

    def feed(self, data):
        \"\"\"The docstring stays.\"\"\"
        # lab NN.M: the title, as in labs/catalog.toml
        # hint: a network read may hold half a header
        ...the reference code...
        # end lab NN.M

Comments, so the reference runs unchanged and the book may quote them. A
region lies inside a function body, so that its stub - the same start and
hint lines, one `raise NotImplementedError(...)`, the end line - is valid
Python. It must not cut across a snippet section the book quotes
(`# --8<-- [start:x]`): the stub would leave half a section behind.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from minidock.labs import LabError

START = re.compile(r"^(?P<indent>[ \t]*)# lab (?P<id>\d\d\.\d+): (?P<title>.+?)\s*$")
HINT = re.compile(r"^[ \t]*# hint: (?P<text>.*?)\s*$")
END = re.compile(r"^[ \t]*# end lab (?P<id>\d\d\.\d+)\s*$")
SNIPPET = re.compile(r"#\s*--8<--\s*\[(?:start|end):")


@dataclass
class Region:
    """Lines `start`..`end` (0-based, both marker lines included) of one file."""

    lab_id: str
    title: str
    path: str  # relative to the tree's root, with "/"
    start: int
    end: int
    indent: str
    hints: list[str] = field(default_factory=list)

    @property
    def where(self) -> str:
        return f"{self.path}:{self.start + 1}"


def parse(text: str, path: str = "<string>") -> list[Region]:
    """Every lab region of one file's text; a `LabError` names the line of a malformed one."""
    regions: list[Region] = []
    current: Region | None = None
    in_hints = False
    for number, line in enumerate(text.splitlines()):
        where = f"{path}:{number + 1}"
        start, end = START.match(line), END.match(line)
        if start:
            if current is not None:
                raise LabError(f"{where}: lab {start['id']} starts inside lab {current.lab_id} "
                               f"(opened at {current.where})")
            current = Region(start["id"], start["title"], path, number, number, start["indent"])
            in_hints = True
            continue
        if current is None:
            if end:
                raise LabError(f"{where}: `# end lab {end['id']}` without a start")
            continue
        hint = HINT.match(line)
        if in_hints and hint:
            current.hints.append(hint["text"])
            continue
        in_hints = False
        if SNIPPET.search(line):
            raise LabError(f"{where}: lab {current.lab_id} (opened at {current.where}) straddles "
                           f"a snippet marker; put the lab markers inside the snippet section")
        if end:
            if end["id"] != current.lab_id:
                raise LabError(f"{where}: `# end lab {end['id']}` closes lab {current.lab_id} "
                               f"(opened at {current.where})")
            current.end = number
            regions.append(current)
            current = None
    if current is not None:
        raise LabError(f"{current.where}: lab {current.lab_id} is never closed (`# end lab {current.lab_id}`)")
    return regions


def stub_lines(region: Region) -> list[str]:
    """What a student's workspace holds in place of a region."""
    i = region.indent
    message = f"lab {region.lab_id}: {region.title} — write this part (minidock-lab show {region.lab_id})"
    return [f"{i}# lab {region.lab_id}: {region.title}",
            *(f"{i}# hint: {hint}" for hint in region.hints),
            f"{i}raise NotImplementedError({message!r})",
            f"{i}# end lab {region.lab_id}"]


def stub(text: str, regions: list[Region]) -> str:
    """`text` with each of `regions` (all of this file) replaced by its stub."""
    lines = text.splitlines()
    for region in sorted(regions, key=lambda r: r.start, reverse=True):
        lines[region.start:region.end + 1] = stub_lines(region)
    return "\n".join(lines) + ("\n" if text.endswith("\n") else "")


def candidate_files(root: Path) -> list[Path]:
    """The chapters' package code, where lab markers may be (not their tests,
    which may well hold markers in strings, as the tests of this module do)."""
    return sorted(p for p in (root / "chapters").glob("*/minidock/**/*.py")
                  if "__pycache__" not in p.parts)


def find_regions(root: Path) -> list[Region]:
    """Every lab region in the tree at `root`, in file and line order."""
    regions: list[Region] = []
    for path in candidate_files(root):
        text = path.read_text(encoding="utf-8")
        if "# lab " in text or "# end lab " in text:
            regions.extend(parse(text, path.relative_to(root).as_posix()))
    return regions
