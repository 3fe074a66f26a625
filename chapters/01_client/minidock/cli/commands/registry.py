"""`pull`, `push`, `search`, `login`, `logout`: the commands that make the daemon talk to a registry.

The client never talks to the registry itself. It names the image (fully
qualified, docker-api.md §4.7), hands over the user's credentials in
`X-Registry-Auth`, and renders the JSON progress stream the daemon sends
back while it does the work (client/jsonmessage.py).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable
from typing import Any

from minidock.cli.cli import Cli, StatusError
from minidock.client.api import quote_name
from minidock.client.errors import StreamError
from minidock.client.reference import InvalidReference, Reference, parse_reference

# Query parameters are written in alphabetical order throughout: Go's
# url.Values.Encode sorts them, so our requests match docker's byte for byte.


# --8<-- [start:progress]
def show_progress(cli: Cli, messages: Iterable[dict[str, Any]], *, quiet: bool = False,
                  exit_with_code: bool = False) -> list[dict[str, Any]]:
    """Render a progress stream on stdout (live bars only on a terminal); return its aux payloads.

    With `quiet` the stream is read but not shown (errors still count). An
    error inside the stream is printed as docker prints it - the bare
    message - and the command exits 1 (`build` exits with the stream's
    error code instead: a failing `RUN exit 3` makes `build` exit 3).
    """
    import io

    from minidock.client.jsonmessage import display_stream

    out = io.StringIO() if quiet else cli.out
    try:
        return display_stream(messages, out, tty=not quiet and cli.out.isatty())
    except StreamError as exc:
        cli.out.flush()
        raise StatusError((exc.code or 1) if exit_with_code else 1, exc.message) from None
# --8<-- [end:progress]


def reference_or_fail(text: str) -> Reference:
    """Parse an image name; a bad one is docker's plain `invalid reference format` error."""
    try:
        return parse_reference(text)
    except InvalidReference as exc:
        raise StatusError(1, str(exc)) from None


def auth_headers(domain: str) -> dict[str, str]:
    from minidock.client.auth import registry_auth_header

    return {"X-Registry-Auth": registry_auth_header(domain)}


# -- pull ---------------------------------------------------------------------

def add_pull_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-a", "--all-tags", action="store_true", help="Download all tagged images in the repository")
    parser.add_argument("-q", "--quiet", action="store_true", help="Suppress verbose output")
    parser.add_argument("--platform", help="Set platform if server is multi-platform capable")
    parser.add_argument("--disable-content-trust", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("name", metavar="NAME[:TAG|@DIGEST]")


# --8<-- [start:pull]
def pull(cli: Cli, args: argparse.Namespace) -> int:
    """`POST /images/create?fromImage=<fully qualified name>&tag=T`, then the stream, then the name."""
    ref = reference_or_fail(args.name)
    if args.all_tags and (ref.tag or ref.digest):
        raise StatusError(1, "tag can't be used with --all-tags/-a")
    if not args.all_tags and ref.tag is None and ref.digest is None:
        ref = ref.with_default_tag()
        if not args.quiet:
            cli.print(f"Using default tag: {ref.tag}")
    params = {"fromImage": ref.name, "platform": args.platform.lower() if args.platform else None,
              "tag": None if args.all_tags else (ref.digest or ref.tag)}
    messages = cli.client.stream_json("POST", "/images/create", params, headers=auth_headers(ref.domain))
    show_progress(cli, messages, quiet=args.quiet)
    cli.print(str(ref))  # docker 28: the fully qualified name, e.g. docker.io/library/busybox:latest
    return 0
# --8<-- [end:pull]


# -- push ---------------------------------------------------------------------

def add_push_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-a", "--all-tags", action="store_true", help="Push all tags of an image to the repository")
    parser.add_argument("-q", "--quiet", action="store_true", help="Suppress verbose output")
    parser.add_argument("--platform", help="Push a platform-specific manifest as a single-platform image")
    parser.add_argument("--disable-content-trust", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("name", metavar="NAME[:TAG]")


def push(cli: Cli, args: argparse.Namespace) -> int:
    """`POST /images/{familiar name}/push?tag=T` with the credentials; the stream is the output."""
    ref = reference_or_fail(args.name)
    if ref.digest:
        raise StatusError(1, "cannot push a digest reference")
    if args.all_tags and ref.tag:
        raise StatusError(1, "tag can't be used with --all-tags/-a")
    if not args.all_tags and ref.tag is None:
        ref = ref.with_default_tag()
        if not args.quiet:
            cli.print(f"Using default tag: {ref.tag}")
    params = {"platform": args.platform, "tag": None if args.all_tags else ref.tag}
    messages = cli.client.stream_json("POST", f"/images/{quote_name(ref.familiar_name)}/push", params,
                                      headers=auth_headers(ref.domain))
    show_progress(cli, messages, quiet=args.quiet)
    if args.quiet:
        cli.print(str(ref))
    return 0


# -- search -------------------------------------------------------------------

SEARCH_HEADERS = {"Name": "NAME", "Description": "DESCRIPTION", "StarCount": "STARS",
                  "IsOfficial": "OFFICIAL", "IsAutomated": "AUTOMATED"}
SEARCH_TABLE = "table {{.Name}}\t{{.Description}}\t{{.StarCount}}\t{{.IsOfficial}}"


def add_search_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-f", "--filter", action="append", default=[], help="Filter output based on conditions provided")
    parser.add_argument("--format", help="Pretty-print search using a Go template")
    parser.add_argument("--limit", type=int, default=0, help="Max number of search results")
    parser.add_argument("--no-trunc", action="store_true", help="Don't truncate output")
    parser.add_argument("term", metavar="TERM")


# --8<-- [start:search]
def search(cli: Cli, args: argparse.Namespace) -> int:
    """`GET /images/search?term=T[&limit=N][&filters=...]` - the daemon asks the registry - as a table.

    The daemon applies the filters (`is-official=true`, `stars=N`); the
    client shortens descriptions to 45 characters unless `--no-trunc`.
    """
    from minidock.cli.formatter import Row, ellipsis, format_list, parse_filters, quiet_or

    params = {"filters": parse_filters(args.filter, "search"), "limit": args.limit or None, "term": args.term}
    results = cli.client.request("GET", "/images/search", params, headers=auth_headers(_search_domain(args.term)))
    results = json.loads(results.read() or b"[]") or []

    def description(item: dict[str, Any]) -> str:
        text = str(item.get("description") or "").replace("\n", " ").replace("\r", " ")
        return text if args.no_trunc else ellipsis(text, 45)

    rows = [Row("*search.searchContext", {
        "Name": str(item.get("name", "")),
        "Description": description(item),
        "StarCount": str(item.get("star_count", 0)),
        "IsOfficial": "[OK]" if item.get("is_official") else "",
        "IsAutomated": "[OK]" if item.get("is_automated") else "",
    }) for item in results]
    cli.out.write(format_list(quiet_or(args.format, False, SEARCH_TABLE), rows, SEARCH_HEADERS))
    return 0
# --8<-- [end:search]


def _search_domain(term: str) -> str:
    """A term like `localhost:5001/busybox` searches that registry; anything else, Docker Hub."""
    first, slash, _ = term.partition("/")
    return first if slash and ("." in first or ":" in first or first == "localhost") else "docker.io"


# -- login / logout ------------------------------------------------------------

def add_login_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-u", "--username", help="Username")
    parser.add_argument("-p", "--password", help="Password or Personal Access Token (PAT)")
    parser.add_argument("--password-stdin", action="store_true", help="Take the Password or Personal Access Token (PAT) from stdin")
    parser.add_argument("server", nargs="?", metavar="SERVER")


# --8<-- [start:login]
def login(cli: Cli, args: argparse.Namespace) -> int:
    """Let the daemon check the credentials (`POST /auth`), then keep them in the config file."""
    from minidock.client import auth

    if args.password is not None and args.password_stdin:
        raise StatusError(1, "conflicting options: cannot specify both --password and --password-stdin")
    if args.password_stdin:
        if not args.username:
            raise StatusError(1, "Must provide --username with --password-stdin")
        args.password = cli.in_.read().rstrip("\n").rstrip("\r")
    elif args.password is not None:
        cli.warn("WARNING! Using --password via the CLI is insecure. Use --password-stdin.")
    server = args.server if args.server and args.server != "docker.io" else auth.INDEX_SERVER
    username, password = _ask_credentials(cli, server, args.username, args.password)
    answer = cli.client.post_json("/auth", json={"username": username, "password": password,
                                                 "serveraddress": server}) or {}
    token = answer.get("IdentityToken") or ""
    stored = auth.AuthConfig(username, "" if token else password, server, token)
    path = auth.store_auth(stored)
    cli.warn(f"\nWARNING! Your credentials are stored unencrypted in '{path}'.\n")
    cli.print(answer.get("Status") or "Login Succeeded")
    return 0
# --8<-- [end:login]


def _ask_credentials(cli: Cli, server: str, username: str | None, password: str | None) -> tuple[str, str]:
    """Prompt for what the flags did not give, as docker does - only on a terminal."""
    if username and password:
        return username, password
    if not cli.in_.isatty():
        raise StatusError(1, "Error: Cannot perform an interactive login from a non TTY device")
    if not username:
        cli.out.write("Username: ")
        cli.out.flush()
        username = cli.in_.readline().strip()
        if not username:
            raise StatusError(1, "Error: Non-null Username Required")
    if not password:
        import getpass

        password = getpass.getpass("Password: ", stream=sys.stderr)
        if not password:
            raise StatusError(1, "Error: Password Required")
    return username, password


def add_logout_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("server", nargs="?", metavar="SERVER")


def logout(cli: Cli, args: argparse.Namespace) -> int:
    """Forget the stored credentials; the daemon is not involved."""
    from minidock.client import auth

    if args.server and args.server not in ("docker.io", auth.INDEX_SERVER):
        server = auth.convert_to_hostname(args.server)
    else:
        server = auth.INDEX_SERVER
    cli.print(f"Removing login credentials for {server}")
    auth.erase_auth(server)
    return 0
