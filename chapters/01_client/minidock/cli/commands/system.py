"""`version` and `info`: what the client and the daemon are."""

from __future__ import annotations

import argparse
import platform
import sys

from minidock.cli.cli import Cli
from minidock.client.api import CLIENT_API_VERSION
from minidock.client.errors import ClientError

CLIENT_VERSION = "0.1.0"


def add_version_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-f", "--format", help="Format output using a custom template")


# --8<-- [start:version]
def version(cli: Cli, args: argparse.Namespace) -> int:
    """Print the client's facts, then ask the daemon for its own (`GET /version`)."""
    client = {
        "Version": CLIENT_VERSION,
        "ApiVersion": CLIENT_API_VERSION,
        "DefaultAPIVersion": CLIENT_API_VERSION,
        "GoVersion": f"python{platform.python_version()}",
        "Os": sys.platform,
        "Arch": _arch(),
    }
    server, error = None, None
    try:
        server = cli.client.get_json("/version")
        client["ApiVersion"] = cli.client.version
    except ClientError as exc:
        error = exc
    if args.format:
        from minidock.cli.templates import render

        cli.print(render(args.format, {"Client": client, "Server": server}))
    else:
        _print_version(cli, client, server)
    if error is not None:
        raise error
    return 0
# --8<-- [end:version]


def _print_version(cli: Cli, client: dict, server: dict | None) -> None:
    api = client["ApiVersion"]
    if api != client["DefaultAPIVersion"]:
        api += f" (downgraded from {client['DefaultAPIVersion']})"
    cli.print("Client:")
    for label, value in [
        ("Version", client["Version"]),
        ("API version", api),
        ("Python version", client["GoVersion"].removeprefix("python")),
        ("OS/Arch", f"{client['Os']}/{client['Arch']}"),
    ]:
        cli.print(f" {label + ':':<19}{value}")
    if server is None:
        return
    cli.print("")
    platform_name = (server.get("Platform") or {}).get("Name", "")
    cli.print(f"Server:{' ' + platform_name if platform_name else ''}")
    components = server.get("Components") or [
        {"Name": "Engine", "Version": server.get("Version", ""), "Details": {
            key: str(server.get(key, "")) for key in
            ("ApiVersion", "MinAPIVersion", "GitCommit", "GoVersion", "Os", "Arch", "BuildTime", "KernelVersion", "Experimental")
        }}
    ]
    for component in components:
        details = component.get("Details") or {}
        cli.print(f" {component.get('Name', '')}:")
        cli.print(f"  {'Version:':<18}{component.get('Version', '')}")
        if component.get("Name") == "Engine":
            api_line = details.get("ApiVersion", "")
            if details.get("MinAPIVersion"):
                api_line += f" (minimum version {details['MinAPIVersion']})"
            rows = [("API version", api_line), ("Go version", details.get("GoVersion", "")),
                    ("Git commit", details.get("GitCommit", "")), ("Built", details.get("BuildTime", "")),
                    ("OS/Arch", f"{details.get('Os', '')}/{details.get('Arch', '')}"),
                    ("Experimental", details.get("Experimental", ""))]
        else:
            rows = [(key.replace("GitCommit", "GitCommit"), value) for key, value in details.items()]
        for label, value in rows:
            cli.print(f"  {label + ':':<18}{value}")


def _arch() -> str:
    machine = platform.machine()
    return {"x86_64": "amd64", "aarch64": "arm64"}.get(machine, machine)


def add_info_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-f", "--format", help="Format output using a custom template")


def info(cli: Cli, args: argparse.Namespace) -> int:
    raise NotImplementedError("info: see the helper's work")
