"""`minidockd`'s flags, parsed into one `DaemonConfig` record.

The flags carry dockerd's names (`-H/--host`, `--data-root`, `--exec-root`,
`-p/--pidfile`, `-D/--debug`, `-G/--group`, `--shutdown-timeout`), so that
`dockerd --help` and `minidockd --help` can be read side by side. One flag is
ours: `--api-version`, the highest Engine API version the daemon advertises
and accepts (dockerd fixes it at build time; we make it a setting because
newer docker CLIs refuse daemons below 1.44, see docker-api.md §3.3).

Everything is checked here, before the daemon touches the file system: a bad
`-H` or version is a `ConfigError` with a message, never a traceback.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from minidock.client.hosts import DEFAULT_HOST, Host, InvalidHost, parse_host
from minidock.server.listeners import parse_listen_address

DEFAULT_DATA_ROOT = "/var/lib/minidock"
DEFAULT_EXEC_ROOT = "/run/minidock"
DEFAULT_PIDFILE = "/run/minidock/minidockd.pid"
DEFAULT_API_VERSION = "1.41"
MIN_API_VERSION = "1.24"  # the oldest version docker-py accepts, and moby's minimum since 25.0
DEFAULT_SHUTDOWN_TIMEOUT = 15.0  # seconds, dockerd's default
API_VERSION_ENV = "MINIDOCK_API_VERSION"


class ConfigError(ValueError):
    """Flags that cannot make a daemon: the message says which and why."""


# --8<-- [start:config]
@dataclass(frozen=True)
class DaemonConfig:
    """What `minidockd` was asked to be: where it listens, where it keeps its state."""

    hosts: tuple[Host, ...] = (parse_host(DEFAULT_HOST),)
    data_root: Path = Path(DEFAULT_DATA_ROOT)   # persistent state (images, containers, engine-id)
    exec_root: Path = Path(DEFAULT_EXEC_ROOT)   # run-time state, gone after a reboot
    pidfile: Path = Path(DEFAULT_PIDFILE)       # one daemon at a time (see pidfile.py)
    debug: bool = False                         # -D: debug lines, one per request among them
    group: str | None = None                    # -G: the group that may use the unix sockets
    api_version: str = DEFAULT_API_VERSION      # the advertised maximum; the minimum is 1.24
    shutdown_timeout: float = DEFAULT_SHUTDOWN_TIMEOUT  # how long running requests may take to finish
    options: argparse.Namespace = field(default_factory=argparse.Namespace)  # every flag, later chapters' too
# --8<-- [end:config]


def parse_version(text: str) -> tuple[int, int]:
    """"1.41" -> (1, 41); anything else is a ConfigError."""
    major, dot, minor = text.strip().partition(".")
    if not (dot and major.isdigit() and minor.isdigit()):
        raise ConfigError(f"invalid API version {text!r}: expected MAJOR.MINOR such as 1.41")
    return int(major), int(minor)


def check_api_version(text: str) -> str:
    """The advertised maximum must be a version, and not below the minimum we serve."""
    if parse_version(text) < parse_version(MIN_API_VERSION):
        raise ConfigError(f"invalid API version {text}: the minimum supported API version is {MIN_API_VERSION}")
    major, minor = parse_version(text)
    return f"{major}.{minor}"


def _parse_host_flag(value: str) -> Host:
    try:
        return parse_listen_address(value)  # the client's syntax, plus a bare fd:// (every activated socket)
    except InvalidHost as exc:  # dockerd's words, and the address named
        raise ConfigError(f'invalid argument "{value}" for "-H, --host" flag: {exc}') from None


class _Parser(argparse.ArgumentParser):
    """argparse that raises ConfigError (dockerd's wording) instead of exiting with status 2."""

    def error(self, message: str):  # noqa: ANN201 - argparse's signature
        if message.startswith("unrecognized arguments: "):
            message = "unknown flag: " + message.removeprefix("unrecognized arguments: ").split()[0]
        raise ConfigError(f"{message}\nSee '{self.prog} --help'.")


def build_parser(extensions: Iterable[Callable[[argparse.ArgumentParser], None]] = ()) -> argparse.ArgumentParser:
    """dockerd's flags; each of `extensions` (an installer's `add_arguments`) may add its own."""
    parser = _Parser(prog="minidockd", description="A self-sufficient runtime for containers (minidock's daemon).")
    parser.add_argument("-H", "--host", action="append", dest="hosts", metavar="list",
                        help=f"Daemon socket(s) to listen on: unix://PATH, tcp://HOST:PORT, fd:// or fd://N "
                             f"(repeatable; default {DEFAULT_HOST})")
    parser.add_argument("--data-root", default=DEFAULT_DATA_ROOT, metavar="string",
                        help=f"Root directory of persistent minidock state (default {DEFAULT_DATA_ROOT})")
    parser.add_argument("--exec-root", default=DEFAULT_EXEC_ROOT, metavar="string",
                        help=f"Root directory for execution state files (default {DEFAULT_EXEC_ROOT})")
    parser.add_argument("-p", "--pidfile", default=DEFAULT_PIDFILE, metavar="string",
                        help=f"Path to use for daemon PID file (default {DEFAULT_PIDFILE})")
    parser.add_argument("-D", "--debug", action="store_true", help="Enable debug mode")
    parser.add_argument("-G", "--group", metavar="string",
                        help="Group for the unix socket (default: docker if it exists, else root)")
    parser.add_argument("--api-version", metavar="string",
                        help=f"Highest API version to advertise and accept (default ${API_VERSION_ENV} "
                             f"or {DEFAULT_API_VERSION}; minimum {MIN_API_VERSION})")
    parser.add_argument("--shutdown-timeout", type=float, default=DEFAULT_SHUTDOWN_TIMEOUT, metavar="seconds",
                        help="Seconds running requests get to finish at shutdown (default 15)")
    parser.add_argument("-v", "--version", action="store_true", help="Print version information and quit")
    for add_arguments in extensions:
        add_arguments(parser)
    return parser


# --8<-- [start:parse_config]
def parse_config(argv: list[str], environ: Mapping[str, str] = os.environ,
                 extensions: Iterable[Callable[[argparse.ArgumentParser], None]] = ()) -> DaemonConfig:
    """Flags (and `MINIDOCK_API_VERSION`) -> a checked DaemonConfig, or a ConfigError."""
    options = build_parser(extensions).parse_args(argv)
    hosts = tuple(_parse_host_flag(value) for value in options.hosts or [DEFAULT_HOST])
    if options.shutdown_timeout < 0:
        raise ConfigError("invalid --shutdown-timeout: it must be 0 or more seconds")
    api_version = options.api_version or environ.get(API_VERSION_ENV) or DEFAULT_API_VERSION
    return DaemonConfig(
        hosts=hosts,
        data_root=Path(os.path.abspath(options.data_root)),
        exec_root=Path(os.path.abspath(options.exec_root)),
        pidfile=Path(os.path.abspath(options.pidfile)),
        debug=options.debug,
        group=options.group,
        api_version=check_api_version(api_version),
        shutdown_timeout=options.shutdown_timeout,
        options=options,
    )
# --8<-- [end:parse_config]
