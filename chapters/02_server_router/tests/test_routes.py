"""The route table: it covers the Engine API v1.41 spec, every route is
reachable, and every job is either brought by a chapter or declared absent."""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # the fakes beside this file (importlib mode)
from router_fakes import FakeRequest, FakeResponse  # noqa: E402
from minidock.server import system
from minidock.server.errors import JobNotInstalled, NotFound, Unavailable
from minidock.server.router import Router
from minidock.server.routes import CHAPTER_TITLES, INTERNAL_JOBS, JOB_CHAPTERS, NOT_IMPLEMENTED, ROUTES

SPEC = Path(__file__).parent / "data" / "docker-engine-api-v1.41.yaml"
HTTP_METHODS = {"get", "head", "post", "put", "delete", "patch", "options"}

# Names a client may put in a path: plain, equal to a literal of the table,
# with slashes and a registry port, a digest.
AWKWARD_NAMES = ["web", "json", "create", "prune", "get", "a/b", "localhost:5000/a/b:v1",
                 "sha256:" + "0" * 64, "web.1_x-y"]


def spec_operations() -> list[tuple[str, str]]:
    yaml = pytest.importorskip("yaml")
    if not SPEC.exists():
        pytest.skip(f"{SPEC} is not here")
    paths = yaml.safe_load(SPEC.read_text())["paths"]
    return [(method.upper(), path) for path, operations in paths.items() for method in operations
            if method in HTTP_METHODS]


def fill(spec_path: str, value: str) -> tuple[str, dict[str, str]]:
    """`/containers/{id}/json` -> (`/containers/<value>/json`, {"id": value})."""
    variables = {}
    path = spec_path
    for name in ("id", "name"):
        if "{" + name + "}" in path:
            path = path.replace("{" + name + "}", value)
            variables[name] = value
    assert "{" not in path, f"unexpected variable in {spec_path}"
    return path, variables


# ---------------------------------------------------------------- coverage ----
def test_every_operation_of_the_v1_41_spec_is_routed_with_the_specs_variable_names() -> None:
    operations = spec_operations()
    assert len(operations) == 106
    router = Router(ROUTES, {})
    for (method, spec_path), value in itertools.product(operations, ["abc123", "localhost:5000/a/b:v1"]):
        if "{id}" in spec_path and "/" in value and not spec_path.startswith(("/containers", "/exec", "/networks")):
            continue  # swarm object IDs are one segment, as in moby's routes
        path, variables = fill(spec_path, value)
        query = {"fromImage": ["busybox"]} if spec_path == "/images/create" else {}
        found = router.match(method, f"/v1.41{path}", query)
        assert found.vars == variables, f"{method} {spec_path}: {found.route} gave {found.vars}"
        assert found.route.template.template.replace(":.*", "") == spec_path, (method, spec_path, str(found.route))


def test_every_route_is_an_operation_of_the_spec() -> None:
    operations = set(spec_operations())
    for route in ROUTES:
        spec_path = route.template.template.replace(":.*", "")
        assert (route.method, spec_path) in operations, f"{route} is not in the v1.41 spec"


def test_the_table_has_no_duplicate_rows() -> None:
    rows = [(r.method, r.template.template, r.query) for r in ROUTES]
    assert len(rows) == len(set(rows))


def test_every_route_is_reachable_with_awkward_names() -> None:
    """No route is hidden by an earlier one: expanding a route's template with
    any name a client may send leads the router back to that very route."""
    router = Router(ROUTES, {})
    for route, name in itertools.product(ROUTES, AWKWARD_NAMES):
        try:
            path = route.template.expand(**{var: name for var in route.template.names})
        except ValueError:
            continue  # the name does not fit this variable (a slash in a one-segment {id})
        query = {route.query: ["x"]} if route.query else {}
        found = router.match(route.method, path, query)
        assert found.route is route, f"{route.method} {path} reached {found.route}, not {route}"
        assert found.vars == {var: name for var in route.template.names}


@pytest.mark.parametrize("method, path, job, variables", [
    ("GET", "/images/localhost:5000/a/b:v1/json", "image_inspect", {"name": "localhost:5000/a/b:v1"}),
    ("GET", "/images/json", "images", {}),
    ("GET", "/images/json/json", "image_inspect", {"name": "json"}),
    ("DELETE", "/images/a/b:c", "image_delete", {"name": "a/b:c"}),
    ("POST", "/images/a/b/push", "push", {"name": "a/b"}),
    ("POST", "/images/sha256:71b48f3abebe/tag", "tag", {"name": "sha256:71b48f3abebe"}),
    ("GET", "/images/a/b/get", "image_get", {"name": "a/b"}),
    ("GET", "/images/get", "image_get", {}),
    ("GET", "/containers/x/attach/ws", "attach_ws", {"id": "x"}),
    ("POST", "/containers/x/attach", "attach", {"id": "x"}),
    ("GET", "/containers/json", "containers", {}),
    ("GET", "/containers/json/json", "container_inspect", {"id": "json"}),
    ("HEAD", "/containers/c1/archive", "archive_stat", {"id": "c1"}),
    ("HEAD", "/_ping", "ping", {}),
    ("GET", "/plugins/vieux/sshfs:latest/json", "plugin_inspect", {"name": "vieux/sshfs:latest"}),
])
def test_docker_paths_reach_their_job(method: str, path: str, job: str, variables: dict[str, str]) -> None:
    for prefix in ("", "/v1.41", "/v1.24"):
        found = Router(ROUTES, {}).match(method, prefix + path)
        assert (found.route.job, found.vars) == (job, variables)


@pytest.mark.parametrize("query, job", [
    ({"fromImage": ["docker.io/library/busybox"], "tag": ["latest"]}, "pull"),
    ({"fromSrc": ["-"], "repo": ["imported:v1"]}, "import"),
    ({"fromImage": [""], "fromSrc": ["http://example.com/x.tar"]}, "import"),
])
def test_images_create_is_pull_with_from_image_and_import_otherwise(query: dict[str, list[str]], job: str) -> None:
    assert Router(ROUTES, {}).match("POST", "/v1.41/images/create", query).route.job == job


# ---------------------------------------------------------------- jobs and chapters ----
def test_every_job_is_brought_by_exactly_one_chapter_or_declared_absent() -> None:
    jobs = {route.job for route in ROUTES}
    assert not set(JOB_CHAPTERS) & NOT_IMPLEMENTED
    assert jobs - set(JOB_CHAPTERS) - NOT_IMPLEMENTED == set(), "jobs nobody accounts for"
    assert set(JOB_CHAPTERS) - jobs == INTERNAL_JOBS, "JOB_CHAPTERS names jobs no route runs"
    assert not INTERNAL_JOBS & jobs
    assert NOT_IMPLEMENTED - jobs == set()
    assert set(JOB_CHAPTERS.values()) <= set(CHAPTER_TITLES)
    assert set(JOB_CHAPTERS.values()) == {2, 3, 4, 5, 6}


def test_chapter_02_installs_exactly_the_jobs_the_table_gives_it() -> None:
    facts = system.DaemonFacts(data_root="/nonexistent", engine_id="x")
    assert set(system.handlers_for(facts)) == {job for job, chapter in JOB_CHAPTERS.items() if chapter == 2}


@pytest.mark.parametrize("job, chapter, title", [
    ("create", 3, "engine and jobs"), ("containers", 3, "engine and jobs"), ("pull", 4, "registry"),
    ("search", 4, "registry"), ("images", 5, "graph"), ("build", 5, "graph"), ("import", 5, "graph"),
    ("network_create", 6, "drivers"), ("changes", 6, "drivers"),
])
def test_the_501_names_the_chapter_that_installs_the_job(job: str, chapter: int, title: str) -> None:
    assert JOB_CHAPTERS[job] == chapter
    assert str(JobNotInstalled(job)) == f"no handler for job '{job}' in this chapter: chapter {chapter:02d} ({title}) installs it"


@pytest.mark.parametrize("job", sorted(NOT_IMPLEMENTED))
def test_a_job_no_chapter_brings_says_so(job: str) -> None:
    assert str(JobNotInstalled(job)) == f"no handler for job '{job}': minidock does not implement it"


def test_in_chapter_02_every_route_answers_or_names_what_is_missing() -> None:
    """With chapter 02's handlers only, each route either has a handler (a
    chapter-2 job) or raises JobNotInstalled; none fails otherwise."""
    facts = system.DaemonFacts(data_root="/nonexistent", engine_id="x")
    router = Router(ROUTES, system.handlers_for(facts))
    for route in ROUTES:
        path = route.template.expand(**{var: "x" for var in route.template.names})
        query = {route.query: ["x"]} if route.query else {}
        response = FakeResponse()
        request = FakeRequest(route.method, path, query)
        if JOB_CHAPTERS.get(route.job) == 2:
            continue  # system handlers: test_system.py
        with pytest.raises(JobNotInstalled) as raised:
            router(request, response)
        assert raised.value.job == route.job


def test_swarm_routes_answer_like_a_dockerd_outside_a_swarm() -> None:
    router = Router(ROUTES, system.handlers_for(system.DaemonFacts(data_root="/x", engine_id="x")))
    for method, path in [("GET", "/swarm"), ("GET", "/nodes"), ("GET", "/services/abc"), ("POST", "/secrets/create")]:
        with pytest.raises(Unavailable) as raised:
            router(FakeRequest(method, path), FakeResponse())
        assert raised.value.status == 503
        assert str(raised.value) == system.NOT_A_SWARM_MANAGER


def test_plugin_reads_answer_truthfully_there_are_none() -> None:
    router = Router(ROUTES, system.handlers_for(system.DaemonFacts(data_root="/x", engine_id="x")))
    response = FakeResponse()
    router(FakeRequest("GET", "/v1.41/plugins"), response)
    assert response.sent == [("json", (200, []))]
    with pytest.raises(NotFound) as raised:
        router(FakeRequest("GET", "/v1.41/plugins/nosuchthing/json"), FakeResponse())
    assert str(raised.value) == 'plugin "nosuchthing" not found'


# ---------------------------------------------------------------- on the wire ----
def test_docker_ps_prints_the_chapter_that_brings_containers_and_fails(daemon, docker_cli) -> None:  # noqa: ANN001
    message = "no handler for job 'containers' in this chapter: chapter 03 (engine and jobs) installs it"
    for host in (daemon.unix_host, daemon.tcp_host):
        result = docker_cli("-H", host, "ps")
        assert result.returncode == 1, result
        assert result.stderr.strip() == f"Error response from daemon: {message}"


def test_our_client_prints_it_too(daemon) -> None:  # noqa: ANN001
    from minidock.testing import run_cli

    result = run_cli("-H", daemon.unix_host, "ps")
    assert result.returncode == 1
    assert b"chapter 03 (engine and jobs) installs it" in result.stderr
