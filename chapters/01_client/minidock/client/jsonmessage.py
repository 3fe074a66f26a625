"""The JSON progress stream of pull, push, build, load and import (docker's `pkg/jsonmessage`).

Long operations answer with a chunked body of one JSON object per line
(docker-api.md §4.8):

    {"status": "Downloading", "id": "a3ed95caeb02", "progressDetail": {"current": 1024, "total": 2048}}
    {"stream": "Step 1/2 : FROM busybox\\n"}
    {"aux": {"Tag": "v1", "Digest": "sha256:...", "Size": 527}}
    {"errorDetail": {"message": "manifest unknown"}, "error": "manifest unknown"}

We split the work the way a reader can test it: a pure `ProgressModel` that
folds messages into "what the screen should say" (one line per layer id,
plus the plain text lines, in order of first appearance), and two views:

* `PlainView`, for pipes and files: docker's non-TTY output, one line per
  message, no progress bars (a log must not fill up with `\\r` redraws);
* `TerminalView`, for a terminal: one live row per layer, its bar updated in
  place (with rich, imported only here, only on a TTY).

An error inside the stream arrives *after* a 200 status, so it cannot be an
HTTP error: it becomes `StreamError`, raised once the earlier messages have
been shown.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, TextIO

from minidock.client.errors import StreamError


# --8<-- [start:model]
@dataclass
class LayerLine:
    """The latest word about one layer (or one tag line such as `latest: Pulling from ...`)."""

    id: str
    status: str = ""
    current: int = 0
    total: int = 0
    progress: str = ""  # the daemon's own text bar, e.g. "[==>   ]  1.2MB/3.4MB"

    @property
    def has_progress(self) -> bool:
        return self.current > 0 or self.total > 0


@dataclass
class TextLine:
    """A line that is never updated: a status without id, or `stream` text."""

    text: str


@dataclass
class ProgressModel:
    """Everything the stream said so far, as the final screen should show it.

    Invariant: `lines` holds each `LayerLine` once, at the place where its id
    first appeared, and `layers[id]` is that same object, so updating a layer
    updates its line in place; `TextLine`s are appended as they come.
    """

    lines: list[LayerLine | TextLine] = field(default_factory=list)
    layers: dict[str, LayerLine] = field(default_factory=dict)
    aux: list[dict[str, Any]] = field(default_factory=list)

    def apply(self, message: dict[str, Any]) -> None:
        """Fold one message in; an error message raises `StreamError`."""
        error = stream_error(message)
        if error is not None:
            raise error
        if "aux" in message:
            self.aux.append(message["aux"])
            return
        if message.get("id"):
            self._update_layer(message)
        elif message.get("stream"):
            self.lines.append(TextLine(message["stream"]))
        elif "status" in message:
            self.lines.append(TextLine(message["status"] + "\n"))

    def _update_layer(self, message: dict[str, Any]) -> None:
        layer_id = str(message["id"])
        line = self.layers.get(layer_id)
        if line is None:
            line = self.layers[layer_id] = LayerLine(layer_id)
            self.lines.append(line)
        line.status = str(message.get("status", ""))
        detail = message.get("progressDetail") or {}
        line.current, line.total = _int(detail.get("current")), _int(detail.get("total"))
        line.progress = str(message.get("progress") or "")
# --8<-- [end:model]


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


# --8<-- [start:error]
def stream_error(message: dict[str, Any]) -> StreamError | None:
    """The error a message carries, if any: `errorDetail` (or the older bare `error`)."""
    detail = message.get("errorDetail")
    if isinstance(detail, dict) and (detail.get("message") or detail.get("code")):
        code = _int(detail.get("code"))
        if code == 401:  # docker's wording: the registry wants credentials
            return StreamError("authentication is required", code)
        return StreamError(str(detail.get("message", "")), code)
    if message.get("error"):
        return StreamError(str(message["error"]))
    return None
# --8<-- [end:error]


# --8<-- [start:plain]
def plain_line(message: dict[str, Any]) -> str:
    """What docker prints for one message when stdout is not a terminal (`JSONMessage.Display`).

    A message that carries a byte count is a bar update: without a terminal
    to redraw it, it is dropped, so a log shows `Downloading` once at most.
    """
    detail = message.get("progressDetail") or {}
    if _int(detail.get("current")) > 0 or _int(detail.get("total")) > 0:
        return ""
    text = f"{message['id']}: " if message.get("id") else ""
    if message.get("from"):
        text += f"(from {message['from']}) "
    if message.get("progress"):
        return text + f"{message.get('status', '')} {message['progress']}\n"
    if message.get("stream"):
        return text + message["stream"]
    return text + f"{message.get('status', '')}\n"


class PlainView:
    """One line per message, written as it arrives (docker's non-TTY output)."""

    def __init__(self, out: TextIO) -> None:
        self.out = out

    def show(self, message: dict[str, Any], model: ProgressModel) -> None:
        if "aux" in message:
            return
        text = plain_line(message)
        if text:
            self.out.write(text)
            self.out.flush()

    def close(self, model: ProgressModel) -> None:
        self.out.flush()
# --8<-- [end:plain]


# --8<-- [start:terminal]
class TerminalView:
    """Live rows on a terminal: one per layer, updated in place, with a bar.

    Rows are "active" from a layer's first progress message until a line
    without progress arrives (docker resets its row map at such a line, so a
    row is never moved above text printed after it). Text lines and rows
    that stop being active are printed for good above the live region; at
    the end the live region is replaced by the rows' final state.
    """

    def __init__(self, out: TextIO) -> None:
        from rich.console import Console
        from rich.live import Live

        self.console = Console(file=out, force_terminal=True, highlight=False, soft_wrap=True)
        self.live = Live(console=self.console, auto_refresh=False, transient=True, redirect_stdout=False,
                         redirect_stderr=False)
        self.active: list[str] = []
        self.partial = ""  # stream text not yet ended by a newline
        self.live.start()

    def show(self, message: dict[str, Any], model: ProgressModel) -> None:
        if "aux" in message:
            return
        layer_id = message.get("id")
        if layer_id and ("progressDetail" in message or message.get("progress")):
            if layer_id not in self.active:
                self.active.append(str(layer_id))
            self.live.update(self._rows(model), refresh=True)
            return
        self._commit_rows(model)
        if layer_id:
            self._write(f"{layer_id}: {message.get('status', '')}\n")
        elif message.get("stream"):
            self._write(message["stream"])
        elif "status" in message:
            self._write(f"{message['status']}\n")

    def _write(self, text: str) -> None:
        """Print whole lines above the live region; keep a partial line until its end comes.

        (A build sends `Step 1/5 : FROM busybox` and its newline as two
        messages; half a line printed above a live region would be redrawn over.)
        """
        complete, newline, self.partial = (self.partial + text).rpartition("\n")
        if newline:
            self.console.out(complete, highlight=False)

    def _commit_rows(self, model: ProgressModel) -> None:
        if self.active:
            self.console.print(self._rows(model))
            self.active = []
            self.live.update("", refresh=True)

    def _rows(self, model: ProgressModel):  # noqa: ANN202 - a rich renderable
        from rich.progress_bar import ProgressBar
        from rich.table import Table
        from rich.text import Text  # plain text: a status with [brackets] is not rich markup

        grid = Table.grid(padding=(0, 1))
        grid.add_column(no_wrap=True)
        grid.add_column()
        grid.add_column(no_wrap=True)
        for layer_id in self.active:
            line = model.layers[layer_id]
            bar = ProgressBar(total=line.total, completed=min(line.current, line.total), width=40,
                              finished_style="green") if line.total > 0 else ""
            grid.add_row(Text(f"{line.id}: {line.status}"), bar, Text(_amount(line)))
        return grid

    def close(self, model: ProgressModel) -> None:
        self._commit_rows(model)
        if self.partial:
            self.console.out(self.partial, highlight=False)
            self.partial = ""
        self.live.stop()
# --8<-- [end:terminal]


def _amount(line: LayerLine) -> str:
    if line.total > 0:
        return f"{human_size(line.current)}/{human_size(line.total)}"
    return human_size(line.current) if line.current > 0 else ""


def human_size(size: float) -> str:
    """Sizes the way docker prints them (go-units `HumanSize`: decimal units, 4 significant digits)."""
    units = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"]
    index = 0
    while size >= 1000 and index < len(units) - 1:
        size /= 1000.0
        index += 1
    return f"{size:.4g}{units[index]}"


# --8<-- [start:display]
def display_stream(messages: Iterable[dict[str, Any]], out: TextIO, *, tty: bool) -> list[dict[str, Any]]:
    """Render a progress stream on `out`; return its `aux` payloads (push's digest, build's image ID).

    Raises `StreamError` at the first error message, after everything
    before it was shown.
    """
    model = ProgressModel()
    view = TerminalView(out) if tty else PlainView(out)
    try:
        for message in messages:
            model.apply(message)
            view.show(message, model)
    finally:
        view.close(model)
    return model.aux
# --8<-- [end:display]
