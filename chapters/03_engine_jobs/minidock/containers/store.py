"""Container records on disk: `<data-root>/containers/<id>/`.

Like dockerd, each container has a directory holding

* `config.v2.json` - the record: ID, name, config, state, restart count ...
* `hostconfig.json` - the host config, apart (Docker splits it because
  `docker update` rewrites only this part);
* `<id>-json.log` - its output (`jsonfile.py`).

Every write is atomic: write a temporary file in the same directory, fsync
it, rename it over the old one, fsync the directory. A crash at any moment
leaves the old record or the new one, never half of each; that is what lets
a restarted daemon trust what it finds.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

CONFIG_FILE = "config.v2.json"
HOSTCONFIG_FILE = "hostconfig.json"


# --8<-- [start:atomic_write]
def write_atomic(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Replace `path` with `data` so that readers see the old file or the new one."""
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        try:
            os.unlink(temporary)
        except FileNotFoundError:
            pass
        raise
    directory = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(directory)  # the rename itself is durable only once the directory is
    finally:
        os.close(directory)
# --8<-- [end:atomic_write]


def _json(document: Any) -> bytes:
    return json.dumps(document, separators=(",", ":"), sort_keys=False).encode()


class ContainerStore:
    """The container directories under one root."""

    def __init__(self, root: Path, logger: logging.Logger | None = None) -> None:
        self.root = Path(root)
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.logger = logger or logging.getLogger("minidockd")

    def directory(self, container_id: str) -> Path:
        return self.root / container_id

    def log_path(self, container_id: str) -> Path:
        return self.directory(container_id) / f"{container_id}-json.log"

    def create(self, container_id: str) -> Path:
        """The container's directory; it must not exist yet (IDs are unique)."""
        directory = self.directory(container_id)
        directory.mkdir(mode=0o700)
        return directory

    def save(self, container_id: str, record: dict[str, Any], host_config: dict[str, Any]) -> None:
        directory = self.directory(container_id)
        write_atomic(directory / HOSTCONFIG_FILE, _json(host_config))
        write_atomic(directory / CONFIG_FILE, _json(record))

    def load_all(self) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
        """(record, host config) of every container directory that holds a readable record.
        A directory without one (a crash during create) is removed; an unreadable record is
        skipped and logged, never deleted: it may be worth a human's look."""
        for directory in sorted(self.root.iterdir()):
            if not directory.is_dir() or directory.name.startswith("."):
                continue
            config = directory / CONFIG_FILE
            if not config.exists():
                self.logger.warning("containers: %s has no %s (half-created): removing it",
                                    directory.name, CONFIG_FILE)
                shutil.rmtree(directory, ignore_errors=True)
                continue
            try:
                record = json.loads(config.read_bytes())
                host_config_path = directory / HOSTCONFIG_FILE
                host_config = json.loads(host_config_path.read_bytes()) if host_config_path.exists() else {}
                if not isinstance(record, dict) or record.get("ID") != directory.name:
                    raise ValueError("the record's ID does not match its directory")
            except (OSError, ValueError) as exc:
                self.logger.error("containers: cannot load %s: %s", directory.name, exc)
                continue
            yield record, host_config if isinstance(host_config, dict) else {}

    def delete(self, container_id: str) -> None:
        shutil.rmtree(self.directory(container_id), ignore_errors=True)
