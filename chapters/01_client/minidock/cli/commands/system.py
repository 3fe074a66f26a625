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
    parser.add_argument("extra", nargs="*", help=argparse.SUPPRESS)
    parser.add_argument("-f", "--format", help="Format output using a custom template")


# --8<-- [start:info]
def info(cli: Cli, args: argparse.Namespace) -> int:
    """`GET /info`, printed in docker's layout (or through `--format`); warnings go to stderr."""
    from minidock.cli.formatter import check_args

    check_args(args.extra, "info", "[OPTIONS]", maximum=0)
    client = {
        "Debug": False, "Version": CLIENT_VERSION, "ApiVersion": CLIENT_API_VERSION,
        "DefaultAPIVersion": CLIENT_API_VERSION, "GoVersion": f"python{platform.python_version()}",
        "Os": sys.platform, "Arch": _arch(), "Context": "default", "Plugins": [], "Warnings": None,
    }
    server: dict | None = None
    error: ClientError | None = None
    try:
        server = cli.client.get_json("/info") or {}
        client["ApiVersion"] = cli.client.version
    except ClientError as exc:
        error = exc
    if args.format:
        if error is not None:
            cli.warn(str(error))
        _format_info(cli, args.format, server or {}, client)
        return 1 if error is not None else 0
    _print_client_info(cli, client)
    if error is not None:
        raise error
    assert server is not None
    _print_server_info(cli, server)
    for warning in server.get("Warnings") or []:
        cli.warn(warning)
    return 0
# --8<-- [end:info]


def _format_info(cli: Cli, format: str, server: dict, client: dict) -> None:
    """`info -f`: the template sees docker's dockerInfo struct, the server's fields plus `ClientInfo`."""
    from minidock.cli.cli import StatusError
    from minidock.cli.templates import Struct, TemplateError, parse

    try:
        template = parse("{{json .}}" if format == "json" else format)
    except TemplateError as exc:
        raise StatusError(64, f"template parsing error: {exc}") from None
    fields = {**server, "ClientInfo": client}
    out: list[str] = []
    try:
        template.execute(Struct("system.dockerInfo", fields), out=out)
    except TemplateError as exc:
        cli.print("".join(out))
        raise StatusError(1, str(exc)) from None
    cli.print("".join(out))


def _line(cli: Cli, label: str, value: object) -> None:
    """Go's fmt.Fprintln(out, label, value): booleans as true/false."""
    from minidock.cli.templates import go_string

    cli.print(f"{label} {go_string(value)}")


def _print_client_info(cli: Cli, client: dict) -> None:
    cli.print("Client:")
    _line(cli, " Version:   ", client["Version"])
    _line(cli, " Context:   ", client["Context"])
    _line(cli, " Debug Mode:", client["Debug"])
    cli.print()
    cli.print("Server:")


def _print_server_info(cli: Cli, info: dict) -> None:
    """docker's prettyPrintServerInfo, for the fields a single-host engine has."""
    from minidock.cli.formatter import bytes_size

    def nonempty(label: str, key: str) -> None:
        if info.get(key):
            _line(cli, label, info[key])

    _line(cli, " Containers:", info.get("Containers", 0))
    _line(cli, "  Running:", info.get("ContainersRunning", 0))
    _line(cli, "  Paused:", info.get("ContainersPaused", 0))
    _line(cli, "  Stopped:", info.get("ContainersStopped", 0))
    _line(cli, " Images:", info.get("Images", 0))
    nonempty(" Server Version:", "ServerVersion")
    nonempty(" Storage Driver:", "Driver")
    for pair in info.get("DriverStatus") or []:
        cli.print(f"  {pair[0] if pair else ''}: {pair[1] if len(pair) > 1 else ''}")
    nonempty(" Logging Driver:", "LoggingDriver")
    nonempty(" Cgroup Driver:", "CgroupDriver")
    nonempty(" Cgroup Version:", "CgroupVersion")
    plugins = info.get("Plugins") or {}
    cli.print(" Plugins:")
    _line(cli, "  Volume:", " ".join(plugins.get("Volume") or []))
    _line(cli, "  Network:", " ".join(plugins.get("Network") or []))
    if plugins.get("Authorization"):
        _line(cli, "  Authorization:", " ".join(plugins["Authorization"]))
    _line(cli, "  Log:", " ".join(plugins.get("Log") or []))
    swarm = info.get("Swarm") or {}
    _line(cli, " Swarm:", swarm.get("LocalNodeState", ""))
    if swarm.get("LocalNodeState", "") not in ("inactive", "locked"):
        _line(cli, "  NodeID:", swarm.get("NodeID", ""))
        _line(cli, "  Is Manager:", swarm.get("ControlAvailable", False))
        _line(cli, "  Node Address:", swarm.get("NodeAddr", ""))
    if info.get("Runtimes"):
        _line(cli, " Runtimes:", " ".join(info["Runtimes"]))
        _line(cli, " Default Runtime:", info.get("DefaultRuntime", ""))
    if info.get("OSType") == "linux":
        _line(cli, " Init Binary:", info.get("InitBinary", ""))
        for label, key in (("containerd", "ContainerdCommit"), ("runc", "RuncCommit"), ("init", "InitCommit")):
            _line(cli, f" {label} version:", (info.get(key) or {}).get("ID", ""))
        _print_security_options(cli, info.get("SecurityOptions") or [])
    nonempty(" Kernel Version:", "KernelVersion")
    nonempty(" Operating System:", "OperatingSystem")
    nonempty(" OSType:", "OSType")
    nonempty(" Architecture:", "Architecture")
    _line(cli, " CPUs:", info.get("NCPU", 0))
    _line(cli, " Total Memory:", bytes_size(info.get("MemTotal", 0)))
    nonempty(" Name:", "Name")
    nonempty(" ID:", "ID")
    _line(cli, " Docker Root Dir:", info.get("DockerRootDir", ""))
    _line(cli, " Debug Mode:", info.get("Debug", False))
    for label, key in ((" HTTP Proxy:", "HttpProxy"), (" HTTPS Proxy:", "HttpsProxy"), (" No Proxy:", "NoProxy")):
        nonempty(label, key)
    if info.get("Labels"):
        cli.print(" Labels:")
        for label in info["Labels"]:
            cli.print(f"  {label}")
    _line(cli, " Experimental:", info.get("ExperimentalBuild", False))
    registry = info.get("RegistryConfig") or {}
    if registry.get("InsecureRegistryCIDRs") or registry.get("IndexConfigs"):
        cli.print(" Insecure Registries:")
        for index in (registry.get("IndexConfigs") or {}).values():
            if not index.get("Secure"):
                cli.print(f"  {index.get('Name', '')}")
        for cidr in registry.get("InsecureRegistryCIDRs") or []:
            cli.print(f"  {cidr}")
    if registry.get("Mirrors"):
        cli.print(" Registry Mirrors:")
        for mirror in registry["Mirrors"]:
            cli.print(f"  {mirror}")
    _line(cli, " Live Restore Enabled:", info.get("LiveRestoreEnabled", False))
    cli.print()


def _print_security_options(cli: Cli, options: list[str]) -> None:
    """`name=seccomp,profile=builtin` -> `  seccomp` / `   Profile: builtin`."""
    if options:
        cli.print(" Security Options:")
    for option in options:
        fields = dict(part.partition("=")[::2] for part in option.split(",")) if "=" in option else {"name": option}
        cli.print(f"  {fields.get('name', '')}")
        if fields.get("profile"):
            _line(cli, "   Profile:", fields["profile"])
