"""`port CONTAINER [PRIVATE_PORT[/PROTO]]`: where a container's ports are published.

There is no endpoint for it: the client inspects the container and reads
`NetworkSettings.Ports`, a map from `80/tcp` to the host addresses that
forward to it (`null` when the port is exposed but not published).
"""

from __future__ import annotations

import argparse
import re

from minidock.cli.cli import Cli, StatusError
from minidock.cli.formatter import check_args, join_host_port
from minidock.client.api import quote_name


def add_port_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("args", nargs="*", metavar="CONTAINER [PRIVATE_PORT[/PROTO]]")


# --8<-- [start:port]
def port(cli: Cli, args: argparse.Namespace) -> int:
    check_args(args.args, "port", "CONTAINER [PRIVATE_PORT[/PROTO]]", minimum=1, maximum=2)
    name = args.args[0]
    wanted = _parse_port(args.args[1]) if len(args.args) == 2 else None
    container = cli.client.get_json(f"/containers/{quote_name(name)}/json")
    ports = (container.get("NetworkSettings") or {}).get("Ports") or {}
    if wanted is not None:
        bindings = ports.get(wanted) or []
        if not bindings:
            raise StatusError(1, f"Error: No public port '{args.args[1]}' published for {name}")
        for binding in bindings:
            cli.print(join_host_port(binding.get("HostIp", ""), binding.get("HostPort", "")))
        return 0
    lines = [
        f"{private} -> {join_host_port(b.get('HostIp', ''), b.get('HostPort', ''))}"
        for private, bindings in ports.items() for b in bindings or []
    ]
    for line in sorted(lines, key=natural_key):
        cli.print(line)
    return 0
# --8<-- [end:port]


def _parse_port(text: str) -> str:
    """`80` -> `80/tcp`; `53/udp` stays; anything else is docker's `invalid port` error."""
    number, _, proto = text.partition("/")
    if not number.isdigit() or int(number) > 65535:
        raise StatusError(1, f'Error: invalid port ({number}): strconv.ParseUint: parsing "{number}": invalid syntax')
    return f"{int(number)}/{proto or 'tcp'}"


def natural_key(text: str) -> list[object]:
    """Natural sort order (docker's sortorder.NaturalLess): `9/tcp` before `10/tcp`."""
    return [(0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.split(r"(\d+)", text) if part]
