"""`images`: list images (`GET /images/json`).

One image can carry many names (`busybox:latest`, `localhost:5001/test/busybox:v1`)
and digests; the table prints one row per repository and tag, as docker's
`formatter/image.go` does, and `<none>` where an image has no name at all.
"""

from __future__ import annotations

import argparse
from typing import Any

from minidock.cli.cli import Cli
from minidock.cli.formatter import (
    Row, check_args, format_list, go_time, human_size, parse_filters, quiet_or, since, truncate_id,
)

DEFAULT_TABLE = "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{if .CreatedSince }}{{.CreatedSince}}{{else}}N/A{{end}}\t{{.Size}}"
DIGEST_TABLE = "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{if .CreatedSince }}{{.CreatedSince}}{{else}}N/A{{end}}\t{{.Size}}"

HEADERS = {
    "ID": "IMAGE ID", "Repository": "REPOSITORY", "Tag": "TAG", "Digest": "DIGEST",
    "CreatedSince": "CREATED", "CreatedAt": "CREATED AT", "Size": "SIZE", "Containers": "CONTAINERS",
    "VirtualSize": "SIZE", "SharedSize": "SHARED SIZE", "UniqueSize": "UNIQUE SIZE",
}

def add_images_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("repository", nargs="*", metavar="REPOSITORY[:TAG]")
    parser.add_argument("-a", "--all", action="store_true", help="Show all images (default hides intermediate images)")
    parser.add_argument("--digests", action="store_true", help="Show digests")
    parser.add_argument("-f", "--filter", action="append", help="Filter output based on conditions provided")
    parser.add_argument("--format", help="Format output using a custom template")
    parser.add_argument("--no-trunc", action="store_true", help="Don't truncate output")
    parser.add_argument("-q", "--quiet", action="store_true", help="Only show image IDs")


# --8<-- [start:images]
def images(cli: Cli, args: argparse.Namespace) -> int:
    """`GET /images/json?all=1&filters=...`; a REPOSITORY argument is a `reference` filter."""
    check_args(args.repository, "images", "[OPTIONS] [REPOSITORY[:TAG]]", maximum=1)
    filters = list(args.filter or []) + [f"reference={name}" for name in args.repository]
    params = {"all": True if args.all else None, "filters": parse_filters(filters, "images")}
    summaries = cli.client.get_json("/images/json", params) or []
    fmt = quiet_or(args.format, args.quiet, DIGEST_TABLE if args.digests else DEFAULT_TABLE)
    if fmt.startswith("table") and args.digests and "{{.Digest}}" not in fmt:
        fmt += "\t{{.Digest}}"
    show_digests = args.digests or "{{.Digest}}" in fmt
    rows = [row for image in summaries for row in image_rows(image, not args.no_trunc, show_digests, args.digests)]
    cli.out.write(format_list(fmt, rows, HEADERS))
    return 0
# --8<-- [end:images]


def is_dangling(image: dict[str, Any]) -> bool:
    """No name at all: both lists empty, or the legacy `<none>:<none>` + `<none>@<none>` pair."""
    tags, digests = image.get("RepoTags") or [], image.get("RepoDigests") or []
    return (not tags and not digests) or (tags == ["<none>:<none>"] and digests == ["<none>@<none>"])


def image_rows(image: dict[str, Any], trunc: bool, show_digests: bool, digest_rows: bool) -> list[Row]:
    """The rows of one image: one per repository:tag (times digests when shown)."""
    if is_dangling(image):
        return [image_row(image, trunc, "<none>", "<none>", "<none>")]
    tags: dict[str, list[str]] = {}
    digests: dict[str, list[str]] = {}
    for ref in image.get("RepoTags") or []:
        name, tag, _ = split_reference(ref)
        if name and tag:  # entries that are not valid `name:tag` are dropped, as docker does
            tags.setdefault(name, []).append(tag)
    for ref in image.get("RepoDigests") or []:
        name, _, digest = split_reference(ref)
        if name and digest:
            digests.setdefault(name, []).append(digest)
    rows = []
    for repo, repo_tags in tags.items():
        repo_digests = digests.pop(repo, [])  # a named repository's digests are not rows of their own
        if not show_digests:
            repo_digests = []
        for tag in repo_tags:
            rows += [image_row(image, trunc, repo, tag, d) for d in repo_digests or ["<none>"]]
    for repo, repo_digests in digests.items():  # names known only by digest
        if digest_rows:
            rows += [image_row(image, trunc, repo, "<none>", d) for d in repo_digests]
        else:
            rows.append(image_row(image, trunc, repo, "<none>", ""))
    return rows


def split_reference(ref: str) -> tuple[str, str, str]:
    """`localhost:5001/a/b:v1` -> (familiar name, tag, digest); ("", "", "") if it does not parse."""
    from minidock.client.reference import InvalidReference, parse_reference

    try:
        parsed = parse_reference(ref)
    except InvalidReference:
        return "", "", ""
    return parsed.familiar_name, parsed.tag or "", parsed.digest or ""


def image_row(image: dict[str, Any], trunc: bool, repo: str, tag: str, digest: str) -> Row:
    """One row as `--format` sees it: docker's imageContext."""
    size = image.get("Size", 0)
    shared = image.get("SharedSize", -1)
    containers = image.get("Containers", -1)
    return Row("*formatter.imageContext", {
        "ID": truncate_id(image.get("Id", "")) if trunc else image.get("Id", ""),
        "Repository": repo,
        "Tag": tag,
        "Digest": digest,
        "CreatedSince": since(image.get("Created", 0)),
        "CreatedAt": go_time(image.get("Created", 0)),
        "Size": human_size(size),
        "Containers": "N/A" if containers == -1 else str(containers),
        "VirtualSize": human_size(size, 4),
        "SharedSize": "N/A" if shared == -1 else human_size(shared, 4),
        "UniqueSize": "N/A" if size == -1 or shared == -1 else human_size(size - shared, 4),
    })
