"""`build`: send a directory to the daemon and let it run the Dockerfile (the legacy builder).

The client's part is the *build context*: the directory PATH as one tar
stream, minus what `.dockerignore` excludes, sent as the body of
`POST /build` (`Content-Type: application/x-tar`). The daemon runs the steps
and streams their output back as `{"stream": ...}` lines
(docker-api.md §5.2, captures build-legacy and build-legacy-q).

The Dockerfile and `.dockerignore` always go in, even if ignored: the
daemon needs them to do its job (docker's rule).
"""

from __future__ import annotations

import argparse
import fnmatch
import io
import json
import os
import secrets
import sys
import tarfile
import tempfile
from collections.abc import Iterator
from typing import BinaryIO

from minidock.cli.cli import Cli, StatusError
from minidock.cli.commands.image_ops import add_go_bool
from minidock.cli.commands.cp import rewind_tar, whole_seconds
from minidock.cli.commands.registry import show_progress
from minidock.client.reference import InvalidReference, parse_reference

DEFAULT_DOCKERFILE = "Dockerfile"


# --8<-- [start:dockerignore]
def read_dockerignore(context: str) -> list[str]:
    """The patterns of `.dockerignore`: one per line, `#` comments, `!` re-includes."""
    try:
        with open(os.path.join(context, ".dockerignore")) as file:
            lines = file.read().splitlines()
    except FileNotFoundError:
        return []
    patterns = []
    for line in lines:
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        body = os.path.normpath(line[1:].strip() if negate else line).lstrip("/")
        patterns.append(("!" if negate else "") + body)
    return patterns


def _pattern_matches(pattern: str, path: str) -> bool:
    """`pattern` matches `path` or one of its parent directories; `*` stays inside one component."""
    if "**" in pattern:
        return fnmatch.fnmatchcase(path, pattern)
    wanted, parts = pattern.split("/"), path.split("/")
    if len(wanted) > len(parts):
        return False
    return all(fnmatch.fnmatchcase(part, want) for part, want in zip(parts, wanted))


def is_excluded(path: str, patterns: list[str]) -> bool:
    """The last pattern that matches decides (a `!` pattern re-includes)."""
    excluded = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        if _pattern_matches(pattern[1:] if negate else pattern, path):
            excluded = not negate
    return excluded
# --8<-- [end:dockerignore]


def context_files(context: str, patterns: list[str], always: set[str]) -> Iterator[str]:
    """Paths (relative, `/`-separated) to put in the context, in a stable order."""
    for directory, dirs, files in os.walk(context):
        dirs.sort()
        relative_dir = os.path.relpath(directory, context)
        for name in sorted(dirs) + sorted(files):
            relative = name if relative_dir == "." else f"{relative_dir}/{name}"
            if relative in always or not is_excluded(relative, patterns):
                yield relative
        # Do not descend into excluded directories unless a `!` pattern could re-include something.
        if not any(p.startswith("!") for p in patterns):
            dirs[:] = [d for d in dirs if not is_excluded(d if relative_dir == "." else f"{relative_dir}/{d}", patterns)]


def _reset_owner(info: tarfile.TarInfo) -> tarfile.TarInfo:
    """Context files belong to root:root in the archive, as in docker's context tar."""
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return whole_seconds(info)


# --8<-- [start:context]
def make_context(context: str, dockerfile: str | None) -> tuple[BinaryIO, str]:
    """The context tar in a temporary file, and the Dockerfile's name inside it."""
    if not os.path.isdir(context):
        raise StatusError(1, f'unable to prepare context: path "{context}" not found')
    extra: tuple[str, bytes] | None = None
    if dockerfile is None:
        name = DEFAULT_DOCKERFILE
        if not os.path.exists(os.path.join(context, name)) and os.path.exists(os.path.join(context, "dockerfile")):
            name = "dockerfile"
        path = os.path.join(context, name)
    else:
        path = os.path.abspath(dockerfile)
        name = os.path.relpath(path, os.path.abspath(context))
    if not os.path.isfile(path):
        raise StatusError(1, f"unable to prepare context: unable to evaluate symlinks in Dockerfile path: "
                             f"lstat {path}: no such file or directory")
    if name.startswith("../"):  # a Dockerfile outside the context travels under a random name
        name = f".dockerfile.{secrets.token_hex(10)}"
        with open(path, "rb") as file:
            extra = (name, file.read())
    patterns = read_dockerignore(context)
    spool = tempfile.TemporaryFile()
    with tarfile.open(fileobj=spool, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for relative in context_files(context, patterns, {name, ".dockerignore"}):
            tar.add(os.path.join(context, relative), arcname=relative, recursive=False, filter=_reset_owner)
        if extra is not None:
            _add_bytes(tar, *extra)
    return rewind_tar(spool, tar), name
# --8<-- [end:context]


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode = len(data), 0o644
    tar.addfile(info, io.BytesIO(data))


def stdin_context(dockerfile: str | None) -> tuple[BinaryIO, str]:
    """`build -`: stdin is either a context tar, or just a Dockerfile (wrapped in a tar here)."""
    data = sys.stdin.buffer.read()
    spool = tempfile.TemporaryFile()
    if _is_archive(data):
        spool.write(data)
        name = dockerfile or DEFAULT_DOCKERFILE
    else:
        name = DEFAULT_DOCKERFILE
        with tarfile.open(fileobj=spool, mode="w") as tar:
            _add_bytes(tar, name, data)
        return rewind_tar(spool, tar), name
    spool.seek(0)
    return spool, name


def _is_archive(data: bytes) -> bool:
    """A tar (`ustar` at offset 257) or a compressed stream (gzip, bzip2, xz, zstd magic)."""
    return data[257:262] == b"ustar" or data.startswith((b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00", b"\x28\xb5\x2f\xfd"))


def _key_values(values: list[str], *, from_env: bool) -> dict[str, str | None]:
    """`K=V` items; a bare `K` takes the environment's value (build args) or "" (labels)."""
    result: dict[str, str | None] = {}
    for item in values:
        key, eq, value = item.partition("=")
        result[key] = value if eq else (os.environ.get(key) if from_env else "")
    return result


def add_build_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-t", "--tag", action="append", default=[], help='Name and optionally a tag in the "name:tag" format')
    parser.add_argument("-f", "--file", help="Name of the Dockerfile (default: \"PATH/Dockerfile\")")
    parser.add_argument("--build-arg", action="append", default=[], help="Set build-time variables")
    parser.add_argument("--label", action="append", default=[], help="Set metadata for an image")
    parser.add_argument("--no-cache", action="store_true", help="Do not use cache when building the image")
    parser.add_argument("--pull", action="store_true", help="Always attempt to pull a newer version of the image")
    parser.add_argument("-q", "--quiet", action="store_true", help="Suppress the build output and print image ID on success")
    add_go_bool(parser, "--rm", dest="rm", default=True,
                help="Remove intermediate containers after a successful build (default true)")
    parser.add_argument("--force-rm", action="store_true", help="Always remove intermediate containers")
    parser.add_argument("--target", help="Set the target build stage to build.")
    parser.add_argument("--iidfile", help="Write the image ID to the file")
    parser.add_argument("context", metavar="PATH | URL | -")


# --8<-- [start:build]
def build(cli: Cli, args: argparse.Namespace) -> int:
    """`POST /build?t=...&dockerfile=...&version=1` with the context tar; render the step output."""
    for name in args.tag:
        try:
            parse_reference(name)
        except InvalidReference as exc:
            raise StatusError(125, f'invalid argument "{name}" for "-t, --tag" flag: {exc}') from None
    remote = args.context if args.context.startswith(("http://", "https://", "git://", "git@")) else None
    body: BinaryIO | None = None
    dockerfile = args.file or DEFAULT_DOCKERFILE
    if remote is None:
        body, dockerfile = stdin_context(args.file) if args.context == "-" else make_context(args.context, args.file)
    build_args = _key_values(args.build_arg, from_env=True)
    labels = _key_values(args.label, from_env=False)
    params = {
        "buildargs": json.dumps(build_args, separators=(",", ":")) if build_args else None,
        "dockerfile": dockerfile, "forcerm": args.force_rm or None,
        "labels": json.dumps(labels, separators=(",", ":")) if labels else None,
        "nocache": args.no_cache or None, "pull": args.pull or None, "q": args.quiet or None,
        "remote": remote, "rm": None if args.rm else False, "t": args.tag or None, "target": args.target,
        "version": "1",  # the legacy builder (BuildKit would be "2")
    }
    headers = {"Content-Type": "application/x-tar", "X-Registry-Config": "e30="}
    if body is not None and not args.quiet:
        from minidock.client.jsonmessage import human_size

        size = os.fstat(body.fileno()).st_size
        cli.out.write(f"Sending build context to Docker daemon  {human_size(size)}\r\r\n")  # docker's bytes
        cli.out.flush()
    try:
        messages = cli.client.stream_json("POST", "/build", params, body=body, headers=headers)
        aux = show_progress(cli, messages, exit_with_code=True)
    finally:
        if body is not None:
            body.close()
    image_id = next((item["ID"] for item in aux if isinstance(item, dict) and item.get("ID")), None)
    if args.iidfile and image_id:
        with open(args.iidfile, "w") as file:
            file.write(image_id)
    return 0
# --8<-- [end:build]
