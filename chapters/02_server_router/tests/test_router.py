"""The router: path templates, the API version check, dispatch to job handlers.

The first tests drive `Router` directly with stand-ins for the request and
the response writer (recording what a handler does); the last ones send real
requests to a real minidockd and check what comes back on the wire.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).parent))  # the fakes beside this file (importlib mode)
from router_fakes import FakeRequest, FakeResponse  # noqa: E402
from minidock.server.errors import BadParameter, JobNotInstalled, MethodNotAllowed, NotFound
from minidock.server.router import PathTemplate, Route, Router, compare_versions, version_tuple
from minidock.server.routes import ROUTES


def echo_handler(request: FakeRequest, response: FakeResponse) -> None:
    """A handler that answers with what the router told it."""
    response.json(200, {"vars": request.vars, "api_version": request.api_version})


def route(router: Router, method: str, path: str, **query: str) -> FakeResponse:
    response = FakeResponse()
    router(FakeRequest(method, path, {k: [v] for k, v in query.items()}), response)
    return response


# ---------------------------------------------------------------- path templates ----
LITERAL = st.text("abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=8)
# Values never hold lowercase letters, so that a value cannot impersonate a literal
# segment (see test_a_changed_literal_segment_does_not_match).
SEGMENT_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789:._-@%+"
KINDS = {
    "segment": ("{%s}", st.text(SEGMENT_CHARS, min_size=1, max_size=10)),
    "digits": ("{%s:[0-9]+}", st.text("0123456789", min_size=1, max_size=6)),
    "greedy": ("{%s:.*}", st.text(SEGMENT_CHARS + "/", max_size=20)),
}


@st.composite
def templates(draw: st.DrawFn) -> tuple[PathTemplate, list[Any]]:
    """A template of 1-6 segments, each a literal word or one variable of some kind."""
    parts: list[Any] = []
    for index in range(draw(st.integers(1, 6))):
        if draw(st.booleans()):
            parts.append(draw(LITERAL))
        else:
            parts.append((f"v{index}", draw(st.sampled_from(sorted(KINDS)))))
    text = "/" + "/".join(p if isinstance(p, str) else KINDS[p[1]][0] % p[0] for p in parts)
    return PathTemplate(text), parts


@st.composite
def templates_with_values(draw: st.DrawFn) -> tuple[PathTemplate, list[Any], dict[str, str]]:
    template, parts = draw(templates())
    values = {p[0]: draw(KINDS[p[1]][1]) for p in parts if isinstance(p, tuple)}
    return template, parts, values


@given(templates_with_values())
@example((PathTemplate("/images/{name:.*}/json"), ["images", ("name", "greedy"), "json"],
          {"name": "localhost:5000/A/B:V1"}))
def test_a_template_matches_the_paths_it_generates(case: tuple[PathTemplate, list[Any], dict[str, str]]) -> None:
    """Law: match(expand(v)) gives back v when every variable is one segment; with
    greedy variables the split may differ, but it expands to the same path."""
    template, parts, values = case
    path = template.expand(**values)
    found = template.match(path)
    assert found is not None, f"{template} does not match its own expansion {path!r}"
    if all(p[1] != "greedy" for p in parts if isinstance(p, tuple)):
        assert found == values
    else:
        assert template.expand(**found) == path


@given(templates_with_values(), st.data())
def test_a_changed_literal_segment_does_not_match(case: tuple[PathTemplate, list[Any], dict[str, str]],
                                                 data: st.DataObject) -> None:
    """Law: replace one literal segment of the template by a word it does not
    contain, expand, and the path no longer matches. (The values hold no
    lowercase letters, so no value, greedy or not, can supply the missing word.)"""
    template, parts, values = case
    literal_positions = [i for i, p in enumerate(parts) if isinstance(p, str)]
    assume(literal_positions)
    position = data.draw(st.sampled_from(literal_positions))
    words = {p for p in parts if isinstance(p, str)}
    replacement = data.draw(LITERAL.filter(lambda w: w not in words))
    changed = list(parts)
    changed[position] = replacement
    text = "/" + "/".join(p if isinstance(p, str) else KINDS[p[1]][0] % p[0] for p in changed)
    path = PathTemplate(text).expand(**values)
    assert template.match(path) is None, f"{template} matched {path!r}"


@given(templates_with_values())
def test_a_path_with_an_extra_segment_does_not_match_a_template_without_greedy_variables(
        case: tuple[PathTemplate, list[Any], dict[str, str]]) -> None:
    template, parts, values = case
    assume(all(p[1] != "greedy" for p in parts if isinstance(p, tuple)))
    assert template.match(template.expand(**values) + "/extra") is None


def test_a_bare_variable_is_one_segment_and_a_greedy_one_crosses_slashes() -> None:
    assert PathTemplate("/containers/{id}/json").match("/containers/a/b/json") is None
    assert PathTemplate("/containers/{id:.*}/json").match("/containers/a/b/json") == {"id": "a/b"}
    assert PathTemplate("/exec/{id:[0-9a-f]{4}}/json").match("/exec/beef/json") == {"id": "beef"}
    assert PathTemplate("/exec/{id:[0-9a-f]{4}}/json").match("/exec/beefy/json") is None


def test_literal_text_is_not_a_regular_expression() -> None:
    assert PathTemplate("/a.b/{x}").match("/a.b/1") == {"x": "1"}
    assert PathTemplate("/a.b/{x}").match("/aXb/1") is None


@pytest.mark.parametrize("text, why", [
    ("containers/json", "must start with '/'"),
    ("/containers/{id/json", "unbalanced '{'"),
    ("/containers/id}/json", "unbalanced '}'"),
    ("/containers/{}/json", "bad variable name"),
    ("/a/{x}/{x}", "duplicate variable"),
])
def test_a_malformed_template_is_refused_when_the_table_is_built(text: str, why: str) -> None:
    with pytest.raises(ValueError, match=re.escape(why)):
        PathTemplate(text)


def test_expand_refuses_values_that_do_not_fit_their_pattern() -> None:
    template = PathTemplate("/exec/{id:[0-9]+}/json")
    assert template.expand(id="42") == "/exec/42/json"
    with pytest.raises(ValueError, match="does not match"):
        template.expand(id="4a")
    with pytest.raises(ValueError, match="missing"):
        template.expand()
    with pytest.raises(ValueError, match="does not match"):
        PathTemplate("/containers/{id}/json").expand(id="a/b")


# ---------------------------------------------------------------- versions ----
def test_versions_compare_as_numbers_not_as_text() -> None:
    assert version_tuple("1.9") < version_tuple("1.24")
    assert compare_versions("1.9", "1.24") == -1
    assert compare_versions("1.41", "1.41.0") == 0
    assert compare_versions("2", "1.99") == 1


@settings(max_examples=300)
@given(major=st.integers(0, 3), minor=st.integers(0, 120), top=st.integers(24, 60))
@example(major=1, minor=9, top=41)
@example(major=1, minor=24, top=41)
@example(major=1, minor=41, top=41)
@example(major=1, minor=42, top=41)
def test_the_router_accepts_a_version_iff_it_lies_between_the_minimum_and_the_maximum(
        major: int, minor: int, top: int) -> None:
    maximum = f"1.{top}"
    router = Router(ROUTES, {"version": echo_handler}, max_version=maximum)
    version = f"{major}.{minor}"
    path = f"/v{version}/version"
    if (1, 24) <= (major, minor) <= (1, top):
        assert route(router, "GET", path).sent == [("json", (200, {"vars": {}, "api_version": version}))]
    elif (major, minor) < (1, 24):
        with pytest.raises(BadParameter) as raised:
            route(router, "GET", path)
        assert str(raised.value) == (f"client version {version} is too old. Minimum supported API version is 1.24, "
                                     "please upgrade your client to a newer version")
    else:
        with pytest.raises(BadParameter) as raised:
            route(router, "GET", path)
        assert str(raised.value) == f"client version {version} is too new. Maximum supported API version is {maximum}"


def test_an_unversioned_path_gets_the_maximum_version() -> None:
    router = Router(ROUTES, {"version": echo_handler}, max_version="1.44")
    assert route(router, "GET", "/version").sent[0][1][1]["api_version"] == "1.44"


def test_the_minimum_may_not_exceed_the_maximum() -> None:
    with pytest.raises(ValueError, match="above the maximum"):
        Router(ROUTES, {}, max_version="1.23")


def test_an_unknown_path_is_a_404_whatever_its_version() -> None:
    router = Router(ROUTES, {})
    for path in ("/nosuch", "/v1.41/nosuch", "/v1.11/nosuch", "/v1.41", "/vx/version", "/v1.41/v1.41/version"):
        with pytest.raises(NotFound, match="^page not found$"):
            route(router, "GET", path)


# ---------------------------------------------------------------- dispatch ----
def test_the_handler_receives_the_path_variables_and_the_negotiated_version() -> None:
    router = Router(ROUTES, {"image_inspect": echo_handler})
    sent = route(router, "GET", "/v1.30/images/localhost:5000/a/b:v1/json").sent
    assert sent == [("json", (200, {"vars": {"name": "localhost:5000/a/b:v1"}, "api_version": "1.30"}))]


def test_a_known_path_with_another_method_is_a_405_with_an_allow_header() -> None:
    router = Router(ROUTES, {})
    response = FakeResponse()
    with pytest.raises(MethodNotAllowed) as raised:
        router(FakeRequest("POST", "/v1.41/_ping"), response)
    assert raised.value.status == 405
    assert raised.value.allowed == ["GET", "HEAD"]
    assert response.headers["Allow"] == "GET, HEAD"
    assert str(raised.value) == "method POST not allowed for /_ping (allowed: GET, HEAD)"


def test_a_route_without_a_handler_is_a_501_naming_the_chapter_that_brings_it() -> None:
    router = Router(ROUTES, {})
    with pytest.raises(JobNotInstalled) as raised:
        route(router, "POST", "/v1.41/containers/create")
    assert raised.value.status == 501
    assert str(raised.value) == "no handler for job 'create' in this chapter: chapter 03 (engine and jobs) installs it"


def test_handlers_installed_after_start_up_serve_the_next_request() -> None:
    handlers: dict[str, Any] = {}
    router = Router(ROUTES, handlers)
    with pytest.raises(JobNotInstalled):
        route(router, "GET", "/containers/json")
    handlers["containers"] = echo_handler  # what a later chapter's installer does
    assert route(router, "GET", "/containers/json").sent[0][0] == "json"
    router.handlers["images"] = echo_handler
    assert handlers["images"] is echo_handler, "router.handlers is the very dict the daemon passed"


def test_a_query_condition_picks_between_routes_on_one_path() -> None:
    table = [Route.of("POST", "/images/create", "pull", query="fromImage"),
             Route.of("POST", "/images/create", "import")]
    router = Router(table, {})
    assert router.match("POST", "/images/create", {"fromImage": ["busybox"]}).route.job == "pull"
    assert router.match("POST", "/images/create", {"fromImage": [""], "fromSrc": ["-"]}).route.job == "import"
    assert router.match("POST", "/images/create", {}).route.job == "import"
    only_pull = Router(table[:1], {})
    with pytest.raises(BadParameter, match="needs the query parameter fromImage"):
        only_pull.match("POST", "/images/create", {})


def test_the_first_matching_route_wins() -> None:
    table = [Route.of("GET", "/images/json", "images"), Route.of("GET", "/images/{name:.*}", "catch_all")]
    assert Router(table, {}).match("GET", "/images/json").route.job == "images"
    assert Router(table[::-1], {}).match("GET", "/images/json").route.job == "catch_all"


# ---------------------------------------------------------------- on the wire ----
def test_on_the_wire_404_405_400_and_501_carry_json_messages(daemon) -> None:  # noqa: ANN001 - conftest fixture
    cases = [
        ("GET", "/nosuch", 404, "page not found"),
        ("POST", "/v1.41/version", 405, "method POST not allowed for /version (allowed: GET)"),
        ("GET", "/v1.11/version", 400, "client version 1.11 is too old. Minimum supported API version is 1.24, "
                                       "please upgrade your client to a newer version"),
        ("GET", "/v1.99/version", 400, "client version 1.99 is too new. Maximum supported API version is 1.41"),
        ("POST", "/v1.41/containers/create", 501,
         "no handler for job 'create' in this chapter: chapter 03 (engine and jobs) installs it"),
    ]
    for method, path, status, message in cases:
        for host in (daemon.unix_host, daemon.tcp_host):
            reply = daemon.request(method, path, host=host, body=b"{}" if method == "POST" else None,
                                   headers={"Content-Type": "application/json"} if method == "POST" else None)
            assert (reply.status, reply.json()) == (status, {"message": message}), (method, path, reply.head)
            assert reply.headers["content-type"] == "application/json"
            assert reply.headers["api-version"] == "1.41"
    reply = daemon.request("POST", "/version", body=b"")
    assert reply.headers["allow"] == "GET"


def test_on_the_wire_names_with_slashes_reach_their_route(daemon) -> None:  # noqa: ANN001
    # No handler is installed for these jobs in chapter 02: the 501 names the job,
    # which proves which route the path reached.
    cases = [
        ("GET", "/v1.41/images/localhost:5000/a/b:v1/json", "image_inspect"),
        ("DELETE", "/v1.41/images/a/b:c", "image_delete"),
        ("POST", "/v1.41/images/a/b/push", "push"),
        ("GET", "/v1.41/containers/x/attach/ws", "attach_ws"),
        ("POST", "/v1.41/images/create?fromImage=busybox&tag=latest", "pull"),
        ("POST", "/v1.41/images/create?fromSrc=-&repo=imported", "import"),
    ]
    for method, path, job in cases:
        reply = daemon.request(method, path)
        assert reply.status == 501, (method, path, reply.body)
        assert f"no handler for job '{job}'" in reply.json()["message"]
