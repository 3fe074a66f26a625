"""Chapter 03's installer: the engine, and the container jobs on it.

What `docker -d` did at start-up in Docker 1.5, in the same order:

1. make the Engine (`engine.New()`), and make serving the API a job
   (`serveapi`, `acceptconnections`: engine/serveapi.py);
2. make the daemon's container half (`daemon.NewDaemon`): it loads the
   container records from the data root and marks those whose process died
   with the last daemon as exited;
3. `daemon.Install(eng)`: register the container jobs on the engine
   (containers/jobs.py), and give every container route of chapter 02's
   table its HTTP handler (containers/api.py), which runs those jobs.

At shutdown the callbacks run last-registered first: the container daemon
stops its containers (SIGTERM, then SIGKILL after 10 s, as dockerd without
live-restore does: a chapter-3 container is a host process and does not
outlive its daemon) - which ends the jobs that wait on them - and then the
engine waits for whatever job is still running.
"""

from __future__ import annotations

from minidock.containers import api, jobs
from minidock.containers.daemon import ContainerDaemon
from minidock.daemon.installers import Daemon
from minidock.engine import Engine
from minidock.engine.serveapi import install_serveapi

STOP_TIMEOUT = 10.0  # seconds a container gets between SIGTERM and SIGKILL when the daemon stops


# --8<-- [start:install]
def install(daemon: Daemon) -> None:
    # --- engine: the Engine, hung on the daemon for later chapters; serving the API is a job
    engine = Engine(logger=daemon.logger, debug=daemon.config.debug)
    daemon.engine = engine  # type: ignore[attr-defined]
    install_serveapi(engine, daemon)
    daemon.on_shutdown(lambda: engine.shutdown(daemon.config.shutdown_timeout))
    # --- end engine

    # --- containers: the daemon's container half, its jobs, and the routes that run them
    containers = ContainerDaemon(root=daemon.data_root / "containers", exec_root=daemon.exec_root,
                                 engine=engine, logger=daemon.logger)
    daemon.containers = containers  # type: ignore[attr-defined]
    jobs.install(engine, containers)
    api.install(daemon.router.handlers, engine, daemon.facts)
    daemon.on_shutdown(lambda: containers.shutdown(STOP_TIMEOUT))  # runs before the engine's
    # --- end containers
# --8<-- [end:install]
