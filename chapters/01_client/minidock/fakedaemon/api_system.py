"""System endpoints: /_ping, /version, /info, /events, /auth, and the inspect fall-throughs.

`/version` and `/info` tell the truth where there is one (kernel, CPUs,
memory, OS of the machine the fake runs on) and say plainly what is fake.
"""

from __future__ import annotations

import base64
import json
import os
import platform
import socket
import time
from typing import TYPE_CHECKING, Any

from minidock.fakedaemon.wire import BadRequest, ClientGone, HTTPError, NotFound, Request, Responder

if TYPE_CHECKING:
    from minidock.fakedaemon.daemon import FakeDaemon

FAKE_VERSION = "0.1.0-fake"
GO_ARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "i686": "386", "ppc64le": "ppc64le",
           "s390x": "s390x", "riscv64": "riscv64"}
BUILD_TIME = "2026-01-01T00:00:00.000000000+00:00"


def ping(daemon: FakeDaemon, req: Request, res: Responder) -> None:
    headers = {"Cache-Control": "no-cache, no-store, must-revalidate", "Pragma": "no-cache"}
    res.send(200, b"" if req.method == "HEAD" else b"OK", "text/plain; charset=utf-8", headers)


def version(daemon: FakeDaemon, req: Request, res: Responder) -> None:
    uname = os.uname()
    arch = GO_ARCH.get(uname.machine, uname.machine)
    go_version = f"python{platform.python_version()}"
    details = {"ApiVersion": daemon.api_version, "Arch": arch, "BuildTime": BUILD_TIME, "Experimental": "false",
               "GitCommit": "minidock", "GoVersion": go_version, "KernelVersion": uname.release,
               "MinAPIVersion": daemon.min_api_version, "Os": "linux"}
    res.send_json(200, {
        "Platform": {"Name": "minidock fake daemon"},
        "Components": [{"Name": "Engine", "Version": FAKE_VERSION, "Details": details}],
        "Version": FAKE_VERSION, "ApiVersion": daemon.api_version, "MinAPIVersion": daemon.min_api_version,
        "GitCommit": "minidock", "GoVersion": go_version, "Os": "linux", "Arch": arch,
        "KernelVersion": uname.release, "BuildTime": BUILD_TIME,
    })


def _meminfo_total() -> int:
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _operating_system() -> str:
    try:
        with open("/etc/os-release") as release:
            fields = dict(line.rstrip("\n").split("=", 1) for line in release if "=" in line)
        return fields.get("PRETTY_NAME", "Linux").strip('"')
    except OSError:
        return "Linux"


def info(daemon: FakeDaemon, req: Request, res: Responder) -> None:
    state = daemon.state
    with state.lock:
        containers = list(state.containers.values())
        images = len(state.images)
    statuses = [c.status for c in containers]
    uname = os.uname()
    res.send_json(200, {
        "ID": daemon.daemon_id, "Containers": len(containers),
        "ContainersRunning": sum(s in ("running", "restarting") for s in statuses),
        "ContainersPaused": statuses.count("paused"),
        "ContainersStopped": sum(s not in ("running", "restarting", "paused") for s in statuses),
        "Images": images, "Driver": "memory", "DriverStatus": [["Kind", "in-memory file trees (fake)"]],
        "Plugins": {"Volume": ["local"], "Network": ["bridge", "host", "null"], "Authorization": None,
                    "Log": ["json-file"]},
        "MemoryLimit": True, "SwapLimit": False, "KernelMemory": False, "CpuCfsPeriod": True,
        "CpuCfsQuota": True, "CPUShares": True, "CPUSet": True, "PidsLimit": True, "IPv4Forwarding": True,
        "BridgeNfIptables": False, "BridgeNfIp6tables": False, "Debug": False, "NFd": 0,
        "OomKillDisable": False, "NGoroutines": 0, "SystemTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "LoggingDriver": "json-file", "CgroupDriver": "none", "CgroupVersion": "",
        "NEventsListener": 0, "KernelVersion": uname.release, "OperatingSystem": _operating_system(),
        "OSVersion": "", "OSType": "linux", "Architecture": uname.machine,
        "IndexServerAddress": "https://index.docker.io/v1/",
        "RegistryConfig": {"AllowNondistributableArtifactsCIDRs": [],
                           "AllowNondistributableArtifactsHostnames": [],
                           "InsecureRegistryCIDRs": ["127.0.0.0/8"],
                           "IndexConfigs": {"docker.io": {"Name": "docker.io", "Mirrors": [], "Secure": True,
                                                          "Official": True}},
                           "Mirrors": []},
        "NCPU": os.cpu_count() or 1, "MemTotal": _meminfo_total(), "GenericResources": None,
        "DockerRootDir": str(daemon.workdir), "HttpProxy": "", "HttpsProxy": "", "NoProxy": "",
        "Name": socket.gethostname(), "Labels": [], "ExperimentalBuild": False, "ServerVersion": FAKE_VERSION,
        "Runtimes": {"fake": {"path": "minidock.fakedaemon.programs"}}, "DefaultRuntime": "fake",
        "Swarm": {"NodeID": "", "NodeAddr": "", "LocalNodeState": "inactive", "ControlAvailable": False,
                  "Error": "", "RemoteManagers": None},
        "LiveRestoreEnabled": False, "Isolation": "", "InitBinary": "",
        "ContainerdCommit": {"ID": "", "Expected": ""}, "RuncCommit": {"ID": "", "Expected": ""},
        "InitCommit": {"ID": "", "Expected": ""}, "SecurityOptions": [],
        "Warnings": ["WARNING: minidock fake daemon: containers are imitated in Python; no host process runs"],
    })


# ---------------------------------------------------------------- events ----
def _parse_time(value: str | None, name: str) -> float | None:
    if value is None or value == "":
        return None
    try:
        return float(value)
    except ValueError:
        raise BadRequest(f"invalid value for {name}: {value}") from None


def parse_filters(req: Request, allowed: set[str]) -> dict[str, set[str]]:
    """`filters={"status":{"running":true}}` (or the old `{"status":["running"]}`) -> name -> values."""
    raw = req.json_arg("filters")
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise BadRequest("invalid filter format")
    filters: dict[str, set[str]] = {}
    for name, values in raw.items():
        if name not in allowed:
            raise BadRequest(f"invalid filter '{name}'")
        if isinstance(values, dict):
            filters[name] = {k for k, v in values.items() if v}
        elif isinstance(values, list):
            filters[name] = {str(v) for v in values}
        else:
            raise BadRequest("invalid filter format")
    return filters


EVENT_FILTERS = {"config", "container", "daemon", "event", "image", "label", "network", "node", "plugin",
                 "scope", "secret", "service", "type", "volume"}


def _event_matches(event: dict[str, Any], filters: dict[str, set[str]]) -> bool:
    actor = event["Actor"]
    attributes = actor.get("Attributes") or {}
    if "type" in filters and event["Type"] not in filters["type"]:
        return False
    if "event" in filters and event["Action"].split(":")[0] not in filters["event"]:
        return False
    if "container" in filters:
        if event["Type"] != "container":
            return False
        if not any(actor["ID"].startswith(v) or attributes.get("name") == v for v in filters["container"]):
            return False
    if "image" in filters:
        image = attributes.get("image", actor["ID"] if event["Type"] == "image" else "")
        if not any(v in (image, attributes.get("name", ""), actor["ID"]) or image.startswith(v + ":")
                   for v in filters["image"]):
            return False
    if "label" in filters:
        for label in filters["label"]:
            key, eq, value = label.partition("=")
            if key not in attributes or (eq and attributes[key] != value):
                return False
    if "scope" in filters and "local" not in filters["scope"]:
        return False
    return True


def events(daemon: FakeDaemon, req: Request, res: Responder) -> None:
    """`GET /events`: the past (from `since`), then live events, one JSON per line, flushed each."""
    since = _parse_time(req.arg("since"), "since")
    until = _parse_time(req.arg("until"), "until")
    filters = parse_filters(req, EVENT_FILTERS)
    log = daemon.state.events
    writer = res.stream(200, "application/json")
    with log.cond:
        if since is None:
            cursor = len(log.events)
        else:
            cursor = next((i for i, e in enumerate(log.events) if e["timeNano"] / 1e9 >= since), len(log.events))
    while not daemon.stopping.is_set():
        with log.cond:
            if cursor >= len(log.events):
                timeout = 0.25 if until is None else max(0.0, min(0.25, until - time.time()))
                log.cond.wait(timeout)
            batch = log.events[cursor:]
            cursor = len(log.events)
        for event in batch:
            if until is not None and event["timeNano"] / 1e9 > until:
                writer.close()
                return
            if _event_matches(event, filters):
                writer.write_json_line(event)
        if until is not None and time.time() >= until:
            break
        if req.conn.peer_gone():
            raise ClientGone("events client went away")
    writer.close()


# ---------------------------------------------------------------- registry login ----
def auth(daemon: FakeDaemon, req: Request, res: Responder) -> None:
    body = req.json({})
    if not isinstance(body, dict):
        raise BadRequest("invalid auth configuration")
    server = body.get("serveraddress") or "https://index.docker.io/v1/"
    host = server.removeprefix("https://").removeprefix("http://").split("/")[0]
    if host in ("index.docker.io", "docker.io", "registry-1.docker.io"):
        host = "registry-1.docker.io"
    if body.get("password") == "wrong" or not body.get("username") and not body.get("identitytoken"):
        raise HTTPError(401, f'Get "https://{host}/v2/": unauthorized: incorrect username or password')
    daemon.logins[host] = body.get("username", "")
    res.send_json(200, {"IdentityToken": "", "Status": "Login Succeeded"})


def registry_auth_user(req: Request) -> str:
    """Who the X-Registry-Auth header says the client is ("" for anonymous)."""
    header = req.headers.get("x-registry-auth", "")
    if not header:
        return ""
    try:
        padded = header + "=" * (-len(header) % 4)
        config = json.loads(base64.urlsafe_b64decode(padded))
    except (ValueError, TypeError):
        return ""
    return config.get("username", "") if isinstance(config, dict) else ""


# ---------------------------------------------------------------- networks, volumes, plugins ----
NETWORKS = [
    ("bridge", "bridge", "local"), ("host", "host", "local"), ("none", "null", "local"),
]


def _network(name: str, driver: str) -> dict[str, Any]:
    return {"Name": name, "Id": (name.encode().hex() * 8)[:64], "Created": "2026-01-01T00:00:00Z",
            "Scope": "local", "Driver": driver, "EnableIPv6": False,
            "IPAM": {"Driver": "default", "Options": None, "Config": []}, "Internal": False,
            "Attachable": False, "Ingress": False, "ConfigFrom": {"Network": ""}, "ConfigOnly": False,
            "Containers": {}, "Options": {}, "Labels": {}}


def list_networks(daemon: FakeDaemon, req: Request, res: Responder) -> None:
    res.send_json(200, [_network(name, driver) for name, driver, _ in NETWORKS])


def inspect_network(daemon: FakeDaemon, req: Request, res: Responder) -> None:
    name = req.params["name"]
    for net_name, driver, _ in NETWORKS:
        if name in (net_name, _network(net_name, driver)["Id"]):
            res.send_json(200, _network(net_name, driver))
            return
    raise NotFound(f"network {name} not found")


def list_volumes(daemon: FakeDaemon, req: Request, res: Responder) -> None:
    res.send_json(200, {"Volumes": [], "Warnings": None})


def inspect_volume(daemon: FakeDaemon, req: Request, res: Responder) -> None:
    raise NotFound(f"get {req.params['name']}: no such volume")


def inspect_plugin(daemon: FakeDaemon, req: Request, res: Responder) -> None:
    raise NotFound(f'plugin "{req.params["name"]}" not found')
