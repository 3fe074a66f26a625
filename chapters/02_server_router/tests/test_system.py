"""`/_ping`, `/version`, `/info`: true facts, in the JSON types the spec (and the CLI's Go structs) demand."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # the fakes beside this file (importlib mode)
from router_fakes import FakeRequest, FakeResponse  # noqa: E402
from minidock.server import system
from minidock.server.system import DaemonFacts, info_body, load_engine_id, version_body

SPEC = Path(__file__).parent / "data" / "docker-engine-api-v1.41.yaml"


@pytest.fixture
def facts(tmp_path: Path) -> DaemonFacts:
    return DaemonFacts(data_root=tmp_path, engine_id=load_engine_id(tmp_path), api_version="1.41", debug=True)


# ---------------------------------------------------------------- the spec's types ----
@pytest.fixture(scope="module")
def definitions() -> dict[str, Any]:
    yaml = pytest.importorskip("yaml")
    if not SPEC.exists():
        pytest.skip(f"{SPEC} is not here")
    return yaml.safe_load(SPEC.read_text())["definitions"]


def conforms(value: Any, schema: dict[str, Any], definitions: dict[str, Any], where: str) -> list[str]:
    """What in `value` breaks `schema` (swagger 2.0): wrong JSON types, unknown keys.

    `null` is accepted only where Go decodes it into a nil slice, map or
    pointer (arrays and objects); a scalar must have its exact type (a bool
    is not an integer)."""
    while "$ref" in schema:
        schema = definitions[schema["$ref"].rsplit("/", 1)[-1]]
    kind = schema.get("type", "object")
    if value is None:
        return [] if kind in ("array", "object") else [f"{where}: null for a {kind}"]
    expected = {"string": str, "integer": int, "boolean": bool, "number": (int, float), "array": list,
                "object": dict}[kind]
    if not isinstance(value, expected) or (kind in ("integer", "number") and isinstance(value, bool)):
        return [f"{where}: {type(value).__name__} {value!r} for a {kind}"]
    if "enum" in schema and value not in schema["enum"]:
        return [f"{where}: {value!r} not in {schema['enum']}"]
    problems: list[str] = []
    if kind == "array":
        for index, item in enumerate(value):
            problems += conforms(item, schema.get("items", {}), definitions, f"{where}[{index}]")
    elif kind == "object":
        properties = schema.get("properties")
        extra = schema.get("additionalProperties")
        for key, item in value.items():
            if properties is not None and key in properties:
                problems += conforms(item, properties[key], definitions, f"{where}.{key}")
            elif isinstance(extra, dict):
                problems += conforms(item, extra, definitions, f"{where}.{key}")
            elif properties is not None:
                problems.append(f"{where}: {key!r} is not in the spec")
    return problems


def test_info_has_the_specs_types_and_only_its_fields(facts: DaemonFacts, definitions: dict[str, Any]) -> None:
    body = json.loads(json.dumps(info_body(facts)))  # what goes on the wire
    assert conforms(body, {"$ref": "#/definitions/SystemInfo"}, definitions, "info") == []


def test_version_has_the_specs_types_and_only_its_fields(facts: DaemonFacts, definitions: dict[str, Any]) -> None:
    body = json.loads(json.dumps(version_body(facts)))
    assert conforms(body, {"$ref": "#/definitions/SystemVersion"}, definitions, "version") == []
    # The CLI reads Components[].Details as map[string]string.
    details = body["Components"][0]["Details"]
    assert all(isinstance(v, str) for v in details.values()), details


def test_the_type_checker_catches_what_crashes_the_cli(definitions: dict[str, Any]) -> None:
    """The checker above is not vacuous: an NCPU sent as a string, a Debug sent as
    1, a null kernel version and a typo'd field are all reported."""
    bad = {"NCPU": "4", "Debug": 1, "KernelVersion": None, "MemTotl": 1, "Swarm": {"LocalNodeState": "off"}}
    problems = conforms(bad, {"$ref": "#/definitions/SystemInfo"}, definitions, "info")
    assert len(problems) == 5, problems


# ---------------------------------------------------------------- true facts ----
def test_info_tells_the_truth_about_this_machine_and_this_daemon(facts: DaemonFacts) -> None:
    body = info_body(facts)
    uname = os.uname()
    with open("/proc/meminfo") as meminfo:
        kib = next(int(line.split()[1]) for line in meminfo if line.startswith("MemTotal:"))
    assert body["MemTotal"] == kib * 1024
    assert body["NCPU"] == len(os.sched_getaffinity(0))
    assert body["KernelVersion"] == uname.release
    assert body["Architecture"] == uname.machine
    assert body["Name"] == socket.gethostname()
    assert body["OSType"] == "linux"
    if Path("/etc/os-release").exists():
        pretty = next(line.split("=", 1)[1].strip().strip('"') for line in Path("/etc/os-release").read_text()
                      .splitlines() if line.startswith("PRETTY_NAME="))
        assert body["OperatingSystem"] == pretty
    assert body["CgroupVersion"] == ("2" if Path("/sys/fs/cgroup/cgroup.controllers").exists() else "1")
    assert body["DockerRootDir"] == str(facts.data_root)
    assert body["ID"] == facts.engine_id
    assert body["Debug"] is True
    assert body["Swarm"]["LocalNodeState"] == "inactive"
    assert (body["Containers"], body["Images"]) == (0, 0)
    assert body["Warnings"] == [system.CHAPTER_02_WARNING]


def test_version_reports_the_advertised_api_range(tmp_path: Path) -> None:
    body = version_body(DaemonFacts(data_root=tmp_path, engine_id="x", api_version="1.44"))
    assert (body["ApiVersion"], body["MinAPIVersion"]) == ("1.44", "1.24")
    assert body["Components"][0]["Details"]["ApiVersion"] == "1.44"
    assert body["Platform"] == {"Name": "minidock"}
    assert body["Os"] == "linux"
    assert body["KernelVersion"] == os.uname().release
    assert body["GoVersion"].startswith("python3.")
    assert body["Experimental"] is False


def test_the_engine_id_is_stable_per_data_root(tmp_path: Path) -> None:
    first = load_engine_id(tmp_path / "a")
    assert load_engine_id(tmp_path / "a") == first
    assert (tmp_path / "a" / "engine-id").read_text().strip() == first
    assert load_engine_id(tmp_path / "b") != first
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["engine-id"], "no temporary file left behind"
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "engine-id").write_text("kept-as-is\n")
    assert load_engine_id(tmp_path / "c") == "kept-as-is"


# ---------------------------------------------------------------- handlers ----
def test_get_ping_says_ok_and_forbids_caching() -> None:
    response = FakeResponse()
    system.ping(FakeRequest("GET", "/_ping", api_version="1.41"), response)
    assert response.sent == [("raw", (200, b"OK", "text/plain; charset=utf-8"))]
    assert response.headers == {"Cache-Control": "no-cache, no-store, must-revalidate", "Pragma": "no-cache"}


def test_head_ping_has_no_body() -> None:
    response = FakeResponse()
    system.ping(FakeRequest("HEAD", "/_ping", api_version="1.41"), response)
    assert response.sent == [("raw", (200, b"", "text/plain; charset=utf-8"))]


def test_version_and_info_handlers_answer_200_json(facts: DaemonFacts) -> None:
    handlers = system.handlers_for(facts)
    for job, body in (("version", version_body(facts)), ("info", info_body(facts))):
        response = FakeResponse()
        handlers[job](FakeRequest("GET", "/" + job, api_version="1.41"), response)
        [(kind, (status, sent))] = response.sent
        assert (kind, status) == ("json", 200)
        assert sent.keys() == body.keys()


def test_install_adds_to_an_existing_table(facts: DaemonFacts) -> None:
    def create(request: Any, response: Any) -> None:
        pass

    table: dict[str, Any] = {"create": create}
    system.install(table, facts)
    assert table["create"] is create and {"ping", "version", "info"} <= set(table)


# ---------------------------------------------------------------- on the wire ----
def test_on_the_wire_head_ping_has_the_headers_and_no_body(daemon) -> None:  # noqa: ANN001 - conftest fixture
    for host in (daemon.unix_host, daemon.tcp_host):
        reply = daemon.request("HEAD", "/_ping", host=host)
        assert reply.status == 200
        assert reply.body == b""
        for name, value in {"api-version": "1.41", "ostype": "linux", "docker-experimental": "false",
                            "cache-control": "no-cache, no-store, must-revalidate", "pragma": "no-cache"}.items():
            assert reply.headers.get(name) == value, (name, reply.head)
        reply = daemon.request("GET", "/v1.41/_ping", host=host)
        assert (reply.status, reply.body) == (200, b"OK")


def test_on_the_wire_version_and_info(daemon) -> None:  # noqa: ANN001
    version = daemon.request("GET", "/v1.41/version")
    assert version.status == 200 and version.headers["content-type"] == "application/json"
    assert version.json()["ApiVersion"] == "1.41"
    info = daemon.request("GET", "/info", host=daemon.tcp_host).json()
    assert info["DockerRootDir"] == str(daemon.data_root)
    assert info["ID"] == (daemon.data_root / "engine-id").read_text().strip()


def test_the_docker_cli_prints_our_info(daemon, docker_cli) -> None:  # noqa: ANN001
    result = docker_cli("-H", daemon.unix_host, "info")
    assert result.returncode == 0, result.stderr
    assert "Server Version: 0.1.0" in result.stdout
    assert f"Kernel Version: {os.uname().release}" in result.stdout
    assert f"Docker Root Dir: {daemon.data_root}" in result.stdout
    assert "Swarm: inactive" in result.stdout
    assert system.CHAPTER_02_WARNING in result.stderr
    assert "ERROR" not in result.stdout + result.stderr


def test_docker_py_reads_version_and_info(daemon) -> None:  # noqa: ANN001
    code = ("import docker, json, sys; c = docker.DockerClient(base_url=sys.argv[1]); "
            "print(json.dumps([c.version()['ApiVersion'], c.info()['NCPU'], c.ping()]))")
    result = subprocess.run([sys.executable, "-c", code, daemon.unix_host],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == ["1.41", len(os.sched_getaffinity(0)), True]
