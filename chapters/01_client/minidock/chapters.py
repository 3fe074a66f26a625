"""Chapter worlds: `MINIDOCK_CHAPTER=N` limits a process to chapters 1..N.

The book is built top-down, and every chapter must run on its own with only
the chapters before it. So a chapter is not a branch or a copy of the code:
it is a folder, `chapters/NN_slug/`, that adds subpackages to the one
`minidock` package. This module decides which folders take part:

* `extend_path` appends `chapters/NN_slug/minidock/` of every selected
  chapter to the package's `__path__`, so `import minidock.server` finds
  chapter 02's `server/` package, if chapter 02 is in the world.
* `LaterChapterFinder` turns the import of a package that a *later* chapter
  brings into an error that names that chapter, instead of a bare
  "No module named ...".

Unset `MINIDOCK_CHAPTER` means every chapter there is.
"""

from __future__ import annotations

import os
import sys

ENV_VAR = "MINIDOCK_CHAPTER"

# chapters/01_client/minidock/chapters.py -> chapters/
# (os.path, not pathlib: this module runs at the start of every `minidock` command.)
CHAPTERS_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class Chapter:
    """One chapter folder: `chapters/03_engine_jobs/` is number 3, slug `engine_jobs`."""

    __slots__ = ("number", "slug", "root")

    def __init__(self, number: int, slug: str, root: str) -> None:
        self.number = number
        self.slug = slug
        self.root = root  # the source root: it holds `minidock/` and `tests/`

    def __repr__(self) -> str:
        return f"Chapter({self.number}, {self.slug!r})"

    @property
    def package_dir(self) -> str:
        return os.path.join(self.root, "minidock")

    @property
    def title(self) -> str:
        return f"chapter {self.number:02d} ({self.slug})"

    def provides(self, name: str) -> bool:
        """Does this chapter hold the top-level subpackage or module `minidock.<name>`?"""
        return os.path.isdir(os.path.join(self.package_dir, name)) or \
            os.path.isfile(os.path.join(self.package_dir, name + ".py"))


def all_chapters(chapters_dir: str = CHAPTERS_DIR) -> list[Chapter]:
    """Every chapter folder there is (`NN_slug`), in order."""
    found = []
    try:
        entries = sorted(os.scandir(chapters_dir), key=lambda entry: entry.name)
    except FileNotFoundError:
        return []
    for entry in entries:
        number, underscore, slug = entry.name.partition("_")
        if len(number) == 2 and number.isdigit() and underscore and slug and entry.is_dir():
            found.append(Chapter(int(number), slug, entry.path))
    return found


def selected_chapter(environ: dict[str, str] | os._Environ[str] = os.environ) -> int | None:
    """The N of `MINIDOCK_CHAPTER=N`, or None for "all chapters"."""
    value = environ.get(ENV_VAR, "").strip()
    if not value:
        return None
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"{ENV_VAR} must be a chapter number such as 3, not {value!r}")
    return int(value)


def world(limit: int | None = None) -> list[Chapter]:
    """The chapters of the chapter-`limit` world (all of them for None)."""
    return [c for c in all_chapters() if limit is None or c.number <= limit]


# --8<-- [start:extend_path]
def extend_path(path: list[str]) -> list[str]:
    """The `__path__` of `minidock`: chapter 01's folder plus those of the
    other chapters of this process's world. Called once, by `minidock/__init__.py`."""
    limit = selected_chapter()
    extended = list(path)
    for chapter in world(limit):
        package_dir = chapter.package_dir
        if os.path.isdir(package_dir) and package_dir not in extended:
            extended.append(package_dir)
    if limit is not None:
        _install_finder(limit)
    return extended
# --8<-- [end:extend_path]


# --8<-- [start:later_chapter_finder]
class LaterChapterFinder:
    """Asked last, after the normal finders found nothing: if `minidock.<name>`
    exists in a chapter beyond the limit, say so instead of "No module named".

    A meta path finder is any object with `find_spec` (importlib.abc's base
    class only documents that, and importing it costs every command 15 ms)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit

    def find_spec(self, fullname, path=None, target=None):  # noqa: ANN001 - importlib's signature
        parts = fullname.split(".")
        if len(parts) != 2 or parts[0] != "minidock":
            return None
        for chapter in all_chapters():
            if chapter.number > self.limit and chapter.provides(parts[1]):
                raise ModuleNotFoundError(
                    f"No module named {fullname!r}: it comes with {chapter.title}; "
                    f"this process runs the chapter-{self.limit} world ({ENV_VAR}={self.limit})",
                    name=fullname,
                )
        return None
# --8<-- [end:later_chapter_finder]


def _install_finder(limit: int) -> None:
    if not any(isinstance(f, LaterChapterFinder) for f in sys.meta_path):
        sys.meta_path.append(LaterChapterFinder(limit))
