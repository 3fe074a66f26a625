"""Labs: pieces of the reference code that a student writes, graded by the chapter's tests.

A lab is never a separate copy of the code, which would drift from it. It is
marked *in* the reference source with plain comments (`markers.py`), described
in `labs/catalog.toml` at the repository root (`catalog.py`), turned into a
student workspace by replacing its marked regions with a stub
(`workspace.py`), and graded by running the tests the catalog names
(`grade.py`). `minidock-lab` (`cli.py`) is the command in front of all this;
the book's Lab sections are generated from the same data (docs/hooks/labs.py).
"""

from __future__ import annotations

from pathlib import Path

# chapters/01_client/minidock/labs/__init__.py -> the repository root
REFERENCE_ROOT = Path(__file__).resolve().parents[4]


class LabError(Exception):
    """A problem the user can fix (a bad id, a bad marker, a non-empty DIR): reported, never a traceback."""
