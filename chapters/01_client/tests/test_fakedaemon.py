"""The fake daemon is faithful: the real Go docker CLI and docker-py work against it.

Chapter 01's client is tested against `minidock.fakedaemon`. That proves
something only if the fake answers the way dockerd does, so here the fake
is driven by the reference clients themselves - /usr/local/bin/docker (CLI
28) and docker-py - over its unix socket and over tcp, and by raw sockets
for what clients never send (malformed requests).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minidock.fakedaemon import FakeDaemon
from minidock.testing import DOCKER_CLI, skip_or_fail

DOCKER = DOCKER_CLI


def docker(daemon: FakeDaemon, *args: str, host: str | None = None, input: bytes | None = None,
           env: dict[str, str] | None = None, timeout: float = 15) -> subprocess.CompletedProcess:
    if not Path(DOCKER).exists():
        skip_or_fail(f"no reference docker CLI (looked for $MINIDOCK_TEST_DOCKER, /usr/local/bin/docker, PATH)")
    environ = {k: v for k, v in os.environ.items() if not k.startswith("DOCKER_")}
    environ["DOCKER_CONFIG"] = str(daemon.workdir / "docker-config")  # never the user's ~/.docker
    environ.update(env or {})
    return subprocess.run([DOCKER, "-H", host or daemon.unix_host, *args], input=input, capture_output=True,
                          env=environ, timeout=timeout)


def raw_exchange(daemon: FakeDaemon, data: bytes, timeout: float = 5) -> bytes:
    """Send raw bytes, read until the daemon closes or goes quiet."""
    with daemon.connect() as sock:
        sock.settimeout(timeout)
        sock.sendall(data)
        chunks = []
        try:
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
                if b"\r\n\r\n" in b"".join(chunks) and b"Content-Length: " in b"".join(chunks):
                    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
                    length = int(head.split(b"Content-Length: ")[1].split(b"\r\n")[0])
                    if len(body) >= length:
                        break
        except socket.timeout:
            pass
    return b"".join(chunks)


def status_and_json(response: bytes) -> tuple[int, dict[str, str], object]:
    head, _, body = response.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), headers, json.loads(body) if body.strip() else None


@pytest.fixture
def daemon(tmp_path: Path):
    with FakeDaemon(tmp_path) as fake:
        yield fake


# ---------------------------------------------------------------- the docker CLI ----
def test_docker_version_shows_the_fake_at_api_1_41(daemon: FakeDaemon) -> None:
    result = docker(daemon, "version")
    assert result.returncode == 0, result.stderr
    out = result.stdout.decode()
    assert "Server: minidock fake daemon" in out
    assert "API version:      1.41 (minimum version 1.24)" in out
    kernel = docker(daemon, "version", "--format", "{{.Server.KernelVersion}}").stdout.decode().strip()
    assert kernel == os.uname().release, "the fake tells the truth where there is one"
    assert daemon.requests[:2] == [("HEAD", "/_ping"), ("GET", "/v1.41/version")]


def test_run_rm_echo_prints_hi_and_the_daemon_removes_the_container(daemon: FakeDaemon) -> None:
    result = docker(daemon, "run", "--rm", "busybox", "echo", "hi")
    assert (result.returncode, result.stdout, result.stderr) == (0, b"hi\n", b"")
    paths = [path.split("?")[0].rsplit("/", 1)[-1] + ("?" + path.split("?")[1] if "?" in path else "")
             for _, path in daemon.requests]
    assert "wait?condition=removed" in paths
    assert paths.index("wait?condition=removed") < paths.index("start"), "run waits before it starts"
    assert docker(daemon, "ps", "-aq").stdout == b""


def test_run_keeps_stdout_and_stderr_apart_and_exits_with_the_status(daemon: FakeDaemon) -> None:
    result = docker(daemon, "run", "--rm", "busybox", "sh", "-c", "echo out; echo err >&2; exit 3")
    assert (result.returncode, result.stdout, result.stderr) == (3, b"out\n", b"err\n")


def test_detached_container_lives_in_ps_and_logs_until_rm_f(daemon: FakeDaemon) -> None:
    started = docker(daemon, "run", "-d", "--name", "sleeper", "busybox", "sh", "-c", "echo ready; sleep 100")
    assert started.returncode == 0, started.stderr
    container_id = started.stdout.decode().strip()
    assert len(container_id) == 64
    ps = docker(daemon, "ps").stdout.decode().splitlines()
    assert len(ps) == 2 and ps[1].startswith(container_id[:12]) and "Up " in ps[1] and ps[1].endswith("sleeper")
    deadline = time.monotonic() + 5
    while docker(daemon, "logs", "sleeper").stdout != b"ready\n":
        assert time.monotonic() < deadline, "the container's output never reached its log"
        time.sleep(0.05)
    assert docker(daemon, "rm", "-f", "sleeper").stdout == b"sleeper\n"
    assert docker(daemon, "ps", "-aq").stdout == b""


def test_one_letter_names_are_refused_as_dockerd_does(daemon: FakeDaemon) -> None:
    result = docker(daemon, "run", "-d", "--name", "x", "busybox", "sleep", "100")
    assert result.returncode == 125
    assert b"Invalid container name (x), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed" in result.stderr


def test_exec_runs_in_the_container_and_returns_its_exit_code(daemon: FakeDaemon) -> None:
    assert docker(daemon, "run", "-d", "--name", "d1", "busybox", "sleep", "100").returncode == 0
    result = docker(daemon, "exec", "d1", "sh", "-c", "echo from-exec; echo e >&2; exit 2")
    assert (result.returncode, result.stdout, result.stderr) == (2, b"from-exec\n", b"e\n")
    assert docker(daemon, "exec", "d1", "hostname").stdout == docker(daemon, "ps", "-q").stdout
    missing = docker(daemon, "exec", "d1", "nosuch")
    assert missing.returncode == 127 and b'exec: "nosuch": executable file not found in $PATH' in missing.stdout


def test_images_lists_busybox(daemon: FakeDaemon) -> None:
    lines = docker(daemon, "images").stdout.decode().splitlines()
    assert lines[0].split() == ["REPOSITORY", "TAG", "IMAGE", "ID", "CREATED", "SIZE"]
    assert [line.split()[:2] for line in lines[1:]] == [["busybox", "latest"]]


def test_pull_streams_progress_and_a_missing_image_is_404(daemon: FakeDaemon) -> None:
    result = docker(daemon, "pull", "alpine")
    assert result.returncode == 0, result.stderr
    out = result.stdout.decode()
    assert "latest: Pulling from library/alpine" in out and "Pull complete" in out
    assert "Status: Downloaded newer image for alpine:latest" in out
    assert ("POST", "/v1.41/images/create?fromImage=docker.io%2Flibrary%2Falpine&tag=latest") in daemon.requests
    assert "alpine" in docker(daemon, "images", "--format", "{{.Repository}}").stdout.decode().split()
    again = docker(daemon, "pull", "alpine").stdout.decode()
    assert "Status: Image is up to date for alpine:latest" in again
    missing = docker(daemon, "pull", "nosuch")
    assert missing.returncode == 1
    assert b"manifest for nosuch:latest not found: manifest unknown: manifest unknown" in missing.stderr


def test_run_of_a_missing_image_pulls_it_from_the_seeded_registry(daemon: FakeDaemon) -> None:
    result = docker(daemon, "run", "--rm", "localhost:5000/demo:v1")
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"hello from the demo image\n"
    assert b"Unable to find image 'localhost:5000/demo:v1' locally" in result.stderr


def test_unknown_command_fails_start_like_runc_and_run_exits_127(daemon: FakeDaemon) -> None:
    result = docker(daemon, "run", "--rm", "busybox", "nosuch")
    assert result.returncode == 127
    assert b'exec: "nosuch": executable file not found in $PATH: unknown' in result.stderr
    assert docker(daemon, "ps", "-aq").stdout == b"", "--rm removes a container that failed to start"


def test_stop_sends_term_and_kill_sends_kill(daemon: FakeDaemon) -> None:
    docker(daemon, "run", "-d", "--name", "s1", "busybox", "sleep", "100")
    docker(daemon, "run", "-d", "--name", "k1", "busybox", "sleep", "100")
    assert docker(daemon, "stop", "-t", "5", "s1").returncode == 0
    assert docker(daemon, "kill", "k1").returncode == 0
    assert docker(daemon, "wait", "s1", "k1").stdout == b"143\n137\n"
    again = docker(daemon, "kill", "k1")
    assert again.returncode == 1 and b"Cannot kill container: k1: Container " in again.stderr
    assert b"is not running" in again.stderr
    status = docker(daemon, "ps", "-a", "--format", "{{.Names}} {{.Status}}").stdout.decode()
    assert "s1 Exited (143)" in status and "k1 Exited (137)" in status


def test_rm_of_a_running_container_is_a_conflict(daemon: FakeDaemon) -> None:
    container_id = docker(daemon, "run", "-d", "busybox", "sleep", "100").stdout.decode().strip()
    result = docker(daemon, "rm", container_id[:8])
    assert result.returncode == 1
    assert result.stderr.decode().strip() == (
        f"Error response from daemon: You cannot remove a running container {container_id}. "
        "Stop the container before attempting removal or force remove")


def test_interactive_tty_session_with_resize(daemon: FakeDaemon) -> None:
    pexpect = pytest.importorskip("pexpect")
    environ = {k: v for k, v in os.environ.items() if not k.startswith("DOCKER_")}
    environ["DOCKER_CONFIG"] = str(daemon.workdir / "docker-config")
    child = pexpect.spawn(DOCKER, ["-H", daemon.unix_host, "run", "-it", "--rm", "busybox", "sh"],
                          dimensions=(40, 120), timeout=10, env=environ)
    try:
        child.expect_exact("/ # ")
        child.sendline("stty size")
        child.expect_exact("40 120")
        child.setwinsize(50, 132)  # SIGWINCH -> the CLI sends /resize
        deadline = time.monotonic() + 5
        while not any("resize?h=50&w=132" in path for _, path in daemon.requests):
            assert time.monotonic() < deadline, "the CLI never sent the new size"
            time.sleep(0.05)
        child.sendline("stty size; exit 5")
        child.expect_exact("50 132")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 5


def test_piped_stdin_reaches_cat_and_eof_ends_it(daemon: FakeDaemon) -> None:
    result = docker(daemon, "run", "-i", "--rm", "busybox", "cat", input=b"piped-input\n")
    assert (result.returncode, result.stdout) == (0, b"piped-input\n")


def test_cp_in_and_out_and_diff(daemon: FakeDaemon, tmp_path: Path) -> None:
    docker(daemon, "run", "-d", "--name", "c1", "busybox", "sleep", "100")
    source = tmp_path / "f.txt"
    source.write_text("hello\n")
    assert docker(daemon, "cp", str(source), "c1:/tmp/f.txt").returncode == 0
    assert docker(daemon, "exec", "c1", "cat", "/tmp/f.txt").stdout == b"hello\n"
    assert docker(daemon, "diff", "c1").stdout == b"C /tmp\nA /tmp/f.txt\n"
    copy = tmp_path / "passwd.copy"
    assert docker(daemon, "cp", "c1:/etc/passwd", str(copy)).returncode == 0
    assert copy.read_text().startswith("root:x:0:0:root:/root:/bin/sh\n")
    missing = docker(daemon, "cp", "c1:/nosuch", str(tmp_path / "x"))
    assert missing.returncode == 1 and b"Could not find the file /nosuch in container c1" in missing.stderr


def test_legacy_build_then_run_and_a_bad_instruction(daemon: FakeDaemon, tmp_path: Path) -> None:
    context = tmp_path / "ctx"
    context.mkdir()
    (context / "Dockerfile").write_text('FROM busybox\nRUN echo built > /built.txt\nCMD ["cat", "/built.txt"]\n')
    result = docker(daemon, "build", "-t", "built:v1", str(context), env={"DOCKER_BUILDKIT": "0"})
    assert result.returncode == 0, result.stderr
    out = result.stdout.decode()
    assert "Step 1/3 : FROM busybox" in out and "Successfully tagged built:v1" in out
    assert docker(daemon, "run", "--rm", "built:v1").stdout == b"built\n"
    (context / "Dockerfile").write_text("FROM busybox\nBOGUS x\n")
    bad = docker(daemon, "build", str(context), env={"DOCKER_BUILDKIT": "0"})
    assert bad.returncode == 1 and b"dockerfile parse error line 2: unknown instruction: BOGUS" in bad.stderr


def test_save_and_load_round_trip_keeps_the_image_id(daemon: FakeDaemon, tmp_path: Path) -> None:
    archive = tmp_path / "busybox.tar"
    image_id = docker(daemon, "images", "-q", "--no-trunc").stdout.strip()
    assert docker(daemon, "save", "-o", str(archive), "busybox").returncode == 0
    listing = subprocess.run(["tar", "-tf", str(archive)], capture_output=True, text=True).stdout.split()
    assert "manifest.json" in listing and "repositories" in listing and any(n.endswith("/layer.tar") for n in listing)
    assert docker(daemon, "rmi", "busybox").returncode == 0
    loaded = docker(daemon, "load", "-i", str(archive))
    assert loaded.stdout == b"Loaded image: busybox:latest\n"
    assert docker(daemon, "images", "-q", "--no-trunc").stdout.strip() == image_id


def test_events_replays_a_containers_life(daemon: FakeDaemon) -> None:
    docker(daemon, "run", "--rm", "--name", "ev1", "busybox", "true")
    time.sleep(1.05)  # --until is in whole seconds
    result = docker(daemon, "events", "--since", "1m", "--until", "0s", "--filter", "container=ev1",
                    "--format", "{{.Action}}")
    assert result.stdout.decode().split() == ["create", "attach", "start", "die", "destroy"]


def test_restart_policy_on_failure_restarts_up_to_the_limit(daemon: FakeDaemon) -> None:
    docker(daemon, "run", "-d", "--name", "rp", "--restart", "on-failure:2", "busybox", "sh", "-c", "exit 1")
    deadline = time.monotonic() + 5
    while True:
        state = docker(daemon, "inspect", "-f", "{{.RestartCount}} {{.State.Status}}", "rp").stdout.decode().strip()
        if state == "2 exited":
            break
        assert time.monotonic() < deadline, f"stuck at {state!r}"
        time.sleep(0.1)


def test_login_search_commit_and_import(daemon: FakeDaemon, tmp_path: Path) -> None:
    assert docker(daemon, "login", "-u", "user", "-p", "pass", "localhost:5000").stdout == b"Login Succeeded\n"
    wrong = docker(daemon, "login", "-u", "user", "-p", "wrong", "localhost:5000")
    assert wrong.returncode == 1 and wrong.stderr.endswith(
        b'Error response from daemon: Get "https://localhost:5000/v2/": unauthorized: incorrect username or password\n')
    names = docker(daemon, "search", "--filter", "is-official=true", "--format", "{{.Name}}", "busybox").stdout
    assert names == b"busybox\n"
    docker(daemon, "run", "--name", "cm", "busybox", "sh", "-c", "echo made > /made.txt")
    committed = docker(daemon, "commit", "-m", "msg", "-c", "CMD cat /made.txt", "cm", "committed:v1")
    assert committed.returncode == 0 and committed.stdout.startswith(b"sha256:")
    assert docker(daemon, "run", "--rm", "committed:v1").stdout == b"made\n"
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "file.txt").write_text("imported\n")
    (tree / "bin").mkdir()
    (tree / "bin" / "cat").write_text("a stand-in: the fake runs the applet named like the file\n")
    archive = tmp_path / "tree.tar"
    subprocess.run(["tar", "-cf", str(archive), "-C", str(tree), "."], check=True)
    imported = docker(daemon, "import", "-c", 'CMD ["cat", "/file.txt"]', str(archive), "imported:v1")
    assert imported.returncode == 0, imported.stderr
    assert docker(daemon, "run", "--rm", "imported:v1").stdout == b"imported\n"
    no_shell = docker(daemon, "run", "--rm", "imported:v1", "sh")
    assert no_shell.returncode == 127, "the image's files decide what can run: it has no /bin/sh"
    assert b'exec: "sh": executable file not found in $PATH' in no_shell.stderr


def test_everything_works_over_tcp_too(daemon: FakeDaemon) -> None:
    result = docker(daemon, "run", "--rm", "busybox", "echo", "over tcp", host=daemon.tcp_host)
    assert (result.returncode, result.stdout) == (0, b"over tcp\n")


# ---------------------------------------------------------------- docker-py ----
@pytest.mark.parametrize("transport", ["unix", "tcp"])
def test_docker_py_runs_execs_and_lists(daemon: FakeDaemon, transport: str) -> None:
    docker_py = pytest.importorskip("docker")
    client = docker_py.DockerClient(base_url=daemon.unix_host if transport == "unix" else daemon.tcp_host)
    try:
        assert client.ping() is True
        assert client.version()["ApiVersion"] == "1.41"
        assert client.containers.run("busybox", "echo hi", remove=True) == b"hi\n"
        container = client.containers.run("busybox", ["sh", "-c", "echo hi; sleep 30"], detach=True, name="dpy1")
        assert container.exec_run(["sh", "-c", "echo x; exit 3"]) == (3, b"x\n")
        container.reload()
        assert container.status == "running"
        container.kill()
        assert container.wait() == {"Error": None, "StatusCode": 137}
        assert container.logs() == b"hi\n"
        container.remove()
        assert [image.tags for image in client.images.list()] == [["busybox:latest"]]
        assert client.containers.list(all=True) == []
    finally:
        client.close()


# ---------------------------------------------------------------- the wire, byte by byte ----
def test_ping_head_and_get_carry_dockerds_headers(daemon: FakeDaemon) -> None:
    head = raw_exchange(daemon, b"HEAD /_ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    status, headers, _ = status_and_json(head.replace(b"Content-Length: 0", b"Content-Length: 0"))
    assert status == 200
    for name, value in [("Api-Version", "1.41"), ("Ostype", "linux"), ("Docker-Experimental", "false"),
                        ("Server", "minidock-fake/0.1"), ("Pragma", "no-cache"),
                        ("Cache-Control", "no-cache, no-store, must-revalidate")]:
        assert headers[name] == value
    get = raw_exchange(daemon, b"GET /v1.41/_ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert get.endswith(b"\r\n\r\nOK")


@pytest.mark.parametrize("path, message", [
    ("/v1.23/version", "client version 1.23 is too old. Minimum supported API version is 1.24, "
                       "please upgrade your client to a newer version"),
    ("/v1.50/version", "client version 1.50 is too new. Maximum supported API version is 1.41"),
    ("/v1.41/nosuch", "page not found"),
])
def test_bad_versions_and_unknown_paths_get_dockerds_errors(daemon: FakeDaemon, path: str, message: str) -> None:
    response = raw_exchange(daemon, f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
    status, headers, body = status_and_json(response)
    assert (status, headers["Content-Type"], body) == (400 if "version" in path else 404, "application/json",
                                                        {"message": message})
    assert headers["Api-Version"] == "1.41"


def test_advertised_version_is_a_setting(tmp_path: Path) -> None:
    with FakeDaemon(tmp_path, api_version="1.44") as fake:
        response = raw_exchange(fake, b"GET /v1.44/version HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        status, headers, body = status_and_json(response)
        assert (status, headers["Api-Version"], body["ApiVersion"]) == (200, "1.44", "1.44")


@pytest.mark.parametrize("request_bytes, fragment", [
    (b"THIS IS NOT HTTP\r\n\r\n", "malformed HTTP request"),
    (b"POST /containers/create HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 5\r\n\r\n{bad}",
     "invalid JSON"),
    (b"POST /containers/create HTTP/1.1\r\nContent-Length: -3\r\n\r\n", "invalid Content-Length"),
    (b"POST /containers/create HTTP/1.1\r\nContent-Length: 2\r\n\r\n[]", "Config cannot be empty"),
    (b"GET /containers/json?filters=%7Bnot HTTP/1.1\r\n\r\n", "invalid JSON in filters"),
    (b"POST /build HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "invalid chunk size"),
])
def test_hostile_input_gets_a_400_and_the_daemon_keeps_serving(daemon: FakeDaemon, request_bytes: bytes,
                                                                fragment: str) -> None:
    status, headers, body = status_and_json(raw_exchange(daemon, request_bytes))
    assert status == 400 and headers["Content-Type"] == "application/json"
    assert fragment in body["message"]
    assert raw_exchange(daemon, b"GET /_ping HTTP/1.1\r\nConnection: close\r\n\r\n").endswith(b"OK")


JSON = st.recursive(st.none() | st.booleans() | st.integers(-3, 3) | st.text(max_size=8),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
                    max_leaves=8)
CONFIG_KEYS = ["Image", "Cmd", "Entrypoint", "Env", "Labels", "Tty", "OpenStdin", "WorkingDir", "User",
               "ExposedPorts", "HostConfig", "StopTimeout"]


@settings(max_examples=60, deadline=None)
@given(body=st.dictionaries(st.sampled_from(CONFIG_KEYS), JSON, max_size=5)
       | st.fixed_dictionaries({"Image": st.just("busybox"),
                                "HostConfig": st.dictionaries(st.sampled_from(
                                    ["PortBindings", "RestartPolicy", "AutoRemove", "ConsoleSize", "Binds"]),
                                    JSON, max_size=3)}))
def test_any_create_body_gets_an_answer_never_a_500(tmp_path_factory: pytest.TempPathFactory, body: dict) -> None:
    with FakeDaemon(tmp_path_factory.mktemp("fuzz")) as fake:
        payload = json.dumps(body).encode()
        response = raw_exchange(fake, b"POST /containers/create HTTP/1.1\r\nConnection: close\r\n"
                                      b"Content-Length: %d\r\n\r\n%s" % (len(payload), payload))
        status, headers, answer = status_and_json(response)
        assert status in (201, 400, 404, 409), answer
        assert status == 201 or (headers["Content-Type"] == "application/json" and answer["message"])


@settings(max_examples=60, deadline=None)
@given(garbage=st.binary(max_size=200))
def test_garbage_on_the_socket_never_stops_the_daemon(tmp_path_factory: pytest.TempPathFactory,
                                                      garbage: bytes) -> None:
    with FakeDaemon(tmp_path_factory.mktemp("garbage")) as fake:
        with fake.connect() as sock:
            sock.sendall(garbage + b"\r\n\r\n")
            sock.shutdown(socket.SHUT_WR)
            sock.settimeout(5)
            answer = b""
            while chunk := sock.recv(65536):
                answer += chunk
        assert answer == b"" or answer.startswith(b"HTTP/1.1 ")
        assert b" 500 " not in answer.split(b"\r\n")[0]
        assert raw_exchange(fake, b"GET /_ping HTTP/1.1\r\nConnection: close\r\n\r\n").endswith(b"OK")


def test_wait_flushes_its_head_before_the_container_even_starts(daemon: FakeDaemon) -> None:
    created = docker(daemon, "create", "busybox", "true").stdout.decode().strip()
    with daemon.connect() as sock:
        sock.settimeout(3)
        sock.sendall(f"POST /v1.41/containers/{created}/wait?condition=next-exit HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        head = sock.recv(4096)
        assert head.startswith(b"HTTP/1.1 200 OK\r\n") and b"Transfer-Encoding: chunked" in head
        assert docker(daemon, "start", created).returncode == 0
        body = b""
        while not body.endswith(b"0\r\n\r\n"):
            body += sock.recv(4096)
    assert b'{"Error":null,"StatusCode":0}\n' in body


def test_attach_is_a_101_upgrade_with_multiplexed_frames(daemon: FakeDaemon) -> None:
    created = docker(daemon, "create", "busybox", "sh", "-c", "echo out; echo err >&2").stdout.decode().strip()
    with daemon.connect() as sock:
        sock.settimeout(5)
        sock.sendall(f"POST /v1.41/containers/{created}/attach?stream=1&stdout=1&stderr=1 HTTP/1.1\r\n"
                     "Host: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n".encode())
        head = b""
        while b"\r\n\r\n" not in head:
            head += sock.recv(1)
        assert head.split(b"\r\n")[0] == b"HTTP/1.1 101 UPGRADED"
        assert b"Content-Type: application/vnd.docker.raw-stream\r\n" in head
        assert docker(daemon, "start", created).returncode == 0
        stream = b""
        while chunk := sock.recv(4096):
            stream += chunk
    assert stream == b"\x01\x00\x00\x00\x00\x00\x00\x04out\n\x02\x00\x00\x00\x00\x00\x00\x04err\n"


def test_requests_are_recorded_in_order_with_their_query(daemon: FakeDaemon) -> None:
    docker(daemon, "ps", "-a", "--filter", "status=running")
    assert daemon.requests[-1] == ("GET", "/v1.41/containers/json?all=1&filters=%7B%22status%22%3A%7B%22running"
                                          "%22%3Atrue%7D%7D")


# ---------------------------------------------------------------- life cycle of the fake itself ----
def test_the_daemon_leaves_no_thread_socket_or_process_behind(tmp_path: Path) -> None:
    before = set(threading.enumerate())
    with FakeDaemon(tmp_path) as fake:
        docker(fake, "run", "-d", "busybox", "sleep", "100")
        docker(fake, "run", "-d", "busybox", "sh", "-c", "while true; do sleep 1; done")
        waiter = subprocess.Popen([DOCKER, "-H", fake.unix_host, "events"], stdout=subprocess.DEVNULL,
                                  env={**os.environ, "DOCKER_CONFIG": str(tmp_path / "cfg")})
        time.sleep(0.3)
        assert fake.socket_path.is_socket()
    waiter.wait(5)
    assert not fake.socket_path.exists()
    assert set(threading.enumerate()) - before == set()


def test_foreground_mode_listens_where_asked_and_stops_on_sigterm(tmp_path: Path) -> None:
    sock = tmp_path / "fg.sock"
    process = subprocess.Popen([sys.executable, "-m", "minidock.fakedaemon", "--host", f"unix://{sock}"],
                               stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout.readline().strip() == f"fake daemon (API 1.41) listening on unix://{sock}"
        shutil.which("true")
        client = socket.socket(socket.AF_UNIX)
        client.connect(str(sock))
        client.sendall(b"GET /_ping HTTP/1.1\r\nConnection: close\r\n\r\n")
        assert client.recv(4096).endswith(b"OK")
        client.close()
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(10) == 0
    assert not sock.exists()


# ---------------------------------------------------------------- the imitated programs ----
def run_program(argv: list[str], stdin: bytes = b"") -> tuple[int, bytes, bytes]:
    from minidock.fakedaemon.programs import find_program
    from minidock.fakedaemon.runtime import Process
    from minidock.fakedaemon.seed import busybox_tree

    out, err = bytearray(), bytearray()
    process = Process(argv, {"PATH": "/bin", "HOME": "/root"}, "/", busybox_tree(), "host", "root",
                      tty=False, open_stdin=True, output=lambda s, d: (out if s == 1 else err).extend(d))
    process.start(find_program(argv[0]))
    process.feed_stdin(stdin)
    process.close_stdin()
    assert process.wait(5)
    return process.exit_code, bytes(out), bytes(err)


@pytest.mark.parametrize("script, expected", [
    ("i=0; while [ $i -lt 3 ]; do echo line $i; i=$((i+1)); done", b"line 0\nline 1\nline 2\n"),
    ("for x in a 'b c'; do echo \"[$x]\"; done", b"[a]\n[b c]\n"),
    ("false && echo no || echo yes", b"yes\n"),
    ("echo hi > /tmp/f; cat /tmp/f; echo $(echo sub)-$HOME", b"hi\nsub-/root\n"),
    ("if [ -f /etc/passwd ]; then echo file; else echo none; fi", b"file\n"),
    ("seq 3 | wc -l", b"3\n"),
    ("echo -n a; echo -e 'b\\tc'", b"ab\tc\n"),
])
def test_the_shell_runs_what_examples_write(script: str, expected: bytes) -> None:
    assert run_program(["sh", "-c", script]) == (0, expected, b"")


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126, blacklist_characters="'"), max_size=40))
def test_single_quotes_keep_any_text_verbatim(text: str) -> None:
    # printf, not echo: `echo '-n'` rightly prints nothing (hypothesis found that one).
    assert run_program(["sh", "-c", f"printf '%s\\n' '{text}'"]) == (0, text.encode() + b"\n", b"")
