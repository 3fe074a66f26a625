"""Fixtures of the cross-chapter tests (tests/): a real dockerd to test against.

`dockerd` is one private Docker daemon for the whole session (see
tests/support/dockerd.py), with a `busybox:latest` image imported from the
machine's busybox-static. Without root, without dockerd or without a kernel
feature it needs, the tests that use it skip with the reason; under CI they
fail instead (tests/support/__init__.py: skip_or_fail).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:  # so `tests.support` imports however pytest was started
    sys.path.insert(0, str(REPO_ROOT))

from tests.support import skip_or_fail  # noqa: E402
from tests.support.dockerd import DockerdUnavailable, PrivateDockerd  # noqa: E402


@pytest.fixture(scope="session")
def dockerd() -> Iterator[PrivateDockerd]:
    """A started private dockerd (API 1.41) with `busybox:latest` in it."""
    daemon = PrivateDockerd()
    started = time.monotonic()
    try:
        daemon.start()
    except DockerdUnavailable as exc:
        skip_or_fail(f"cannot run a private dockerd here: {exc}")
    try:
        daemon.import_busybox()
        daemon.start_seconds = time.monotonic() - started
        yield daemon
    finally:
        daemon.stop()
