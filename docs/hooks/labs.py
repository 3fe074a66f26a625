"""mkdocs hook: each chapter page's Lab section, generated from the lab metadata.

A page holds a line `<!-- labs:03 -->` under its `## Lab` heading; this hook
replaces it with chapter 03's labs: title, goal, what to read first, the hints
(from the markers in the code) and the commands to start and grade. The
section can therefore never say something the code and `labs/catalog.toml`
do not. A placeholder for a chapter without labs, or a broken catalog, is a
warning - which `mkdocs build --strict` turns into a failed build.
"""

from __future__ import annotations

import logging
import posixpath
import re
import sys
from pathlib import Path

log = logging.getLogger("mkdocs.plugins.minidock_labs")
PLACEHOLDER = re.compile(r"^<!-- labs:(\d\d) -->[ \t]*$", re.MULTILINE)
DIFFICULTY = {1: "small", 2: "medium", 3: "hard"}


def _labs(config):
    root = Path(config.config_file_path).resolve().parent
    chapter01 = str(root / "chapters" / "01_client")
    if chapter01 not in sys.path:
        sys.path.insert(0, chapter01)
    from minidock.labs.catalog import load

    return load(root)


def _link(target: str, page_uri: str) -> str:
    """A catalog `read` entry (relative to docs/) as a link from the page at `page_uri`."""
    path, _, anchor = target.partition("#")
    if not path.endswith(".md"):
        return f"`{target}`"
    if path == page_uri:
        href = f"#{anchor}" if anchor else posixpath.basename(path)
    else:
        href = posixpath.relpath(path, posixpath.dirname(page_uri) or ".") + (f"#{anchor}" if anchor else "")
    title = anchor.replace("-", " ").capitalize() if anchor else path.removesuffix(".md")
    return f"[{title}]({href})"


def lab_section(labs, chapter: int, page_uri: str) -> str:
    mine = [lab for lab in labs if lab.chapter == chapter]
    out = ["Each lab asks you to write one piece of the code this page explains; this chapter's",
           "tests grade it. `minidock-lab start` makes you a workspace (a copy of the project",
           "with that piece replaced by a stub, as a git repository), `minidock-lab grade`",
           "runs the grading tests on it. The labs can be done in any order",
           "(see [Labs](" + posixpath.relpath("labs.md", posixpath.dirname(page_uri) or ".") + ")).", ""]
    for lab in mine:
        out += [f"### Lab {lab.id}: {lab.title}", "",
                f"*Difficulty: {DIFFICULTY.get(lab.difficulty, lab.difficulty)}.* {lab.goal}", ""]
        if lab.read:
            out += ["**Read first:** " + ", ".join(_link(r, page_uri) for r in lab.read) + ".", ""]
        files = sorted({r.path for r in lab.regions})
        out += ["**Where:** " + ", ".join(f"`{f}`" for f in files) + ".", ""]
        if lab.hints:
            out += ["**Hints:**", "", *(f"- {hint}" for hint in lab.hints), ""]
        out += ["**Graded by:** " + ", ".join(f"`{t}`" for t in lab.tests) + ".", "",
                "```sh", f"minidock-lab start {lab.id} ~/lab-{lab.id}",
                f"minidock-lab grade {lab.id} ~/lab-{lab.id}", "```", ""]
    return "\n".join(out)


def on_page_markdown(markdown: str, page, config, files) -> str:
    if "<!-- labs:" not in markdown:
        return markdown
    try:
        labs = _labs(config)
    except Exception as e:  # a LabError, or worse: say it, and let --strict fail the build
        log.warning("labs: %s: %s", page.file.src_uri, e)
        return markdown

    def replace(match: re.Match) -> str:
        chapter = int(match.group(1))
        if not any(lab.chapter == chapter for lab in labs):
            log.warning("labs: %s: no lab of chapter %02d in labs/catalog.toml", page.file.src_uri, chapter)
        return lab_section(labs, chapter, page.file.src_uri)

    return PLACEHOLDER.sub(replace, markdown)
