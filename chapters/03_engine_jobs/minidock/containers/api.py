"""The container routes: HTTP request -> engine job -> HTTP response.

This is Docker 1.5's `api/server/server.go` for containers. Each handler
decodes the request into a job, runs the job, and encodes what the job
printed. `POST /containers/create` there reads

    job := eng.Job("create", r.Form.Get("name"))
    if err := job.DecodeEnv(r.Body); err != nil { return err }
    job.Stdout.AddEnv() ...; if err := job.Run(); err != nil { return err }
    return writeJSON(w, http.StatusCreated, out)

and ours reads the same. The handler checks the *shape* of what the client
sent (query booleans and integers, a JSON object for a body: a 400 says what
was wrong); the job checks the *meaning* (does the container exist, is the
name free). A failed job raises its typed error (`job.run_or_raise()`), and
chapter 02's server turns it into a status in one place.

Three kinds of answers need more than JSON:

* streams (`logs`, `events`, `wait`, `stats`): the job's stdout is wired to
  a chunked response whose head goes out when the job says it is ready
  (`notify_ready`) or with its first byte - so a job that fails before
  that still gets a proper error status;
* hijacked connections (`attach`, `exec_start`): `101 UPGRADED`, then the
  job's stdout and stderr go to the socket - in 8-byte frames unless the
  container has a TTY - and the socket is the job's stdin;
* a client that hangs up: the job is told (`job.hangup`), and stops.
"""

from __future__ import annotations

import json
import select
import socket
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from minidock.client.stdcopy import STDERR, STDOUT, encode_frame
from minidock.containers.jobs import detach_keys, parse_filters
from minidock.server.errors import BadParameter, Conflict, NotModified
from minidock.server.request import Request
from minidock.server.response import ResponseWriter, Stream, encode_json

if TYPE_CHECKING:
    from minidock.engine import Engine, Job
    from minidock.server.system import DaemonFacts

Handler = Callable[[Request, ResponseWriter], None]

POLLRDHUP = getattr(select, "POLLRDHUP", 0x2000)


# -- the client, seen from a handler ----------------------------------------------------
# --8<-- [start:hangup]
def hangup_check(response: ResponseWriter, *, half_close_counts: bool) -> Callable[[], bool]:
    """What `job.hangup` asks: has the client gone - or is the daemon shutting down?

    At shutdown the server stops accepting and gives running requests time to
    finish; a stream that would run for ever (events, `logs -f`, an attach)
    ends at once instead, as Go's `http.Server.Close` cuts dockerd's."""
    sock, io = response.io.sock, response.io

    def hung_up() -> bool:
        return io.failed or not io.keep_alive() or client_hung_up(sock, half_close_counts=half_close_counts)

    return hung_up


def client_hung_up(sock: socket.socket, *, half_close_counts: bool) -> bool:
    """Has the client gone? Asked without reading a byte of what it may still send.

    `poll` reports POLLHUP when the connection is shut both ways (a unix
    socket whose peer closed, or one the daemon's shutdown cut), and
    POLLRDHUP when the peer said "no more input". On an HTTP request that is
    waiting for its answer (`/wait`, `/events`), no more input means the
    client has given up. On a hijacked stream it does not: it is stdin's end
    of file (the CLI half-closes after `echo hi | docker run -i`), and the
    output must still flow, so `half_close_counts=False` there."""
    try:
        poller = select.poll()
        poller.register(sock, select.POLLIN | POLLRDHUP)
        events = poller.poll(0)
    except (OSError, ValueError):
        return True  # closed under us
    if not events:
        return False
    mask = events[0][1]
    if mask & (select.POLLHUP | select.POLLERR | select.POLLNVAL):
        return True
    if not half_close_counts:
        return False
    if mask & POLLRDHUP:
        return True
    try:
        return sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True
# --8<-- [end:hangup]


# -- what a job's output is wired to -------------------------------------------------------
# --8<-- [start:writers]
class LazyStream:
    """A chunked response body whose head goes out as late as possible:
    when the job says it is ready, or with the job's first byte.

    Until then the handler can still answer with an error status. (Docker 1.5
    validated by hand before `job.Run()`, "because we can't return not StatusOK
    after": the head was sent by the first write.)"""

    def __init__(self, response: ResponseWriter, content_type: str | None = "application/json") -> None:
        self.response = response
        self.content_type = content_type
        self.stream: Stream | None = None
        self._lock = threading.Lock()

    def start(self) -> Stream:
        with self._lock:
            if self.stream is None:
                self.stream = self.response.stream(200, self.content_type)
            return self.stream

    def write(self, data: bytes) -> None:
        self.start().write(data)

    def close(self) -> None:
        if self.stream is not None:
            self.stream.close()


class SocketWriter:
    """Writes to a hijacked socket; one lock, so stdout and stderr frames never interleave."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self._lock = threading.Lock()

    def write(self, data: bytes) -> None:
        if data:
            with self._lock:
                self.sock.sendall(data)


class FrameWriter:
    """Each write becomes one stdcopy frame of one stream (1 stdout, 2 stderr): a
    connection without a TTY carries both streams, told apart by the 8-byte header."""

    def __init__(self, destination: Any, stream: int) -> None:
        self.destination = destination
        self.stream = stream

    def write(self, data: bytes) -> None:
        if data:
            self.destination.write(encode_frame(self.stream, data))
# --8<-- [end:writers]


def wire_output(job: Job, destination: Any, *, tty: bool) -> None:
    """The job's stdout and stderr to one destination: raw with a TTY, framed without."""
    if tty:
        job.stdout.add(destination)
        job.stderr.add(destination)
    else:
        job.stdout.add(FrameWriter(destination, STDOUT))
        job.stderr.add(FrameWriter(destination, STDERR))


# -- reading requests ----------------------------------------------------------------------
def decode_body(request: Request, job: Job, *, empty: str) -> None:
    """Docker's `job.DecodeEnv(r.Body)`, after moby's `CheckForJSON`: the body must be a
    JSON object with `Content-Type: application/json` (a 400 otherwise, `empty` if none)."""
    body = request.json_body(default=None)
    if body is None:
        raise BadParameter(empty)
    if not isinstance(body, dict):
        raise BadParameter("invalid JSON: the body must be a JSON object")
    job.env.decode_json(json.dumps(body))


def set_bool_params(request: Request, job: Job, *names: str, default: bool = False) -> None:
    """Query booleans (1/0/true/false/True/False, checked) into the job's env."""
    for name in names:
        job.env.set_bool(name, request.bool_param(name, default))


def set_text_params(request: Request, job: Job, *names: str) -> None:
    """Query parameters the job reads as text (and checks itself), when present."""
    for name in names:
        value = request.param(name)
        if value is not None:
            job.env.set(name, value)


def set_int_param(request: Request, job: Job, name: str, *, required: bool = False) -> None:
    value = request.param(name)
    if value in (None, ""):
        if required:
            raise BadParameter(f"missing query parameter {name!r}")
        return
    job.env.set_int(name, request.int_param(name, 0))


class ContainerAPI:
    """The HTTP handlers of chapter 03's routes, each running one job on `engine`."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def container_ref(self, request: Request) -> str:
        return request.vars.get("id", "")

    def inspect(self, ref: str) -> dict[str, Any]:
        """Run `container_inspect` (a 404 for an unknown container) and return its document."""
        job = self.engine.job("container_inspect", ref)
        out = job.stdout.add_buffer()
        job.run_or_raise()
        return json.loads(out.getvalue())

    def container_tty(self, ref: str) -> bool:
        """Does the container have a TTY? It decides the framing of its streams, as in
        Docker 1.5, where `attach` and `logs` ran `container_inspect` first."""
        return bool((self.inspect(ref).get("Config") or {}).get("Tty"))

    @staticmethod
    def run_json(job: Job, response: ResponseWriter, status: int = 200) -> None:
        """Run a job that prints one JSON value, and answer with it."""
        out = job.stdout.add_buffer()
        job.run_or_raise()
        response.raw(status, out.getvalue(), "application/json")

    @staticmethod
    def run_no_content(job: Job, response: ResponseWriter, status: int = 204) -> None:
        """Run a job that prints nothing: 204, or 304 when there was nothing to do
        (start of a running container). A 304 has no body, so it is not sent as an error."""
        try:
            job.run_or_raise()
        except NotModified:
            response.no_content(304)
            return
        response.no_content(status)

    # -- create, inspect, list -----------------------------------------------------------
    # --8<-- [start:create]
    def create(self, request: Request, response: ResponseWriter) -> None:
        """`POST /containers/create?name=N`: 201 `{"Id": ..., "Warnings": [...]}`."""
        name = request.param("name") or ""
        job = self.engine.job("create", *([name] if name else []))
        decode_body(request, job, empty="Config cannot be empty in order to create a container")
        self.run_json(job, response, 201)
    # --8<-- [end:create]

    def container_inspect(self, request: Request, response: ResponseWriter) -> None:
        job = self.engine.job("container_inspect", self.container_ref(request))
        set_bool_params(request, job, "size")
        self.run_json(job, response)

    def containers(self, request: Request, response: ResponseWriter) -> None:
        """`GET /containers/json?all=&limit=&size=&filters=`, plus the old `before=` / `since=`."""
        job = self.engine.job("containers")
        set_bool_params(request, job, "all", "size")
        set_int_param(request, job, "limit")
        filters = request.param("filters") or ""
        legacy = {key: {value: True} for key in ("before", "since") if (value := request.param(key))}
        if legacy:  # API < 1.22 sent these as parameters of their own; they are filters now
            filters = json.dumps({**parse_filters(filters), **legacy})
        if filters:
            job.env.set("filters", filters)
        self.run_json(job, response)

    # -- the lifecycle ---------------------------------------------------------------------
    def start(self, request: Request, response: ResponseWriter) -> None:
        """`POST /containers/{id}/start`: 204, or 304 if it was running already.

        A body was how API < 1.24 passed the HostConfig; moby refuses one now, and so do we."""
        body = request.read_body().strip()
        if body and body not in (b"null", b"{}"):
            raise BadParameter("starting container with non-empty request body was deprecated "
                               "since API v1.22 and removed in v1.24")
        self.run_no_content(self.engine.job("start", self.container_ref(request)), response)

    def stop(self, request: Request, response: ResponseWriter) -> None:
        """`POST /containers/{id}/stop?t=N&signal=S`."""
        job = self.engine.job("stop", self.container_ref(request))
        set_int_param(request, job, "t")
        set_text_params(request, job, "signal")
        self.run_no_content(job, response)

    def restart(self, request: Request, response: ResponseWriter) -> None:
        job = self.engine.job("restart", self.container_ref(request))
        set_int_param(request, job, "t")
        set_text_params(request, job, "signal")
        self.run_no_content(job, response)

    def kill(self, request: Request, response: ResponseWriter) -> None:
        """`POST /containers/{id}/kill?signal=S`: S is `KILL`, `SIGKILL` or `9`."""
        job = self.engine.job("kill", self.container_ref(request))
        set_text_params(request, job, "signal")
        self.run_no_content(job, response)

    def pause(self, request: Request, response: ResponseWriter) -> None:
        self.run_no_content(self.engine.job("pause", self.container_ref(request)), response)

    def unpause(self, request: Request, response: ResponseWriter) -> None:
        self.run_no_content(self.engine.job("unpause", self.container_ref(request)), response)

    def rm(self, request: Request, response: ResponseWriter) -> None:
        """`DELETE /containers/{id}?force=&v=&link=`."""
        job = self.engine.job("rm", self.container_ref(request))
        job.env.set_bool("force", request.bool_param("force"))
        job.env.set_bool("removeVolume", request.bool_param("v"))
        job.env.set_bool("removeLink", request.bool_param("link"))
        self.run_no_content(job, response)

    def rename(self, request: Request, response: ResponseWriter) -> None:
        """`POST /containers/{id}/rename?name=NEW`."""
        new_name = request.param("name") or ""
        if not new_name:
            raise BadParameter("Neither old nor new names may be empty")
        self.run_no_content(self.engine.job("rename", self.container_ref(request), new_name), response)

    def resize(self, request: Request, response: ResponseWriter) -> None:
        """`POST /containers/{id}/resize?h=&w=`: 200 with an empty body, as dockerd answers."""
        job = self.engine.job("resize", self.container_ref(request))
        set_int_param(request, job, "h", required=True)
        set_int_param(request, job, "w", required=True)
        job.run_or_raise()
        response.raw(200, b"", "text/plain; charset=utf-8")

    def top(self, request: Request, response: ResponseWriter) -> None:
        job = self.engine.job("top", self.container_ref(request))
        set_text_params(request, job, "ps_args")
        self.run_json(job, response)

    def update(self, request: Request, response: ResponseWriter) -> None:
        job = self.engine.job("container_update", self.container_ref(request))
        decode_body(request, job, empty="update needs a JSON body")
        self.run_json(job, response)

    def prune(self, request: Request, response: ResponseWriter) -> None:
        job = self.engine.job("containers_prune")
        set_text_params(request, job, "filters")
        self.run_json(job, response)

    # -- streams -----------------------------------------------------------------------------
    # --8<-- [start:wait]
    def wait(self, request: Request, response: ResponseWriter) -> None:
        """`POST /containers/{id}/wait?condition=`: the head at once, the body at the exit.

        `docker run` sends `/start` only after it has the head of `/wait`, so
        the head must not wait for the exit; and the wait must be registered
        before the head goes, or a quick container could exit in between.
        The job does both in that order: it registers, then calls
        `notify_ready`, which sends the head."""
        job = self.engine.job("wait", self.container_ref(request))
        set_text_params(request, job, "condition")
        self.run_stream(job, request, response, LazyStream(response))
    # --8<-- [end:wait]

    def run_stream(self, job: Job, request: Request, response: ResponseWriter, body: LazyStream,
                   *, tty: bool = True) -> None:
        """Run a streaming job: its output to `body` (framed unless `tty`), the head on
        readiness, and `job.hangup` true once the client has gone."""
        wire_output(job, body, tty=tty)
        job.on_ready = body.start
        job.hangup = hangup_check(response, half_close_counts=True)
        job.run_or_raise()
        body.start()  # a job that printed nothing still answers 200, with an empty body

    # --8<-- [start:logs]
    def logs(self, request: Request, response: ResponseWriter) -> None:
        """`GET /containers/{id}/logs?stdout=&stderr=&follow=&tail=&since=&until=&timestamps=`.

        Frames unless the container has a TTY, and no Content-Type: the
        client decides how to read the body from `Config.Tty`, as dockerd expects."""
        ref = self.container_ref(request)
        job = self.engine.job("logs", ref)
        set_bool_params(request, job, "stdout", "stderr", "follow", "timestamps")
        set_text_params(request, job, "tail", "since", "until")
        if not (job.env.get_bool("stdout") or job.env.get_bool("stderr")):
            raise BadParameter("Bad parameters: you must choose at least one stream")
        tty = self.container_tty(ref)
        self.run_stream(job, request, response, LazyStream(response, None), tty=tty)
    # --8<-- [end:logs]

    def events(self, request: Request, response: ResponseWriter) -> None:
        """`GET /events?since=&until=&filters=`: one JSON object per line, flushed each."""
        job = self.engine.job("events")
        set_text_params(request, job, "since", "until", "filters")
        self.run_stream(job, request, response, LazyStream(response))

    def stats(self, request: Request, response: ResponseWriter) -> None:
        """`GET /containers/{id}/stats?stream=`: one JSON object, or one per second."""
        job = self.engine.job("container_stats", self.container_ref(request))
        job.env.set_bool("stream", request.bool_param("stream", True))
        if not job.env.get_bool("stream"):
            self.run_json(job, response)
            return
        self.run_stream(job, request, response, LazyStream(response, "application/json"))

    # -- hijacked streams ----------------------------------------------------------------------
    # --8<-- [start:attach]
    def attach(self, request: Request, response: ResponseWriter) -> None:
        """`POST /containers/{id}/attach?stream=&logs=&stdin=&stdout=&stderr=&detachKeys=`.

        Everything that can fail with a status is checked first (the
        container, the detach keys); then `101 UPGRADED`, and from there on
        the socket is the job's stdin and its stdout/stderr."""
        ref = self.container_ref(request)
        job = self.engine.job("attach", ref)
        set_bool_params(request, job, "logs", "stream", "stdin", "stdout", "stderr")
        set_text_params(request, job, "detachKeys")
        detach_keys(job.env.get("detachKeys"))  # a 400 now, not a broken stream later
        tty = self.container_tty(ref)
        self.run_hijacked(job, response, tty=tty)
    # --8<-- [end:attach]

    # --8<-- [start:run_hijacked]
    def run_hijacked(self, job: Job, response: ResponseWriter, *, tty: bool) -> None:
        """`101 UPGRADED`, then run the job on the bare socket until its output ends.

        After the 101 there is no status to send: a job that fails writes its
        error into the stream, where the user sees it, as dockerd does."""
        sock, reader = response.hijack()
        out = SocketWriter(sock)
        wire_output(job, out, tty=tty)
        job.stdin.set_reader(reader)
        job.hangup = hangup_check(response, half_close_counts=False)
        try:
            if job.run() != 0 and job.error is not None:
                message = f"Error: {job.error}\r\n".encode()
                try:
                    out.write(message if tty else encode_frame(STDOUT, message))
                except OSError:
                    pass
        finally:
            # Output is over: end it (the client reads EOF), and wake the job's stdin
            # thread, blocked reading this socket. The server closes the socket next.
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
    # --8<-- [end:run_hijacked]

    # -- exec -----------------------------------------------------------------------------------
    def exec_create(self, request: Request, response: ResponseWriter) -> None:
        """`POST /containers/{id}/exec`: 201 `{"Id": ...}` (409 if the container is not running)."""
        job = self.engine.job("exec_create", self.container_ref(request))
        decode_body(request, job, empty="No exec command specified")
        self.run_json(job, response, 201)

    def exec_inspect_document(self, exec_id: str) -> dict[str, Any]:
        job = self.engine.job("exec_inspect", exec_id)
        out = job.stdout.add_buffer()
        job.run_or_raise()
        return json.loads(out.getvalue())

    # --8<-- [start:exec_start]
    def exec_start(self, request: Request, response: ResponseWriter) -> None:
        """`POST /exec/{id}/start` with `{"Detach": bool, "Tty": bool}`.

        Detached: 200 and an empty body. Attached: 101, *then* the process
        starts (its first bytes must not share a read with the head), and its
        exit code is recorded before the stream ends - the CLI asks
        `GET /exec/{id}/json` the moment it sees the end."""
        exec_id = request.vars.get("id", "")
        body = request.json_body(default={})
        if not isinstance(body, dict):
            raise BadParameter("invalid JSON: the body must be a JSON object")
        document = self.exec_inspect_document(exec_id)  # 404 for an unknown exec, before any 101
        if document.get("Running"):
            raise Conflict(f"Error: Exec command {exec_id} is already running")
        job = self.engine.job("exec_start", exec_id)
        job.env.set_bool("Detach", bool(body.get("Detach")))
        job.env.set_bool("Tty", bool(body.get("Tty")))
        if body.get("Detach"):
            job.run_or_raise()
            response.raw(200, b"", None)
            return
        self.run_hijacked(job, response, tty=bool(body.get("Tty")))
    # --8<-- [end:exec_start]

    def exec_resize(self, request: Request, response: ResponseWriter) -> None:
        job = self.engine.job("exec_resize", request.vars.get("id", ""))
        set_int_param(request, job, "h", required=True)
        set_int_param(request, job, "w", required=True)
        job.run_or_raise()
        response.raw(200, b"", "text/plain; charset=utf-8")

    def exec_inspect(self, request: Request, response: ResponseWriter) -> None:
        self.run_json(self.engine.job("exec_inspect", request.vars.get("id", "")), response)


# --8<-- [start:handlers]
# Job name (chapter 02's routes.py) -> the ContainerAPI method that answers its route.
HANDLERS: dict[str, str] = {
    "create": "create",
    "container_inspect": "container_inspect",
    "containers": "containers",
    "start": "start",
    "stop": "stop",
    "restart": "restart",
    "kill": "kill",
    "pause": "pause",
    "unpause": "unpause",
    "rm": "rm",
    "rename": "rename",
    "resize": "resize",
    "top": "top",
    "wait": "wait",
    "logs": "logs",
    "attach": "attach",
    "events": "events",
    "exec_create": "exec_create",
    "exec_start": "exec_start",
    "exec_resize": "exec_resize",
    "exec_inspect": "exec_inspect",
    "containers_prune": "prune",
    "container_update": "update",
    "container_stats": "stats",
}


def install(handlers: dict[str, Handler], engine: Engine, facts: DaemonFacts | None = None) -> ContainerAPI:
    """Put a handler on every route whose job chapter 03 brings (`router.handlers`), and
    (given chapter 02's facts) let `/info` count the containers."""
    api = ContainerAPI(engine)
    for job_name, method in HANDLERS.items():
        handlers[job_name] = getattr(api, method)
    if facts is not None:
        handlers["info"] = info_handler(facts, engine)
    return api
# --8<-- [end:handlers]


CHAPTER_03_WARNING = ("WARNING: minidock chapter 03 runs containers as plain host processes (as nobody): "
                      "no isolation until chapter 07")


def info_handler(facts: DaemonFacts, engine: Engine) -> Handler:
    """Chapter 02's `/info`, with the container counts that `docker info` shows, from
    the `containers` job (Docker 1.5's `info` job asked the daemon the same way)."""
    from dataclasses import replace

    from minidock.server.system import info_body

    facts = replace(facts, warnings=(CHAPTER_03_WARNING,))

    def info(request: Request, response: ResponseWriter) -> None:
        job = engine.job("containers", env={"all": "1"})
        out = job.stdout.add_buffer()
        job.run_or_raise()
        states = [item["State"] for item in json.loads(out.getvalue())]
        body = info_body(facts)
        body.update(Containers=len(states), ContainersRunning=states.count("running"),
                    ContainersPaused=states.count("paused"),
                    ContainersStopped=len(states) - states.count("running") - states.count("paused"))
        response.json(200, body)

    return info


__all__ = ["ContainerAPI", "HANDLERS", "install", "client_hung_up"]
