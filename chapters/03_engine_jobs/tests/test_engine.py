"""The engine: handlers by name, a catch-all, installers, shutdown, and serving the API as jobs."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from pathlib import Path

import pytest

from minidock.daemon.installers import Daemon, serve_each
from minidock.engine import DuplicateHandler, Engine, EngineShutdown, Job
from minidock.engine.serveapi import ApiService, install_serveapi, notify_ready
from minidock.server.errors import NotFound
from minidock.server.server import Server


@pytest.fixture
def engine() -> Engine:
    return Engine(logger=logging.getLogger("test.engine"))


# ------------------------------------------------------------------- registration ----

def test_a_job_name_has_one_handler(engine: Engine) -> None:
    engine.register("create", lambda job: None)
    with pytest.raises(DuplicateHandler, match="a handler for job 'create' is already registered"):
        engine.register("create", lambda job: 1)
    assert engine.job("create").run() == 0, "the first handler stays"
    assert engine.has("create") and not engine.has("start")
    assert engine.names() == ["create"]
    with pytest.raises(ValueError, match="needs a name"):
        engine.register("", lambda job: None)


def test_the_catchall_serves_what_nobody_registered(engine: Engine) -> None:
    seen: list[str] = []
    engine.register("create", lambda job: seen.append("create handler"))
    engine.register_catchall(lambda job: seen.append(f"catch-all for {job.name}") or 3)
    assert engine.job("create").run() == 0
    assert engine.job("image_inspect").run() == 3
    assert seen == ["create handler", "catch-all for image_inspect"]
    assert not engine.has("image_inspect"), "has() is about registered names, not the catch-all"
    assert engine.job("").run() == 127, "an empty name is no job, catch-all or not"


def test_an_installer_registers_its_jobs(engine: Engine) -> None:
    class Registry:
        def install(self, engine: Engine) -> None:
            engine.register("search", lambda job: job.stdout.write(b"[]") and None)

    engine.install(Registry())
    job = engine.job("search", "busybox")
    out = job.stdout.add_buffer()
    assert job.run() == 0 and out.getvalue() == b"[]"


# ------------------------------------------------------------------------ shutdown ----

def blocking_job(engine: Engine) -> tuple[threading.Event, threading.Event, threading.Thread]:
    """A `wait` job that runs in a thread until released."""
    running, release = threading.Event(), threading.Event()

    def wait(job: Job) -> None:
        running.set()
        assert release.wait(10)

    engine.register("wait", wait)
    thread = threading.Thread(target=lambda: engine.job("wait", "web").run())
    thread.start()
    assert running.wait(5)
    return running, release, thread


def test_shutdown_refuses_new_jobs_and_waits_for_running_ones(engine: Engine) -> None:
    engine.register("ps", lambda job: None)
    _, release, thread = blocking_job(engine)
    assert [job.call_string() for job in engine.running] == ["wait(web)"]

    result: list[bool] = []
    shutdown = threading.Thread(target=lambda: result.append(engine.shutdown(timeout=10)))
    shutdown.start()
    deadline = time.monotonic() + 5
    while not engine.shutting_down and time.monotonic() < deadline:
        time.sleep(0.01)
    refused = engine.job("ps")
    assert refused.run() == 1
    assert isinstance(refused.error, EngineShutdown) and refused.error.status == 503
    assert str(refused.error) == "the daemon is shutting down: job 'ps' was not started"
    time.sleep(0.2)
    assert shutdown.is_alive() and result == [], "shutdown waits for the running job"

    release.set()
    shutdown.join(5)
    thread.join(5)
    assert result == [True] and engine.running == []


def test_shutdown_gives_up_after_its_timeout(engine: Engine, caplog: pytest.LogCaptureFixture) -> None:
    _, release, thread = blocking_job(engine)
    start = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="test.engine"):
        assert engine.shutdown(timeout=0.3) is False
    assert 0.3 <= time.monotonic() - start < 3
    assert "engine shutdown: 1 job(s) still running after 0.3s: wait(web)" in caplog.text
    release.set()
    thread.join(5)
    assert engine.shutdown(timeout=1) is True


def test_jobs_that_running_jobs_start_are_allowed_during_shutdown(engine: Engine) -> None:
    """Work in progress may finish: a running job may still call the jobs it needs."""
    release = threading.Event()
    statuses: list[int] = []

    def stop(job: Job) -> None:
        assert release.wait(10)
        statuses.append(job.engine.job("release_interface", "web").run())

    engine.register("stop", stop)
    engine.register("release_interface", lambda job: None)
    thread = threading.Thread(target=lambda: statuses.append(engine.job("stop", "web").run()))
    thread.start()
    threading.Timer(0.2, release.set).start()
    assert engine.shutdown(timeout=10) is True
    thread.join(5)
    assert statuses == [0, 0]


# ----------------------------------------------------------- serving the API is a job ----

def answer_ok(request, response) -> None:  # noqa: ANN001
    response.json(200, {"path": request.path})


def get(path: str, sock_path: str, timeout: float = 5.0) -> bytes:
    with socket.socket(socket.AF_UNIX) as client:
        client.settimeout(timeout)
        client.connect(sock_path)
        client.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := client.recv(65536):
            data += chunk
        return data


@pytest.fixture
def listener(tmp_path: Path):  # noqa: ANN201
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(tmp_path / "api.sock"))
    sock.listen(16)
    yield sock
    sock.close()


def test_serveapi_and_acceptconnections_serve_through_the_daemons_seam(
        listener: socket.socket, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    engine = Engine(logger=logging.getLogger("test.engine.serveapi"), debug=True)
    daemon = Daemon(config=None, router=None, logger=engine.logger,  # type: ignore[arg-type]
                    data_root=tmp_path, exec_root=tmp_path)
    assert daemon.serve_api is serve_each, "chapter 02's way, until an installer replaces it"
    service = install_serveapi(engine, daemon)
    assert daemon.serve_api == service.serve_api
    assert engine.has("serveapi") and engine.has("acceptconnections")

    server = Server(answer_ok)
    try:
        with caplog.at_level(logging.DEBUG, logger="test.engine.serveapi"):
            daemon.serve_api(server, [listener])  # what chapter 02's main.py calls
        address = f"unix://{tmp_path / 'api.sock'}"
        assert server.addresses == [address]
        assert b'{"path":"/_ping"}' in get("/_ping", str(tmp_path / "api.sock"))
        assert [m.split(" = ")[0].strip() for m in caplog.messages] == [
            f"+job serveapi({address})", f"-job serveapi({address})",
            "+job acceptconnections()", "-job acceptconnections()"]
    finally:
        server.shutdown(1)


def test_no_connection_is_answered_before_acceptconnections(listener: socket.socket, tmp_path: Path) -> None:
    engine = Engine()
    service = ApiService(engine)
    engine.install(service)
    server = Server(answer_ok)
    service.server, service.listeners = server, {f"unix://{tmp_path / 'api.sock'}": listener}
    try:
        engine.job("serveapi", f"unix://{tmp_path / 'api.sock'}").run_or_raise()
        with pytest.raises(TimeoutError):
            get("/early", str(tmp_path / "api.sock"), timeout=0.3)  # queued in the backlog
        engine.job("acceptconnections").run_or_raise()
        assert b'{"path":"/late"}' in get("/late", str(tmp_path / "api.sock"))
    finally:
        server.shutdown(1)


def test_serveapi_on_an_address_the_daemon_does_not_listen_on_is_not_found(engine: Engine) -> None:
    service = ApiService(engine)
    engine.install(service)
    job = engine.job("serveapi", "tcp://127.0.0.1:1")
    assert job.run() == 1 and isinstance(job.error, NotFound)
    assert str(job.error) == "serveapi: the daemon has no listener on tcp://127.0.0.1:1"
    assert engine.job("serveapi").run() == 1


def test_acceptconnections_tells_systemd_the_daemon_is_ready(tmp_path: Path, engine: Engine) -> None:
    path = str(tmp_path / "notify.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as systemd:
        systemd.bind(path)
        systemd.settimeout(5)
        assert notify_ready(engine, {"NOTIFY_SOCKET": path}) is True
        assert systemd.recv(100) == b"READY=1"
    assert notify_ready(engine, {}) is False
    assert notify_ready(engine, {"NOTIFY_SOCKET": str(tmp_path / "nobody")}) is False  # a warning, not a failure


def test_the_chapter_3_daemon_serves_its_api_through_jobs(start_daemon, tmp_path: Path) -> None:  # noqa: ANN001
    """A real `minidockd --debug` in the chapter-3 world: the two jobs, in order, then
    systemd hears READY=1 and the API answers on every -H."""
    notify_path = str(tmp_path / "notify.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as systemd:
        systemd.bind(notify_path)
        systemd.settimeout(20)
        daemon = start_daemon(env={"NOTIFY_SOCKET": notify_path})
        assert systemd.recv(100) == b"READY=1"
    log = daemon.log()
    serveapi = f"+job serveapi({daemon.unix_host}, {daemon.tcp_host})"
    assert serveapi in log, log
    assert log.index(serveapi) < log.index("+job acceptconnections()") < log.index("API listen on")
    assert daemon.request("GET", "/_ping").body == b"OK"
