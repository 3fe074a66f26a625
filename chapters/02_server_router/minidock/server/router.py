"""The router: method + URL -> the job that serves it -> that job's handler.

Docker's server is a table of routes, each a method, a path template and a
handler (gorilla/mux underneath). Ours keeps the Docker 1.x twist: a route
does not point at a function, it *names a job* (`"create"`, `"pull"` ...),
and the handler for that job is looked up in `Router.handlers` at request
time. So the table (routes.py) is complete from chapter 02 on, and each later
chapter only installs handlers for the jobs it brings; a route whose job has
no handler yet answers 501 and names the chapter that brings it.

What the router does with a request, in order:

1. strip an optional `/v{version}` prefix (`/v1.41/version` -> `/version`);
2. find the route: the first one in table order whose template matches the
   path, whose method is the request's, and whose query condition (if any)
   holds. None matches the path: 404 `page not found`. Some match the path
   but not with this method: 405 with an `Allow` header;
3. check the API version against the daemon's range (moby's messages);
4. put the negotiated version and the path variables on the request, and
   call the handler of the route's job.

The router raises, it never writes an error reply: the server catches what
a route or handler raises and answers with `errors.status_of(exc)`, in one
place, the way moby's `makeHTTPHandler` does.

One deliberate difference from dockerd: dockerd answers a known path with
the wrong method with the same 404 `page not found` as an unknown path
(its mux's MethodNotAllowedHandler is the NotFound handler). We answer 405
and say which methods the path takes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from minidock.server.errors import BadParameter, JobNotInstalled, MethodNotAllowed, NotFound

if TYPE_CHECKING:
    from minidock.server.request import Request
    from minidock.server.response import ResponseWriter

Handler = Callable[["Request", "ResponseWriter"], None]
"""What a job's handler is: it reads the request and answers through the writer."""


# --8<-- [start:path_template]
DEFAULT_PATTERN = "[^/]+"  # gorilla/mux: a bare {name} is one path segment


class PathTemplate:
    """A gorilla/mux-style path template: `/containers/{id:.*}/start`.

    Literal text matches itself; `{name}` matches one path segment
    (`[^/]+`); `{name:pattern}` matches the regular expression `pattern`,
    which may cross slashes (`{name:.*}` is how Docker routes image names
    such as `localhost:5000/a/b:v1`). The whole template compiles to one
    anchored regular expression, so `match` accepts a path only if all of
    it fits: `/images/{name:.*}/json` matches `/images/a/b/json` (name
    `a/b`) but not `/images/a/b/json/x`.
    """

    def __init__(self, template: str) -> None:
        if not template.startswith("/"):
            raise ValueError(f"path template must start with '/': {template!r}")
        self.template = template
        self.parts = _parse(template)  # literals (str) and variables ((name, pattern))
        self.names = [part[0] for part in self.parts if isinstance(part, tuple)]
        if len(set(self.names)) != len(self.names):
            raise ValueError(f"duplicate variable in path template {template!r}")
        regex = "".join(
            re.escape(part) if isinstance(part, str) else f"(?P<{part[0]}>{part[1]})" for part in self.parts
        )
        self.regex = re.compile(f"^{regex}$")
        self._variable_regex = {name: re.compile(f"^(?:{pattern})$")
                                for name, pattern in (p for p in self.parts if isinstance(p, tuple))}

    def match(self, path: str) -> dict[str, str] | None:
        """The variables of `path` if the whole path fits the template, else None."""
        found = self.regex.match(path)
        return None if found is None else found.groupdict()

    def expand(self, **values: str) -> str:
        """The path with each `{name}` replaced by `values[name]`; every value must
        fit its variable's pattern (as gorilla's `URL()` checks), or ValueError."""
        missing = set(self.names) - set(values)
        extra = set(values) - set(self.names)
        if missing or extra:
            raise ValueError(f"{self.template}: missing {sorted(missing)}, unknown {sorted(extra)}")
        out = []
        for part in self.parts:
            if isinstance(part, str):
                out.append(part)
                continue
            value = values[part[0]]
            if not self._variable_regex[part[0]].match(value):
                raise ValueError(f"{self.template}: {part[0]}={value!r} does not match {part[1]!r}")
            out.append(value)
        return "".join(out)

    def __repr__(self) -> str:
        return f"PathTemplate({self.template!r})"

    def __str__(self) -> str:
        return self.template

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PathTemplate) and other.template == self.template

    def __hash__(self) -> int:
        return hash(self.template)


def _parse(template: str) -> list[str | tuple[str, str]]:
    """Split a template into literal text and (name, pattern) variables.
    Braces inside a pattern must balance (`{n:[0-9]{2}}` is fine), as in mux."""
    parts: list[str | tuple[str, str]] = []
    literal_start = 0
    i = 0
    while i < len(template):
        if template[i] == "}":
            raise ValueError(f"unbalanced '}}' in path template {template!r}")
        if template[i] != "{":
            i += 1
            continue
        depth, j = 1, i + 1
        while j < len(template) and depth:
            depth += {"{": 1, "}": -1}.get(template[j], 0)
            j += 1
        if depth:
            raise ValueError(f"unbalanced '{{' in path template {template!r}")
        if template[literal_start:i]:
            parts.append(template[literal_start:i])
        name, _, pattern = template[i + 1:j - 1].partition(":")
        if not name.isidentifier():
            raise ValueError(f"bad variable name {name!r} in path template {template!r}")
        pattern = pattern or DEFAULT_PATTERN
        re.compile(pattern)  # a bad pattern fails here, when the table is built
        parts.append((name, pattern))
        literal_start = i = j
    if template[literal_start:]:
        parts.append(template[literal_start:])
    return parts
# --8<-- [end:path_template]


# --8<-- [start:route]
@dataclass(frozen=True)
class Route:
    """One line of the route table: `GET /containers/{id:.*}/json` runs job `container_inspect`.

    `query`, when set, names a query parameter that must be present and
    non-empty for this route to match. It lets two routes share a method and
    path and still be told apart by data, not by code: `POST /images/create`
    is job `pull` with `fromImage=` and job `import` otherwise, which is the
    very test dockerd's handler makes (routes.py)."""

    method: str
    template: PathTemplate
    job: str
    query: str | None = None

    @classmethod
    def of(cls, method: str, template: str, job: str, query: str | None = None) -> Route:
        return cls(method, PathTemplate(template), job, query)

    def accepts_query(self, query: Mapping[str, list[str]]) -> bool:
        return self.query is None or bool((query.get(self.query) or [""])[0])

    def __str__(self) -> str:
        condition = f"?{self.query}=" if self.query else ""
        return f"{self.method} {self.template}{condition} -> {self.job}"
# --8<-- [end:route]


# --8<-- [start:versions]
VERSION_PREFIX = re.compile(r"^/v(?P<version>[0-9.]+)(?P<rest>/.*)$")  # moby: /v{version:[0-9.]+}


def version_tuple(version: str) -> tuple[int, ...]:
    """`"1.41"` -> `(1, 41)`. Compared as numbers, so 1.9 < 1.24. An empty
    part counts as 0, as in moby's `versions.compare`."""
    return tuple(int(part) if part.isdigit() else 0 for part in version.split("."))


def compare_versions(a: str, b: str) -> int:
    """-1, 0 or 1, like moby's `versions.compare`: missing parts count as 0 (1.41 == 1.41.0)."""
    # lab 02.2: Check the API version
    # hint: compare tuples of numbers (version_tuple), the shorter padded with zeros: 1.9 < 1.24, 1.41 == 1.41.0
    ta, tb = version_tuple(a), version_tuple(b)
    width = max(len(ta), len(tb))
    ta, tb = ta + (0,) * (width - len(ta)), tb + (0,) * (width - len(tb))
    return (ta > tb) - (ta < tb)
    # end lab 02.2


def check_version(version: str, min_version: str, max_version: str) -> None:
    """Refuse an API version outside [min_version, max_version] with moby's exact words."""
    # lab 02.2: Check the API version
    # hint: both refusals are BadParameter (a 400), in moby's words - the tests quote them:
    # hint: "client version V is too old. Minimum supported API version is MIN, please upgrade your client ..."
    # hint: "client version V is too new. Maximum supported API version is MAX"
    if compare_versions(version, min_version) < 0:
        raise BadParameter(f"client version {version} is too old. Minimum supported API version is "
                           f"{min_version}, please upgrade your client to a newer version")
    if compare_versions(version, max_version) > 0:
        raise BadParameter(f"client version {version} is too new. Maximum supported API version is {max_version}")
    # end lab 02.2
# --8<-- [end:versions]


@dataclass
class Match:
    """What routing found for a request: the route, its path variables, the API version."""

    route: Route
    vars: dict[str, str] = field(default_factory=dict)
    api_version: str = ""


# --8<-- [start:router]
class Router:
    """The route table plus the job handlers, callable as `router(request, response)`.

    `handlers` maps job names to handlers. A `dict` passed in is used as is,
    not copied: the daemon and later chapters add handlers to it
    (`router.handlers["create"] = ...`), and the router looks a job up at
    request time, so a handler installed after start-up serves the very
    next request."""

    def __init__(self, routes: Iterable[Route], handlers: Mapping[str, Handler] | None = None, *,
                 max_version: str = "1.41", min_version: str = "1.24") -> None:
        self.routes = list(routes)
        self.handlers: dict[str, Handler] = handlers if isinstance(handlers, dict) else dict(handlers or {})
        if compare_versions(min_version, max_version) > 0:
            raise ValueError(f"minimum API version {min_version} is above the maximum {max_version}")
        self.max_version = max_version
        self.min_version = min_version

    def match(self, method: str, path: str, query: Mapping[str, list[str]] | None = None) -> Match:
        """Route one request (no side effects). Raises NotFound, MethodNotAllowed, BadParameter."""
        query = query or {}
        version = self.max_version  # unversioned paths get the newest version we speak
        prefixed = VERSION_PREFIX.match(path)
        if prefixed:
            version, path = prefixed["version"], prefixed["rest"]
        # lab 02.1: Find the route for a request
        # hint: the first route in table order whose template matches the path, with the request's method, wins
        # hint: no route fits the path: NotFound("page not found"); only with other methods: MethodNotAllowed
        # hint: naming them (route.method); only the query condition failed (route.accepts_query): BadParameter
        # hint: check the version only once a route is found: an unknown path is a 404 whatever its version
        allowed: list[str] = []
        skipped_for_query: list[Route] = []
        for route in self.routes:
            found = route.template.match(path)
            if found is None:
                continue
            if route.method != method:
                if route.method not in allowed:
                    allowed.append(route.method)
                continue
            if not route.accepts_query(query):
                skipped_for_query.append(route)
                continue
            # Like moby, the version is checked only once a route is found:
            # an unknown path is a 404 whatever its version.
            check_version(version, self.min_version, self.max_version)
            return Match(route, found, version)
        if skipped_for_query:
            needed = ", ".join(sorted({r.query for r in skipped_for_query if r.query}))
            raise BadParameter(f"{method} {path} needs the query parameter {needed}")
        if allowed:
            raise MethodNotAllowed(f"method {method} not allowed for {path} (allowed: {', '.join(allowed)})",
                                   allowed)
        raise NotFound("page not found")
        # end lab 02.1

    def __call__(self, request: Request, response: ResponseWriter) -> None:
        try:
            found = self.match(request.method, request.path, request.query)
        except MethodNotAllowed as exc:
            response.headers["Allow"] = ", ".join(exc.allowed)
            raise
        request.api_version = found.api_version
        request.vars = found.vars
        handler = self.handlers.get(found.route.job)
        if handler is None:
            raise JobNotInstalled(found.route.job)
        handler(request, response)
# --8<-- [end:router]
