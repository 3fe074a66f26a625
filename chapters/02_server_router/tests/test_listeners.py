"""Listening sockets for `-H`: unix (mode, group, stale files), tcp, and fd:// socket activation.

Socket activation is tested the way systemd does it: the test opens the
listening sockets, and a launcher process moves them to descriptors 3, 4, ...,
sets `LISTEN_FDS` and `LISTEN_PID` (its own pid, which `exec` keeps) and
execs a small server that takes them with `listen(parse_listen_address("fd://"))`.
"""

from __future__ import annotations

import grp
import json
import logging
import os
import socket
import stat
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from minidock.client.hosts import Host
from minidock.server import listeners
from minidock.server.listeners import (
    ListenError,
    activated_fds,
    listen,
    listen_fds,
    listen_tcp,
    listen_unix,
    parse_listen_address,
    unlink_socket,
)


def get(address, family: int = socket.AF_UNIX) -> bytes:  # noqa: ANN001
    """A raw GET /x on a fresh connection; the whole answer."""
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.settimeout(5)
        sock.connect(address)
        sock.sendall(b"GET /x HTTP/1.1\r\nConnection: close\r\n\r\n")
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    return data


# -- unix ---------------------------------------------------------------------------------

def test_unix_socket_is_mode_0660(tmp_path: Path) -> None:
    path = str(tmp_path / "run" / "d.sock")  # the parent directory is created too
    with listen_unix(path) as sock:
        st = os.stat(path)
        assert stat.S_ISSOCK(st.st_mode)
        assert stat.S_IMODE(st.st_mode) == 0o660
        assert sock.getsockname() == path


def test_unix_socket_belongs_to_the_group_of_minus_G(tmp_path: Path) -> None:
    if os.geteuid() == 0:  # root may give it to any group: pick one that is not ours
        candidates = [g for g in grp.getgrall() if g.gr_gid != os.getegid()]
    else:
        candidates = [grp.getgrgid(gid) for gid in os.getgroups() if gid != os.getegid()]
    if not candidates:
        pytest.skip("no second group to hand the socket to")
    group = candidates[0]
    path = str(tmp_path / "d.sock")
    with listen_unix(path, group=group.gr_name):
        assert os.stat(path).st_gid == group.gr_gid
    unlink_socket(path)
    with listen_unix(path, group=str(group.gr_gid)):  # a number works too
        assert os.stat(path).st_gid == group.gr_gid


def test_default_group_is_docker_if_it_exists_else_root(tmp_path: Path) -> None:
    path = str(tmp_path / "d.sock")
    with listen_unix(path):
        try:
            expected = grp.getgrnam("docker").gr_gid
        except KeyError:
            expected = 0 if os.geteuid() == 0 else os.getegid()
        assert os.stat(path).st_gid == expected


def test_an_unknown_group_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ListenError, match="group no-such-group-here not found"):
        listen_unix(str(tmp_path / "d.sock"), group="no-such-group-here")
    assert not (tmp_path / "d.sock").exists()


def test_a_stale_socket_file_is_taken_over(tmp_path: Path) -> None:
    path = str(tmp_path / "d.sock")
    crashed = socket.socket(socket.AF_UNIX)
    crashed.bind(path)
    crashed.listen()
    crashed.close()  # the daemon died: the file stays, nobody answers
    assert stat.S_ISSOCK(os.lstat(path).st_mode)
    with listen_unix(path) as sock:
        with socket.socket(socket.AF_UNIX) as client:
            client.connect(path)
            accepted, _ = sock.accept()
            accepted.close()


def test_a_socket_someone_listens_on_is_not_stolen(tmp_path: Path) -> None:
    path = str(tmp_path / "d.sock")
    with listen_unix(path) as first:
        with pytest.raises(ListenError, match="another daemon is listening on it"):
            listen_unix(path)
        with socket.socket(socket.AF_UNIX) as client:  # the first daemon still has its socket
            client.connect(path)
            first.accept()[0].close()


def test_a_regular_file_is_never_removed(tmp_path: Path) -> None:
    precious = tmp_path / "passwd"
    precious.write_text("root:x:0:0\n")
    with pytest.raises(ListenError, match="not a socket; refusing to remove it"):
        listen_unix(str(precious))
    assert precious.read_text() == "root:x:0:0\n"
    unlink_socket(str(precious))  # the shutdown's clean-up refuses too
    assert precious.exists()


# -- tcp ------------------------------------------------------------------------------------

def test_tcp_on_loopback_port_0_listens_without_a_warning(caplog) -> None:
    with caplog.at_level(logging.WARNING):
        with listen_tcp("127.0.0.1", 0) as sock:
            host, port = sock.getsockname()
            assert host == "127.0.0.1" and port > 0
            with socket.create_connection((host, port), timeout=5):
                pass
    assert not [r for r in caplog.records if "insecure" in r.getMessage()]


def test_tcp_on_all_interfaces_warns_like_dockerd(caplog) -> None:
    with caplog.at_level(logging.WARNING):
        (sock,) = listen(Host("tcp", ("0.0.0.0", 0)))
        sock.close()
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("Binding to IP address without --tlsverify is insecure" in w for w in warnings), warnings


def test_a_port_in_use_is_a_clear_error() -> None:
    with listen_tcp("127.0.0.1", 0) as taken:
        port = taken.getsockname()[1]
        with pytest.raises(ListenError, match=f"cannot listen on tcp://127.0.0.1:{port}: Address already in use"):
            listen_tcp("127.0.0.1", port)


def test_parse_listen_address_accepts_fd_alone() -> None:
    assert parse_listen_address("fd://") == Host("fd", None)
    assert parse_listen_address("fd://4") == Host("fd", 4)
    assert parse_listen_address("unix:///run/x.sock") == Host("unix", "/run/x.sock")
    assert parse_listen_address("tcp://127.0.0.1:2375") == Host("tcp", ("127.0.0.1", 2375))


# -- fd:// socket activation -------------------------------------------------------------------

@pytest.fixture
def fresh_activation() -> Iterator[None]:
    listeners.reset_activation_cache()
    yield
    listeners.reset_activation_cache()


def test_fd_without_activation_is_a_clear_error(fresh_activation) -> None:
    with pytest.raises(ListenError, match="LISTEN_PID/LISTEN_FDS are not set"):
        listen_fds(environ={})


def test_fd_handed_to_another_process_is_refused(fresh_activation) -> None:
    environ = {"LISTEN_PID": str(os.getpid() + 1), "LISTEN_FDS": "1"}
    with pytest.raises(ListenError, match="names another process"):
        listen_fds(environ=environ)
    assert environ["LISTEN_FDS"] == "1", "the variables are left alone for the process they name"


def test_fd_with_zero_sockets_is_a_clear_error(fresh_activation) -> None:
    environ = {"LISTEN_PID": str(os.getpid()), "LISTEN_FDS": "0", "LISTEN_FDNAMES": ""}
    with pytest.raises(ListenError, match="no sockets found via socket activation"):
        listen_fds(environ=environ)
    assert environ == {}, "read once, then unset, like sd_listen_fds(1)"
    assert activated_fds(environ={}) == [], "later calls use what was read"


# The launcher plays systemd: it moves the sockets it was given to 3, 4, ..., sets
# LISTEN_FDS and LISTEN_PID to its own pid, and execs the server (exec keeps the pid).
LAUNCHER = textwrap.dedent("""
    import fcntl, os, sys
    fds = [int(fd) for fd in sys.argv[1].split(",")]
    copies = [fcntl.fcntl(fd, fcntl.F_DUPFD, 100) for fd in fds]  # out of the way of 3, 4, ...
    for i, fd in enumerate(copies):
        os.dup2(fd, 3 + i)
        os.set_inheritable(3 + i, True)  # it must survive exec
    for fd in set(fds + copies) - set(range(3, 3 + len(fds))):
        os.close(fd)
    os.environ["LISTEN_PID"] = str(os.getpid())
    os.environ["LISTEN_FDS"] = str(len(fds))
    os.execv(sys.executable, [sys.executable, "-c", sys.argv[2], *sys.argv[3:]])
""")

SERVER = textwrap.dedent("""
    import json, os, sys
    from minidock.server.listeners import ListenError, listen, parse_listen_address
    from minidock.server.server import Server

    def dispatch(request, response):
        response.json(200, {"pid": os.getpid(), "env": sorted(k for k in os.environ if k.startswith("LISTEN_"))})

    try:
        sockets = [s for value in sys.argv[1:] for s in listen(parse_listen_address(value))]
    except ListenError as exc:
        print(f"error: {exc}", flush=True)
        raise SystemExit(1)
    server = Server(dispatch)
    for sock in sockets:
        server.serve(sock)
    print(json.dumps(server.addresses), flush=True)
    sys.stdin.read()  # serve until the test closes our stdin
    server.shutdown(1)
""")


def activate(handed: list[int], *hosts: str) -> subprocess.Popen:
    env = {**os.environ, "MINIDOCK_CHAPTER": "2"}
    return subprocess.Popen([sys.executable, "-c", LAUNCHER, ",".join(map(str, handed)), SERVER, *hosts],
                            pass_fds=tuple(handed), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            env=env, text=True)


@pytest.fixture
def handed_sockets(tmp_path: Path) -> Iterator[tuple[socket.socket, socket.socket, str]]:
    """A listening unix socket and a listening tcp socket, as a service manager would open them."""
    path = str(tmp_path / "activated.sock")
    unix = socket.socket(socket.AF_UNIX)
    unix.bind(path)
    unix.listen()
    tcp = socket.socket()
    tcp.bind(("127.0.0.1", 0))
    tcp.listen()
    yield unix, tcp, path
    unix.close()
    tcp.close()


def test_fd_takes_every_activated_socket(handed_sockets) -> None:
    unix, tcp, path = handed_sockets
    port = tcp.getsockname()[1]
    proc = activate([unix.fileno(), tcp.fileno()], "fd://")
    try:
        addresses = json.loads(proc.stdout.readline())
        assert addresses == [f"unix://{path}", f"tcp://127.0.0.1:{port}"]
        unix.close()
        tcp.close()  # only the daemon holds them now
        for answer in (get(path), get(("127.0.0.1", port), socket.AF_INET)):
            body = json.loads(answer.partition(b"\r\n\r\n")[2])
            assert body == {"pid": proc.pid, "env": []}, "LISTEN_* are unset after reading"
    finally:
        proc.stdin.close()
        assert proc.wait(10) == 0


def test_fd_n_takes_the_socket_on_descriptor_n(handed_sockets) -> None:
    unix, tcp, _ = handed_sockets
    port = tcp.getsockname()[1]
    proc = activate([unix.fileno(), tcp.fileno()], "fd://4")
    try:
        assert json.loads(proc.stdout.readline()) == [f"tcp://127.0.0.1:{port}"]
        tcp.close()
        assert json.loads(get(("127.0.0.1", port), socket.AF_INET).partition(b"\r\n\r\n")[2])["pid"] == proc.pid
    finally:
        proc.stdin.close()
        assert proc.wait(10) == 0


def test_fd_n_that_was_not_handed_over_is_a_clear_error(handed_sockets) -> None:
    unix, tcp, _ = handed_sockets
    proc = activate([unix.fileno(), tcp.fileno()], "fd://7")
    out, _ = proc.communicate(timeout=10)
    assert proc.returncode == 1
    assert out.strip() == "error: fd://7: not one of the activated sockets (descriptors 3..4)"


def test_fd_that_is_not_a_listening_socket_is_a_clear_error() -> None:
    read_end, write_end = os.pipe()
    try:
        proc = activate([read_end], "fd://")
        out, _ = proc.communicate(timeout=10)
    finally:
        os.close(read_end)
        os.close(write_end)
    assert proc.returncode == 1
    assert out.startswith("error: fd://3: descriptor 3 is not a socket"), out
