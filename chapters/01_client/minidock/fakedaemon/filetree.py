"""A container's files, in memory: enough of a filesystem for cp, diff, export and save.

The fake never touches the host's disk for a container. Each image holds a
small tree (busybox's /bin, /etc/passwd, /tmp ...); a container starts with
a copy of it plus the files dockerd mounts in (/etc/hostname, /etc/hosts,
/etc/resolv.conf). Programs read and write it (`cat /etc/hostname`,
`echo x > /tmp/f`), `docker cp` moves tar archives in and out, and
`docker diff` compares it with the image's tree.

Paths are absolute and normalised; nothing can name a place outside the
root (`..` stops at `/`), so a hostile tar cannot escape.
"""

from __future__ import annotations

import copy
import io
import posixpath
import tarfile
import time
from dataclasses import dataclass, field

DIR, FILE, SYMLINK = "dir", "file", "symlink"

# Go's os.FileMode type bits, which `X-Docker-Container-Path-Stat` uses (not POSIX S_IF*).
GO_MODE_DIR = 1 << 31
GO_MODE_SYMLINK = 1 << 27

FIXED_MTIME = 1_700_000_000  # image files get a fixed time, so layer digests are stable


@dataclass
class Node:
    kind: str
    mode: int = 0o644
    data: bytes = b""
    target: str = ""  # for symlinks
    mtime: float = FIXED_MTIME
    uid: int = 0
    gid: int = 0

    @property
    def size(self) -> int:
        return len(self.data) if self.kind == FILE else (4096 if self.kind == DIR else len(self.target))

    def go_mode(self) -> int:
        bits = {DIR: GO_MODE_DIR, SYMLINK: GO_MODE_SYMLINK}.get(self.kind, 0)
        return bits | (self.mode & 0o7777)


class TreeError(Exception):
    """A filesystem error, with the errno-style text a shell would print."""


def normalise(path: str, cwd: str = "/") -> str:
    """An absolute path with no `.`, `..` or double slashes; `..` never climbs above `/`."""
    joined = posixpath.join(cwd, path)
    parts: list[str] = []
    for part in joined.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if parts:
                parts.pop()
            continue
        parts.append(part)
    return "/" + "/".join(parts)


@dataclass
class FileTree:
    nodes: dict[str, Node] = field(default_factory=lambda: {"/": Node(DIR, 0o755)})

    def copy(self) -> FileTree:
        return FileTree(copy.deepcopy(self.nodes))

    # -- lookups ----------------------------------------------------------
    def get(self, path: str) -> Node | None:
        return self.nodes.get(normalise(path))

    def resolve(self, path: str, depth: int = 0) -> str:
        """Follow symlinks in every component (as the kernel would), up to a sane depth."""
        path = normalise(path)
        if depth > 16:
            raise TreeError("Symbolic link loop")
        current = "/"
        parts = [p for p in path.split("/") if p]
        for index, part in enumerate(parts):
            current = normalise(part, current)
            node = self.nodes.get(current)
            if node is not None and node.kind == SYMLINK:
                target = normalise(node.target, posixpath.dirname(current))
                rest = "/".join(parts[index + 1:])
                return self.resolve(posixpath.join(target, rest) if rest else target, depth + 1)
        return current

    def lookup(self, path: str) -> Node | None:
        return self.nodes.get(self.resolve(path))

    def is_dir(self, path: str) -> bool:
        node = self.lookup(path)
        return node is not None and node.kind == DIR

    def children(self, path: str) -> list[str]:
        base = self.resolve(path)
        prefix = base.rstrip("/") + "/"
        return sorted(p[len(prefix):] for p in self.nodes
                      if p.startswith(prefix) and p != base and "/" not in p[len(prefix):])

    def walk(self, path: str) -> list[str]:
        """`path` and everything below it, parents first."""
        base = normalise(path)
        prefix = base.rstrip("/") + "/"
        return sorted(p for p in self.nodes if p == base or p.startswith(prefix))

    # -- changes ----------------------------------------------------------
    def _parent_dir(self, path: str) -> str:
        parent = posixpath.dirname(path)
        node = self.nodes.get(parent)
        if node is None:
            raise TreeError("No such file or directory")
        if node.kind != DIR:
            raise TreeError("Not a directory")
        return parent

    def read_file(self, path: str) -> bytes:
        node = self.lookup(path)
        if node is None:
            raise TreeError("No such file or directory")
        if node.kind == DIR:
            raise TreeError("Is a directory")
        return node.data

    def write_file(self, path: str, data: bytes, append: bool = False, mode: int = 0o644) -> None:
        real = self.resolve(path)
        self._parent_dir(real)
        node = self.nodes.get(real)
        if node is not None and node.kind == DIR:
            raise TreeError("Is a directory")
        if node is None:
            self.nodes[real] = node = Node(FILE, mode)
        node.data = node.data + data if append else data
        node.mtime = time.time()
        self.touch_dir(posixpath.dirname(real))

    def touch_dir(self, path: str) -> None:
        node = self.nodes.get(path)
        if node is not None:
            node.mtime = time.time()

    def mkdir(self, path: str, parents: bool = False, mode: int = 0o755) -> None:
        real = normalise(path)
        node = self.nodes.get(real)
        if node is not None:
            if parents and node.kind == DIR:
                return
            raise TreeError("File exists")
        if parents and real != "/":
            self.mkdir(posixpath.dirname(real), parents=True)
        self._parent_dir(real)
        self.nodes[real] = Node(DIR, mode, mtime=time.time())
        self.touch_dir(posixpath.dirname(real))

    def symlink(self, path: str, target: str) -> None:
        real = normalise(path)
        self._parent_dir(real)
        self.nodes[real] = Node(SYMLINK, 0o777, target=target, mtime=time.time())

    def remove(self, path: str, recursive: bool = False) -> None:
        real = normalise(path)
        if real == "/" or real not in self.nodes:
            raise TreeError("No such file or directory")
        below = self.walk(real)
        if len(below) > 1 and not recursive:
            raise TreeError("Directory not empty")
        for item in below:
            del self.nodes[item]
        self.touch_dir(posixpath.dirname(real))

    # -- tar ----------------------------------------------------------------
    def to_tar(self, path: str = "/", arcname: str | None = None) -> bytes:
        """A tar of `path` (a file or a whole directory), its top entry named `arcname`."""
        base = normalise(path)
        if base not in self.nodes:
            raise TreeError("No such file or directory")
        top = arcname if arcname is not None else posixpath.basename(base)
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
            for item in self.walk(base):
                relative = item[len(base):].lstrip("/") if base != "/" else item.lstrip("/")
                name = (posixpath.join(top, relative) if relative else top) if top else relative
                if not name:
                    continue
                self._add_member(tar, name, self.nodes[item])
        return buffer.getvalue()

    @staticmethod
    def _add_member(tar: tarfile.TarFile, name: str, node: Node) -> None:
        info = tarfile.TarInfo(name)
        info.mode = node.mode & 0o7777
        info.mtime = int(node.mtime)
        info.uid, info.gid = node.uid, node.gid
        info.uname = info.gname = "root" if node.uid == 0 else ""
        if node.kind == DIR:
            info.type = tarfile.DIRTYPE
            tar.addfile(info)
        elif node.kind == SYMLINK:
            info.type = tarfile.SYMTYPE
            info.linkname = node.target
            tar.addfile(info)
        else:
            info.size = len(node.data)
            tar.addfile(info, io.BytesIO(node.data))

    def extract_tar(self, data: bytes, dest: str = "/", no_overwrite_dir_non_dir: bool = False,
                    whiteouts: bool = False, touch_parents: bool = False) -> None:
        """Unpack a tar under `dest`. Every name is normalised under `dest`: `../../etc`
        cannot leave it, and device nodes or fifos are refused (they mean nothing here).
        `touch_parents`: a live change (docker cp), which updates the directories' mtimes."""
        base = normalise(dest)
        try:
            tar = tarfile.open(fileobj=io.BytesIO(data), mode="r:*")
            members = [(m, tar.extractfile(m).read() if m.isfile() else b"") for m in tar.getmembers()]
        except (tarfile.TarError, EOFError, OSError) as exc:
            raise TreeError(f"invalid tar archive: {exc}") from None
        for member, content in members:
            path = normalise(member.name, base)
            name = posixpath.basename(path)
            if whiteouts and name.startswith(".wh."):
                victim = posixpath.join(posixpath.dirname(path), name[4:])
                if name == ".wh..wh..opq":
                    for item in self.walk(posixpath.dirname(path))[1:]:
                        self.nodes.pop(item, None)
                elif victim in self.nodes:
                    self.remove(victim, recursive=True)
                continue
            if path == base and member.isdir():
                continue
            existing = self.nodes.get(path)
            if existing is not None and no_overwrite_dir_non_dir and \
                    (existing.kind == DIR) != member.isdir():
                kinds = ("directory", "non-directory") if existing.kind == DIR else ("non-directory", "directory")
                raise TreeError(f"cannot overwrite {kinds[0]} {path!r} with {kinds[1]} {member.name!r}")
            if posixpath.dirname(path) not in self.nodes:
                self.mkdir(posixpath.dirname(path), parents=True)
            if existing is not None and existing.kind == DIR and member.isdir():
                existing.mode = member.mode & 0o7777
                continue
            if existing is not None:
                self.remove(path, recursive=True)
            if member.isdir():
                kind, extra = DIR, {}
            elif member.issym():
                kind, extra = SYMLINK, {"target": member.linkname}
            elif member.islnk():
                source = self.nodes.get(normalise(member.linkname, base))
                kind, extra = FILE, {"data": source.data if source else b""}
            elif member.isfile():
                kind, extra = FILE, {"data": content}
            else:
                raise TreeError(f"unsupported tar entry {member.name!r} (devices and fifos are not allowed)")
            self.nodes[path] = Node(kind, member.mode & 0o7777, mtime=member.mtime,
                                    uid=member.uid, gid=member.gid, **extra)
            if touch_parents:
                self.touch_dir(posixpath.dirname(path))

    # -- comparison ---------------------------------------------------------
    def changes(self, base: FileTree, ignore: set[str] = frozenset()) -> list[dict]:
        """`docker diff`: Kind 0 = changed, 1 = added, 2 = deleted, against the image's tree."""
        result = []
        for path in sorted(set(self.nodes) | set(base.nodes)):
            if path == "/" or path in ignore:
                continue
            mine, theirs = self.nodes.get(path), base.nodes.get(path)
            if theirs is None:
                result.append({"Path": path, "Kind": 1})
            elif mine is None:
                if posixpath.dirname(path) in self.nodes:
                    result.append({"Path": path, "Kind": 2})
            elif (mine.kind, mine.data, mine.target, mine.mode) != (theirs.kind, theirs.data, theirs.target, theirs.mode) \
                    or (mine.kind == DIR and mine.mtime != theirs.mtime):
                result.append({"Path": path, "Kind": 0})
        return result

    def total_size(self) -> int:
        return sum(len(n.data) for n in self.nodes.values() if n.kind == FILE)
