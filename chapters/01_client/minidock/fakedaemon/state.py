"""The fake daemon's world, in memory: images, containers, execs, events, a pretend registry.

Everything a request reads or changes lives in one `State`, guarded by one
lock. Its condition variable `changed` is notified after every change, so a
handler that waits for something (`/wait`, `logs -f`, `/events`) waits on it.

Tests may seed or inspect it directly, taking `state.lock` when other threads
may be running. `state.registry` is the pretend registry that pulls draw
from: keys are references as the CLI prints them (`alpine:latest`,
`localhost:5000/demo:v1`, not `docker.io/library/...`), values are `Image`s:

    with daemon.state.lock:
        daemon.state.registry["mine:v1"] = daemon.state.find_image("busybox")
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from minidock.cli.formatter import human_duration  # go-units, as dockerd's `Up 5 seconds`
from minidock.fakedaemon.filetree import FIXED_MTIME, FileTree, Node
from minidock.fakedaemon.runtime import Process

ZERO_TIME = "0001-01-01T00:00:00Z"
DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


# ---------------------------------------------------------------- time ----
def rfc3339(ts: float | None) -> str:
    """Go's time.RFC3339Nano in UTC: trailing zeros of the fraction dropped."""
    if not ts:
        return ZERO_TIME
    seconds = int(ts)
    nanos = int(round((ts - seconds) * 1e9))
    if nanos >= 1_000_000_000:
        seconds, nanos = seconds + 1, nanos - 1_000_000_000
    base = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
    fraction = f"{nanos:09d}".rstrip("0")
    return f"{base}.{fraction}Z" if fraction else f"{base}Z"


def rfc3339_fixed(ts: float) -> str:
    """The log timestamp format (jsonmessage.RFC3339NanoFixed): always nine digits."""
    seconds = int(ts)
    nanos = min(int((ts - seconds) * 1e9), 999_999_999)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{nanos:09d}Z"


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


# ---------------------------------------------------------------- references ----
_NAME_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_DOMAIN = r"(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?"
_REFERENCE = re.compile(
    rf"^(?P<name>(?:{_DOMAIN}/)?{_NAME_COMPONENT}(?:/{_NAME_COMPONENT})*)"
    r"(?::(?P<tag>[\w][\w.-]{0,127}))?(?:@(?P<digest>sha256:[a-f0-9]{64}))?$"
)


class InvalidReference(ValueError):
    pass


@dataclass(frozen=True)
class Reference:
    """An image reference, normalised the way the CLI prints it (`busybox`, not docker.io/library/busybox)."""

    name: str
    tag: str = ""
    digest: str = ""

    def __str__(self) -> str:
        return self.name + (f":{self.tag}" if self.tag else "") + (f"@{self.digest}" if self.digest else "")

    @property
    def tagged(self) -> str:
        return f"{self.name}:{self.tag or 'latest'}"

    @property
    def domain(self) -> str:
        first = self.name.split("/")[0]
        if "/" in self.name and ("." in first or ":" in first or first == "localhost"):
            return first
        return "docker.io"

    @property
    def path(self) -> str:
        """The repository path on its registry: `library/busybox`, `test/busybox`."""
        if self.domain != "docker.io":
            return self.name.split("/", 1)[1]
        return self.name if "/" in self.name else f"library/{self.name}"


def parse_reference(text: str, default_tag: bool = True) -> Reference:
    match = _REFERENCE.match(text or "")
    if not match:
        raise InvalidReference("invalid reference format" if text.lower() == text
                               else "invalid reference format: repository name must be lowercase")
    name = familiar_name(match.group("name"))
    tag = match.group("tag") or ""
    digest = match.group("digest") or ""
    if default_tag and not tag and not digest:
        tag = "latest"
    if len(name) > 255:
        raise InvalidReference("repository name must not be more than 255 characters")
    return Reference(name, tag, digest)


def familiar_name(name: str) -> str:
    for prefix in ("docker.io/library/", "index.docker.io/library/", "docker.io/", "index.docker.io/"):
        if name.startswith(prefix) and "/" in name[len(prefix) - 1:]:
            return name[len(prefix):]
    return name


# ---------------------------------------------------------------- images ----
@dataclass
class Image:
    """An image: its config (what containers inherit) and its layers (tar archives).

    The ID is the sha256 of the config JSON, as in Docker since 1.10, so the
    same content always gets the same ID and `save` | `load` keeps it.
    """

    config: dict[str, Any]
    layers: list[bytes]
    created: float = FIXED_MTIME
    repo_tags: list[str] = field(default_factory=list)
    repo_digests: list[str] = field(default_factory=list)
    parent: str = ""
    comment: str = ""
    author: str = ""
    container: str = ""
    history: list[dict[str, Any]] = field(default_factory=list)
    labels_from_build: dict[str, str] = field(default_factory=dict)
    _tree: FileTree | None = None
    _config_json: bytes | None = None

    @property
    def config_json(self) -> bytes:
        """The image config document (the thing `docker save` writes as <id>.json)."""
        if self._config_json is None:
            document = {
                "architecture": "amd64",
                "author": self.author or None,
                "comment": self.comment or None,
                "config": self.config,
                "container": self.container or None,
                "created": rfc3339(self.created),
                "history": self.history,
                "os": "linux",
                "parent": self.parent or None,
                "rootfs": {"type": "layers", "diff_ids": self.diff_ids},
            }
            document = {k: v for k, v in document.items() if v is not None}
            self._config_json = json.dumps(document, separators=(",", ":"), sort_keys=True).encode()
        return self._config_json

    @property
    def id(self) -> str:
        return sha256(self.config_json)

    @property
    def short_id(self) -> str:
        return self.id.split(":")[1][:12]

    @property
    def diff_ids(self) -> list[str]:
        return [sha256(layer) for layer in self.layers]

    @property
    def tree(self) -> FileTree:
        if self._tree is None:
            tree = FileTree()
            for layer in self.layers:
                tree.extract_tar(layer, "/", whiteouts=True)
            self._tree = tree
        return self._tree

    @property
    def size(self) -> int:
        return self.tree.total_size()

    @property
    def manifest_digest(self) -> str:
        """What a registry would call this image: the digest of a schema-2 manifest for it."""
        manifest = {
            "schemaVersion": 2,
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "config": {"mediaType": "application/vnd.docker.container.image.v1+json",
                       "size": len(self.config_json), "digest": self.id},
            "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar",
                        "size": len(layer), "digest": sha256(layer)} for layer in self.layers],
        }
        return sha256(json.dumps(manifest, indent=3).encode())

    @property
    def manifest_size(self) -> int:
        return 200 + 100 * len(self.layers) + 27


# ---------------------------------------------------------------- outputs and events ----
@dataclass
class OutputLog:
    """Everything a container (or an exec) wrote, with times: the source of logs and attach.

    `runs_started`/`runs_ended` count the runs, so an attached client knows when
    "its" run is over: a client that attaches before `start` waits for the
    next run, one that attaches to a running container for the current one.
    """

    entries: list[tuple[int, bytes, float]] = field(default_factory=list)  # (stream, data, time)
    runs_started: int = 0
    runs_ended: int = 0
    closed: bool = False  # the container is gone
    cond: threading.Condition = field(default_factory=threading.Condition)

    def append(self, stream: int, data: bytes) -> None:
        now = time.time()
        with self.cond:
            # The json-file log driver keeps a line per entry; attach sees the same pieces.
            for line in data.splitlines(keepends=True):
                self.entries.append((stream, line, now))
            self.cond.notify_all()

    def begin_run(self) -> None:
        with self.cond:
            self.runs_started += 1
            self.cond.notify_all()

    def end_run(self) -> None:
        with self.cond:
            self.runs_ended += 1
            self.cond.notify_all()

    def close(self) -> None:
        with self.cond:
            self.closed = True
            self.cond.notify_all()


@dataclass
class EventLog:
    """dockerd's event stream: every event ever, for `since`, and a condition for followers."""

    events: list[dict[str, Any]] = field(default_factory=list)
    cond: threading.Condition = field(default_factory=threading.Condition)

    def emit(self, kind: str, action: str, actor_id: str, attributes: dict[str, str],
             status_id: str | None = None, origin: str | None = None) -> dict[str, Any]:
        now = time.time_ns()
        event: dict[str, Any] = {}
        if kind in ("container", "image"):  # the pre-1.22 fields, still sent for these
            event["status"] = action
            event["id"] = status_id or actor_id
            if origin:
                event["from"] = origin
        event.update({"Type": kind, "Action": action, "Actor": {"ID": actor_id, "Attributes": attributes},
                      "scope": "local", "time": now // 1_000_000_000, "timeNano": now})
        with self.cond:
            self.events.append(event)
            self.cond.notify_all()
        return event


# ---------------------------------------------------------------- containers ----
@dataclass
class Container:
    id: str
    name: str  # with the leading "/"
    created: float
    image: Image
    config: dict[str, Any]
    host_config: dict[str, Any]
    path: str
    args: list[str]
    tree: FileTree
    image_tree: FileTree
    status: str = "created"  # created running paused restarting removing exited dead
    pid: int = 0
    exit_code: int = 0
    error: str = ""
    started_at: float = 0.0
    finished_at: float = 0.0
    restart_count: int = 0
    exits: int = 0  # how many times it has exited: next-exit waits for this to grow
    removed: bool = False
    manually_stopped: bool = False
    log: OutputLog = field(default_factory=OutputLog)
    process: Process | None = None
    tty_size: tuple[int, int] = (24, 80)
    exec_ids: list[str] = field(default_factory=list)
    host_ports: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    stdin_pending: list[bytes] = field(default_factory=list)  # attach input before the start
    stdin_closed_early: bool = False

    @property
    def short_id(self) -> str:
        return self.id[:12]

    @property
    def running(self) -> bool:
        return self.status in ("running", "paused", "restarting")

    @property
    def image_ref(self) -> str:
        return self.config.get("Image") or self.image.id

    @property
    def command(self) -> str:
        """What `docker ps` shows: path and args, an arg with a space in single quotes (as dockerd)."""
        args = [f"'{a}'" if " " in a else a for a in self.args]
        return " ".join([self.path, *args]) if args else self.path

    def status_text(self, now: float | None = None) -> str:
        """moby's State.String(): `Up 5 seconds`, `Exited (3) 2 seconds ago`, `Created` ..."""
        now = now or time.time()
        if self.status == "paused":
            return f"Up {human_duration(now - self.started_at)} (Paused)"
        if self.status == "restarting":
            return f"Restarting ({self.exit_code}) {human_duration(now - self.finished_at)} ago"
        if self.status == "running":
            return f"Up {human_duration(now - self.started_at)}"
        if self.status == "removing":
            return "Removal In Progress"
        if self.status == "dead":
            return "Dead"
        if not self.started_at:
            return "Created"
        return f"Exited ({self.exit_code}) {human_duration(now - self.finished_at)} ago"

    @property
    def labels(self) -> dict[str, str]:
        return self.config.get("Labels") or {}


@dataclass
class Exec:
    id: str
    container: Container
    config: dict[str, Any]
    running: bool = False
    exit_code: int | None = None
    pid: int = 0
    process: Process | None = None
    log: OutputLog = field(default_factory=OutputLog)
    size: tuple[int, int] = (24, 80)

    @property
    def argv(self) -> list[str]:
        return list(self.config.get("Cmd") or [])


# ---------------------------------------------------------------- names ----
ADJECTIVES = ["admiring", "brave", "clever", "dreamy", "eager", "focused", "gallant", "happy", "jolly",
              "keen", "loving", "modest", "nifty", "optimistic", "pensive", "quirky", "relaxed", "serene",
              "tender", "upbeat", "vibrant", "wizardly", "xenodochial", "youthful", "zealous"]
SURNAMES = ["almeida", "babbage", "curie", "dijkstra", "euler", "feynman", "goldberg", "hopper", "lovelace",
            "hamilton", "kare", "lamport", "meitner", "noether", "pike", "ritchie", "shannon", "thompson",
            "turing", "varahamihira", "wozniak", "yonath", "zhukovsky", "torvalds", "knuth"]
VALID_NAME = re.compile(r"^/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$")


# ---------------------------------------------------------------- the state ----
class State:
    """Images, containers, execs and events, with one lock over all of them."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        self.images: dict[str, Image] = {}  # id -> image
        self.containers: dict[str, Container] = {}  # id -> container
        self.execs: dict[str, Exec] = {}
        self.events = EventLog()
        self.registry: dict[str, Image] = {}  # "name:tag" -> what a pull of it gets
        self.search_index: list[dict[str, Any]] = []
        self.build_cache: dict[tuple[str, str], str] = {}  # (parent id, step) -> image id
        self.other_processes: set[Process] = set()  # RUN steps of builds in progress
        self.started = time.time()

    def notify(self) -> None:
        with self.changed:
            self.changed.notify_all()

    # -- images -------------------------------------------------------------
    def add_image(self, image: Image) -> Image:
        with self.lock:
            existing = self.images.get(image.id)
            if existing is not None:
                for tag in image.repo_tags:
                    self.tag_image(existing, tag)
                return existing
            tags, image.repo_tags = list(image.repo_tags), []
            self.images[image.id] = image
            for tag in tags:
                self.tag_image(image, tag)
            self.notify()
            return image

    def tag_image(self, image: Image, tag: str) -> None:
        """Point `name:tag` at `image`, taking it from whichever image had it."""
        with self.lock:
            for other in self.images.values():
                if tag in other.repo_tags and other is not image:
                    other.repo_tags.remove(tag)
            if tag not in image.repo_tags:
                image.repo_tags.append(tag)
            self.notify()

    def image_by_tag(self, tagged: str) -> Image | None:
        for image in self.images.values():
            if tagged in image.repo_tags:
                return image
        return None

    def find_image(self, ref: str) -> Image | None:
        """By name[:tag], name@digest, full ID (with or without sha256:) or a unique ID prefix."""
        with self.lock:
            text = ref.removeprefix("sha256:") if re.fullmatch(r"(sha256:)?[a-f0-9]{64}", ref) else ref
            if re.fullmatch(r"[a-f0-9]{64}", text):
                return self.images.get("sha256:" + text)
            try:
                parsed = parse_reference(ref)
            except InvalidReference:
                parsed = None
            if parsed is not None:
                if parsed.digest:
                    for image in self.images.values():
                        if f"{parsed.name}@{parsed.digest}" in image.repo_digests:
                            return image
                else:
                    image = self.image_by_tag(parsed.tagged)
                    if image is not None:
                        return image
            prefix = ref.removeprefix("sha256:")
            if re.fullmatch(r"[a-f0-9]{1,64}", prefix):
                matches = [i for i in self.images.values() if i.id[7:].startswith(prefix)]
                if len(matches) == 1:
                    return matches[0]
            return None

    def children(self, image: Image) -> list[Image]:
        return [i for i in self.images.values() if i.parent == image.id]

    # -- containers -----------------------------------------------------------
    def find_container(self, ref: str) -> Container | None:
        """By full ID, name (with or without /), or unique ID prefix - what the user typed."""
        with self.lock:
            if ref in self.containers:
                return self.containers[ref]
            name = ref if ref.startswith("/") else "/" + ref
            for container in self.containers.values():
                if container.name == name:
                    return container
            if ref and re.fullmatch(r"[a-f0-9]+", ref):
                matches = [c for c in self.containers.values() if c.id.startswith(ref)]
                if len(matches) == 1:
                    return matches[0]
            return None

    def container_by_name(self, name: str) -> Container | None:
        name = name if name.startswith("/") else "/" + name
        return next((c for c in self.containers.values() if c.name == name), None)

    def generate_name(self) -> str:
        while True:
            name = f"/{random.choice(ADJECTIVES)}_{random.choice(SURNAMES)}"
            if name == "/boring_wozniak":  # Steve Wozniak is not boring (moby's namesgenerator)
                continue
            if self.container_by_name(name) is None:
                return name

    @staticmethod
    def new_id() -> str:
        while True:
            value = secrets.token_hex(32)
            if not value[:12].isdigit():  # an all-digit short ID would read as a number
                return value


def container_tree(image: Image, container_id: str, hostname: str) -> FileTree:
    """The container's files: the image's, plus what dockerd bind-mounts into every container."""
    tree = image.tree.copy()
    now = time.time()
    for path in ("/etc",):
        if path not in tree.nodes:
            tree.nodes[path] = Node("dir", 0o755)
    tree.nodes["/etc/hostname"] = Node("file", 0o644, f"{hostname}\n".encode(), mtime=now)
    tree.nodes["/etc/hosts"] = Node("file", 0o644, (
        "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
        f"172.17.0.2\t{hostname}\n").encode(), mtime=now)
    tree.nodes["/etc/resolv.conf"] = Node("file", 0o644, b"nameserver 127.0.0.11\n", mtime=now)
    tree.nodes["/.dockerenv"] = Node("file", 0o755, b"", mtime=now)
    return tree


MOUNTED_FILES = {"/etc/hostname", "/etc/hosts", "/etc/resolv.conf", "/.dockerenv"}
