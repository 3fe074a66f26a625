"""A job's environment: `KEY=VALUE` strings, read through typed accessors.

Docker 1.x passed everything a job needs besides its arguments in an
`engine.Env`, a plain `[]string` of `KEY=VALUE` lines, exactly like a Unix
process's environment. A request's JSON body became a job's environment
(`job.DecodeEnv(r.Body)`), and a handler read it back with `GetBool`,
`GetInt`, `GetList`, `GetSubEnv` ...: the handler never saw JSON, and a job
started from code rather than from HTTP was given the same strings.

Every value is text. One rule, used in both directions, says how a JSON
value is written as text and read back (`to_text` / `from_text`):

* a string is kept as it is (`"busybox"` -> `busybox`);
* `null` means "not set": the key is left out (Docker issue 7941: the CLI
  sends `"Entrypoint": null` for "no entrypoint");
* anything else - number, boolean, array, object - is written as compact
  JSON (`["sh","-c","echo hi"]`, `true`, `{"NetworkMode":"default"}`);
* reading back, a text that is *exactly* what that rule writes for a
  non-string value (`to_text(json.loads(text)) == text`) is that value;
  any other text is a string.

So `decode_json(encode_json(env))` gives back every environment, and
`encode_json(decode_json(body))` gives back every JSON object without
nulls whose strings do not themselves read as JSON (a string `"1"` comes
back as the number 1: the price of keeping values as plain text, which
Docker paid too). The tests state both laws as hypothesis properties.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from minidock.server.errors import BadParameter

_INTEGER = re.compile(r"\s*[-+]?[0-9]+\s*", re.ASCII)  # what get_int accepts (not "1_000", not "١")
TRUE_TEXTS = frozenset({"1", "true", "True"})          # what get_bool reads as true


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")  # Python's json would accept NaN and Infinity


def _loads(text: str | bytes) -> Any:
    """Strict JSON: no NaN or Infinity, which no JSON encoder writes."""
    return json.loads(text, parse_constant=_reject_constant)


def json_kind(value: Any) -> str:
    """How JSON names the type of a decoded value, for messages."""
    if isinstance(value, bool):
        return "a boolean"
    return {dict: "an object", list: "an array", str: "a string", type(None): "null"}.get(type(value), "a number")


# --8<-- [start:env_codec]
def to_text(value: Any) -> str | None:
    """A JSON value as an environment value; None for null ("not set")."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def from_text(text: str) -> Any:
    """The JSON value an environment value stands for: the inverse of `to_text`."""
    try:
        value = _loads(text)
    except ValueError:
        return text  # not JSON: a plain string
    if value is None or isinstance(value, str) or to_text(value) != text:
        return text  # `"x"`, `null`, ` 1`, `1e3`: to_text never writes those for a value
    return value
# --8<-- [end:env_codec]


# --8<-- [start:env]
class Env:
    """The environment of a job: an ordered list of `KEY=VALUE` lines, last one wins.

    The analogy is a Unix process's environment, and the reason is Docker's:
    a handler reads its inputs the same way whether they came from an HTTP
    body or from another job's call, as typed values (`get_bool`, `get_int`,
    `get_list`, `get_json`, `get_sub_env`) over plain strings. Setting a key
    again appends a line; reading scans from the end, so the last set wins.
    `Env(mapping)` and `decode_json` write each value with `to_text`."""

    def __init__(self, initial: Mapping[str, Any] | Iterable[tuple[str, Any]] | Env | None = None) -> None:
        self._lines: list[str] = []
        if isinstance(initial, Env):
            self._lines = list(initial._lines)
        elif initial is not None:
            pairs = initial.items() if isinstance(initial, Mapping) else initial
            for key, value in pairs:
                self.set_json(key, value)

    # -- plain strings, as Docker's Get/Set ---------------------------------------------

    def get(self, key: str, default: str = "") -> str:
        """The last value set for `key`; `default` ("" like Docker) when it was never set."""
        prefix = key + "="
        for line in reversed(self._lines):
            if line.startswith(prefix):
                return line[len(prefix):]
        return default

    def set(self, key: str, value: str) -> None:
        if not isinstance(value, str):
            raise TypeError(f"Env.set({key!r}): the value must be a str, not {type(value).__name__}")
        if "=" in key:
            raise ValueError(f"invalid environment key {key!r}: it contains '='")
        self._lines.append(f"{key}={value}")

    def unset(self, key: str) -> None:
        self._lines = [line for line in self._lines if line.partition("=")[0] != key]
    # --8<-- [end:env]

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and any(line.partition("=")[0] == key for line in self._lines)

    def __getitem__(self, key: str) -> str:
        if key not in self:
            raise KeyError(key)
        return self.get(key)

    def keys(self) -> list[str]:
        """Each key once, in the order it was first set (so `dict(env)` works)."""
        return list(self.as_dict())

    def items(self) -> list[tuple[str, str]]:
        return list(self.as_dict().items())

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def __len__(self) -> int:
        return len(self.as_dict())

    def as_dict(self) -> dict[str, str]:
        values: dict[str, str] = {}
        for line in self._lines:
            key, _, value = line.partition("=")
            values[key] = value
        return values

    def lines(self) -> list[str]:
        """The `KEY=VALUE` lines as they were set, repeats included (Docker's `[]string`)."""
        return list(self._lines)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Env):
            return NotImplemented
        return self.as_dict() == other.as_dict()

    def __repr__(self) -> str:
        return f"Env({self.as_dict()!r})"

    # -- typed accessors -----------------------------------------------------------------

    # --8<-- [start:env_typed]
    def get_bool(self, key: str) -> bool:
        """True for "1", "true" and "True" (what set_bool, JSON and query strings write)."""
        # lab 03.1: Read typed values from a job's environment
        # hint: every value is text: self.get(key) gives it; TRUE_TEXTS is what reads as true
        return self.get(key) in TRUE_TEXTS
        # end lab 03.1

    def set_bool(self, key: str, value: bool) -> None:
        self.set(key, "1" if value else "0")

    def get_int(self, key: str, default: int = 0) -> int:
        """The value as a decimal integer; `default` when absent or not an integer
        (Docker's GetInt answered 0 for both; pass -1 where 0 is meaningful)."""
        # lab 03.1: Read typed values from a job's environment
        # hint: _INTEGER says what counts as a decimal integer; anything else gives the default
        text = self.get(key)
        return int(text) if _INTEGER.fullmatch(text) else default
        # end lab 03.1

    def set_int(self, key: str, value: int) -> None:
        self.set(key, str(int(value)))

    def get_list(self, key: str) -> list[str]:
        """A JSON array of strings; [] when absent or empty; any other text
        is a list of one (`"Cmd": "echo hi"` -> ["echo hi"], as Docker's GetList)."""
        # lab 03.1: Read typed values from a job's environment
        # hint: from_text turns the text back into the JSON value it stands for; only an array of strings is a list
        text = self.get(key)
        if not text:
            return []
        value = from_text(text)
        if isinstance(value, list) and all(isinstance(item, str) for item in value):
            return value
        return [text]
        # end lab 03.1

    def set_list(self, key: str, value: Iterable[str]) -> None:
        self.set_json(key, list(value))

    def get_json(self, key: str, default: Any = None) -> Any:
        """The JSON value stored under `key` (see `from_text`); `default` when absent."""
        return from_text(self.get(key)) if key in self else default

    def set_json(self, key: str, value: Any) -> None:
        """Store a JSON value (see `to_text`); None unsets the key."""
        text = to_text(value)
        if text is None:
            self.unset(key)
        else:
            self.set(key, text)

    def get_sub_env(self, key: str) -> Env:
        """A JSON object as an environment of its own (`HostConfig`); empty when absent.
        Anything but an object is a bad parameter."""
        value = self.get_json(key, {})
        if not isinstance(value, dict):
            raise BadParameter(f"{key}: a JSON object was expected, not {self.get(key)!r}")
        return Env(value)

    def set_sub_env(self, key: str, sub: Env) -> None:
        self.set_json(key, sub.to_object())
    # --8<-- [end:env_typed]

    # -- JSON bodies ---------------------------------------------------------------------

    # --8<-- [start:env_json]
    def decode_json(self, body: bytes | str) -> Env:
        """Add the keys of a JSON object (a request body) to this environment, like
        Docker's `job.DecodeEnv`. Anything but one JSON object is a bad parameter."""
        try:
            value = _loads(body)
        except UnicodeDecodeError as exc:
            raise BadParameter(f"invalid JSON: the body is not UTF-8 ({exc.reason})") from None
        except ValueError as exc:
            raise BadParameter(f"invalid JSON: {exc}") from None
        if not isinstance(value, dict):
            raise BadParameter(f"invalid JSON: a JSON object was expected, not {json_kind(value)}")
        for key, item in value.items():
            if "=" in key:
                raise BadParameter(f"invalid JSON: key {key!r} contains '='")
            self.set_json(key, item)
        return self

    def to_object(self) -> dict[str, Any]:
        """The environment as a JSON object (each value through `from_text`)."""
        return {key: from_text(value) for key, value in self.as_dict().items()}

    def encode_json(self) -> bytes:
        """The environment as a JSON object body: the inverse of `decode_json`."""
        return json.dumps(self.to_object(), separators=(",", ":")).encode()
    # --8<-- [end:env_json]
