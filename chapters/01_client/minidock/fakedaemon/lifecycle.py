"""A container's life: create, start, exit, restart, stop, kill, pause, remove - and exec.

These are the daemon's operations, apart from HTTP: the API handlers call
them and turn their exceptions into status codes. Each one changes the state
under the lock, emits the events dockerd emits, and notifies waiters. They
never block while holding the lock (stop waits for the process outside it).
"""

from __future__ import annotations

import re
import threading
import time
from typing import Any

from minidock.fakedaemon.programs import find_program, not_found_message
from minidock.fakedaemon.runtime import SIGKILL, SIGTERM, IGNORED_BY_DEFAULT, Process, parse_signal
from minidock.fakedaemon.state import DEFAULT_PATH, MOUNTED_FILES, VALID_NAME, Container, Exec, Image, State, container_tree
from minidock.fakedaemon.wire import BadRequest, Conflict, HTTPError, NotFound


class NotModified(Exception):
    """304: start of a running container, stop of a stopped one."""


# ---------------------------------------------------------------- create ----
def merge_env(image_env: list[str], user_env: list[str] | None) -> list[str]:
    merged: dict[str, str] = {}
    for item in list(image_env or []) + list(user_env or []):
        name = item.split("=", 1)[0]
        merged[name] = item
    return list(merged.values())


DEFAULT_HOST_CONFIG: dict[str, Any] = {
    "Binds": None, "ContainerIDFile": "", "LogConfig": {"Type": "json-file", "Config": {}},
    "NetworkMode": "default", "PortBindings": {}, "RestartPolicy": {"Name": "no", "MaximumRetryCount": 0},
    "AutoRemove": False, "VolumeDriver": "", "VolumesFrom": None, "CapAdd": None, "CapDrop": None,
    "CgroupnsMode": "private", "Dns": [], "DnsOptions": [], "DnsSearch": [], "ExtraHosts": None,
    "GroupAdd": None, "IpcMode": "private", "Cgroup": "", "Links": None, "OomScoreAdj": 0, "PidMode": "",
    "Privileged": False, "PublishAllPorts": False, "ReadonlyRootfs": False, "SecurityOpt": None,
    "UTSMode": "", "UsernsMode": "", "ShmSize": 67108864, "Runtime": "runc", "ConsoleSize": [0, 0],
    "Isolation": "", "CpuShares": 0, "Memory": 0, "NanoCpus": 0, "CgroupParent": "", "BlkioWeight": 0,
    "BlkioWeightDevice": [], "BlkioDeviceReadBps": None, "BlkioDeviceWriteBps": None,
    "BlkioDeviceReadIOps": None, "BlkioDeviceWriteIOps": None, "CpuPeriod": 0, "CpuQuota": 0,
    "CpuRealtimePeriod": 0, "CpuRealtimeRuntime": 0, "CpusetCpus": "", "CpusetMems": "", "Devices": [],
    "DeviceCgroupRules": None, "DeviceRequests": None, "KernelMemory": 0, "KernelMemoryTCP": 0,
    "MemoryReservation": 0, "MemorySwap": 0, "MemorySwappiness": None, "OomKillDisable": False,
    "PidsLimit": None, "Ulimits": None, "CpuCount": 0, "CpuPercent": 0, "IOMaximumIOps": 0,
    "IOMaximumBandwidth": 0, "MaskedPaths": ["/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys",
                                             "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
                                             "/proc/sched_debug", "/proc/scsi", "/sys/firmware"],
    "ReadonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"],
}
RESTART_POLICIES = ("", "no", "always", "unless-stopped", "on-failure")


# What the JSON fields must be, in Go's words: a wrong type is a 400, never a crash.
JSON_KINDS = {"string": str, "bool": bool, "[]string": list, "map[string]string": dict, "object": dict,
              "int": int, "[2]uint": list}
CONFIG_TYPES = {"Image": "string", "Hostname": "string", "Domainname": "string", "User": "string",
                "WorkingDir": "string", "Cmd": "[]string", "Entrypoint": "[]string", "Env": "[]string",
                "Labels": "map[string]string", "ExposedPorts": "object", "Volumes": "object", "Tty": "bool",
                "OpenStdin": "bool", "StdinOnce": "bool", "AttachStdin": "bool", "AttachStdout": "bool",
                "AttachStderr": "bool", "StopSignal": "string", "StopTimeout": "int", "HostConfig": "object"}
HOST_CONFIG_TYPES = {"Binds": "[]string", "AutoRemove": "bool", "PortBindings": "object",
                     "RestartPolicy": "object", "NetworkMode": "string", "ConsoleSize": "[2]uint"}
PORT = re.compile(r"^\d{1,5}(/(tcp|udp|sctp))?$")


def check_types(document: dict[str, Any], types: dict[str, str], where: str) -> None:
    for key, go_type in types.items():
        value = document.get(key)
        if value is None:
            continue
        kind = JSON_KINDS[go_type]
        good = isinstance(value, kind) and not (kind is int and isinstance(value, bool))
        if good and go_type == "[]string":
            good = all(isinstance(v, str) for v in value)
        if good and go_type == "map[string]string":
            good = all(isinstance(v, str) for v in value.values())
        if good and go_type == "[2]uint":
            good = len(value) == 2 and all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in value)
        if not good:
            json_kind = {str: "string", bool: "bool", int: "number", float: "number", list: "array",
                         dict: "object"}.get(type(value), "value")
            raise BadRequest(f"json: cannot unmarshal {json_kind} into Go struct field {where}.{key} "
                             f"of type {go_type}")


def create_container(state: State, body: dict[str, Any], name: str | None) -> Container:
    """`POST /containers/create`: validate, merge with the image's config, record. Nothing runs yet."""
    if not isinstance(body, dict):
        raise BadRequest("Config cannot be empty in order to create a container")
    for key in ("Cmd", "Entrypoint", "Env"):  # the API also takes a single string
        value = body.get(key)
        if isinstance(value, str):
            body[key] = [value] if key != "Entrypoint" else ["/bin/sh", "-c", value]
    check_types(body, CONFIG_TYPES, "ContainerConfigWrapper")
    host_config = body.get("HostConfig") or {}
    check_types(host_config, HOST_CONFIG_TYPES, "ContainerConfigWrapper.HostConfig")
    image_ref = body.get("Image") or ""
    if not image_ref:
        raise BadRequest("Config cannot be empty in order to create a container")
    if name is not None and name != "" and not VALID_NAME.match(name):
        raise BadRequest(f"Invalid container name ({name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed")
    policy = host_config.get("RestartPolicy") or {}
    policy_name = policy.get("Name") or ""
    retries = policy.get("MaximumRetryCount") or 0
    if not isinstance(policy_name, str) or policy_name not in RESTART_POLICIES:
        raise BadRequest(f"invalid restart policy '{policy_name}'")
    if host_config.get("AutoRemove") and policy_name not in ("", "no"):
        raise BadRequest("can't create 'AutoRemove' container with restart policy")
    if not isinstance(retries, int) or retries < 0:
        raise BadRequest("maximum retry count cannot be negative")
    if retries and policy_name != "on-failure":
        raise BadRequest(f"maximum retry count cannot be used with restart policy '{policy_name}'")
    for port, bindings in (host_config.get("PortBindings") or {}).items():
        if not PORT.match(port) or not isinstance(bindings, (list, type(None))) or \
                not all(isinstance(b, dict) and all(isinstance(v, str) for v in b.values()) for b in bindings or []):
            raise BadRequest(f'invalid port specification: "{port}"')
    with state.lock:
        image = state.find_image(image_ref)
        if image is None:
            raise NotFound(f"No such image: {_tagged(image_ref)}")
        if name:
            full_name = name if name.startswith("/") else "/" + name
            owner = state.container_by_name(full_name)
            if owner is not None:
                raise Conflict(f'Conflict. The container name "{full_name}" is already in use by container '
                               f'"{owner.id}". You have to remove (or rename) that container to be able to '
                               f'reuse that name.')
        else:
            full_name = state.generate_name()
        image_config = image.config
        entrypoint = body.get("Entrypoint")
        cmd = body.get("Cmd")
        if not entrypoint:
            if not cmd:
                cmd = image_config.get("Cmd")
            entrypoint = image_config.get("Entrypoint") if entrypoint is None else entrypoint
        argv = list(entrypoint or []) + list(cmd or [])
        if not argv:
            raise BadRequest("No command specified")
        container_id = state.new_id()
        config = {
            "Hostname": body.get("Hostname") or container_id[:12], "Domainname": body.get("Domainname", ""),
            "User": body.get("User") or image_config.get("User", ""),
            "AttachStdin": bool(body.get("AttachStdin")), "AttachStdout": bool(body.get("AttachStdout")),
            "AttachStderr": bool(body.get("AttachStderr")),
        }
        exposed = {**(image_config.get("ExposedPorts") or {}), **(body.get("ExposedPorts") or {})}
        for port in (host_config.get("PortBindings") or {}):
            exposed.setdefault(port, {})
        if exposed:
            config["ExposedPorts"] = exposed
        config.update({
            "Tty": bool(body.get("Tty")), "OpenStdin": bool(body.get("OpenStdin")),
            "StdinOnce": bool(body.get("StdinOnce")),
            "Env": _with_default_path(merge_env(image_config.get("Env") or [], body.get("Env"))),
            "Cmd": cmd, "Image": image_ref,
            "Volumes": body.get("Volumes") or image_config.get("Volumes"),
            "WorkingDir": body.get("WorkingDir") or image_config.get("WorkingDir", ""),
            "Entrypoint": entrypoint, "OnBuild": body.get("OnBuild"),
            "Labels": {**(image_config.get("Labels") or {}), **(body.get("Labels") or {})},
        })
        for key in ("StopSignal", "StopTimeout", "Healthcheck"):
            if body.get(key) is not None:
                config[key] = body[key]
        merged_host_config = {**DEFAULT_HOST_CONFIG, **host_config}
        if not merged_host_config.get("RestartPolicy"):
            merged_host_config["RestartPolicy"] = {"Name": "no", "MaximumRetryCount": 0}
        if merged_host_config["RestartPolicy"].get("Name") == "":
            merged_host_config["RestartPolicy"]["Name"] = "no"
        tree = container_tree(image, container_id, config["Hostname"])
        workdir = config["WorkingDir"]
        if workdir and tree.get(workdir) is None:
            tree.mkdir(workdir, parents=True)
        container = Container(
            id=container_id, name=full_name, created=time.time(), image=image, config=config,
            host_config=merged_host_config, path=argv[0], args=argv[1:], tree=tree, image_tree=image.tree,
        )
        console = host_config.get("ConsoleSize") or [0, 0]
        if isinstance(console, list) and len(console) == 2 and console[0] and console[1]:
            container.tty_size = (int(console[0]), int(console[1]))
        state.containers[container_id] = container
        emit(state, container, "create")
        state.notify()
        return container


def _with_default_path(env: list[str]) -> list[str]:
    """dockerd gives a container the default PATH when neither image nor user set one."""
    if any(item.startswith("PATH=") for item in env):
        return env
    return [DEFAULT_PATH, *env]


def _tagged(ref: str) -> str:
    """`No such image: busybox2:latest` - dockerd names the reference with its tag."""
    from minidock.fakedaemon.state import InvalidReference, parse_reference

    try:
        parsed = parse_reference(ref)
    except InvalidReference:
        return ref
    return str(parsed) if parsed.digest else parsed.tagged


def emit(state: State, container: Container, action: str, **extra: str) -> None:
    attributes = {**container.labels, "image": container.image_ref, "name": container.name[1:], **extra}
    state.events.emit("container", action, container.id, attributes, origin=container.image_ref)


def changes(container: Container) -> list[dict]:
    """`docker diff`: what the container changed in its image's files (the mounted files excluded)."""
    return container.tree.changes(container.image_tree, ignore=MOUNTED_FILES)


def size_rw(container: Container) -> int:
    """The bytes of the container's own layer: files it added or changed."""
    changed = {c["Path"] for c in changes(container) if c["Kind"] != 2}
    return sum(len(node.data) for path, node in container.tree.nodes.items() if path in changed)


# ---------------------------------------------------------------- start and exit ----
def start_container(state: State, container: Container) -> None:
    with state.lock:
        if container.removed:
            raise NotFound(f"No such container: {container.id}")
        if container.status == "paused":
            raise Conflict("cannot start a paused container, try unpause instead")
        if container.status in ("running", "restarting") and container.process and container.process.running:
            raise NotModified()
        _spawn(state, container)


def _spawn(state: State, container: Container) -> None:
    """Run the container's command as a fake process. The caller holds the lock."""
    argv = [container.path, *container.args]
    env = dict(item.split("=", 1) if "=" in item else (item, "") for item in container.config.get("Env") or [])
    program = find_program(argv[0], fs=container.tree, search_path=env.get("PATH", ""))
    if program is None:
        message = (f"failed to create shim task: OCI runtime create failed: runc create failed: "
                   f"unable to start container process: {not_found_message(argv[0])}: unknown")
        container.exit_code = 127
        container.error = message
        state.notify()
        if container.host_config.get("AutoRemove"):
            remove_container(state, container, force=True)
        raise BadRequest(message)
    process = Process(
        argv=argv, env=env, cwd=container.config.get("WorkingDir") or "/", fs=container.tree,
        hostname=container.config["Hostname"], user=container.config.get("User", ""),
        tty=bool(container.config.get("Tty")), open_stdin=bool(container.config.get("OpenStdin")),
        output=container.log.append, on_exit=lambda p: _exited(state, container, p), size=container.tty_size,
    )
    container.process = process
    container.status = "running"
    container.pid = process.pid
    container.started_at = time.time()
    container.exit_code = 0
    container.error = ""
    container.manually_stopped = False
    for data in container.stdin_pending:
        process.feed_stdin(data)
    container.stdin_pending.clear()
    if container.stdin_closed_early:
        process.close_stdin()
        container.stdin_closed_early = False
    container.log.begin_run()
    emit(state, container, "start")
    process.start(program)
    state.notify()


def _exited(state: State, container: Container, process: Process) -> None:
    """The process ended: record it, emit die, then restart or auto-remove as the policy says."""
    with state.lock:
        if container.process is not process:
            return
        container.exit_code = process.exit_code or 0
        container.finished_at = time.time()
        container.exits += 1
        container.pid = 0
        container.status = "exited"
        for exec_id in list(container.exec_ids):
            record = state.execs.get(exec_id)
            if record is not None and record.process is not None and record.process.running:
                record.process.signal(SIGKILL)
        emit(state, container, "die", exitCode=str(container.exit_code))
        container.log.end_run()
        if _should_restart(container):
            container.status = "restarting"
            container.restart_count += 1
            delay = min(0.1 * (2 ** (container.restart_count - 1)), 1.0)
            timer = threading.Timer(delay, _restart_by_policy, args=(state, container))
            timer.daemon = True
            timer.start()
        elif container.host_config.get("AutoRemove"):
            _remove_now(state, container)
        state.notify()


def _should_restart(container: Container) -> bool:
    policy = container.host_config.get("RestartPolicy") or {}
    name = policy.get("Name") or "no"
    if container.manually_stopped or container.removed or name == "no":
        return False
    if name == "on-failure":
        maximum = policy.get("MaximumRetryCount") or 0
        return container.exit_code != 0 and (maximum == 0 or container.restart_count < maximum)
    return name in ("always", "unless-stopped")


def _restart_by_policy(state: State, container: Container) -> None:
    with state.lock:
        if container.removed or container.status != "restarting" or container.manually_stopped:
            if container.status == "restarting":
                container.status = "exited"
                state.notify()
            return
        try:
            _spawn(state, container)
        except HTTPError:
            container.status = "exited"


# ---------------------------------------------------------------- signals ----
def kill_container(state: State, container: Container, signal_text: str | None, ref: str) -> None:
    try:
        signum = parse_signal(signal_text) if signal_text else SIGKILL
    except ValueError:
        raise BadRequest(f"Invalid signal: {signal_text}") from None
    with state.lock:
        if not container.running or container.process is None:
            raise Conflict(f"Cannot kill container: {ref}: Container {container.id} is not running")
        if signum not in IGNORED_BY_DEFAULT:
            container.manually_stopped = True
        emit(state, container, "kill", signal=str(signum))
        process = container.process
        if container.status == "restarting":
            container.status = "exited"
            state.notify()
            return
    process.signal(signum)
    if signum == SIGKILL:
        process.wait(10)


def stop_container(state: State, container: Container, timeout: int | None) -> None:
    with state.lock:
        if container.status == "restarting":
            container.manually_stopped = True
            container.status = "exited"
            emit(state, container, "stop")
            state.notify()
            return
        if not container.running or container.process is None or not container.process.running:
            raise NotModified()
        container.manually_stopped = True
        process = container.process
        if container.status == "paused":
            process.set_paused(False)
            container.status = "running"
        stop_signal = container.config.get("StopSignal") or "SIGTERM"
        try:
            signum = parse_signal(stop_signal)
        except ValueError:
            signum = SIGTERM
        if timeout is None:
            timeout = container.config.get("StopTimeout")
            timeout = 10 if timeout is None else int(timeout)
        emit(state, container, "kill", signal=str(signum))
    process.signal(signum)
    if not process.wait(None if timeout < 0 else timeout):
        with state.lock:
            emit(state, container, "kill", signal=str(SIGKILL))
        process.signal(SIGKILL)
        process.wait(10)
    with state.lock:
        emit(state, container, "stop")
        state.notify()


def restart_container(state: State, container: Container, timeout: int | None) -> None:
    try:
        stop_container(state, container, timeout)
    except NotModified:
        pass
    with state.lock:
        _spawn(state, container)
        emit(state, container, "restart")


def pause_container(state: State, container: Container) -> None:
    with state.lock:
        if not container.running or container.process is None:
            raise Conflict(f"Container {container.id} is not running")
        if container.status == "paused":
            raise Conflict(f"Container {container.id} is already paused")
        if container.status == "restarting":
            raise Conflict(f"Container {container.id} is restarting, wait until the container is running")
        container.process.set_paused(True)
        container.status = "paused"
        emit(state, container, "pause")
        state.notify()


def unpause_container(state: State, container: Container) -> None:
    with state.lock:
        if container.status != "paused" or container.process is None:
            raise Conflict(f"Container {container.id} is not paused")
        container.process.set_paused(False)
        container.status = "running"
        emit(state, container, "unpause")
        state.notify()


# ---------------------------------------------------------------- removal ----
def remove_container(state: State, container: Container, force: bool) -> None:
    with state.lock:
        if container.removed:
            return
        if container.status == "removing":
            raise Conflict(f"removal of container {container.id} is already in progress")
        if container.status == "paused" and not force:
            raise Conflict(f"You cannot remove a paused container {container.id}. Unpause and then stop "
                           f"the container before attempting removal or force remove")
        if container.running and not force:
            raise Conflict(f"You cannot remove a running container {container.id}. Stop the container "
                           f"before attempting removal or force remove")
        process = container.process if container.running else None
        container.manually_stopped = True
        if container.status == "restarting":
            container.status = "exited"
        if process is not None:
            emit(state, container, "kill", signal=str(SIGKILL))
    if process is not None:
        process.signal(SIGKILL)
        process.wait(10)
    with state.lock:
        _remove_now(state, container)


def _remove_now(state: State, container: Container) -> None:
    if container.removed:
        return
    container.removed = True
    container.status = "removing"
    state.containers.pop(container.id, None)
    for exec_id in container.exec_ids:
        state.execs.pop(exec_id, None)
    container.log.close()
    emit(state, container, "destroy")
    state.notify()


# ---------------------------------------------------------------- stdin ----
def container_stdin(container: Container, data: bytes) -> None:
    """Bytes for the container's stdin: to the process, or kept until it starts."""
    process = container.process
    if process is not None and process.running:
        process.feed_stdin(data)
    else:
        container.stdin_pending.append(data)


def container_stdin_eof(container: Container) -> None:
    """The attached client's stdin ended. Only StdinOnce without a TTY passes that on (as moby's
    CopyStreams): a terminal session that detaches or drops must not end the shell."""
    if not container.config.get("StdinOnce") or container.config.get("Tty"):
        return
    process = container.process
    if process is not None and process.running:
        process.close_stdin()
    else:
        container.stdin_closed_early = True


# ---------------------------------------------------------------- exec ----
def create_exec(state: State, container: Container, body: dict[str, Any]) -> Exec:
    if not isinstance(body, dict):
        raise BadRequest("invalid exec configuration")
    cmd = body.get("Cmd")
    if isinstance(cmd, str):
        cmd = [cmd]
    if not cmd or not isinstance(cmd, list):
        raise BadRequest("No exec command specified")
    with state.lock:
        if container.status == "paused":
            raise Conflict(f"Container {container.id} is paused, unpause the container before exec")
        if not container.running or container.status == "restarting":
            raise Conflict(f"Container {container.id} is not running")
        record = Exec(id=State.new_id(), container=container, config={**body, "Cmd": cmd})
        state.execs[record.id] = record
        container.exec_ids.append(record.id)
        emit(state, container, f"exec_create: {' '.join(cmd)}", execID=record.id)
        return record


def start_exec(state: State, record: Exec) -> str | None:
    """Start an exec's process; return the error text dockerd writes into the stream, if it cannot."""
    with state.lock:
        container = record.container
        if record.running or record.exit_code is not None:
            raise Conflict(f"Error: Exec command {record.id} is already running" if record.running
                           else f"Error: Exec command {record.id} has already run")
        if not container.running or container.process is None:
            raise Conflict(f"Container {container.id} is not running")
        if container.status == "paused":
            raise Conflict(f"Container {container.id} is paused, unpause the container before exec")
        argv = record.argv
        env = dict(item.split("=", 1) if "=" in item else (item, "")
                   for item in merge_env(container.config.get("Env") or [], record.config.get("Env")))
        program = find_program(argv[0], fs=container.tree, search_path=env.get("PATH", ""))
        emit(state, container, f"exec_start: {' '.join(argv)}", execID=record.id)
        record.log.begin_run()
        if program is None:
            record.exit_code = 127 if "/" not in argv[0] else 126
            record.log.end_run()
            return (f"OCI runtime exec failed: exec failed: unable to start container process: "
                    f"{not_found_message(argv[0])}: unknown")
        process = Process(
            argv=argv, env=env, cwd=record.config.get("WorkingDir") or container.config.get("WorkingDir") or "/",
            fs=container.tree, hostname=container.config["Hostname"],
            user=record.config.get("User") or container.config.get("User", ""),
            tty=bool(record.config.get("Tty")), open_stdin=bool(record.config.get("AttachStdin")),
            output=record.log.append, on_exit=lambda p: _exec_exited(state, record, p), size=record.size,
        )
        record.process = process
        record.running = True
        record.pid = process.pid
        process.start(program)
        return None


def _exec_exited(state: State, record: Exec, process: Process) -> None:
    with state.lock:
        record.exit_code = process.exit_code
        record.running = False
        record.log.end_run()
        emit(state, record.container, "exec_die", execID=record.id, exitCode=str(record.exit_code))
        state.notify()


def resize(target: Container | Exec, rows: int, cols: int) -> None:
    if isinstance(target, Container):
        target.tty_size = (rows, cols)
    else:
        target.size = (rows, cols)
    process = target.process
    if process is not None and process.running:
        process.resize(rows, cols)


def image_in_use(state: State, image: Image) -> list[Container]:
    return [c for c in state.containers.values() if c.image.id == image.id]
