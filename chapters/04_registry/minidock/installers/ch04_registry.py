"""Chapter 04's installer: the registry service, as jobs on chapter 03's engine.

Docker 1.5's daemon did, at start-up,

    registryService := registry.NewService(registryCfg)
    registryService.Install(eng)    // jobs: auth and search

and so do we: make the service (the content store under
`<data-root>/content/`, and the daemon's registry options), register its
jobs (registry/jobs.py), and give chapter 02's `/auth`, `/images/search`,
`/images/create?fromImage=` and `/images/{name}/push` routes their HTTP
handlers (registry/api.py).

Two daemon flags come with the chapter, dockerd's own:

* `--insecure-registry HOST[:PORT]` (repeatable): speak plain HTTP to that
  registry (or HTTPS without checking its certificate). `localhost` and
  `127.0.0.0/8` are always insecure, as in dockerd;
* `--registry-mirror URL` (repeatable): try these before Docker Hub for
  pulls of Docker Hub images.
"""

from __future__ import annotations

import argparse

from minidock.daemon.installers import Daemon
from minidock.registry import api, jobs
from minidock.registry.contentstore import ContentStore


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("registry (chapter 04)")
    group.add_argument("--insecure-registry", action="append", default=[], dest="insecure_registries",
                       metavar="REGISTRY", help="a registry to reach over plain HTTP (repeatable)")
    group.add_argument("--registry-mirror", action="append", default=[], dest="registry_mirrors",
                       metavar="URL", help="a mirror to pull Docker Hub images from (repeatable)")


# --8<-- [start:install]
def install(daemon: Daemon) -> None:
    engine = daemon.engine  # type: ignore[attr-defined] - chapter 03 hung it there
    options = daemon.config.options
    service = jobs.RegistryService(
        store=ContentStore(daemon.data_root / "content"),
        insecure_registries=tuple(getattr(options, "insecure_registries", None) or ()),
        registry_mirrors=tuple(getattr(options, "registry_mirrors", None) or ()),
        logger=daemon.logger,
    )
    daemon.registry = service  # type: ignore[attr-defined] - for chapter 05's Graph
    jobs.install(engine, service)
    api.install(daemon.router.handlers, engine)
# --8<-- [end:install]
