"""Search: `docker search [registry/]term`.

Docker Hub answers the old V1 search endpoint, and so does `minidock-registry`:

    GET /v1/search?q=busy&n=25
    {"num_results": 1, "query": "busy",
     "results": [{"name": "busybox", "description": "", "star_count": 0, "is_official": false, "is_automated": false}]}

A plain V2 registry (distribution) has no search at all; it has a
catalog of every repository, `GET /v2/_catalog`, which we page through and
filter by the term ourselves - what a user would do by hand.
"""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

from minidock.registry.client.session import Session
from minidock.registry.errors import RegistryError

CATALOG_PAGE = 100
MAX_CATALOG_PAGES = 50  # a registry with more than 5000 repositories should have a real search


def split_term(term: str) -> tuple[str, str]:
    """`127.0.0.1:5000/busy` -> (`127.0.0.1:5000`, `busy`); `busy` -> (`docker.io`, `busy`)."""
    first, slash, rest = term.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        return first, rest
    return "docker.io", term


def _result(name: str) -> dict[str, Any]:
    return {"name": name, "description": "", "star_count": 0, "is_official": False, "is_automated": False}


def search(session: Session, term: str, limit: int = 25) -> list[dict[str, Any]]:
    """Repositories matching `term` (without its registry part), at most `limit`, Docker Hub's shape."""
    query = urllib.parse.urlencode({"q": term, "n": limit})
    try:
        response = session.request("GET", f"/v1/search?{query}", ok=(200,))
        results = json.loads(response.read(16 << 20)).get("results") or []
        return [item for item in results if isinstance(item, dict)][:limit]
    except RegistryError as exc:
        if exc.status not in (404, 405):
            raise
    except (ValueError, AttributeError):
        raise RegistryError(f"registry {session.host} answered /v1/search with something that is not JSON")
    return [_result(name) for name in catalog(session) if term in name][:limit]


def catalog(session: Session) -> list[str]:
    """Every repository the registry lists, following `Link: <…>; rel="next"` pages."""
    names: list[str] = []
    url = f"/v2/_catalog?n={CATALOG_PAGE}"
    for _ in range(MAX_CATALOG_PAGES):
        response = session.request("GET", url, scope="registry:catalog:*")
        link = response.header("Link")
        try:
            page = json.loads(response.read(16 << 20)).get("repositories") or []
        except (ValueError, AttributeError):
            raise RegistryError(f"registry {session.host} answered /v2/_catalog with something that is not JSON")
        names += [name for name in page if isinstance(name, str)]
        if not link or 'rel="next"' not in link:
            break
        url = link.split(";", 1)[0].strip().strip("<>")
    return names
