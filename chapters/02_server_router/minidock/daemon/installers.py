"""The seam later chapters plug into: `minidock/installers/chNN_<what>.py`.

Docker 1.x grew its daemon by installing components on the engine at
start-up: `registry.NewService(...).Install(eng)` registered the `search`,
`pull` and `push` jobs, and the daemon's own `Install(eng)` registered
`create`, `start` and the rest. Nothing in the server had to change for a new
job to be served: the route already named the job; a handler appeared.

We do the same, with files instead of calls. `minidock.installers` is a
namespace package: a folder `minidock/installers/` with no `__init__.py`,
that any chapter may contribute modules to. Chapter 03 adds
`installers/ch03_engine.py`, chapter 04 `installers/ch04_registry.py`, and
so on. At start-up the daemon imports every module it finds there, in name
order (so in chapter order), and calls its `install(daemon)`; a module may
also define `add_arguments(parser)` to add its own flags to `minidockd`.

Because the chapter folders that take part are those of the process's world
(`MINIDOCK_CHAPTER`), the chapter-3 daemon installs exactly chapters 03's
components, and the chapter-2 daemon none: chapter 02 contributes no
installer. Its own three handlers (`/_ping`, `/version`, `/info`) are part of
the server it builds, not a plug-in (see `main.py`). With no installer at all,
the namespace package has no folder and cannot be imported: that is the
normal chapter-2 case, not an error.
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import argparse
    from socket import socket

    from minidock.daemon.config import DaemonConfig
    from minidock.server.router import Router
    from minidock.server.server import Server
    from minidock.server.system import DaemonFacts

INSTALLERS_PACKAGE = "minidock.installers"


class InstallerError(RuntimeError):
    """An installer that cannot be imported or fails to install: the daemon does not start."""


def serve_each(server: Server, listeners: list[socket]) -> None:
    """Chapter 02's way to serve the API: accept on every listener, now."""
    for listener in listeners:
        server.serve(listener)


# --8<-- [start:daemon]
@dataclass
class Daemon:
    """The running `minidockd`, as an installer sees it.

    An installer registers handlers for the jobs its chapter brings
    (`daemon.router.handlers["create"] = ...`), keeps its state under
    `data_root` / `exec_root`, and asks to be told when the daemon stops
    (`daemon.on_shutdown(engine.close)`). A chapter may hang its component on
    the object for the chapters after it (chapter 03's engine, say), and may
    replace `serve_api`, which `main.py` calls once the listeners are open
    (chapter 03 makes serving the API a job, as Docker's `serveapi` was)."""

    config: DaemonConfig
    router: Router
    logger: logging.Logger
    data_root: Path
    exec_root: Path
    facts: DaemonFacts | None = None  # what /version and /info report (system.py): for a later `info`
    shutdown_callbacks: list[Callable[[], None]] = field(default_factory=list)
    serve_api: Callable[[Server, list[socket]], None] = serve_each

    def on_shutdown(self, callback: Callable[[], None]) -> None:
        """Call `callback` at shutdown, after the server stopped (last registered, first called)."""
        self.shutdown_callbacks.append(callback)
# --8<-- [end:daemon]


class Installer(Protocol):
    """What a module in `minidock/installers/` provides (`add_arguments` is optional)."""

    def install(self, daemon: Daemon) -> None: ...


# --8<-- [start:find_installers]
def find_installers() -> list[ModuleType]:
    """Import `minidock.installers.*`, in name order. None at all is fine."""
    try:
        package = importlib.import_module(INSTALLERS_PACKAGE)
    except ModuleNotFoundError as exc:
        if exc.name != INSTALLERS_PACKAGE:
            raise
        return []  # no chapter of this world has an installers/ folder
    names = sorted(info.name for info in pkgutil.iter_modules(package.__path__, INSTALLERS_PACKAGE + "."))
    modules = []
    for name in names:
        try:
            module = importlib.import_module(name)
        except Exception as exc:
            raise InstallerError(f"installer {name} cannot be imported: {exc}") from exc
        if not callable(getattr(module, "install", None)):
            raise InstallerError(f"installer {name} has no install(daemon) function")
        modules.append(module)
    return modules


def run_installers(modules: list[ModuleType], daemon: Daemon) -> None:
    """Let each chapter install its components, in chapter order."""
    for module in modules:
        try:
            module.install(daemon)
        except Exception as exc:
            raise InstallerError(f"installer {module.__name__} failed: {exc}") from exc
        daemon.logger.debug("installed %s", module.__name__.rpartition(".")[2])
# --8<-- [end:find_installers]


def argument_adders(modules: list[ModuleType]) -> list[Callable[[argparse.ArgumentParser], None]]:
    """The installers' `add_arguments(parser)` functions, for their own daemon flags."""
    return [module.add_arguments for module in modules if callable(getattr(module, "add_arguments", None))]
