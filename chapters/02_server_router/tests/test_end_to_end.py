"""Chapter 02's "done when", end to end: real clients against a real `minidockd`.

The clients are the real Go docker CLI 28, docker-py 7, chapter 01's
`minidock` command and raw bytes on a socket; the transports are unix, tcp
and fd:// (socket activation, with sockets we hand over ourselves). The
daemon runs in the chapter-2 world (MINIDOCK_CHAPTER=2), so every route but
`/_ping`, `/version` and `/info` answers 501 and names its chapter.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from minidock.testing import run_cli

CREATE_501 = "no handler for job 'create' in this chapter: chapter 03 (engine and jobs) installs it"
PS_501 = "no handler for job 'containers' in this chapter: chapter 03 (engine and jobs) installs it"
COMMON_HEADERS = {"api-version": "1.41", "ostype": "linux", "docker-experimental": "false",
                  "server": "minidock/0.1.0 (linux)"}


def assert_common_headers(reply, api_version: str = "1.41") -> None:  # noqa: ANN001 - conftest's Reply
    for name, value in {**COMMON_HEADERS, "api-version": api_version}.items():
        assert reply.headers.get(name) == value, f"{name}: {reply.headers.get(name)!r} in\n{reply.head.decode()}"


def meminfo_total() -> int:
    with open("/proc/meminfo") as meminfo:
        return next(int(line.split()[1]) * 1024 for line in meminfo if line.startswith("MemTotal:"))


# ---------------------------------------------------------------- the docker CLI ----

@pytest.mark.parametrize("transport", ["unix_host", "tcp_host"])
def test_docker_version_shows_the_servers_api_version(daemon, docker_cli, transport: str) -> None:  # noqa: ANN001
    result = docker_cli("-H", getattr(daemon, transport), "version")
    assert result.returncode == 0, result.stderr
    server = result.stdout.split("Server:", 1)[1]
    assert server.startswith(" minidock"), result.stdout
    assert "API version:      1.41 (minimum version 1.24)" in server
    assert f"Go version:       python{sys.version.split()[0]}" in server
    assert "API version:       1.41 (downgraded from 1.50)" in result.stdout.split("Server:", 1)[0]


def test_docker_info_prints_the_machines_facts(daemon, docker_cli) -> None:  # noqa: ANN001
    result = docker_cli("-H", daemon.unix_host, "info")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert f" Kernel Version: {os.uname().release}\n" in out
    assert f" CPUs: {len(os.sched_getaffinity(0))}\n" in out
    assert f" Total Memory: {meminfo_total() / 2**30:.4g}GiB\n" in out
    assert f" Docker Root Dir: {daemon.data_root}\n" in out
    assert " Swarm: inactive\n" in out
    assert "chapter 02 has no container runtime yet" in result.stderr  # Warnings go to stderr


def test_docker_ps_prints_the_501_naming_chapter_03_and_fails(daemon, docker_cli) -> None:  # noqa: ANN001
    result = docker_cli("-H", daemon.tcp_host, "ps")
    assert result.returncode != 0
    assert f"Error response from daemon: {PS_501}" in result.stderr


# ---------------------------------------------------------------- raw HTTP ----

def test_head_ping_has_the_headers_and_no_body(daemon) -> None:  # noqa: ANN001
    data = daemon.raw(b"HEAD /_ping HTTP/1.1\r\nHost: api\r\nConnection: close\r\n\r\n")
    assert data.endswith(b"\r\n\r\n"), f"nothing may follow the head of a HEAD answer: {data!r}"
    reply = daemon.request("HEAD", "/_ping")
    assert reply.status == 200 and reply.body == b""
    assert_common_headers(reply)
    assert reply.headers["cache-control"] == "no-cache, no-store, must-revalidate"
    assert reply.headers["pragma"] == "no-cache"
    get = daemon.request("GET", "/_ping", host=daemon.tcp_host)
    assert (get.status, get.body) == (200, b"OK")


@pytest.mark.parametrize("path", ["/v1.41/version", "/version", "/v1.24/version"])
def test_version_answers_versioned_and_unversioned(daemon, path: str) -> None:  # noqa: ANN001
    reply = daemon.request("GET", path)
    assert reply.status == 200, reply.body
    assert reply.headers["content-type"] == "application/json"
    body = reply.json()
    assert (body["ApiVersion"], body["MinAPIVersion"], body["Os"]) == ("1.41", "1.24", "linux")
    assert body["Experimental"] is False
    assert_common_headers(reply)


@pytest.mark.parametrize("path, status, message", [
    ("/v1.11/version", 400, "client version 1.11 is too old. Minimum supported API version is 1.24, "
                            "please upgrade your client to a newer version"),
    ("/v1.42/version", 400, "client version 1.42 is too new. Maximum supported API version is 1.41"),
    ("/v1.41/no/such/thing", 404, "page not found"),
    ("/containers/create", 405, None),
])
def test_errors_are_json_with_moby_messages_and_the_common_headers(daemon, path, status, message) -> None:  # noqa: ANN001
    reply = daemon.request("GET", path)
    assert reply.status == status, reply.body
    assert reply.headers["content-type"] == "application/json"  # exactly: docker-api.md §1.5
    if message is not None:
        assert reply.json() == {"message": message}
    assert_common_headers(reply)


def test_create_is_a_501_that_names_chapter_03(daemon) -> None:  # noqa: ANN001
    reply = daemon.request("POST", "/v1.41/containers/create", body=b'{"Image": "busybox"}',
                           headers={"Content-Type": "application/json"})
    assert reply.status == 501
    assert reply.headers["content-type"] == "application/json"
    assert reply.json() == {"message": CREATE_501}


def test_keep_alive_serves_several_requests_on_one_connection(daemon) -> None:  # noqa: ANN001
    with daemon.connect(daemon.tcp_host) as conn:
        conn.sendall(b"GET /_ping HTTP/1.1\r\nHost: a\r\n\r\n" * 2 + b"GET /v1.41/version HTTP/1.1\r\nHost: a\r\n"
                     b"Connection: close\r\n\r\n")
        data = b""
        while chunk := conn.recv(65536):
            data += chunk
    assert data.count(b"HTTP/1.1 200 OK") == 3


# ---------------------------------------------------------------- docker-py, chapter 01 ----

@pytest.mark.parametrize("transport", ["unix_host", "tcp_host"])
def test_docker_py_version_and_info(daemon, transport: str) -> None:  # noqa: ANN001
    docker = pytest.importorskip("docker")
    client = docker.DockerClient(base_url=getattr(daemon, transport), timeout=10)
    try:
        assert client.ping() is True
        version = client.version()
        assert version["ApiVersion"] == "1.41" and version["Components"][0]["Name"] == "Engine"
        assert client.api.api_version == "1.41", "docker-py's 'auto' took the daemon's version"
        info = client.info()
        assert info["OSType"] == "linux" and info["DockerRootDir"] == str(daemon.data_root)
        assert info["NCPU"] == len(os.sched_getaffinity(0)) and info["MemTotal"] == meminfo_total()
        with pytest.raises(docker.errors.APIError) as raised:
            client.containers.list()
        assert raised.value.status_code == 501 and "chapter 03" in str(raised.value)
    finally:
        client.close()


@pytest.mark.parametrize("transport", ["unix_host", "tcp_host"])
def test_the_chapter_1_client_works_against_the_chapter_2_daemon(daemon, transport: str) -> None:  # noqa: ANN001
    host = getattr(daemon, transport)
    version = run_cli("-H", host, "version")
    assert version.returncode == 0, version.stderr
    out = version.stdout.decode()
    assert "Server: minidock" in out and "1.41 (minimum version 1.24)" in out
    info = run_cli("-H", host, "info")
    assert info.returncode == 0, info.stderr
    assert f"Docker Root Dir: {daemon.data_root}" in info.stdout.decode()
    ps = run_cli("-H", host, "ps")
    assert ps.returncode == 1
    assert f"Error response from daemon: {PS_501}" in ps.stderr.decode()


# ---------------------------------------------------------------- fd:// ----

ACTIVATE = textwrap.dedent("""
    # What systemd does for a .socket unit: the listening sockets become
    # descriptors 3, 4, ... and LISTEN_PID names the process that may take them.
    # LISTEN_PID is only known after fork, so this process sets it to its own pid
    # and then exec()s the daemon, which keeps that pid.
    import os, sys
    fds = [int(fd) for fd in sys.argv[1].split(",")]
    for target, fd in enumerate(fds, start=3):
        os.dup2(fd, target)  # the test passes fds >= 10, so these never collide
        os.close(fd)
    os.environ["LISTEN_PID"] = str(os.getpid())
    os.environ["LISTEN_FDS"] = str(len(fds))
    os.execv(sys.executable, [sys.executable, "-m", "minidock.daemon", *sys.argv[2:]])
""")


def high_fd(sock: socket.socket) -> int:
    """A duplicate of the socket's descriptor numbered 10 or more (and inheritable)."""
    import fcntl

    fd = fcntl.fcntl(sock.fileno(), fcntl.F_DUPFD, 10)
    os.set_inheritable(fd, True)
    return fd


@pytest.fixture
def activation_sockets(tmp_path: Path):  # noqa: ANN201
    """A listening unix socket and a listening tcp socket, made by the test (the 'systemd')."""
    unix = socket.socket(socket.AF_UNIX)
    path = tmp_path / "activated.sock"
    unix.bind(str(path))
    unix.listen()
    tcp = socket.socket()
    tcp.bind(("127.0.0.1", 0))
    tcp.listen()
    fds = [high_fd(unix), high_fd(tcp)]
    yield path, tcp.getsockname()[1], fds
    for fd in fds:
        os.close(fd)
    unix.close()
    tcp.close()


def test_fd_socket_activation_serves_every_handed_over_socket(start_daemon, activation_sockets,  # noqa: ANN001
                                                              docker_cli) -> None:
    path, port, fds = activation_sockets
    daemon = start_daemon(hosts=["fd://"], listeners=2, pass_fds=tuple(fds),
                          command=[sys.executable, "-c", ACTIVATE, ",".join(map(str, fds))])
    for host in (f"unix://{path}", f"tcp://127.0.0.1:{port}"):
        result = docker_cli("-H", host, "version", "--format", "{{.Server.APIVersion}}")
        assert (result.returncode, result.stdout.strip()) == (0, "1.41"), result.stderr
    assert f'msg="API listen on {path}"' in daemon.log()
    assert daemon.stop() == 0
    assert path.exists(), "an activated socket belongs to whoever made it: the daemon leaves its file"


def test_fd_n_picks_one_handed_over_socket(start_daemon, activation_sockets) -> None:  # noqa: ANN001
    path, port, fds = activation_sockets
    daemon = start_daemon(hosts=["fd://4"], listeners=1, pass_fds=tuple(fds),
                          command=[sys.executable, "-c", ACTIVATE, ",".join(map(str, fds))])
    assert daemon.request("GET", "/version", host=f"tcp://127.0.0.1:{port}").status == 200
    assert daemon.log().count("API listen on") == 1
    assert f"API listen on 127.0.0.1:{port}" in daemon.log()


def test_fd_for_another_pid_is_refused(start_daemon, activation_sockets) -> None:  # noqa: ANN001
    _, _, fds = activation_sockets
    daemon = start_daemon(hosts=["fd://"], wait=False, pass_fds=tuple(fds),
                          env={"LISTEN_PID": "1", "LISTEN_FDS": "2"})
    assert daemon.wait_exit() == 1
    assert "LISTEN_PID=1 names another process" in daemon.log()


# ---------------------------------------------------------------- the API version setting ----

def test_api_version_setting_lowers_the_advertised_maximum(start_daemon, docker_cli) -> None:  # noqa: ANN001
    daemon = start_daemon("--api-version", "1.40")
    reply = daemon.request("GET", "/v1.41/version")
    assert reply.status == 400
    assert reply.json() == {"message": "client version 1.41 is too new. Maximum supported API version is 1.40"}
    assert_common_headers(reply, api_version="1.40")
    result = docker_cli("-H", daemon.unix_host, "version")
    assert result.returncode == 0, result.stderr
    assert "API version:       1.40 (downgraded from 1.50)" in result.stdout
    assert "API version:      1.40 (minimum version 1.24)" in result.stdout


def test_api_version_from_the_environment_raises_the_maximum(start_daemon) -> None:  # noqa: ANN001
    daemon = start_daemon(env={"MINIDOCK_API_VERSION": "1.44"})
    reply = daemon.request("GET", "/v1.44/version")
    assert reply.status == 200 and reply.json()["ApiVersion"] == "1.44"
    assert reply.headers["api-version"] == "1.44"


# ---------------------------------------------------------------- shutdown with requests running ----

SLOW_WAIT = """
    import time
    from pathlib import Path

    def install(daemon):
        def wait(request, response):
            (daemon.exec_root / "in-flight").write_text(request.vars["id"])
            time.sleep(float(request.param("sleep", "1")))
            response.json(200, {"StatusCode": 0, "Error": None})
        daemon.router.handlers["wait"] = wait
"""


def start_slow_request(daemon, seconds: float) -> tuple[socket.socket, float]:  # noqa: ANN001
    """Send a `/wait` that takes `seconds`; return once the handler is running."""
    conn = daemon.connect(daemon.tcp_host, timeout=30)
    conn.sendall(f"POST /v1.41/containers/c1/wait?sleep={seconds} HTTP/1.1\r\nHost: a\r\n"
                 f"Content-Length: 0\r\n\r\n".encode())
    marker = daemon.exec_root / "in-flight"
    deadline = time.monotonic() + 10
    while not marker.exists():
        assert time.monotonic() < deadline, daemon.log()
        time.sleep(0.01)
    return conn, time.monotonic()


def read_all(conn: socket.socket) -> bytes:
    data = b""
    try:
        while chunk := conn.recv(65536):
            data += chunk
    except ConnectionResetError:
        pass
    return data


def test_sigterm_lets_a_running_request_finish(start_daemon) -> None:  # noqa: ANN001
    daemon = start_daemon(installers={"ch99_slow": SLOW_WAIT})
    conn, started = start_slow_request(daemon, 1.5)
    os.kill(daemon.pid, signal.SIGTERM)
    daemon.wait_for_log("Processing signal 'terminated'", timeout=5)
    with pytest.raises(OSError):  # no new connections once the shutdown began
        socket.create_connection(("127.0.0.1", daemon.port), timeout=2).close()
    data = read_all(conn)
    conn.close()
    assert data.startswith(b"HTTP/1.1 200 OK\r\n"), data
    assert data.endswith(b'\r\n\r\n{"StatusCode":0,"Error":null}\n'), data
    assert b"Connection: close" in data, "the daemon is going away: no keep-alive"
    assert daemon.wait_exit() == 0
    assert time.monotonic() - started >= 1.4, "the daemon waited for the request"
    daemon.assert_clean_exit()


def test_the_shutdown_timeout_cuts_a_request_that_runs_too_long(start_daemon) -> None:  # noqa: ANN001
    daemon = start_daemon("--shutdown-timeout", "0.3", installers={"ch99_slow": SLOW_WAIT})
    conn, started = start_slow_request(daemon, 30)
    assert daemon.stop() == 0
    assert time.monotonic() - started < 10
    assert read_all(conn) == b"", "the cut request got no answer"
    conn.close()
    daemon.assert_clean_exit()


def test_a_second_signal_stops_waiting(start_daemon) -> None:  # noqa: ANN001
    daemon = start_daemon("--shutdown-timeout", "60", installers={"ch99_slow": SLOW_WAIT})
    conn, _ = start_slow_request(daemon, 30)
    os.kill(daemon.pid, signal.SIGTERM)
    daemon.wait_for_log("Processing signal 'terminated'", timeout=5)
    time.sleep(0.3)
    assert daemon.proc.poll() is None, "one signal: the daemon waits for the request"
    started = time.monotonic()
    status = daemon.stop(signal.SIGINT)
    assert time.monotonic() - started < 5
    assert status == 128 + signal.SIGINT
    assert "Forced shutdown" in daemon.log()
    assert not daemon.sock_path.exists() and not daemon.pidfile.exists(), "even a forced stop cleans up"
    conn.close()


def test_many_clients_at_once_are_all_answered(daemon) -> None:  # noqa: ANN001
    """One thread per connection: 50 clients with open connections do not wait for each other."""
    answers: list[int] = []
    lock = threading.Lock()

    def client(i: int) -> None:
        reply = daemon.request("GET", "/v1.41/version", host=daemon.unix_host if i % 2 else daemon.tcp_host)
        with lock:
            answers.append(reply.status)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert answers == [200] * 50
    assert json.loads(daemon.request("GET", "/info").body)["Containers"] == 0
