"""Fixtures for chapter 01's suite: a fake daemon on real sockets."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture
def fake_daemon(tmp_path: Path) -> Iterator["FakeDaemon"]:  # noqa: F821
    """A fake Docker daemon listening on a unix socket and on 127.0.0.1."""
    from minidock.fakedaemon import FakeDaemon

    with FakeDaemon(tmp_path) as daemon:
        yield daemon
