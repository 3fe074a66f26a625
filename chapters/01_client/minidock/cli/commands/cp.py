"""`cp`: copy files between the host and a container, as tar archives.

The Engine API moves files only as tar streams (docker-api.md §5.3):

* into a container: `HEAD /containers/c/archive?path=DST` says whether DST
  exists and is a directory (the `X-Docker-Container-Path-Stat` header,
  base64 JSON); then `PUT /containers/c/archive?path=DIR` with a tar that the
  daemon extracts into DIR;
* out of a container: `GET /containers/c/archive?path=SRC` answers a tar of
  SRC, which the client extracts on the host.

The cleverness is all in the naming (docker's `archive.PrepareArchiveCopy`):
`cp f.txt c:/tmp` must land as `/tmp/f.txt`, but `cp f.txt c:/tmp/g.txt`
(no such file yet) as `/tmp/g.txt`. The client decides which directory to
extract into, and renames the archive's top entry ("rebases" it) so that
plain extraction gives the right result.

And the danger is in extraction: the archive comes from a container, which
is not trusted. A member named `../../.bashrc`, an absolute path, a link that
points out of the destination, or a path that goes *through* a symlink the
archive itself planted - each would write outside the directory the user
named. `extract_archive` refuses them all before writing anything for them.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any, BinaryIO

from minidock.cli.cli import Cli, StatusError
from minidock.client.api import quote_name
from minidock.client.errors import ClientError, NotFound

GO_MODE_DIR = 1 << 31  # Go's os.ModeDir: the stat header's `mode` is an os.FileMode, not st_mode
GO_MODE_SYMLINK = 1 << 27
MAX_SYMLINKS = 10


class UnsafeArchive(ClientError):
    """A tar member that would be written outside the destination directory."""


# -- the paths: who is where -----------------------------------------------------

def split_cp_arg(arg: str) -> tuple[str | None, str]:
    """`c1:/etc/passwd` -> ("c1", "/etc/passwd"); a local path -> (None, path) (docker's `splitCpArg`).

    An absolute path, or one starting with `.`, is local even with a colon in it.
    """
    if arg.startswith("/"):
        return None, arg
    container, colon, path = arg.partition(":")
    if not colon or container.startswith("."):
        return None, arg
    return container, path


def split_path_dir_entry(path: str) -> tuple[str, str]:
    """`/a/b/` -> ("/a", "b"); `/a/b/.` -> ("/a/b", ".") - the `.` means "the contents of b"."""
    cleaned = os.path.normpath(path) if path else "."
    if os.path.basename(path) == "." and cleaned != ".":
        cleaned += "/."
    return os.path.dirname(cleaned) or ".", os.path.basename(cleaned)


def asserts_directory(path: str) -> bool:
    """A trailing `/` or `/.` says the user means a directory."""
    return path.endswith("/") or path.endswith("/.")


@dataclass
class CopyInfo:
    """docker's `archive.CopyInfo`: a path, and what we know about it."""

    path: str
    exists: bool = False
    is_dir: bool = False
    rebase_name: str = ""


# --8<-- [start:prepare]
class CopyError(ClientError):
    """A copy that cannot be done as asked (docker's archive errors)."""


def prepare_archive_copy(src: CopyInfo, dst: CopyInfo) -> tuple[str, tuple[str, str] | None]:
    """Where to extract, and how to rename the archive's top entry (old base, new base) - or None.

    The four cases of docker's `PrepareArchiveCopy`:
    DST is a directory: extract into it, names unchanged; DST is a file and
    SRC a directory: impossible; otherwise extract into DST's parent,
    renaming SRC's base to DST's base (which creates or replaces DST).
    """
    dst_dir, dst_base = split_path_dir_entry(dst.path)
    _, src_base = split_path_dir_entry(src.path)
    src_base = src.rebase_name or src_base
    if dst.exists and dst.is_dir:
        return dst.path, None
    if dst.exists and src.is_dir:
        raise CopyError("cannot copy directory")
    if not dst.exists and not src.is_dir and asserts_directory(dst.path):
        raise CopyError("no such directory")
    return dst_dir, (src_base, dst_base)
# --8<-- [end:prepare]


def rebase_name(name: str, old: str, new: str) -> str:
    """Rename the top entry `old` (and everything under it) to `new` (docker's `RebaseArchiveEntries`)."""
    bare = name.rstrip("/")
    if bare == old:
        return new + name[len(bare):]
    if bare.startswith(old + "/"):
        return new + name[len(old):]
    return name


# -- extraction, refusing what would escape ------------------------------------------

def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


# --8<-- [start:check]
def check_member(member: tarfile.TarInfo, root: str) -> str:
    """The host path a member will be written to, after refusing anything that escapes `root`.

    `root` is a real path (no symlinks in it). Rules, in the order they bite:
    no absolute names; no `..` that climbs out; the member's directory, with
    every symlink already on disk resolved, must still be inside root (so
    nothing is written *through* a link); a hard link must name a file inside
    root; a relative symlink must not point out, read from the directory it
    really lands in, both as written and with the links on disk resolved.
    An absolute symlink target
    names a path in the container's filesystem (`/etc/localtime ->
    /usr/share/zoneinfo/UTC`); like docker we keep it, and the rule above
    guarantees we never write through it. Device nodes are refused.
    """
    name = member.name
    if name.startswith("/"):
        raise UnsafeArchive(f"refusing to extract {name!r}: absolute path in archive")
    clean = os.path.normpath(name)
    if clean == ".." or clean.startswith("../"):
        raise UnsafeArchive(f"refusing to extract {name!r}: path escapes the destination")
    if clean == ".":
        return root  # the destination directory itself
    parent = os.path.realpath(os.path.dirname(os.path.join(root, clean)))
    if not _inside(parent, root):
        raise UnsafeArchive(f"refusing to extract {name!r}: its directory is reached through a symlink "
                            "that leaves the destination")
    target = os.path.join(parent, os.path.basename(clean))  # where the OS will really put it
    if member.islnk():
        link = os.path.normpath(member.linkname)
        if member.linkname.startswith("/") or link == ".." or link.startswith("../") or \
                not _inside(os.path.realpath(os.path.join(root, link)), root):
            raise UnsafeArchive(f"refusing to extract {name!r}: hard link to {member.linkname!r} "
                                "outside the destination")
    if member.issym() and not member.linkname.startswith("/"):
        pointed = os.path.join(parent, member.linkname)  # from the link's real directory
        if not _inside(os.path.normpath(pointed), root) or not _inside(os.path.realpath(pointed), root):
            raise UnsafeArchive(f"refusing to extract {name!r}: symlink to {member.linkname!r} "
                                "leaves the destination")
    if member.ischr() or member.isblk():
        raise UnsafeArchive(f"refusing to extract {name!r}: device node")
    return target
# --8<-- [end:check]


def _make_room(member: tarfile.TarInfo, path: str) -> None:
    """docker's `NoOverwriteDirNonDir`, and replace (never write through) what is already there."""
    if not os.path.lexists(path):
        return
    existing_dir = os.path.isdir(path) and not os.path.islink(path)
    if existing_dir and not member.isdir():
        raise CopyError(f"cannot overwrite directory {path!r} with non-directory {member.name!r}")
    if not existing_dir and member.isdir():
        raise CopyError(f"cannot overwrite non-directory {path!r} with directory {member.name!r}")
    if not existing_dir:
        os.unlink(path)


def _make_link(member: tarfile.TarInfo, root: str, path: str) -> None:
    """Links we make ourselves: tarfile, when a link fails, falls back to copying its target,
    which in a stream it cannot find (and may chase forever)."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if member.issym():
        os.symlink(member.linkname, path)
    else:
        os.link(os.path.join(root, member.linkname), path, follow_symlinks=False)


# --8<-- [start:extract]
def extract_archive(stream: IO[bytes], dest_dir: str, rebase: tuple[str, str] | None = None) -> None:
    """Extract a tar stream into `dest_dir`, member by member as it arrives, safely."""
    root = os.path.realpath(dest_dir)
    try:
        with tarfile.open(fileobj=stream, mode="r|*") as tar:
            for member in tar:
                if rebase is not None:
                    member.name = rebase_name(member.name, *rebase)
                    if member.islnk():
                        member.linkname = rebase_name(member.linkname, *rebase)
                path = check_member(member, root)
                member.name = os.path.relpath(path, root)  # `a/./b//` is written as `a/b` (docker cleans names)
                if member.islnk() and not os.path.lexists(os.path.join(root, member.linkname)):
                    raise CopyError(f"bad tar archive: hard link {member.name!r} to {member.linkname!r}, "
                                    "which is not in the archive")
                _make_room(member, path)
                if member.issym() or member.islnk():
                    _make_link(member, root, path)
                    continue
                # Ours, not the archive's owners (docker's NoLchown).
                member.uid, member.gid, member.uname, member.gname = os.getuid(), os.getgid(), "", ""
                # check_member above is the filter; "fully_trusted" only says tarfile need not add its own.
                tar.extract(member, root, filter="fully_trusted")
    except tarfile.TarError as exc:
        raise CopyError(f"bad tar archive: {exc}") from None
    except OSError as exc:  # e.g. a member whose parent is a file the archive made
        raise CopyError(f"extracting into {dest_dir}: {exc}") from None
# --8<-- [end:extract]


# -- building the archive to send ----------------------------------------------------

def tar_source(src: CopyInfo, rebase: tuple[str, str] | None) -> BinaryIO:
    """A temporary file holding the tar of `src`, its top entry already renamed."""
    src_dir, src_base = split_path_dir_entry(src.path)
    arcname = src.rebase_name or src_base  # -L: a followed link keeps the link's name
    if rebase is not None and arcname == rebase[0]:
        arcname = rebase[1]
    spool = tempfile.TemporaryFile()
    with tarfile.open(fileobj=spool, mode="w", format=tarfile.PAX_FORMAT) as tar:
        tar.add(os.path.join(src_dir, src_base), arcname=arcname, filter=whole_seconds)
    return rewind_tar(spool, tar)


def whole_seconds(info: tarfile.TarInfo) -> tarfile.TarInfo:
    """Times to the second, as docker's archive writes them (and no extra PAX header for a fraction)."""
    info.mtime = int(info.mtime)
    return info


def rewind_tar(spool: BinaryIO, tar: tarfile.TarFile) -> BinaryIO:
    """Cut the padding Python adds up to a 10 kB record (Go's tar writer adds none), and rewind."""
    spool.truncate(tar.offset)  # after close, offset is the end of the two zero blocks
    spool.seek(0)
    return spool


def local_source(path: str, follow_link: bool) -> CopyInfo:
    """docker's `CopyInfoSourcePath`: an absolute path; symlinks resolved in the directory part only (or all, -L)."""
    keep_dot = path.endswith("/.")
    path = os.path.abspath(path) + ("/." if keep_dot else "")
    directory, base = split_path_dir_entry(path)
    resolved = os.path.join(os.path.realpath(directory), base)
    rebase = ""
    if follow_link and os.path.islink(resolved):
        target = os.path.realpath(resolved)
        rebase, resolved = base, target
    try:
        stat = os.lstat(resolved)
    except OSError as exc:
        raise StatusError(1, f"lstat {resolved}: {(exc.strerror or str(exc)).lower()}") from None
    import stat as stat_module

    return CopyInfo(resolved, exists=True, is_dir=stat_module.S_ISDIR(stat.st_mode), rebase_name=rebase)


def local_destination(path: str) -> CopyInfo:
    """docker's `CopyInfoDestinationPath`: follow a symlink at DST; a missing DST needs its parent."""
    original = path
    for _ in range(MAX_SYMLINKS + 1):
        if not os.path.islink(path):
            break
        target = os.readlink(path)
        path = target if target.startswith("/") else os.path.join(split_path_dir_entry(path)[0], target)
    else:
        raise StatusError(1, f"too many symlinks in {original}")
    if os.path.lexists(path):
        return CopyInfo(path, exists=True, is_dir=os.path.isdir(path))
    parent = split_path_dir_entry(path)[0]
    if not os.path.exists(parent):
        raise StatusError(1, f"stat {parent}: no such file or directory")
    if not os.path.isdir(parent):
        raise StatusError(1, "not a directory")
    return CopyInfo(path)


# -- the container side ----------------------------------------------------------------

def decode_path_stat(value: str | None) -> dict[str, Any]:
    """The `X-Docker-Container-Path-Stat` header: base64 of `{"name","size","mode","mtime","linkTarget"}`."""
    if not value:
        return {}
    try:
        stat = json.loads(base64.b64decode(value))
    except ValueError:
        raise ClientError("unable to decode container path stat header") from None
    return stat if isinstance(stat, dict) else {}


def stat_container_path(cli: Cli, container: str, path: str) -> dict[str, Any] | None:
    """`HEAD /containers/c/archive?path=P`: the stat, or None if the path does not exist."""
    try:
        response = cli.client.request("HEAD", f"/containers/{quote_name(container)}/archive", {"path": path})
    except NotFound:
        return None
    return decode_path_stat(response.headers.get("x-docker-container-path-stat"))


# -- the command ------------------------------------------------------------------------

def add_cp_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-a", "--archive", action="store_true", help="Archive mode (copy all uid/gid information)")
    parser.add_argument("-L", "--follow-link", action="store_true", help="Always follow symbol link in SRC_PATH")
    parser.add_argument("-q", "--quiet", action="store_true", help="Suppress progress output during copy")
    parser.add_argument("source", metavar="SRC_PATH")
    parser.add_argument("destination", metavar="DEST_PATH")


# --8<-- [start:cp]
def cp(cli: Cli, args: argparse.Namespace) -> int:
    src_container, src_path = split_cp_arg(args.source)
    dst_container, dst_path = split_cp_arg(args.destination)
    if src_container is None and dst_container is None:
        raise StatusError(1, "must specify at least one container source")
    if src_container is not None and dst_container is not None:
        raise StatusError(1, "copying between containers is not supported")
    if not (src_path if src_container is not None else dst_path):
        raise StatusError(1, "filepath must not be empty")
    try:
        if src_container is not None:
            copied = copy_from_container(cli, src_container, src_path, dst_path, args.follow_link)
        else:
            assert dst_container is not None
            copied = copy_to_container(cli, src_path, dst_container, dst_path, args)
    except (CopyError, UnsafeArchive) as exc:
        raise StatusError(1, str(exc)) from None
    if not args.quiet and cli.err.isatty() and copied is not None:
        from minidock.cli.formatter import human_size

        cli.warn(f"Successfully copied {human_size(copied[0])} to {copied[1]}")
    return 0
# --8<-- [end:cp]


class _Counting:
    """A file-like wrapper that counts the bytes read through it."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self.chunks, self.buffer, self.count = chunks, b"", 0

    def read(self, size: int = -1) -> bytes:
        while size < 0 or len(self.buffer) < size:
            chunk = next(self.chunks, b"")
            if not chunk:
                break
            self.buffer += chunk
        if size < 0:
            size = len(self.buffer)
        data, self.buffer = self.buffer[:size], self.buffer[size:]
        self.count += len(data)
        return data


def _absolute(path: str) -> str:
    return path if path.startswith("/") else "/" + path


# --8<-- [start:from]
def copy_from_container(cli: Cli, container: str, src_path: str, dst_path: str,
                        follow_link: bool) -> tuple[int, str] | None:
    """`GET /containers/c/archive?path=SRC`, then extract where `dst_path` says (or raw to stdout for `-`)."""
    src_path = _absolute(src_path)
    rebase_to = ""
    if follow_link:
        stat = stat_container_path(cli, container, src_path)
        if stat and stat.get("mode", 0) & GO_MODE_SYMLINK:
            link = stat.get("linkTarget", "")
            target = link if link.startswith("/") else os.path.join(split_path_dir_entry(src_path)[0], link)
            if os.path.basename(target) != os.path.basename(src_path):
                rebase_to = os.path.basename(src_path)
            src_path = target
    if dst_path != "-":
        parent = os.path.dirname(os.path.normpath(dst_path))
        if parent not in ("", ".") and not os.path.exists(parent):  # docker's ValidateOutputPath, before the download
            raise StatusError(1, f'invalid output path: directory "{parent}" does not exist')
        destination = local_destination(dst_path)
    response = cli.client.request("GET", f"/containers/{quote_name(container)}/archive", {"path": src_path})
    try:
        if dst_path == "-":
            out = cli.out_bytes
            for chunk in response.iter_chunks():
                out.write(chunk)
            out.flush()
            return None
        stat = decode_path_stat(response.headers.get("x-docker-container-path-stat"))
        src = CopyInfo(src_path, exists=True, is_dir=bool(stat.get("mode", 0) & GO_MODE_DIR))
        if rebase_to:
            src.rebase_name = rebase_to
        extract_dir, rebase = prepare_archive_copy(src, destination)
        if rebase_to:
            _, src_base = split_path_dir_entry(src_path)
            rebase = (src_base, rebase[1]) if rebase else (src_base, rebase_to)
        counted = _Counting(response.iter_chunks())
        extract_archive(counted, extract_dir, rebase)
        return counted.count, dst_path
    finally:
        response.close()
# --8<-- [end:from]


# --8<-- [start:to]
def copy_to_container(cli: Cli, src_path: str, container: str, dst_path: str,
                      args: argparse.Namespace) -> tuple[int, str] | None:
    """Stat DST in the container, shape the archive to match, `PUT` it into the right directory."""
    import sys

    dst_path = _absolute(dst_path)
    destination = CopyInfo(dst_path)
    stat = stat_container_path(cli, container, dst_path)
    if stat is not None and stat.get("mode", 0) & GO_MODE_SYMLINK:
        link = stat.get("linkTarget", "")
        destination.path = link if link.startswith("/") else os.path.join(split_path_dir_entry(dst_path)[0], link)
        stat = stat_container_path(cli, container, destination.path)
    if stat is not None:
        destination.exists, destination.is_dir = True, bool(stat.get("mode", 0) & GO_MODE_DIR)
    params = {"copyUIDGID": "true" if args.archive else None, "noOverwriteDirNonDir": "true", "path": ""}
    if src_path == "-":
        if not destination.is_dir:
            raise StatusError(1, f'destination "{container}:{dst_path}" must be a directory')
        params["path"], body, size = destination.path, sys.stdin.buffer, None
    else:
        src = local_source(src_path, args.follow_link)
        params["path"], rebase = prepare_archive_copy(src, destination)
        body = tar_source(src, rebase)
        size = os.fstat(body.fileno()).st_size
    try:
        cli.client.request("PUT", f"/containers/{quote_name(container)}/archive", params, body=body,
                           headers={"Content-Type": "text/plain"}).read()
    finally:
        if body is not sys.stdin.buffer:
            body.close()
    return (size, f"{container}:{dst_path}") if size is not None else None
# --8<-- [end:to]
