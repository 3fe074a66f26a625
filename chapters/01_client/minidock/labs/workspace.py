"""`minidock-lab start`: a student's workspace is the project with one lab stubbed out.

The workspace is a whole copy of the project, not just the files of the lab:
the student runs the same tests, builds the same book, and can run the
other chapters' code. It is its own git repository with one commit, so
`git diff` shows exactly what the student wrote.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from minidock.labs import LabError
from minidock.labs.catalog import Lab
from minidock.labs.markers import stub

SKIP_DIRS = {".git", ".venv", "venv", "build", "site", "__pycache__", ".pytest_cache",
             ".hypothesis", "node_modules"}
GIT_AUTHOR = ["-c", "user.name=minidock-lab", "-c", "user.email=lab@minidock.invalid"]


def project_files(root: Path) -> list[str]:
    """The project's files, relative to `root`: git's list (tracked, plus new files not
    ignored), or, outside a git checkout, a walk that skips environments and builds."""
    try:
        out = subprocess.run(["git", "-C", str(root), "ls-files", "-z", "--cached", "--others",
                              "--exclude-standard"], capture_output=True, check=True).stdout
        names = [n for n in out.decode().split("\0") if n]
        if names:
            return sorted({n for n in names if (root / n).is_file() and
                           not SKIP_DIRS.intersection(Path(n).parts)})
    except (OSError, subprocess.CalledProcessError):
        pass
    found = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.endswith(".egg-info"))
        found.extend(Path(folder, f).relative_to(root).as_posix() for f in files
                     if not f.endswith((".pyc", ".pyo")))
    return sorted(found)


def start(lab: Lab, root: Path, dest: Path) -> None:
    """Create the workspace of `lab` in `dest` (absent or empty) from the tree at `root`."""
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise LabError(f"{dest} exists and is not an empty directory")
    if not lab.regions:
        raise LabError(f"lab {lab.id} has no region in the code")
    dest.mkdir(parents=True, exist_ok=True)
    for name in project_files(root):
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / name, target)
    for path in sorted({r.path for r in lab.regions}):
        text = (root / path).read_text(encoding="utf-8")
        (dest / path).write_text(stub(text, [r for r in lab.regions if r.path == path]), encoding="utf-8")
    git = ["git", "-C", str(dest), *GIT_AUTHOR]
    try:
        subprocess.run(["git", "init", "-q", str(dest)], check=True, capture_output=True)
        subprocess.run([*git, "add", "-A"], check=True, capture_output=True)
        subprocess.run([*git, "commit", "-q", "--no-verify", "-m", f"minidock lab {lab.id}: start"],
                       check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError) as e:
        detail = getattr(e, "stderr", b"") or b""
        raise LabError(f"git could not make the workspace a repository: {detail.decode(errors='replace') or e}") from None
