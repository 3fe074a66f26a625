"""Container endpoints: /containers/... in the shapes dockerd 20.10 sends.

Each handler finds the container the user named (a name, a full ID or a
unique ID prefix), calls an operation from lifecycle.py, and writes the
answer. The shapes follow docker-api.md sections 5.3 and 6.
"""

from __future__ import annotations

import base64
import json
import posixpath
import re
import threading
import time
from typing import TYPE_CHECKING, Any

from minidock.fakedaemon import lifecycle
from minidock.fakedaemon.api_system import parse_filters
from minidock.fakedaemon.filetree import DIR, TreeError
from minidock.fakedaemon.state import Container, rfc3339, rfc3339_fixed
from minidock.fakedaemon.streams import DEFAULT_DETACH_KEYS, follow_output, frame, parse_detach_keys, serve_hijacked
from minidock.fakedaemon.wire import BadRequest, ClientGone, Conflict, NotFound, Request, Responder

if TYPE_CHECKING:
    from minidock.fakedaemon.daemon import FakeDaemon


def find(daemon: FakeDaemon, req: Request) -> Container:
    ref = req.params["id"]
    container = daemon.state.find_container(ref)
    if container is None:
        raise NotFound(f"No such container: {ref}")
    return container


# ---------------------------------------------------------------- create / list / inspect ----
def create(daemon: FakeDaemon, req: Request, res: Responder) -> None:
    body = req.json(None)
    if body is None:
        raise BadRequest("Config cannot be empty in order to create a container")
    container = lifecycle.create_container(daemon.state, body, req.arg("name"))
    res.send_json(201, {"Id": container.id, "Warnings": []})


def _ports(container: Container) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """NetworkSettings.Ports for inspect and the Ports list for ps. Only a running container has any."""
    if not container.running:
        return {}, []
    exposed = container.config.get("ExposedPorts") or {}
    bindings = container.host_config.get("PortBindings") or {}
    inspect: dict[str, Any] = {}
    listing: list[dict[str, Any]] = []
    for port in sorted(exposed, key=lambda p: (int(p.split("/")[0]) if p.split("/")[0].isdigit() else 0, p)):
        number, _, proto = port.partition("/")
        if port not in bindings or not bindings[port]:
            inspect[port] = None
            listing.append({"PrivatePort": int(number), "Type": proto or "tcp"})
            continue
        inspect[port] = []
        for index, binding in enumerate(bindings[port]):
            # An empty HostPort means "any free port": the fake picks one from the container ID.
            host_port = (binding or {}).get("HostPort") or str(49153 + index + int(container.id[:4], 16) % 1000)
            host_ip = (binding or {}).get("HostIp") or "0.0.0.0"
            inspect[port].append({"HostIp": host_ip, "HostPort": host_port})
            listing.append({"IP": host_ip, "PrivatePort": int(number), "PublicPort": int(host_port),
                            "Type": proto or "tcp"})
    return inspect, listing


def _mounts(container: Container) -> list[dict[str, Any]]:
    mounts = []
    for bind in container.host_config.get("Binds") or []:
        parts = bind.split(":")
        if len(parts) < 2:
            continue
        source, destination = parts[0], parts[1]
        mode = parts[2] if len(parts) > 2 else ""
        if source.startswith("/"):
            mounts.append({"Type": "bind", "Source": source, "Destination": destination, "Mode": mode,
                           "RW": "ro" not in mode.split(","), "Propagation": "rprivate"})
        else:
            mounts.append({"Type": "volume", "Name": source, "Source": f"/var/lib/docker/volumes/{source}/_data",
                           "Destination": destination, "Driver": "local", "Mode": mode,
                           "RW": "ro" not in mode.split(","), "Propagation": ""})
    return mounts


def summary(container: Container, size: bool) -> dict[str, Any]:
    _, ports = _ports(container)
    item = {
        "Id": container.id, "Names": [container.name], "Image": container.image_ref,
        "ImageID": container.image.id, "Command": container.command, "Created": int(container.created),
        "Ports": ports, "Labels": container.labels, "State": _state_word(container),
        "Status": container.status_text(),
        "HostConfig": {"NetworkMode": container.host_config.get("NetworkMode", "default")},
        "NetworkSettings": {"Networks": _networks(container)}, "Mounts": _mounts(container),
    }
    if size:
        item["SizeRw"] = lifecycle.size_rw(container)
        item["SizeRootFs"] = container.tree.total_size()
    return item


def _state_word(container: Container) -> str:
    if container.status == "exited" and not container.started_at:
        return "created"
    return container.status


def _networks(container: Container) -> dict[str, Any]:
    mode = container.host_config.get("NetworkMode", "default")
    name = "bridge" if mode in ("default", "") else mode
    running = container.running
    return {name: {
        "IPAMConfig": None, "Links": None, "Aliases": None, "NetworkID": (name.encode().hex() * 8)[:64],
        "EndpointID": (container.id[::-1] if running else ""), "Gateway": "172.17.0.1" if running else "",
        "IPAddress": "172.17.0.2" if running else "", "IPPrefixLen": 16 if running else 0, "IPv6Gateway": "",
        "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0,
        "MacAddress": "02:42:ac:11:00:02" if running else "", "DriverOpts": None,
    }}


STATUS_VALUES = {"created", "restarting", "running", "removing", "paused", "exited", "dead"}
PS_FILTERS = {"ancestor", "before", "expose", "exited", "health", "id", "isolation", "is-task", "label",
              "name", "network", "publish", "since", "status", "volume"}


def _matches(daemon: FakeDaemon, container: Container, filters: dict[str, set[str]]) -> bool:
    for status in filters.get("status", ()):
        if status not in STATUS_VALUES:
            raise BadRequest(f"Unrecognised filter value for status: {status}")
    if "status" in filters and _state_word(container) not in filters["status"]:
        return False
    if "name" in filters and not any(re.search(v, container.name) for v in filters["name"]):
        return False
    if "id" in filters and not any(container.id.startswith(v) for v in filters["id"]):
        return False
    for label in filters.get("label", ()):
        key, eq, value = label.partition("=")
        if key not in container.labels or (eq and container.labels[key] != value):
            return False
    if "exited" in filters:
        try:
            codes = {int(v) for v in filters["exited"]}
        except ValueError:
            raise BadRequest("invalid filter 'exited'") from None
        if container.running or not container.started_at or container.exit_code not in codes:
            return False
    if "ancestor" in filters:
        wanted = set()
        for ref in filters["ancestor"]:
            image = daemon.state.find_image(ref)
            if image is not None:
                wanted.add(image.id)
        chain, image_id = set(), container.image.id
        while image_id and image_id not in chain:
            chain.add(image_id)
            parent = daemon.state.images.get(image_id)
            image_id = parent.parent if parent else ""
        if not wanted & chain:
            return False
    return True


def list_containers(daemon: FakeDaemon, req: Request, res: Responder) -> None:
    filters = parse_filters(req, PS_FILTERS)
    limit = req.int_arg("limit", -1)
    show_all = req.flag("all") or limit > 0 or bool(filters.get("status")) or "exited" in filters
    size = req.flag("size")
    with daemon.state.lock:
        containers = sorted(daemon.state.containers.values(), key=lambda c: c.created, reverse=True)
        for key in ("before", "since"):
            if key in filters:
                pivot = daemon.state.find_container(next(iter(filters[key])))
                if pivot is None:
                    raise NotFound(f"No such container: {next(iter(filters[key]))}")
                containers = [c for c in containers
                              if (c.created < pivot.created if key == "before" else c.created > pivot.created)]
        chosen = [c for c in containers if (show_all or c.running) and _matches(daemon, c, filters)]
        if limit > 0:
            chosen = chosen[:limit]
        result = [summary(c, size) for c in chosen]
    res.send_json(200, result)


def inspect_document(container: Container, size: bool = False) -> dict[str, Any]:
    ports, _ = _ports(container)
    state = {
        "Status": _state_word(container), "Running": container.running, "Paused": container.status == "paused",
        "Restarting": container.status == "restarting", "OOMKilled": False, "Dead": container.status == "dead",
        "Pid": container.pid if container.running else 0, "ExitCode": container.exit_code,
        "Error": container.error, "StartedAt": rfc3339(container.started_at),
        "FinishedAt": rfc3339(container.finished_at),
    }
    document = {
        "Id": container.id, "Created": rfc3339(container.created), "Path": container.path,
        "Args": container.args, "State": state, "Image": container.image.id,
        "ResolvConfPath": f"/var/lib/docker/containers/{container.id}/resolv.conf",
        "HostnamePath": f"/var/lib/docker/containers/{container.id}/hostname",
        "HostsPath": f"/var/lib/docker/containers/{container.id}/hosts",
        "LogPath": f"/var/lib/docker/containers/{container.id}/{container.id}-json.log",
        "Name": container.name, "RestartCount": container.restart_count, "Driver": "memory",
        "Platform": "linux", "MountLabel": "", "ProcessLabel": "", "AppArmorProfile": "",
        "ExecIDs": [e for e in container.exec_ids] or None, "HostConfig": container.host_config,
        "GraphDriver": {"Data": None, "Name": "memory"}, "Mounts": _mounts(container),
        "Config": container.config,
        "NetworkSettings": {
            "Bridge": "", "SandboxID": container.id[::-1] if container.running else "", "HairpinMode": False,
            "LinkLocalIPv6Address": "", "LinkLocalIPv6PrefixLen": 0, "Ports": ports,
            "SandboxKey": f"/var/run/docker/netns/{container.id[:12]}" if container.running else "",
            "SecondaryIPAddresses": None, "SecondaryIPv6Addresses": None,
            "EndpointID": container.id[::-1] if container.running else "",
            "Gateway": "172.17.0.1" if container.running else "", "GlobalIPv6Address": "",
            "GlobalIPv6PrefixLen": 0, "IPAddress": "172.17.0.2" if container.running else "",
            "IPPrefixLen": 16 if container.running else 0, "IPv6Gateway": "",
            "MacAddress": "02:42:ac:11:00:02" if container.running else "", "Networks": _networks(container),
        },
    }
    if size:
        document["SizeRw"] = lifecycle.size_rw(container)
        document["SizeRootFs"] = container.tree.total_size()
    return document


def inspect(daemon: FakeDaemon, req: Request, res: Responder) -> None:
    container = find(daemon, req)
    with daemon.state.lock:
        document = inspect_document(container, req.flag("size"))
    res.send_json(200, document)


# ---------------------------------------------------------------- lifecycle ----
def start(daemon: FakeDaemon, req: Request, res: Responder) -> None:
    lifecycle.start_container(daemon.state, find(daemon, req))
    res.send(204)


def _timeout(req: Request) -> int | None:
    value = req.arg("t")
    if value in (None, ""):
        return None
    try:
        return int(value)
    except ValueError:
        raise BadRequest(f"invalid value for t: {value}") from None


def stop(daemon: FakeDaemon, req: Request, res: Responder) -> None:
    lifecycle.stop_container(daemon.state, find(daemon, req), _timeout(req))
    res.send(204)


def restart(daemon: FakeDaemon, req: Request, res: Responder) -> None:
    lifecycle.restart_container(daemon.state, find(daemon, req), _timeout(req))
    res.send(204)


def kill(daemon: FakeDaemon, req: Request, res: Responder) -> None:
    lifecycle.kill_container(daemon.state, find(daemon, req), req.arg("signal"), req.params["id"])
    res.send(204)


def pause(daemon: FakeDaemon, req: Request, res: Responder) -> None:
    lifecycle.pause_container(daemon.state, find(daemon, req))
    res.send(204)


def unpause(daemon: FakeDaemon, req: Request, res: Responder) -> None:
    lifecycle.unpause_container(daemon.state, find(daemon, req))
    res.send(204)


def remove(daemon: FakeDaemon, req: Request, res: Responder) -> None:
    container = find(daemon, req)
    lifecycle.remove_container(daemon.state, container, req.flag("force"))
    res.send(204)


def rename(daemon: FakeDaemon, req: Request, res: Responder) -> None:
    container = find(daemon, req)
    new_name = req.arg("name") or ""
    if not new_name:
        raise BadRequest("Neither old nor new names may be empty")
    from minidock.fakedaemon.state import VALID_NAME

    if not VALID_NAME.match(new_name):
        raise BadRequest(f"Invalid container name ({new_name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed")
    full = new_name if new_name.startswith("/") else "/" + new_name
    state = daemon.state
    with state.lock:
        if full == container.name:
            raise BadRequest("Renaming a container with the same name as its current name")
        owner = state.container_by_name(full)
        if owner is not None:
            raise Conflict(f'Conflict. The container name "{full}" is already in use by container "{owner.id}". '
                           f'You have to remove (or rename) that container to be able to reuse that name.')
        old = container.name
        container.name = full
        lifecycle.emit(state, container, "rename", oldName=old)
        state.notify()
    res.send(204)


def wait(daemon: FakeDaemon, req: Request, res: Responder) -> None:
    """`POST /wait`: the 200 head goes out at once (docker run sends start only after it), the body
    when the condition is met: not-running (default), next-exit, or removed."""
    container = find(daemon, req)
    condition = req.arg("condition") or "not-running"
    if condition not in ("not-running", "next-exit", "removed"):
        raise BadRequest(f"invalid condition: {condition}")
    state = daemon.state
    with state.lock:
        exits_seen = container.exits
    writer = res.stream(200, "application/json")

    def satisfied() -> bool:
        if condition == "removed":
            return container.removed
        if condition == "next-exit":
            return container.exits > exits_seen or container.removed
        return not container.running or container.removed

    with state.changed:
        while not satisfied():
            state.changed.wait(0.25)
            if daemon.stopping.is_set() or req.conn.peer_gone():
                writer.write_json_line({"Error": {"Message": "context canceled"}, "StatusCode": -1})
                writer.close()
                return
        code = container.exit_code
    writer.write_json_line({"Error": None, "StatusCode": code})
    writer.close()


def resize(daemon: FakeDaemon, req: Request, res: Responder) -> None:
    container = find(daemon, req)
    rows, cols = req.int_arg("h", 0), req.int_arg("w", 0)
    if not container.running:
        raise Conflict(f"Container {container.id} is not running")
    lifecycle.resize(container, rows, cols)
    res.send(200, b"", "text/plain; charset=utf-8")


# ---------------------------------------------------------------- streams ----
def attach(daemon: FakeDaemon, req: Request, res: Responder) -> None:
    container = find(daemon, req)
    tty = bool(container.config.get("Tty"))
    streams = {s for s, name in ((1, "stdout"), (2, "stderr")) if req.flag(name)}
    use_stdin = req.flag("stdin")
    detach_keys = parse_detach_keys(req.arg("detachKeys") or DEFAULT_DETACH_KEYS)
    log = container.log
    with log.cond:
        cursor = 0 if req.flag("logs") else len(log.entries)
        until_run = log.runs_started if container.running else log.runs_started + 1
    if not req.flag("stream"):
        until_run = 0  # logs only: replay and end
    with daemon.state.lock:
        lifecycle.emit(daemon.state, container, "attach")
    conn = res.hijack()
    serve_hijacked(
        conn, log, cursor, until_run, tty, streams,
        stdin_sink=(lambda data: lifecycle.container_stdin(container, data)) if use_stdin else None,
        on_stdin_eof=lambda: lifecycle.container_stdin_eof(container),
        detach_keys=detach_keys,
    )


def _since(value: str | None, name: str) -> float:
    if value in (None, ""):
        return 0.0
    try:
        return float(value)
    except ValueError:
        raise BadRequest(f"invalid value for {name}: {value}") from None


def logs(daemon: FakeDaemon, req: Request, res: Responder) -> None:
    container = find(daemon, req)
    streams = {s for s, name in ((1, "stdout"), (2, "stderr")) if req.flag(name)}
    if not streams:
        raise BadRequest("Bad parameters: you must choose at least one stream")
    since, until = _since(req.arg("since"), "since"), _since(req.arg("until"), "until")
    tail = req.arg("tail") or "all"
    if tail != "all" and not tail.lstrip("-").isdigit():
        raise BadRequest(f"invalid value for tail: {tail}")
    timestamps = req.flag("timestamps")
    tty = bool(container.config.get("Tty"))
    log = container.log
    with log.cond:
        entries = [(i, e) for i, e in enumerate(log.entries)
                   if e[0] in streams and e[2] >= since and (not until or e[2] <= until)]
        if tail != "all" and int(tail) >= 0:
            entries = entries[len(entries) - int(tail):] if int(tail) else []
        cursor = len(log.entries)
        running_run = log.runs_started if container.running else None
    follow = req.flag("follow") and running_run is not None and not until

    def encode(stream: int, payload: bytes, at: float) -> bytes:
        if timestamps:
            payload = rfc3339_fixed(at).encode() + b" " + payload
        return payload if tty else frame(stream, payload)

    # dockerd sends no Content-Type on logs; the client decides the framing from Config.Tty.
    writer = res.stream(200, None)
    data = b"".join(encode(s, p, t) for _, (s, p, t) in entries)
    if data:
        writer.write(data)
    if follow:
        def follow_encode(stream: int, payload: bytes) -> bytes:
            return encode(stream, payload, time.time())

        follow_output(_ChunkedConn(writer), log, cursor, running_run, tty, streams, threading.Event(),
                      follow_encode)
    writer.close()


class _ChunkedConn:
    """Lets follow_output write into a chunked body as if it were a raw connection."""

    def __init__(self, writer: Any) -> None:
        self.writer = writer

    def send(self, data: bytes) -> None:
        self.writer.write(data)


def top(daemon: FakeDaemon, req: Request, res: Responder) -> None:
    container = find(daemon, req)
    with daemon.state.lock:
        if not container.running or container.process is None:
            raise Conflict(f"Container {container.id} is not running")
        processes = []
        started = time.strftime("%H:%M", time.gmtime(container.started_at))
        tty = "pts/0" if container.config.get("Tty") else "?"
        processes.append(["root", str(container.pid), str(container.pid - 20), "0", started, tty, "00:00:00",
                          container.command])
        for exec_id in container.exec_ids:
            record = daemon.state.execs.get(exec_id)
            if record is not None and record.running:
                processes.append(["root", str(record.pid), str(container.pid - 20), "0",
                                  time.strftime("%H:%M", time.gmtime()), "?", "00:00:00", " ".join(record.argv)])
    res.send_json(200, {"Processes": processes, "Titles": ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"]})


def _stats_document(container: Container, first: bool, now: float, memory_total: int) -> dict[str, Any]:
    running = container.running
    uptime = max(now - container.started_at, 0) if running else 0
    usage = int(uptime * 2_000_000) if running else 0  # a fake 0.2% of one CPU
    system = int(now * 1e9) * 4

    def cpu(delta: float) -> dict[str, Any]:
        return {"cpu_usage": {"total_usage": max(usage - int(delta * 2_000_000), 0) if running else 0,
                              "usage_in_kernelmode": 0, "usage_in_usermode": 0},
                "system_cpu_usage": system - int(delta * 4e9) if running else 0, "online_cpus": 4 if running else 0,
                "throttling_data": {"periods": 0, "throttled_periods": 0, "throttled_time": 0}}

    memory = 512 * 1024 + 4096 * len(container.log.entries) if running else 0
    return {
        "read": rfc3339(now), "preread": rfc3339(0) if first else rfc3339(now - 1),
        "pids_stats": {"current": 1} if running else {},
        "blkio_stats": {"io_service_bytes_recursive": [], "io_serviced_recursive": [], "io_queue_recursive": [],
                        "io_service_time_recursive": [], "io_wait_time_recursive": [], "io_merged_recursive": [],
                        "io_time_recursive": [], "sectors_recursive": []},
        "num_procs": 0, "storage_stats": {},
        "cpu_stats": cpu(0), "precpu_stats": cpu(1) if not first else {"cpu_usage": {"total_usage": 0},
                                                                        "throttling_data": {}},
        "memory_stats": {"usage": memory, "stats": {"inactive_file": 0}, "limit": memory_total} if running else {},
        "name": container.name, "id": container.id,
        "networks": {"eth0": {"rx_bytes": 796, "rx_packets": 9, "rx_errors": 0, "rx_dropped": 0,
                              "tx_bytes": 0, "tx_packets": 0, "tx_errors": 0, "tx_dropped": 0}} if running else {},
    }


def stats(daemon: FakeDaemon, req: Request, res: Responder) -> None:
    from minidock.fakedaemon.api_system import _meminfo_total

    container = find(daemon, req)
    stream = req.flag("stream", True)
    memory_total = _meminfo_total()
    if not stream:
        with daemon.state.lock:
            document = _stats_document(container, False, time.time(), memory_total)
        res.send_json(200, document)
        return
    writer = res.stream(200, None)
    first = True
    while not daemon.stopping.is_set() and not container.removed:
        with daemon.state.lock:
            document = _stats_document(container, first, time.time(), memory_total)
        writer.write(json.dumps(document, separators=(",", ":")).encode() + b"\n")
        first = False
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            if req.conn.peer_gone() or daemon.stopping.is_set():
                raise ClientGone("stats client went away")
            time.sleep(0.1)
    writer.close()


def container_changes(daemon: FakeDaemon, req: Request, res: Responder) -> None:
    container = find(daemon, req)
    with daemon.state.lock:
        found = lifecycle.changes(container)
    res.send_json(200, found or None)


def export(daemon: FakeDaemon, req: Request, res: Responder) -> None:
    container = find(daemon, req)
    with daemon.state.lock:
        data = container.tree.to_tar("/", arcname="")
    writer = res.stream(200, "application/octet-stream")
    for offset in range(0, len(data), 65536):
        writer.write(data[offset:offset + 65536])
    writer.close()


# ---------------------------------------------------------------- archive (docker cp) ----
def _path_stat(container: Container, path: str) -> tuple[str, str]:
    """The resolved path and the X-Docker-Container-Path-Stat header (base64 JSON, Go FileMode bits)."""
    node = container.tree.get(path)
    resolved = path
    link_target = ""
    if node is not None and node.kind == "symlink":
        link_target = container.tree.resolve(path)
        resolved = link_target
    elif node is None:
        resolved = container.tree.resolve(path)
        node = container.tree.get(resolved)
    if node is None:
        raise NotFound(f"Could not find the file {path} in container {container.name[1:]}")
    stat = {"name": posixpath.basename(path) or "/", "size": node.size, "mode": node.go_mode(),
            "mtime": rfc3339(node.mtime), "linkTarget": link_target}
    return resolved, base64.b64encode(json.dumps(stat, separators=(",", ":")).encode()).decode()


def _archive_path(req: Request) -> str:
    path = req.arg("path")
    if not path:
        raise BadRequest("bad parameter: path cannot be empty")
    return path


def archive_head(daemon: FakeDaemon, req: Request, res: Responder) -> None:
    container = find(daemon, req)
    with daemon.state.lock:
        _, header = _path_stat(container, posixpath.normpath(_archive_path(req)))
    res.send(200, b"", None, {"X-Docker-Container-Path-Stat": header})


def archive_get(daemon: FakeDaemon, req: Request, res: Responder) -> None:
    container = find(daemon, req)
    raw = _archive_path(req)
    path = posixpath.normpath(raw)
    with daemon.state.lock:
        resolved, header = _path_stat(container, path)
        name = posixpath.basename(path) or "/"
        if raw.endswith("/.") and container.tree.is_dir(resolved):
            name = "."
        data = container.tree.to_tar(resolved, arcname=name if name != "/" else "")
    res.send(200, data, "application/x-tar", {"X-Docker-Container-Path-Stat": header})


def archive_put(daemon: FakeDaemon, req: Request, res: Responder) -> None:
    container = find(daemon, req)
    path = posixpath.normpath(_archive_path(req))
    body = req.body()
    with daemon.state.lock:
        target = container.tree.resolve(path)
        node = container.tree.get(target)
        if node is None:
            raise NotFound(f"Could not find the file {path} in container {container.name[1:]}")
        if node.kind != DIR:
            raise BadRequest("extraction point is not a directory")
        try:
            container.tree.extract_tar(body, target, no_overwrite_dir_non_dir=req.flag("noOverwriteDirNonDir"),
                                       touch_parents=True)
        except TreeError as exc:
            raise BadRequest(str(exc)) from None
    res.send(200, b"", "text/plain; charset=utf-8")


def prune(daemon: FakeDaemon, req: Request, res: Responder) -> None:
    """`POST /containers/prune`: remove every stopped container (label filters honoured)."""
    filters = parse_filters(req, {"label", "label!", "until"})
    state = daemon.state
    deleted, reclaimed = [], 0
    with state.lock:
        for container in list(state.containers.values()):
            if container.running or not _matches(daemon, container, {"label": filters.get("label", set())}):
                continue
            reclaimed += lifecycle.size_rw(container)
            lifecycle.remove_container(state, container, force=False)
            deleted.append(container.id)
        state.events.emit("container", "prune", "", {"reclaimed": str(reclaimed)})
    res.send_json(200, {"ContainersDeleted": deleted or None, "SpaceReclaimed": reclaimed})
