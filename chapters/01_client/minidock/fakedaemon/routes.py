"""The route table: (method, path pattern) -> handler, as plain data a reader can scan.

Patterns match the path after the optional `/v1.NN` prefix. Image names
contain `/` and `:`, so image routes match by suffix (`(?P<name>.+)/json`)
and their order matters: the fixed paths (`/images/json`, `/images/search`
...) come first.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from minidock.fakedaemon import api_build, api_containers, api_exec, api_images, api_system


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: Callable


def _routes(table: list[tuple[str, str, Callable]]) -> list[Route]:
    return [Route(method, re.compile(f"^{pattern}$"), handler) for method, pattern, handler in table]


C = r"/containers/(?P<id>[^/]+)"
I = r"/images/(?P<name>.+)"  # noqa: E741 - the image-name prefix

ROUTES = _routes([
    ("HEAD", r"/_ping", api_system.ping),
    ("GET", r"/_ping", api_system.ping),
    ("GET", r"/version", api_system.version),
    ("GET", r"/info", api_system.info),
    ("GET", r"/events", api_system.events),
    ("POST", r"/auth", api_system.auth),
    ("GET", r"/system/df", api_images.system_df),
    # images
    ("GET", r"/images/json", api_images.list_images),
    ("GET", r"/images/search", api_images.search),
    ("GET", r"/images/get", api_images.save),
    ("POST", r"/images/load", api_images.load),
    ("POST", r"/images/create", api_images.create),
    ("POST", r"/images/prune", api_images.prune),
    ("GET", I + r"/json", api_images.inspect),
    ("GET", I + r"/history", api_images.history),
    ("GET", I + r"/get", api_images.save_one),
    ("POST", I + r"/tag", api_images.tag),
    ("POST", I + r"/push", api_images.push),
    ("DELETE", I, api_images.delete),
    ("POST", r"/build", api_build.build),
    ("POST", r"/commit", api_images.commit),
    # containers
    ("POST", r"/containers/create", api_containers.create),
    ("GET", r"/containers/json", api_containers.list_containers),
    ("POST", r"/containers/prune", api_containers.prune),
    ("GET", C + r"/json", api_containers.inspect),
    ("POST", C + r"/start", api_containers.start),
    ("POST", C + r"/stop", api_containers.stop),
    ("POST", C + r"/restart", api_containers.restart),
    ("POST", C + r"/kill", api_containers.kill),
    ("POST", C + r"/pause", api_containers.pause),
    ("POST", C + r"/unpause", api_containers.unpause),
    ("POST", C + r"/rename", api_containers.rename),
    ("POST", C + r"/wait", api_containers.wait),
    ("POST", C + r"/resize", api_containers.resize),
    ("POST", C + r"/attach", api_containers.attach),
    ("GET", C + r"/logs", api_containers.logs),
    ("GET", C + r"/top", api_containers.top),
    ("GET", C + r"/stats", api_containers.stats),
    ("GET", C + r"/changes", api_containers.container_changes),
    ("GET", C + r"/export", api_containers.export),
    ("HEAD", C + r"/archive", api_containers.archive_head),
    ("GET", C + r"/archive", api_containers.archive_get),
    ("PUT", C + r"/archive", api_containers.archive_put),
    ("DELETE", C, api_containers.remove),
    # exec
    ("POST", C + r"/exec", api_exec.create),
    ("POST", r"/exec/(?P<id>[^/]+)/start", api_exec.start),
    ("POST", r"/exec/(?P<id>[^/]+)/resize", api_exec.resize),
    ("GET", r"/exec/(?P<id>[^/]+)/json", api_exec.inspect),
    # what `docker inspect X` falls through to
    ("GET", r"/networks", api_system.list_networks),
    ("GET", r"/networks/(?P<name>[^/]+)", api_system.inspect_network),
    ("GET", r"/volumes", api_system.list_volumes),
    ("GET", r"/volumes/(?P<name>[^/]+)", api_system.inspect_volume),
    ("GET", r"/plugins/(?P<name>.+)/json", api_system.inspect_plugin),
])


def match(method: str, path: str) -> tuple[Route, dict[str, str]] | None:
    for route in ROUTES:
        if route.method != method:
            continue
        found = route.pattern.match(path)
        if found:
            return route, found.groupdict()
    return None
