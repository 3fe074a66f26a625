"""`ps`: list containers (`GET /containers/json`).

The daemon sends raw facts (`"Created": 1795847058`, `"Names": ["/web"]`,
`"Ports": [...]`); everything a user reads in the table - `5 minutes ago`,
`web`, `0.0.0.0:8080->80/tcp` - is computed here, on the client, as docker's
`formatter/container.go` does.
"""

from __future__ import annotations

import argparse
from typing import Any

from minidock.cli.cli import Cli, StatusError
from minidock.cli.formatter import (
    Row, check_args, ellipsis, format_list, go_quote, go_time, human_size, join_host_port,
    parse_filters, quiet_or, since, truncate_id,
)

DEFAULT_TABLE = "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}"

HEADERS = {
    "ID": "CONTAINER ID", "Names": "NAMES", "Image": "IMAGE", "Command": "COMMAND",
    "CreatedAt": "CREATED AT", "RunningFor": "CREATED", "Ports": "PORTS", "State": "STATE",
    "Status": "STATUS", "Size": "SIZE", "Labels": "LABELS", "Mounts": "MOUNTS",
    "LocalVolumes": "LOCAL VOLUMES", "Networks": "NETWORKS", "Platform": "PLATFORM",
}


def add_ps_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-a", "--all", action="store_true", help="Show all containers (default shows just running)")
    parser.add_argument("-f", "--filter", action="append", help="Filter output based on conditions provided")
    parser.add_argument("--format", help="Format output using a custom template")
    parser.add_argument("-n", "--last", type=int, default=-1, help="Show n last created containers (includes all states)")
    parser.add_argument("-l", "--latest", action="store_true", help="Show the latest created container (includes all states)")
    parser.add_argument("--no-trunc", action="store_true", help="Don't truncate output")
    parser.add_argument("-q", "--quiet", action="store_true", help="Only display container IDs")
    parser.add_argument("-s", "--size", action="store_true", help="Display total file sizes")
    parser.add_argument("extra", nargs="*", help=argparse.SUPPRESS)


# --8<-- [start:ps]
def ps(cli: Cli, args: argparse.Namespace) -> int:
    """`GET /containers/json?all=1&filters=...`, then one row per container."""
    check_args(args.extra, "ps", "[OPTIONS]", maximum=0)
    size = args.size or (bool(args.format) and not args.quiet and _template_reads_size(args.format))
    limit = 1 if args.latest else args.last
    params = {
        "all": True if args.all else None,
        "filters": parse_filters(args.filter, "ps"),
        "limit": limit if limit > 0 else None,
        "size": True if size else None,
    }
    containers = cli.client.get_json("/containers/json", params) or []
    rows = [container_row(c, trunc=not args.no_trunc) for c in containers]
    fmt = quiet_or(args.format, args.quiet, DEFAULT_TABLE + ("\t{{.Size}}" if args.size else ""))
    cli.out.write(format_list(fmt, rows, HEADERS))
    return 0
# --8<-- [end:ps]


def container_row(c: dict[str, Any], trunc: bool = True) -> Row:
    """One container as `--format` sees it: docker's ContainerContext."""
    labels = c.get("Labels") or {}
    mounts = c.get("Mounts") or []
    return Row("*formatter.ContainerContext", {
        "ID": truncate_id(c.get("Id", "")) if trunc else c.get("Id", ""),
        "Names": container_names(c.get("Names") or [], trunc),
        "Image": container_image(c.get("Image", ""), c.get("ImageID", ""), trunc),
        "Command": go_quote(ellipsis(c.get("Command", ""), 20) if trunc else c.get("Command", "")),
        "CreatedAt": go_time(c.get("Created", 0)),
        "RunningFor": since(c.get("Created", 0)),
        "Ports": display_ports(c.get("Ports") or []),
        "State": c.get("State", ""),
        "Status": c.get("Status", ""),
        "Size": container_size(c.get("SizeRw", 0), c.get("SizeRootFs", 0)),
        "Labels": ",".join(sorted(f"{k}={v}" for k, v in labels.items())),
        "Label": lambda name: labels.get(name, ""),
        "Mounts": ",".join(_mount_name(m, trunc) for m in mounts),
        "LocalVolumes": str(sum(1 for m in mounts if m.get("Driver") == "local")),
        "Networks": ",".join(((c.get("NetworkSettings") or {}).get("Networks") or {}).keys()),
        "Platform": None,
    })


def container_names(names: list[str], trunc: bool) -> str:
    """Names without their `/`; truncated, only the first that is not a link (`/web/db`)."""
    stripped = [name.removeprefix("/") for name in names]
    if trunc:
        for name in stripped:
            if "/" not in name:
                return name
    return ",".join(stripped)


def container_image(image: str, image_id: str, trunc: bool) -> str:
    """The image as the user named it; a bare ID shortened; digests dropped when truncating."""
    if not image:
        return "<no image>"
    if not trunc:
        return image
    if truncate_id(image_id) == truncate_id(image):
        return truncate_id(image)
    from minidock.client.reference import InvalidReference, parse_reference

    try:
        ref = parse_reference(image)
    except InvalidReference:
        return image
    return ref.familiar_name + (f":{ref.tag}" if ref.tag else "")  # the digest is dropped, the tag kept


def container_size(size_rw: int, size_root_fs: int) -> str:
    """`12B (virtual 1.98MB)`: the writable layer, and the whole filesystem."""
    text = human_size(size_rw or 0)
    return f"{text} (virtual {human_size(size_root_fs)})" if (size_root_fs or 0) > 0 else text


# --8<-- [start:ports]
def display_ports(ports: list[dict[str, Any]]) -> str:
    """`443/tcp, 0.0.0.0:8080->80/tcp`: docker's DisplayablePorts.

    Ports that are published on the same number they expose are grouped into
    ranges (`8000-8002/tcp`); ports published elsewhere are listed one by one
    after the groups.
    """
    ports = sorted(ports, key=lambda p: (p.get("PrivatePort", 0), p.get("IP") or "", p.get("PublicPort", 0), p.get("Type", "")))
    groups: dict[str, list[int]] = {}  # "ip/proto" or "proto" -> [first, last], in order of creation
    result: list[str] = []
    mappings: list[str] = []
    for port in ports:
        current, key, ip = port.get("PrivatePort", 0), port.get("Type", ""), port.get("IP") or ""
        if ip:
            if port.get("PublicPort", 0) != current:
                mappings.append(f"{join_host_port(ip, port.get('PublicPort', 0))}->{current}/{key}")
                continue
            key = f"{ip}/{key}"
        group = groups.get(key)
        if group is None:
            groups[key] = [current, current]
        elif current == group[1] + 1:
            group[1] = current
        else:
            result.append(_port_group(key, *group))
            groups[key] = [current, current]
    result += [_port_group(key, *group) for key, group in groups.items()]
    return ", ".join(result + mappings)


def _port_group(key: str, first: int, last: int) -> str:
    ip, _, proto = key.rpartition("/")
    ports = str(first) if first == last else f"{first}-{last}"
    return (f"{join_host_port(ip, ports)}->{ports}" if ip else ports) + "/" + proto
# --8<-- [end:ports]


def _mount_name(mount: dict[str, Any], trunc: bool) -> str:
    name = mount.get("Name") or mount.get("Source", "")
    return ellipsis(name, 15) if trunc else name


class _SizeProbe(Row):
    """An empty row that notes whether a template reads `.Size` (docker's FieldsUsed)."""

    used = False

    def __getitem__(self, key: str) -> Any:
        self.used = self.used or key == "Size"
        return super().__getitem__(key)

    def marshal_json(self) -> str:
        self.used = True
        return super().marshal_json()


def _template_reads_size(format: str) -> bool:
    """docker runs the --format once on an empty container: sizes are costly, ask only if shown."""
    from minidock.cli.templates import TemplateError, parse

    probe = _SizeProbe("*formatter.ContainerContext", container_row({}))
    try:
        template = parse(format)
    except TemplateError as exc:
        raise StatusError(1, f"failed to parse template: {exc}") from None
    try:
        template.execute(probe)
    except TemplateError as exc:
        raise StatusError(1, f"failed to execute template: {exc}") from None
    return probe.used
