"""dockerd's pull and push progress messages, as data.

The daemon tells the client how a pull or push is going with one JSON object
per line (chapter 01's `jsonmessage` renders them). Both docker's CLI and
ours key the screen on `id`: the first 12 hex digits of a layer's digest, or
the tag for the `Pulling from` line. The wording below is dockerd 20.10's,
byte for byte (docker-api-wire-captures.txt, sections `pull`, `run-pull`,
`push`), because scripts and tests grep for it:

    {"status":"Pulling from test/busybox","id":"v1"}
    {"status":"Pulling fs layer","progressDetail":{},"id":"ee6a2997b890"}
    {"status":"Downloading","progressDetail":{"current":36412,"total":1065149},
     "progress":"[=>          ...]  36.41kB/1.065MB","id":"ee6a2997b890"}
    {"status":"Verifying Checksum","progressDetail":{},"id":"ee6a2997b890"}
    {"status":"Download complete","progressDetail":{},"id":"ee6a2997b890"}
    {"status":"Pull complete","progressDetail":{},"id":"ee6a2997b890"}
    {"status":"Digest: sha256:..."}
    {"status":"Status: Downloaded newer image for localhost:5001/test/busybox:v1"}

The registry client never writes to a socket: it calls a `Progress`
callback with these dicts, and the engine job that runs it decides where
they go (the HTTP response, a log, a test's list).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from minidock.client.jsonmessage import human_size

Message = dict[str, Any]
Progress = Callable[[Message], None]

BAR_WIDTH = 50  # jsonmessage.JSONProgress at the daemon's width (no terminal: 200 columns)


def discard(message: Message) -> None:
    """The default callback: nobody is listening."""


def short_id(digest: str) -> str:
    """A layer's id on screen: the first 12 hex digits of its digest (`sha256:` dropped)."""
    return digest.partition(":")[2][:12]


# --8<-- [start:progress_bar]
def progress_bar(current: int, total: int) -> str:
    """`JSONProgress.String()` as dockerd renders it: `[=====>     ]  1.2MB/3.4MB`."""
    if current <= 0 and total <= 0:
        return ""
    if total <= 0:
        return f"{human_size(current):>8}"
    percentage = min(int(current / total * 100) // 2, BAR_WIDTH)
    bar = "[" + "=" * percentage + ">" + " " * (BAR_WIDTH - percentage) + "] "
    if current > total:  # a wonky total: docker drops it
        return f"{bar}{human_size(current):>8}"
    return f"{bar}{human_size(current):>8}/{human_size(total)}"
# --8<-- [end:progress_bar]


def status(text: str) -> Message:
    """A line without id: `Digest: ...`, `Status: ...`, `The push refers to ...`."""
    return {"status": text}


def layer(action: str, digest: str) -> Message:
    """A per-layer word without numbers: `Pulling fs layer`, `Pull complete`, `Pushed`..."""
    return {"status": action, "progressDetail": {}, "id": short_id(digest)}


def layer_progress(action: str, digest: str, current: int, total: int) -> Message:
    """`Downloading` / `Pushing` with numbers and the daemon's own text bar."""
    return {"status": action, "progressDetail": {"current": current, "total": total},
            "progress": progress_bar(current, total), "id": short_id(digest)}


# Pull
def pulling_from(path: str, tag_or_digest: str) -> Message:
    return {"status": f"Pulling from {path}", "id": tag_or_digest}


def pull_digest(digest: str) -> Message:
    return status(f"Digest: {digest}")


def pull_status(name: str, downloaded: bool) -> Message:
    """The last line: something new arrived, or everything was already here."""
    verb = "Downloaded newer image for" if downloaded else "Image is up to date for"
    return status(f"Status: {verb} {name}")


# Push
def push_refers_to(repository: str) -> Message:
    return status(f"The push refers to repository [{repository}]")


def push_digest(tag: str, digest: str, size: int) -> Message:
    return status(f"{tag}: digest: {digest} size: {size}")


def push_aux(tag: str, digest: str, size: int) -> Message:
    """What `docker push` keeps as the result (docker-py returns it too)."""
    return {"progressDetail": {}, "aux": {"Tag": tag, "Digest": digest, "Size": size}}


PULLING_FS_LAYER = "Pulling fs layer"
WAITING = "Waiting"
DOWNLOADING = "Downloading"
VERIFYING = "Verifying Checksum"
DOWNLOAD_COMPLETE = "Download complete"
PULL_COMPLETE = "Pull complete"
ALREADY_EXISTS = "Already exists"
PREPARING = "Preparing"
PUSHING = "Pushing"
PUSHED = "Pushed"
LAYER_EXISTS = "Layer already exists"
MOUNTED_FROM = "Mounted from"  # + " <repository>"
