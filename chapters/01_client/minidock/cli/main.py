"""`minidock [OPTIONS] COMMAND [ARG...]`: parse, dispatch, report.

One request's life starts here: the global options say where the daemon is,
the command table (table.py) says which module handles the command, and every
error ends up in `report` below, the one place that turns an exception into
docker's wording and exit status.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from minidock.cli.table import COMMANDS

PROG = "minidock"


class ArgumentParser(argparse.ArgumentParser):
    """argparse that raises UsageError instead of exiting with status 2."""

    def error(self, message: str):  # noqa: ANN201
        from minidock.cli.cli import UsageError

        if message.startswith("unrecognized arguments: "):  # say it as docker (pflag) does
            message = "unknown flag: " + message.removeprefix("unrecognized arguments: ").split()[0]
        raise UsageError(message, self.prog)


def usage() -> str:
    width = max(map(len, COMMANDS))
    lines = [
        f"Usage:  {PROG} [OPTIONS] COMMAND",
        "",
        "A self-sufficient runtime for containers (minidock: Docker's classic architecture in Python)",
        "",
        "Options:",
        "  -H, --host string    Daemon socket to connect to (unix://, tcp://, fd://; default $DOCKER_HOST",
        "                       or unix:///var/run/minidock.sock)",
        "  -D, --debug          Enable debug mode",
        "  -v, --version        Print version information and quit",
        "",
        "Commands:",
    ]
    lines += [f"  {name.ljust(width)}  {spec.summary}" for name, spec in COMMANDS.items()]
    lines += ["", f"Run '{PROG} COMMAND --help' for more information on a command."]
    return "\n".join(lines)


def parse_global(argv: list[str]) -> tuple[argparse.Namespace, list[str]]:
    """The options before COMMAND; the rest belongs to the command."""
    parser = ArgumentParser(prog=PROG, add_help=False)
    parser.add_argument("-H", "--host")
    parser.add_argument("-D", "--debug", action="store_true")
    parser.add_argument("-l", "--log-level")
    parser.add_argument("-v", "--version", action="store_true")
    parser.add_argument("-h", "--help", action="store_true")
    parser.add_argument("--config")
    parser.add_argument("--context", "-c")
    parser.add_argument("command", nargs="?")
    parser.add_argument("args", nargs=argparse.REMAINDER)
    options = parser.parse_args(argv)
    return options, options.args


def command_parser(name: str) -> ArgumentParser:
    spec = COMMANDS[name]
    # "resolve": a command may take -h for itself (run's --hostname), leaving --help for help.
    return ArgumentParser(prog=f"{PROG} {name}", description=spec.summary, conflict_handler="resolve")


def main(argv: list[str] | None = None) -> int:
    from minidock.cli.cli import Cli, StatusError, UsageError
    from minidock.client.errors import ClientError
    from minidock.client.hosts import InvalidHost, host_from_environment

    argv = sys.argv[1:] if argv is None else argv
    cli: Cli | None = None
    try:
        options, rest = parse_global(argv)
        if options.version:
            print("minidock version 0.1.0 (client; Engine API 1.41)")
            return 0
        if options.help or not options.command:
            print(usage())
            return 0 if options.help else 1
        name = options.command
        if name not in COMMANDS:
            raise UsageError(f"{PROG}: '{name}' is not a {PROG} command.")
        cli = Cli(host=host_from_environment(options.host))
        module = importlib.import_module(f"minidock.cli.commands.{COMMANDS[name].module}")
        parser = command_parser(name)
        getattr(module, f"add_{name}_arguments")(parser)
        args = parser.parse_args(rest)
        return getattr(module, name)(cli, args) or 0
    except UsageError as exc:
        hint = exc.command or PROG
        print(f"{exc}\nSee '{hint} --help'.", file=sys.stderr)
        return 125
    except InvalidHost as exc:
        print(f"{exc}", file=sys.stderr)
        return 1
    except StatusError as exc:
        if exc.message:
            print(exc.message, file=sys.stderr)
        return exc.status
    except ClientError as exc:
        print(exc, file=sys.stderr)  # docker prints client-side errors as they are
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `minidock ps | head`: the reader went away; that is not our error.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    finally:
        if cli is not None:
            cli.close()
        try:
            sys.stdout.flush()
        except BrokenPipeError:
            pass
