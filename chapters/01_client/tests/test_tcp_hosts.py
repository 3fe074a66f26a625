"""tcp:// addresses: the forms docker accepts, and the ones it refuses with a message.

Every case here goes through `_parse_tcp` (a bare `host:port` is tcp too), so
these are the tests that grade the host-parsing lab (`minidock-lab show 01.2`).
"""

from __future__ import annotations

import pytest

from minidock.client.hosts import Host, InvalidHost, parse_host


@pytest.mark.parametrize("text, expected", [
    ("tcp://127.0.0.1:2376", ("127.0.0.1", 2376)),
    ("tcp://localhost", ("localhost", 2375)),
    ("tcp://localhost/", ("localhost", 2375)),
    ("localhost:4243", ("localhost", 4243)),
    ("TCP://docker.example.com:65535", ("docker.example.com", 65535)),
    ("tcp://[::1]:99", ("::1", 99)),
    ("tcp://[fe80::1]", ("fe80::1", 2375)),
])
def test_tcp_forms_docker_accepts(text: str, expected: tuple[str, int]) -> None:
    assert parse_host(text) == Host("tcp", expected)


@pytest.mark.parametrize("text, why", [
    ("tcp://", "no host"),
    ("tcp://:2375", "host"),
    ("tcp://h:0", "bad port"),
    ("tcp://h:70000", "bad port"),
    ("tcp://h:x", "bad port"),
    ("tcp://::1:5", "brackets"),
    ("tcp://[::1", "invalid tcp address"),
    ("tcp://[::1]x", "invalid tcp address"),
    ("tcp://bad_host:1", "bad host name"),
])
def test_tcp_forms_docker_refuses_name_the_address(text: str, why: str) -> None:
    with pytest.raises(InvalidHost) as info:
        parse_host(text)
    assert why in str(info.value) and repr(text) in str(info.value)
