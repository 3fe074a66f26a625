"""From `run`/`create` flags to the container-create request body.

docker's `cli/command/container/opts.go` in small: every flag lands in one of
three objects the daemon receives - `Config` (what to run: image, command,
environment, terminal), `HostConfig` (how the host runs it: ports, volumes,
limits, restart policy, `--rm`) and `NetworkingConfig`. The parsers below
check each value here, in the client, so a typo is a usage error before any
request is sent.
"""

from __future__ import annotations

import argparse
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_SIZE = re.compile(r"^(\d+(?:\.\d+)?)\s*([kmgtp]?)b?$", re.IGNORECASE)
_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50}
RESTART_POLICIES = ("no", "always", "unless-stopped", "on-failure")


class OptionError(ValueError):
    """A flag value the daemon would not understand; the message says which and why."""


def add_container_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags `run` and `create` share (docker's `addFlags`)."""
    add = parser.add_argument
    add("--name", help="Assign a name to the container")
    add("-e", "--env", action="append", default=[], help="Set environment variables")
    add("--env-file", action="append", default=[], help="Read in a file of environment variables")
    add("-i", "--interactive", action="store_true", help="Keep STDIN open even if not attached")
    add("-t", "--tty", action="store_true", help="Allocate a pseudo-TTY")
    add("-p", "--publish", action="append", default=[], help="Publish a container's port(s) to the host")
    add("-P", "--publish-all", action="store_true", help="Publish all exposed ports to random ports")
    add("--expose", action="append", default=[], help="Expose a port or a range of ports")
    add("-v", "--volume", action="append", default=[], help="Bind mount a volume")
    add("-w", "--workdir", help="Working directory inside the container")
    add("-u", "--user", help="Username or UID (format: <name|uid>[:<group|gid>])")
    add("-m", "--memory", help="Memory limit")
    add("--cpus", help="Number of CPUs")
    add("--pids-limit", type=int, help="Tune container pids limit (set -1 for unlimited)")
    add("-h", "--hostname", help="Container host name")
    add("--network", "--net", default="default", help="Connect a container to a network")
    add("--link", action="append", default=[], help="Add link to another container")
    add("--entrypoint", help="Overwrite the default ENTRYPOINT of the image")
    add("--restart", default="no", help="Restart policy to apply when a container exits")
    add("--rm", action="store_true", help="Automatically remove the container when it exits")
    add("-l", "--label", action="append", default=[], help="Set meta data on a container")
    add("--stop-signal", help="Signal to stop the container")
    add("--stop-timeout", type=int, help="Timeout (in seconds) to stop a container")
    add("--privileged", action="store_true", help="Give extended privileges to this container")
    add("--read-only", action="store_true", help="Mount the container's root filesystem as read only")
    add("--cap-add", action="append", default=[], help="Add Linux capabilities")
    add("--cap-drop", action="append", default=[], help="Drop Linux capabilities")
    add("--platform", help="Set platform if server is multi-platform capable")
    add("--pull", default="missing", choices=["always", "missing", "never"], help="Pull image before running")
    add("image", metavar="IMAGE")
    add("command", nargs=argparse.REMAINDER, metavar="[COMMAND] [ARG...]")


# --8<-- [start:parsers]
def parse_env(values: list[str], env_files: list[str], lookup: dict[str, str]) -> list[str]:
    """`-e K=V`, `-e K` (taken from our own environment if set) and `--env-file` lines."""
    entries: list[str] = []
    for name in env_files:
        try:
            lines = Path(name).read_text().splitlines()
        except OSError as exc:
            raise OptionError(f"open {name}: {exc.strerror}") from None
        entries += [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
    entries += values
    result = []
    for entry in entries:
        key, eq, _ = entry.partition("=")
        if not key or any(c.isspace() for c in key):
            raise OptionError(f"invalid environment variable: {entry}")
        if eq:
            result.append(entry)
        elif key in lookup:
            result.append(f"{key}={lookup[key]}")
    return result


def parse_memory(value: str) -> int:
    """`512m`, `1g`, `1048576` -> bytes (binary units, like docker's RAMInBytes)."""
    match = _SIZE.match(value.strip())
    if not match:
        raise OptionError(f"invalid size: '{value}'")
    return int(float(match.group(1)) * _UNITS[match.group(2).lower()])


def parse_cpus(value: str) -> int:
    """`--cpus 1.5` -> NanoCpus 1500000000."""
    try:
        cpus = float(value)
    except ValueError:
        raise OptionError(f'invalid argument "{value}" for "--cpus" flag: failed to parse {value} as a rational number') from None
    if cpus < 0:
        raise OptionError(f"invalid argument \"{value}\" for \"--cpus\" flag: value must be positive")
    return round(cpus * 1e9)


def parse_restart(value: str) -> dict[str, Any]:
    """`no`, `always`, `unless-stopped`, `on-failure[:N]` -> RestartPolicy."""
    name, colon, count = value.partition(":")
    if name not in RESTART_POLICIES:
        raise OptionError(f"invalid restart policy '{name}'")
    if colon and (name != "on-failure" or not count.isdigit()):
        raise OptionError(f"invalid restart policy format: {value}")
    return {"Name": "" if name == "no" else name, "MaximumRetryCount": int(count) if count else 0}


def _port_range(text: str, what: str, spec: str) -> list[int]:
    start, dash, end = text.partition("-")
    if not start.isdigit() or (dash and not end.isdigit()):
        raise OptionError(f"invalid {what} port in {spec!r}")
    first, last = int(start), int(end) if dash else int(start)
    if not (0 < first <= last < 65536):
        raise OptionError(f"invalid {what} port range in {spec!r}")
    return list(range(first, last + 1))


def parse_port_spec(spec: str) -> list[tuple[str, str, str]]:
    """`[ip:][hostPort:]containerPort[/proto]` -> [(container_port/proto, host_ip, host_port)].

    Ranges map one to one: `8080-8081:80-81` publishes 80->8080 and 81->8081.
    """
    rest, slash, proto = spec.partition("/")
    proto = proto.lower() if slash else "tcp"
    if proto not in ("tcp", "udp", "sctp"):
        raise OptionError(f"invalid proto: {proto}")
    if rest.startswith("["):  # [::1]:8080:80
        ip, _, rest = rest[1:].partition("]")
        rest = rest.lstrip(":")
        parts = [ip, *rest.split(":")]
    else:
        parts = rest.split(":")
    if len(parts) == 1:
        ip, host, container = "", "", parts[0]
    elif len(parts) == 2:
        ip, host, container = "", parts[0], parts[1]
    elif len(parts) == 3:
        ip, host, container = parts
    else:
        raise OptionError(f"invalid port format: {spec!r}")
    container_ports = _port_range(container, "container", spec)
    if not host:
        return [(f"{p}/{proto}", ip, "") for p in container_ports]
    host_ports = _port_range(host, "host", spec)
    if len(host_ports) == 1 and len(container_ports) > 1:
        host_ports = host_ports * len(container_ports)
    if len(host_ports) != len(container_ports):
        raise OptionError(f"invalid ranges specified for container and host Ports: {spec!r}")
    return [(f"{c}/{proto}", ip, str(h)) for c, h in zip(container_ports, host_ports)]


def parse_volume(spec: str) -> str:
    """`/host:/ctr[:ro]` is a bind; a bare `/ctr` is an anonymous volume (kept as given)."""
    parts = spec.split(":")
    if not spec or len(parts) > 3 or any(not p for p in parts):
        raise OptionError(f"invalid volume specification: '{spec}'")
    if len(parts) >= 2 and not parts[1].startswith("/"):
        raise OptionError(f"invalid volume specification: '{spec}': the container path must be absolute")
    if len(parts) == 3 and not set(parts[2].split(",")) <= {"ro", "rw", "z", "Z", "shared", "slave", "private",
                                                             "rshared", "rslave", "rprivate", "nocopy"}:
        raise OptionError(f"invalid mode: {parts[2]}")
    return spec


def parse_labels(values: list[str]) -> dict[str, str]:
    labels = {}
    for value in values:
        key, _, val = value.partition("=")
        if not key:
            raise OptionError(f"invalid label: {value!r}")
        labels[key] = val
    return labels
# --8<-- [end:parsers]


@dataclass
class CreateRequest:
    """What `POST /containers/create` gets: the query's name and the JSON body."""

    name: str | None
    platform: str | None
    body: dict[str, Any]


# --8<-- [start:create_request]
def create_request(args: argparse.Namespace, environ: dict[str, str], *, attach: bool,
                   console_size: tuple[int, int] | None = None) -> CreateRequest:
    """Build the create body from the parsed flags, as docker's `parse()` does."""
    exposed: dict[str, dict] = {f"{p}/tcp" if "/" not in p else p: {} for p in args.expose}
    bindings: dict[str, list[dict[str, str]]] = {}
    for spec in args.publish:
        for port, ip, host_port in parse_port_spec(spec):
            exposed[port] = {}
            bindings.setdefault(port, []).append({"HostIp": ip, "HostPort": host_port})
    interactive = bool(args.interactive)
    config = {
        "Hostname": args.hostname or "",
        "Domainname": "",
        "User": args.user or "",
        "AttachStdin": attach and interactive,
        "AttachStdout": attach,
        "AttachStderr": attach,
        "ExposedPorts": exposed or None,
        "Tty": bool(args.tty),
        "OpenStdin": interactive,
        "StdinOnce": attach and interactive,
        "Env": parse_env(args.env, args.env_file, environ),
        "Cmd": args.command or None,
        "Image": args.image,
        "Volumes": None,
        "WorkingDir": args.workdir or "",
        "Entrypoint": [args.entrypoint] if args.entrypoint else None,
        "OnBuild": None,
        "Labels": parse_labels(args.label),
    }
    if args.stop_signal:
        config["StopSignal"] = args.stop_signal
    if args.stop_timeout is not None:
        config["StopTimeout"] = args.stop_timeout
    host_config = {
        "Binds": [parse_volume(v) for v in args.volume] or None,
        "ContainerIDFile": "",
        "LogConfig": {"Type": "", "Config": {}},
        "NetworkMode": args.network,
        "PortBindings": bindings,
        "RestartPolicy": parse_restart(args.restart),
        "AutoRemove": bool(args.rm),
        "Links": args.link or None,
        "Memory": parse_memory(args.memory) if args.memory else 0,
        "NanoCpus": parse_cpus(args.cpus) if args.cpus else 0,
        "PidsLimit": args.pids_limit,
        "Privileged": bool(args.privileged),
        "PublishAllPorts": bool(args.publish_all),
        "ReadonlyRootfs": bool(args.read_only),
        "CapAdd": args.cap_add or None,
        "CapDrop": args.cap_drop or None,
        "ConsoleSize": list(console_size) if console_size else [0, 0],
    }
    if args.rm and host_config["RestartPolicy"]["Name"]:
        raise OptionError("Conflicting options: --restart and --rm")
    body = {**config, "HostConfig": host_config,
            "NetworkingConfig": {"EndpointsConfig": {args.network: {}}}}
    return CreateRequest(name=args.name, platform=args.platform, body=body)
# --8<-- [end:create_request]
