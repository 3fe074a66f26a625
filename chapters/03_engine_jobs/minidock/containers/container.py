"""The container record (Docker's `container.Container`), and how a create request becomes one.

A container, in this chapter, is a record and a process: the record says
what to run (Config: the command, environment, TTY ...) and how (HostConfig:
restart policy, `--rm` ...), its name, and its `State`. The record lives in
memory and in `config.v2.json`; the process is started by the execution
driver and watched by the monitor.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from minidock.containers.state import State
from minidock.containers.times import now_ns, parse_rfc3339_nano, rfc3339_nano
from minidock.server.errors import BadParameter

if TYPE_CHECKING:
    from minidock.containers.execdriver import Terminal
    from minidock.containers.restart import RestartManager
    from minidock.containers.streams import ContainerStreams

DEFAULT_PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

# HostConfig fields a container gets when the request leaves them out (what dockerd shows in inspect).
DEFAULT_HOST_CONFIG: dict[str, Any] = {
    "Binds": None, "ContainerIDFile": "", "LogConfig": {"Type": "json-file", "Config": {}},
    "NetworkMode": "default", "PortBindings": {}, "RestartPolicy": {"Name": "no", "MaximumRetryCount": 0},
    "AutoRemove": False, "VolumeDriver": "", "VolumesFrom": None, "CapAdd": None, "CapDrop": None,
    "CgroupnsMode": "", "Dns": [], "DnsOptions": [], "DnsSearch": [], "ExtraHosts": None, "GroupAdd": None,
    "IpcMode": "", "Cgroup": "", "Links": None, "OomScoreAdj": 0, "PidMode": "", "Privileged": False,
    "PublishAllPorts": False, "ReadonlyRootfs": False, "SecurityOpt": None, "UTSMode": "", "UsernsMode": "",
    "ShmSize": 0, "ConsoleSize": [0, 0], "Isolation": "", "CpuShares": 0, "Memory": 0, "NanoCpus": 0,
    "CgroupParent": "", "PidsLimit": None, "Ulimits": None, "Mounts": None,
}


# --8<-- [start:new_id]
def new_id() -> str:
    """64 hex digits from the OS's CSPRNG. Like Docker's stringid, skip an ID whose
    12-character short form is all digits: `docker rm 123456789012` must not read as a number."""
    while True:
        value = secrets.token_hex(32)
        if not value[:12].isdigit():
            return value
# --8<-- [end:new_id]


# ---------------------------------------------------------------- checking a create request ----
_GO_KIND = {str: "string", bool: "bool", int: "number", float: "number", list: "array", dict: "object",
            type(None): "null"}
CONFIG_TYPES = {"Hostname": "string", "Domainname": "string", "User": "string", "WorkingDir": "string",
                "Image": "string", "StopSignal": "string", "Env": "[]string", "Labels": "map[string]string",
                "Tty": "bool", "OpenStdin": "bool", "StdinOnce": "bool", "AttachStdin": "bool",
                "AttachStdout": "bool", "AttachStderr": "bool", "StopTimeout": "int",
                "ExposedPorts": "object", "Volumes": "object"}
HOST_CONFIG_TYPES = {"AutoRemove": "bool", "Binds": "[]string", "NetworkMode": "string",
                     "PortBindings": "object", "ConsoleSize": "[2]uint"}


def _check(document: dict[str, Any], types: dict[str, str], where: str) -> None:
    """A wrong JSON type is a 400 in Go's words (`json: cannot unmarshal ...`), never a crash later."""
    for key, go_type in types.items():
        value = document.get(key)
        if value is None:
            continue
        ok = {
            "string": isinstance(value, str),
            "bool": isinstance(value, bool),
            "int": isinstance(value, int) and not isinstance(value, bool),
            "object": isinstance(value, dict),
            "[]string": isinstance(value, list) and all(isinstance(v, str) for v in value),
            "map[string]string": isinstance(value, dict) and all(isinstance(v, str) for v in value.values()),
            "[2]uint": isinstance(value, list) and len(value) == 2 and all(
                isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in value),
        }[go_type]
        if not ok:
            raise BadParameter(f"json: cannot unmarshal {_GO_KIND.get(type(value), 'value')} into Go struct "
                               f"field {where}.{key} of type {go_type}")


def _strslice(value: Any, field_name: str) -> list[str] | None:
    """Cmd and Entrypoint: Docker's StrSlice takes a list of strings or one string."""
    if value is None:
        return None
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    raise BadParameter(f"json: cannot unmarshal {_GO_KIND.get(type(value), 'value')} into Go value of type "
                       f"strslice.StrSlice ({field_name})")


def merge_env(image_env: list[str], user_env: list[str]) -> list[str]:
    """The image's environment, overridden key by key by the user's (ReplaceOrAppendEnvValues)."""
    merged: dict[str, str] = {}
    for item in [*image_env, *user_env]:
        merged[item.split("=", 1)[0]] = item
    return list(merged.values())


# --8<-- [start:build_config]
def build_config(body: dict[str, Any], image_config: dict[str, Any], container_id: str) -> dict[str, Any]:
    """The container's Config: the request, with the image's defaults where it says nothing
    (moby's `merge`): no Entrypoint and no Cmd take the image's Cmd; no Entrypoint at all
    takes the image's Entrypoint; Env and Labels are merged key by key."""
    _check(body, CONFIG_TYPES, "Config")
    entrypoint = _strslice(body.get("Entrypoint"), "Entrypoint")
    cmd = _strslice(body.get("Cmd"), "Cmd")
    if not entrypoint:
        if not cmd:
            cmd = image_config.get("Cmd")
        if entrypoint is None:
            entrypoint = image_config.get("Entrypoint")
    if not (entrypoint or cmd):
        raise BadParameter("No command specified")
    env = merge_env(list(image_config.get("Env") or []), list(body.get("Env") or []))
    config: dict[str, Any] = {
        "Hostname": body.get("Hostname") or container_id[:12],
        "Domainname": body.get("Domainname") or "",
        "User": body.get("User") or image_config.get("User") or "",
        "AttachStdin": bool(body.get("AttachStdin")),
        "AttachStdout": bool(body.get("AttachStdout")),
        "AttachStderr": bool(body.get("AttachStderr")),
    }
    exposed = {**(image_config.get("ExposedPorts") or {}), **(body.get("ExposedPorts") or {})}
    if exposed:
        config["ExposedPorts"] = exposed
    config.update({
        "Tty": bool(body.get("Tty")),
        "OpenStdin": bool(body.get("OpenStdin")),
        "StdinOnce": bool(body.get("StdinOnce")),
        "Env": env or None,
        "Cmd": cmd or None,
        "Image": body.get("Image") or "",
        "Volumes": body.get("Volumes") or image_config.get("Volumes"),
        "WorkingDir": body.get("WorkingDir") or image_config.get("WorkingDir") or "",
        "Entrypoint": entrypoint or None,
        "OnBuild": None,
        "Labels": {**(image_config.get("Labels") or {}), **(body.get("Labels") or {})},
    })
    for key in ("StopSignal", "StopTimeout"):
        value = body.get(key) if body.get(key) is not None else image_config.get(key)
        if value is not None:
            config[key] = value
    return config
# --8<-- [end:build_config]


def build_host_config(body: dict[str, Any] | None) -> dict[str, Any]:
    host_config = dict(body or {})
    _check(host_config, HOST_CONFIG_TYPES, "HostConfig")
    merged = {**DEFAULT_HOST_CONFIG, **{k: v for k, v in host_config.items() if v is not None}}
    return merged


# ---------------------------------------------------------------- the record ----
# --8<-- [start:container]
@dataclass
class Container:
    """One container: the record (persisted) and its live parts (not persisted)."""

    id: str
    name: str                       # with the leading slash: "/web"
    created: int                    # ns since the epoch
    path: str                       # the program: Entrypoint[0] or Cmd[0]
    args: list[str]
    config: dict[str, Any]
    host_config: dict[str, Any]
    image_id: str = ""              # "" until chapter 05 has images
    state: State = field(default_factory=State)
    restart_count: int = 0
    has_been_started_before: bool = False
    has_been_manually_stopped: bool = False
    driver: str = "host"
    log_path: str = ""
    exec_ids: list[str] = field(default_factory=list)
    # -- live, never written to disk --
    streams: ContainerStreams | None = None
    terminal: Terminal | None = None
    restart_manager: RestartManager | None = None
    tty_size: tuple[int, int] = (0, 0)
    starting: bool = False          # a start is in progress (two racing starts: one wins)
    monitor: Any = None             # the ContainerMonitor that owns the process, while there is one

    @property
    def lock(self) -> Any:
        """The container's lock is its State's (an RLock), as in Docker."""
        return self.state.lock

    @property
    def image(self) -> str:
        return self.config.get("Image") or ""

    @property
    def labels(self) -> dict[str, str]:
        return self.config.get("Labels") or {}

    def command(self) -> str:
        """`docker ps`'s COMMAND: path and args, an argument with a space in single quotes (as dockerd)."""
        return " ".join([self.path, *(f"'{a}'" if " " in a else a for a in self.args)])

    def event_attributes(self, **extra: str) -> dict[str, str]:
        """An event's Actor.Attributes: the labels, image and name (dockerd's order of precedence)."""
        return {**self.labels, "image": self.image, "name": self.name.lstrip("/"), **extra}
# --8<-- [end:container]

    # -- config.v2.json -------------------------------------------------------
    def to_record(self) -> dict[str, Any]:
        return {
            "ID": self.id, "Name": self.name, "Created": rfc3339_nano(self.created),
            "Path": self.path, "Args": self.args, "Config": self.config, "Image": self.image_id,
            "State": self.state.to_record(), "RestartCount": self.restart_count,
            "HasBeenStartedBefore": self.has_been_started_before,
            "HasBeenManuallyStopped": self.has_been_manually_stopped,
            "Driver": self.driver, "LogPath": self.log_path, "ExecIDs": [],
        }

    @classmethod
    def from_record(cls, record: dict[str, Any], host_config: dict[str, Any]) -> Container:
        return cls(
            id=record["ID"], name=record["Name"], created=parse_rfc3339_nano(record["Created"]),
            path=record.get("Path") or "", args=list(record.get("Args") or []),
            config=dict(record.get("Config") or {}), host_config={**DEFAULT_HOST_CONFIG, **host_config},
            image_id=record.get("Image") or "", state=State.from_record(record.get("State") or {}),
            restart_count=int(record.get("RestartCount") or 0),
            has_been_started_before=bool(record.get("HasBeenStartedBefore")),
            has_been_manually_stopped=bool(record.get("HasBeenManuallyStopped")),
            driver=record.get("Driver") or "host", log_path=record.get("LogPath") or "",
        )

    @classmethod
    def new(cls, container_id: str, name: str, config: dict[str, Any], host_config: dict[str, Any],
            image_id: str, driver: str, log_path: str) -> Container:
        argv = [*(config.get("Entrypoint") or []), *(config.get("Cmd") or [])]
        console = host_config.get("ConsoleSize") or [0, 0]
        return cls(id=container_id, name=name, created=now_ns(), path=argv[0], args=argv[1:], config=config,
                   host_config=host_config, image_id=image_id, driver=driver, log_path=log_path,
                   tty_size=(int(console[0]), int(console[1])))

    def daemon_environment(self) -> list[str]:
        """What the process gets (moby's CreateDaemonEnvironment): a default PATH, HOSTNAME,
        TERM=xterm with a TTY, then the container's Env overriding any of those."""
        base = [DEFAULT_PATH_ENV, f"HOSTNAME={self.config.get('Hostname', '')}"]
        if self.config.get("Tty"):
            base.append("TERM=xterm")
        return merge_env(base, list(self.config.get("Env") or []))
