"""-H / DOCKER_HOST parsing: the three transports and their errors."""

import pytest
from hypothesis import given, strategies as st

from minidock.client.hosts import DEFAULT_TCP_PORT, Host, InvalidHost, host_from_environment, parse_host


@pytest.mark.parametrize("text, expected", [
    (None, Host("unix", "/var/run/minidock.sock")),
    ("", Host("unix", "/var/run/minidock.sock")),
    ("unix:///run/x.sock", Host("unix", "/run/x.sock")),
    ("tcp://127.0.0.1:2376", Host("tcp", ("127.0.0.1", 2376))),
    ("tcp://localhost", Host("tcp", ("localhost", 2375))),
    ("localhost:4243", Host("tcp", ("localhost", 4243))),
    ("tcp://[::1]:99", Host("tcp", ("::1", 99))),
    ("fd://3", Host("fd", 3)),
])
def test_parse_host_accepts_docker_forms(text, expected):
    assert parse_host(text) == expected


@pytest.mark.parametrize("text", [
    "http://x:1", "unix://relative.sock", "tcp://", "tcp://h:0", "tcp://h:70000", "tcp://h:x",
    "fd://", "fd://x", "tcp://::1:5", "unix:///" + "a" * 200,
])
def test_parse_host_rejects_bad_addresses_with_a_message(text):
    with pytest.raises(InvalidHost) as info:
        parse_host(text)
    assert str(info.value)


def test_flag_wins_over_docker_host():
    env = {"DOCKER_HOST": "tcp://envhost:1"}
    assert host_from_environment("unix:///flag.sock", env) == Host("unix", "/flag.sock")
    assert host_from_environment(None, env) == Host("tcp", ("envhost", 1))


hostnames = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?(\.[a-z0-9]{1,10}){0,3}", fullmatch=True)


@given(hostnames, st.integers(1, 65535))
def test_tcp_addresses_round_trip(host, port):
    parsed = parse_host(f"tcp://{host}:{port}")
    assert parsed == Host("tcp", (host, port))
    assert parse_host(str(parsed)) == parsed


@given(hostnames)
def test_tcp_default_port_is_2375(host):
    assert parse_host(f"tcp://{host}").address == (host, DEFAULT_TCP_PORT)


@given(st.lists(st.from_regex(r"[A-Za-z0-9._-]{1,12}", fullmatch=True), min_size=1, max_size=5))
def test_unix_paths_round_trip(parts):
    path = "/" + "/".join(parts)
    assert parse_host(str(parse_host(f"unix://{path}"))) == Host("unix", path)
