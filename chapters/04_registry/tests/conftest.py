"""Fixtures for chapter 04's suite.

# -- the private registry (the "server" helper's part) --------------------------------
`registry` serves `minidock-registry` in this process's threads, rooted in
the test's tmp_path, on 127.0.0.1:<a free port>; it is shut down at the end.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture
def registry(tmp_path) -> Iterator["object"]:  # noqa: ANN001
    from minidock.registry.server.main import start_registry

    running = start_registry(tmp_path / "registry-root")
    try:
        yield running
    finally:
        running.stop()
# -- end of the private registry's fixtures -------------------------------------------
