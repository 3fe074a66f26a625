"""A job's environment: KEY=VALUE lines, typed accessors, and JSON bodies in and out.

The laws, as hypothesis states them:
* the last value set for a key wins;
* every typed setter is undone by its getter;
* `decode_json(encode_json(env))` gives back any environment;
* `encode_json(decode_json(body))` gives back any JSON object without nulls
  whose strings do not read as JSON themselves.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from minidock.engine import Env
from minidock.engine.env import from_text, to_text
from minidock.server.errors import BadParameter

DATA = Path(__file__).parent / "data"

keys = st.text(max_size=12).filter(lambda key: "=" not in key)
json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) \
    | st.text(max_size=20)
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=12)


def reads_as_json(text: str) -> bool:
    """Is `text` exactly how a number, boolean, array or object is written (compact JSON)?
    Such a string cannot survive as a string: it reads back as that value."""
    try:
        value = json.loads(text)
    except ValueError:
        return False
    return value is not None and not isinstance(value, str) and \
        json.dumps(value, separators=(",", ":"), ensure_ascii=False) == text


# Top-level values of a body that round-trips: no null ("not set"), no string that reads as JSON.
body_values = json_values.filter(lambda v: v is not None and not (isinstance(v, str) and reads_as_json(v)))
bodies = st.dictionaries(keys, body_values, max_size=8)
# Any text at all, and often the text of a JSON value - written the way to_text writes it,
# or another way (`[1, 2]`, ` true`, `"x"`, `1e3`), which must stay a string.
env_texts = (st.text(max_size=20)
             | json_values.map(to_text).filter(lambda t: t is not None)
             | json_values.map(json.dumps)
             | st.tuples(st.sampled_from([" ", "\n", "\t"]), json_values).map(lambda t: t[0] + json.dumps(t[1]))
             | st.integers().map(lambda n: f"{n}e0"))
environments = st.lists(st.tuples(keys, env_texts), max_size=10)


def env_of(pairs: list[tuple[str, str]]) -> Env:
    env = Env()
    for key, value in pairs:
        env.set(key, value)
    return env


# ------------------------------------------------------------------ plain strings ----

@given(environments)
def test_the_last_value_set_wins_and_keys_keep_their_first_place(pairs: list[tuple[str, str]]) -> None:
    env = env_of(pairs)
    expected = dict(pairs)  # a dict keeps first-insertion order and the last value
    assert dict(env) == expected
    assert list(env) == list(expected) and len(env) == len(expected)
    assert env.lines() == [f"{key}={value}" for key, value in pairs]
    for key, value in expected.items():
        assert key in env and env.get(key) == value


def test_absent_keys_read_as_empty_strings() -> None:
    env = Env({"Image": "busybox"})
    assert env.get("Cmd") == "" and env.get("Cmd", "x") == "x"
    assert "Cmd" not in env and "Image" in env
    with pytest.raises(KeyError):
        env["Cmd"]


def test_a_key_with_an_equals_sign_is_refused() -> None:
    with pytest.raises(ValueError, match="contains '='"):
        Env().set("A=B", "1")
    with pytest.raises(TypeError, match="must be a str"):
        Env().set("A", 1)  # type: ignore[arg-type]


def test_unset_removes_every_line_of_a_key() -> None:
    env = Env()
    env.set("A", "1")
    env.set("B", "2")
    env.set("A", "3")
    env.unset("A")
    assert env.lines() == ["B=2"]


# ---------------------------------------------------------------- typed accessors ----

@given(keys, st.booleans())
def test_set_bool_then_get_bool(key: str, value: bool) -> None:
    env = Env()
    env.set_bool(key, value)
    assert env.get_bool(key) is value


@pytest.mark.parametrize(("text", "expected"), [
    ("1", True), ("true", True), ("True", True),
    ("0", False), ("false", False), ("False", False), ("", False), ("yes", False), ("TRUE", False),
])
def test_get_bool_reads_what_json_and_query_strings_write(text: str, expected: bool) -> None:
    env = Env()
    env.set("Tty", text)
    assert env.get_bool("Tty") is expected
    assert Env().get_bool("Tty") is False


@given(keys, st.integers())
def test_set_int_then_get_int(key: str, value: int) -> None:
    env = Env()
    env.set_int(key, value)
    assert env.get_int(key) == value


@pytest.mark.parametrize("text", ["", "abc", "1.5", "1_000", "١٢", "0x10", "1e3"])
def test_get_int_gives_the_default_for_what_is_not_a_decimal_integer(text: str) -> None:
    env = Env()
    env.set("Tail", text)
    assert env.get_int("Tail") == 0
    assert env.get_int("Tail", -1) == -1
    assert Env().get_int("Tail", -1) == -1


def test_get_int_reads_json_numbers_and_padded_text() -> None:
    env = Env().decode_json(b'{"StopTimeout": 10, "Memory": -1}')
    env.set("Tail", " 42 ")
    assert (env.get_int("StopTimeout"), env.get_int("Memory"), env.get_int("Tail")) == (10, -1, 42)


@given(keys, st.lists(st.text(max_size=10), max_size=5))
def test_set_list_then_get_list(key: str, value: list[str]) -> None:
    env = Env()
    env.set_list(key, value)
    assert env.get_list(key) == value


def test_get_list_of_a_plain_string_is_a_list_of_one_like_dockers() -> None:
    env = Env().decode_json(b'{"Cmd": "echo hi", "Entrypoint": null, "Env": [], "Numbers": [1, 2]}')
    assert env.get_list("Cmd") == ["echo hi"]
    assert env.get_list("Entrypoint") == [] and "Entrypoint" not in env  # null: not set
    assert env.get_list("Env") == []
    assert env.get_list("Numbers") == ["[1,2]"]  # not a list of strings: the text itself
    assert env.get_list("Missing") == []


@given(keys, body_values)
def test_set_json_then_get_json(key: str, value: Any) -> None:
    env = Env()
    env.set_json(key, value)
    assert env.get_json(key) == value


def test_set_json_of_none_unsets_and_get_json_has_a_default() -> None:
    env = Env({"A": 1})
    env.set_json("A", None)
    assert "A" not in env and env.get_json("A") is None and env.get_json("A", {}) == {}


@given(environments)
def test_set_sub_env_then_get_sub_env(pairs: list[tuple[str, str]]) -> None:
    sub = env_of(pairs)
    env = Env()
    env.set_sub_env("HostConfig", sub)
    assert env.get_sub_env("HostConfig") == sub
    assert Env().get_sub_env("HostConfig") == Env()  # absent: empty


def test_get_sub_env_of_something_else_is_a_bad_parameter() -> None:
    env = Env({"HostConfig": [1]})
    with pytest.raises(BadParameter, match="HostConfig: a JSON object was expected"):
        env.get_sub_env("HostConfig")


# --------------------------------------------------------------------- JSON bodies ----

@given(environments)
def test_decode_of_encode_gives_back_any_environment(pairs: list[tuple[str, str]]) -> None:
    env = env_of(pairs)
    assert dict(Env().decode_json(env.encode_json())) == dict(env)


@given(bodies)
def test_encode_of_decode_gives_back_the_body(body: dict[str, Any]) -> None:
    env = Env().decode_json(json.dumps(body).encode())
    assert json.loads(env.encode_json()) == body
    assert Env(body) == env  # Env(mapping) stores values the same way


@given(json_values)
def test_from_text_undoes_to_text(value: Any) -> None:
    text = to_text(value)
    if value is None:
        assert text is None
    elif isinstance(value, str) and reads_as_json(value):
        assert from_text(text) != value  # the documented price: "1" comes back as 1
    else:
        assert from_text(text) == value


def test_what_does_not_round_trip_is_what_the_rule_says() -> None:
    env = Env().decode_json(b'{"A": "1", "B": "[]", "C": " 1", "D": "\\"x\\"", "E": null, "F": "null"}')
    assert dict(env) == {"A": "1", "B": "[]", "C": " 1", "D": '"x"', "F": "null"}
    # Strings that read as JSON come back as JSON; the others stay strings; null stays unset.
    assert json.loads(env.encode_json()) == {"A": 1, "B": [], "C": " 1", "D": '"x"', "F": "null"}


@pytest.mark.parametrize(("body", "message"), [
    (b"{", "invalid JSON: Expecting property name enclosed in double quotes: line 1 column 2 (char 1)"),
    (b"", "invalid JSON: Expecting value: line 1 column 1 (char 0)"),
    (b"[1, 2]", "invalid JSON: a JSON object was expected, not an array"),
    (b'"busybox"', "invalid JSON: a JSON object was expected, not a string"),
    (b"null", "invalid JSON: a JSON object was expected, not null"),
    (b'{"Memory": NaN}', "invalid JSON: NaN is not JSON"),
    (b'{"A=B": 1}', "invalid JSON: key 'A=B' contains '='"),
    (b'{"Image": "\xff"}', "invalid JSON: the body is not UTF-8 (invalid start byte)"),
])
def test_a_body_that_is_not_one_json_object_is_a_bad_parameter(body: bytes, message: str) -> None:
    with pytest.raises(BadParameter) as caught:
        Env().decode_json(body)
    assert str(caught.value) == message
    assert caught.value.status == 400


def test_decode_adds_to_what_is_there_and_later_keys_win() -> None:
    env = Env({"Image": "old", "Name": "x"})
    env.decode_json(b'{"Image": "busybox"}')
    assert dict(env) == {"Image": "busybox", "Name": "x"}


# The request body of `docker run --name r1 busybox sh -c 'echo out; echo err >&2; exit 3'`, recorded
# from docker CLI 28.2.2. docker-api-wire-captures.txt, section run-fg, shows its first bytes and its size:
RUN_FG_PREFIX = (b'{"Hostname":"","Domainname":"","User":"","AttachStdin":false,"AttachStdout":true,'
                 b'"AttachStderr":true,"Tty":false,"OpenStdin":false,"StdinOnce":false,"Env":null,'
                 b'"Cmd":["sh","-c","echo out; echo err \\u003e\\u00262; exit 3"],"Image":"busybox","Volumes":{},'
                 b'"Working')
RUN_FG_SIZE = 1778


def test_the_docker_cli_create_body_decodes_into_typed_values() -> None:
    body = (DATA / "docker28-create-run-fg.json").read_bytes()
    assert body.startswith(RUN_FG_PREFIX) and len(body) == RUN_FG_SIZE, "the fixture is the captured body"
    env = Env().decode_json(body)
    assert env.get("Image") == "busybox"
    assert env.get_list("Cmd") == ["sh", "-c", "echo out; echo err >&2; exit 3"]
    assert env.get_bool("AttachStdout") and env.get_bool("AttachStderr")
    assert not env.get_bool("AttachStdin") and not env.get_bool("Tty") and not env.get_bool("OpenStdin")
    assert "Env" not in env and env.get_list("Env") == []                 # null: not set
    assert "Entrypoint" not in env and env.get_list("Entrypoint") == []
    assert env.get("WorkingDir") == "" and "WorkingDir" in env            # "" is set, and empty
    assert env.get_json("Labels") == {} and env.get_json("Volumes") == {}

    host_config = env.get_sub_env("HostConfig")
    assert host_config.get("NetworkMode") == "default"
    assert host_config.get_sub_env("RestartPolicy").get("Name") == "no"
    assert host_config.get_sub_env("RestartPolicy").get_int("MaximumRetryCount", -1) == 0
    assert host_config.get_bool("AutoRemove") is False
    assert host_config.get_int("MemorySwappiness") == -1
    assert host_config.get_json("ConsoleSize") == [0, 0]
    assert "Binds" not in host_config                                     # null inside a sub-env too
    endpoints = env.get_sub_env("NetworkingConfig").get_sub_env("EndpointsConfig")
    assert endpoints.get_sub_env("default").get("MacAddress") == ""

    # Back to JSON: the same body, less its top-level nulls ("not set"); nulls inside an
    # object stay, since the object is kept as JSON text.
    original = json.loads(body)
    assert json.loads(env.encode_json()) == {k: v for k, v in original.items() if v is not None}
    assert json.loads(env.encode_json())["HostConfig"]["Binds"] is None


def test_the_docker_py_create_body_decodes_too() -> None:
    # docker-api-wire-captures.txt, section dpy: docker-py 7.1.0's containers.run(...) body.
    body = (b'{"Tty": false, "OpenStdin": false, "StdinOnce": false, "AttachStdin": false, "AttachStdout": true, '
            b'"AttachStderr": true, "Cmd": ["sh", "-c", "echo out; echo err >&2"], "Image": "busybox", '
            b'"NetworkDisabled": false, "HostConfig": {"NetworkMode": "default"}}')
    env = Env().decode_json(body)
    assert env.get_list("Cmd") == ["sh", "-c", "echo out; echo err >&2"]
    assert env.get_sub_env("HostConfig").get("NetworkMode") == "default"
    assert json.loads(env.encode_json()) == json.loads(body)
