"""Exec endpoints: create an exec in a running container, start it (hijacked), resize, inspect.

The exit code is recorded before the hijacked stream closes: the CLI asks
`GET /exec/{id}/json` the moment the stream ends, and must find it there.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from minidock.fakedaemon import lifecycle
from minidock.fakedaemon.api_containers import find
from minidock.fakedaemon.state import Exec
from minidock.fakedaemon.streams import DEFAULT_DETACH_KEYS, frame, parse_detach_keys, serve_hijacked
from minidock.fakedaemon.wire import BadRequest, NotFound, Request, Responder

if TYPE_CHECKING:
    from minidock.fakedaemon.daemon import FakeDaemon


HEAD_GRACE = 0.05  # seconds between the 101 head and the first stream byte


def find_exec(daemon: FakeDaemon, req: Request) -> Exec:
    exec_id = req.params["id"]
    record = daemon.state.execs.get(exec_id)
    if record is None:
        raise NotFound(f"No such exec instance: {exec_id}")
    return record


def create(daemon: FakeDaemon, req: Request, res: Responder) -> None:
    container = find(daemon, req)
    body = req.json(None)
    if body is None:
        raise BadRequest("No exec command specified")
    record = lifecycle.create_exec(daemon.state, container, body)
    res.send_json(201, {"Id": record.id})


def start(daemon: FakeDaemon, req: Request, res: Responder) -> None:
    record = find_exec(daemon, req)
    body = req.json({}) or {}
    if not isinstance(body, dict):
        raise BadRequest("invalid exec start configuration")
    detach = bool(body.get("Detach"))
    tty = bool(record.config.get("Tty"))
    keys = parse_detach_keys(record.config.get("DetachKeys") or DEFAULT_DETACH_KEYS)
    if detach:
        failure = lifecycle.start_exec(daemon.state, record)
        if failure:
            raise BadRequest(failure)
        res.send(200, b"", None, {"Content-Length": "0"})
        return
    with daemon.state.lock:  # the checks of start_exec, before we give up the HTTP answer
        if record.running or record.exit_code is not None:
            lifecycle.start_exec(daemon.state, record)  # raises the right Conflict
    conn = res.hijack()
    # The head goes out before the process starts, and a moment before its first byte:
    # docker-py reads the head through a buffered file, and stream bytes that arrive
    # in the same recv() are lost to it (docker-py issues #3332, #2042).
    time.sleep(HEAD_GRACE)
    failure = lifecycle.start_exec(daemon.state, record)
    streams = {s for s, key in ((1, "AttachStdout"), (2, "AttachStderr")) if record.config.get(key, True)}
    if failure:
        message = (failure + "\r\n").encode()
        conn.send(message if tty else frame(1, message))
        conn.close_write()
        return
    process = record.process
    serve_hijacked(
        conn, record.log, 0, 1, tty, streams,
        stdin_sink=process.feed_stdin if record.config.get("AttachStdin") else None,
        on_stdin_eof=(lambda: None) if tty else process.close_stdin, detach_keys=keys,
    )


def resize(daemon: FakeDaemon, req: Request, res: Responder) -> None:
    record = find_exec(daemon, req)
    lifecycle.resize(record, req.int_arg("h", 0), req.int_arg("w", 0))
    res.send(200, b"", "text/plain; charset=utf-8")


def inspect(daemon: FakeDaemon, req: Request, res: Responder) -> None:
    record = find_exec(daemon, req)
    argv = record.argv
    res.send_json(200, {
        "ID": record.id, "Running": record.running, "ExitCode": record.exit_code,
        "ProcessConfig": {"tty": bool(record.config.get("Tty")), "entrypoint": argv[0], "arguments": argv[1:],
                          "privileged": bool(record.config.get("Privileged")), "user": record.config.get("User", "")},
        "OpenStdin": bool(record.config.get("AttachStdin")), "OpenStderr": bool(record.config.get("AttachStderr")),
        "OpenStdout": bool(record.config.get("AttachStdout")), "CanRemove": False,
        "ContainerID": record.container.id, "DetachKeys": record.config.get("DetachKeys", ""),
        "Pid": record.pid if record.running else 0,
    })
