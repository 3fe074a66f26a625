"""The registry routes: HTTP request -> engine job -> HTTP response.

Chapter 02's route table already names the jobs: `POST /images/create` with
`fromImage=` is `pull`, `POST /images/{name}/push` is `push`, `GET
/images/search` is `search` and `POST /auth` is `auth`. This module gives
those routes their handlers, as chapter 03's `containers/api.py` does for
the container routes: decode the request into a job, run it, encode what it
printed.

A pull answers with a *progress stream*: one JSON object per line,
each line ended by `\\r\\n` as dockerd's `streamformatter` writes it. The
head (200, `application/json`, chunked) goes out with the first line, not
before, so that a pull that fails before it starts - an unknown image, a
registry that refuses us - still gets a real status: the wire capture of
`docker pull localhost:5001/test/nope` shows a plain 404 with
`{"message": "manifest for ... not found: ..."}`. Once the stream has
started, a failure can only be told *in* the stream, and dockerd does it
with a last line `{"errorDetail": {"message": M}, "error": M}`, which the
CLI prints and exits 1 on.

The credentials come in the `X-Registry-Auth` header: base64url of a JSON
`{"username", "password", "serveraddress", "identitytoken"}` (`e30=`, that
is `{}`, when the CLI has none). The handler passes it on untouched; the job
decodes it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING

from minidock.containers.api import LazyStream, hangup_check
from minidock.server.errors import BadParameter
from minidock.server.request import Request
from minidock.server.response import ResponseWriter

if TYPE_CHECKING:
    from minidock.engine import Engine, Job

Handler = Callable[[Request, ResponseWriter], None]

AUTH_HEADER = "X-Registry-Auth"
CRLF = b"\r\n"


def error_line(message: str) -> bytes:
    """The last line of a progress stream that failed (dockerd's `FormatError`)."""
    return json.dumps({"errorDetail": {"message": message}, "error": message}).encode() + CRLF


class ProgressBody:
    """The job prints one JSON object per line (`\\n`); the wire wants `\\r\\n` after each.

    Writes are whole lines (the job prints a message at a time), so the
    ending is replaced as the bytes pass."""

    def __init__(self, body: LazyStream) -> None:
        self.body = body

    def write(self, data: bytes) -> None:
        if data:
            self.body.write(data.replace(b"\r\n", b"\n").replace(b"\n", CRLF))


class RegistryAPI:
    """The HTTP handlers of chapter 04's routes, each running one job on `engine`."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # --8<-- [start:run_progress]
    def run_progress(self, job: Job, response: ResponseWriter) -> None:
        """Run a job that streams progress: the head with its first line, and a failure
        after that as the stream's last line (before it, as the error's own status)."""
        body = LazyStream(response, "application/json")
        job.stdout.add(ProgressBody(body))
        job.on_ready = body.start
        job.hangup = hangup_check(response, half_close_counts=True)
        try:
            job.run_or_raise()
        except Exception as exc:
            if body.stream is None:
                raise  # nothing sent yet: chapter 02's server answers with the error's status
            body.write(error_line(str(exc)))
        body.start()
    # --8<-- [end:run_progress]

    # --8<-- [start:pull]
    def pull(self, request: Request, response: ResponseWriter) -> None:
        """`POST /images/create?fromImage=NAME&tag=TAG[&platform=os/arch]`."""
        image = request.param("fromImage") or ""
        if not image:
            raise BadParameter("fromImage is required")
        job = self.engine.job("pull", image, request.param("tag") or "")
        job.env.set("authConfig", request.headers.get(AUTH_HEADER) or "")
        job.env.set("platform", request.param("platform") or "")
        self.run_progress(job, response)
    # --8<-- [end:pull]

    # --8<-- [start:push]
    def push(self, request: Request, response: ResponseWriter) -> None:
        """`POST /images/{name}/push?tag=TAG` with `X-Registry-Auth`: the push job's progress stream."""
        job = self.engine.job("push", request.vars.get("name", ""), request.param("tag") or "")
        job.env.set("authConfig", request.headers.get(AUTH_HEADER) or "")
        self.run_progress(job, response)
    # --8<-- [end:push]

    def search(self, request: Request, response: ResponseWriter) -> None:
        """`GET /images/search?term=T&limit=N&filters=F`: a JSON list, as Docker Hub answers."""
        term = request.param("term") or ""
        if not term:
            raise BadParameter("term is required")
        job = self.engine.job("search", term)
        job.env.set_int("limit", request.int_param("limit", 25))
        job.env.set("filters", request.param("filters") or "")
        job.env.set("authConfig", request.headers.get(AUTH_HEADER) or "")
        out = job.stdout.add_buffer()
        job.run_or_raise()
        response.raw(200, out.getvalue(), "application/json")

    def auth(self, request: Request, response: ResponseWriter) -> None:
        """`POST /auth` with `{"username", "password", "serveraddress"}`:
        `{"IdentityToken": "", "Status": "Login Succeeded"}` once the registry said yes."""
        body = request.json_body(default=None)
        if not isinstance(body, dict):
            raise BadParameter("invalid JSON: the body must be a JSON object")
        job = self.engine.job("auth")
        job.env.set_json("authConfig", body)
        out = job.stdout.add_buffer()
        job.run_or_raise()
        response.raw(200, out.getvalue(), "application/json")


# --8<-- [start:handlers]
HANDLERS = {"pull": "pull", "push": "push", "search": "search", "auth": "auth"}


def install(handlers: dict[str, Handler], engine: Engine) -> RegistryAPI:
    """Put a handler on every route whose job chapter 04 brings (`router.handlers`)."""
    api = RegistryAPI(engine)
    for job_name, method in HANDLERS.items():
        handlers[job_name] = getattr(api, method)
    return api
# --8<-- [end:handlers]
