"""One request's life over each transport: unix://, tcp:// and fd://, with real sockets."""

import json
import socket

import pytest

from minidock.testing import cli_env, run_cli


def test_version_over_unix_negotiates_and_uses_versioned_paths(fake_daemon):
    result = run_cli("-H", fake_daemon.unix_host, "version")
    assert result.returncode == 0, result.stderr
    assert b"API version:       1.41" in result.stdout
    assert ("HEAD", "/_ping") in fake_daemon.requests
    assert ("GET", "/v1.41/version") in fake_daemon.requests


def test_version_over_tcp(fake_daemon):
    result = run_cli("-H", fake_daemon.tcp_host, "version", "--format", "{{.Server.ApiVersion}}")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == b"1.41"


def test_docker_host_is_honoured(fake_daemon):
    result = run_cli("ps", env=cli_env(DOCKER_HOST=fake_daemon.tcp_host))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(b"CONTAINER ID")


def test_fd_transport_uses_the_inherited_socket(fake_daemon):
    sock = fake_daemon.connect()
    try:
        result = run_cli("-H", f"fd://{sock.fileno()}", "version", "--format", "{{.Server.ApiVersion}}",
                         pass_fds=(sock.fileno(),))
    finally:
        sock.close()
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == b"1.41"


def test_fd_transport_dials_the_peer_again_for_a_second_connection(fake_daemon):
    # run needs attach + wait + start at once: the first is the fd, the others go to its peer's address.
    sock = fake_daemon.connect()
    try:
        result = run_cli("-H", f"fd://{sock.fileno()}", "run", "--rm", "busybox", "echo", "over fd",
                         pass_fds=(sock.fileno(),))
    finally:
        sock.close()
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"over fd\n"


def test_fd_that_is_not_a_socket_is_a_clear_error(tmp_path):
    with open(tmp_path / "file", "w") as handle:
        result = run_cli("-H", f"fd://{handle.fileno()}", "ps", pass_fds=(handle.fileno(),))
    assert result.returncode == 1
    assert b"Cannot connect" in result.stderr or b"not a" in result.stderr


def test_the_client_speaks_the_daemons_older_version(tmp_path):
    from minidock.fakedaemon import FakeDaemon

    with FakeDaemon(tmp_path, api_version="1.30") as daemon:
        result = run_cli("-H", daemon.unix_host, "ps")
        assert result.returncode == 0, result.stderr
        assert ("GET", "/v1.30/containers/json") in daemon.requests


def test_docker_api_version_pins_the_version(fake_daemon):
    result = run_cli("-H", fake_daemon.unix_host, "ps", env=cli_env(DOCKER_API_VERSION="1.25"))
    assert result.returncode == 0, result.stderr
    assert ("GET", "/v1.25/containers/json") in fake_daemon.requests


def test_no_daemon_is_a_clear_error(tmp_path):
    result = run_cli("-H", f"unix://{tmp_path}/none.sock", "ps")
    assert result.returncode == 1
    assert result.stderr.startswith(b"Cannot connect to the Docker daemon at unix://")


def test_refused_tcp_is_a_clear_error():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # bound but not listening: connections are refused
        result = run_cli("-H", f"tcp://127.0.0.1:{port}", "ps")
    assert result.returncode == 1
    assert b"Cannot connect to the Docker daemon" in result.stderr


def test_a_bad_host_is_a_usage_error():
    result = run_cli("-H", "http://example:1", "ps")
    assert result.returncode == 1
    assert b"invalid bind address" in result.stderr


def test_daemon_errors_carry_the_daemons_message(fake_daemon):
    result = run_cli("-H", fake_daemon.unix_host, "rm", "nosuchthing")
    assert result.returncode == 1
    assert result.stderr == b"Error response from daemon: No such container: nosuchthing\n"


def test_a_non_json_error_body_is_shown_raw(tmp_path):
    # A peer that answers every request with a plain-text 500: the raw body is the message.
    import threading

    path = tmp_path / "plain.sock"
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    server.listen()

    def serve() -> None:
        for _ in range(2):
            conn, _ = server.accept()
            with conn:
                conn.recv(65536)
                conn.sendall(b"HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/plain\r\n"
                             b"Content-Length: 13\r\nConnection: close\r\n\r\nplain failure")
    threading.Thread(target=serve, daemon=True).start()
    result = run_cli("-H", f"unix://{path}", "ps")
    server.close()
    assert result.returncode == 1
    assert b"Error response from daemon: plain failure\n" in result.stderr
