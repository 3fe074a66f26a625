"""The book builds, needs no internet, and its diagrams really render.

Three promises of DESIGN.md ("Docs mirror the code") are checked here:

1. `mkdocs build --strict` passes (a missing page, a broken link or a snippet
   section that has disappeared from the source fails the build);
2. no page loads a script, stylesheet or font from another host;
3. the mermaid diagrams render in a real browser (headless Chromium), from
   the vendored mermaid, with every other host unreachable.

A missing tool skips with a reason on a developer's machine; under CI
(`CI` set) it fails instead, so a green CI run has really checked the book.
"""

from __future__ import annotations

import concurrent.futures
import functools
import http.server
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
MKDOCS_YML = REPO / "mkdocs.yml"

# <link rel=...> values that name another page rather than load a resource.
NAVIGATION_RELS = {"canonical", "alternate", "prev", "next", "author", "license", "help", "search"}
EXTERNAL = re.compile(r"^\s*(https?:)?//", re.IGNORECASE)
CSS_EXTERNAL = re.compile(r"""(@import\s+(url\()?|url\()\s*['"]?\s*(https?:)?//""", re.IGNORECASE)


def skip_or_fail(reason: str) -> None:
    """Skip on a developer's machine; fail under CI, where nothing may be skipped."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set, so this cannot be skipped)")
    pytest.skip(reason)


# --- building ---------------------------------------------------------------


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The book, built with `mkdocs build --strict` into a temporary folder."""
    if importlib.util.find_spec("mkdocs") is None or importlib.util.find_spec("material") is None:
        skip_or_fail("mkdocs and mkdocs-material are not installed (pip install 'mkdocs-material>=9.5,<10')")
    out = tmp_path_factory.mktemp("site")
    # Run from an unrelated directory: snippet paths must resolve against the
    # repository root (mkdocs.yml's folder), not the current directory.
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(MKDOCS_YML), "-d", str(out)],
        cwd=out.parent,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, f"mkdocs build --strict failed:\n{result.stdout}\n{result.stderr}"
    return out


def html_pages(site: Path) -> list[Path]:
    return sorted(site.rglob("*.html"))


def url_of(site: Path, page: Path) -> str:
    """The URL path of a built page, e.g. 'architecture/' for architecture/index.html."""
    rel = page.relative_to(site).as_posix()
    return rel.removesuffix("index.html")


class ResourceCollector(HTMLParser):
    """Collects every URL a page makes the browser fetch, and its diagrams."""

    def __init__(self) -> None:
        super().__init__()
        self.resources: list[str] = []
        self.inline_css: list[str] = []
        self.diagrams = 0
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "script" and a.get("src"):
            self.resources.append(a["src"])
        elif tag == "link" and a.get("href"):
            rels = set(a.get("rel", "").lower().split())
            if not rels or not rels <= NAVIGATION_RELS:
                self.resources.append(a["href"])
        elif tag in {"img", "iframe", "source", "audio", "video", "embed"} and a.get("src"):
            self.resources.append(a["src"])
        elif tag == "style":
            self._in_style = True
        elif tag == "div" and "diagram" in a.get("class", "").split():
            self.diagrams += 1
        if a.get("style"):
            self.inline_css.append(a["style"])

    def handle_endtag(self, tag: str) -> None:
        if tag == "style":
            self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.inline_css.append(data)


def collect(page: Path) -> ResourceCollector:
    parser = ResourceCollector()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser


def test_site_builds_strict(site: Path) -> None:
    for page in ["index.html", "architecture/index.html", "running/index.html", "chapters/01_client/index.html"]:
        assert (site / page).is_file(), f"the build has no {page}"


def test_no_page_loads_anything_from_another_host(site: Path) -> None:
    offending: list[str] = []
    for page in html_pages(site):
        parser = collect(page)
        rel = page.relative_to(site)
        offending += [f"{rel}: {url}" for url in parser.resources if EXTERNAL.match(url)]
        offending += [f"{rel}: inline style {css[:80]!r}" for css in parser.inline_css if CSS_EXTERNAL.search(css)]
    for css in sorted(site.rglob("*.css")):
        offending += [f"{css.relative_to(site)}: {m.group(0)}" for m in CSS_EXTERNAL.finditer(css.read_text("utf-8"))]
    assert not offending, "the book must work offline, but these load from another host:\n" + "\n".join(offending)


def test_mermaid_is_vendored(site: Path) -> None:
    page = collect(site / "architecture" / "index.html")
    scripts = [Path(src).name for src in page.resources if src.endswith(".js")]
    assert "mermaid.min.js" in scripts and "diagrams.js" in scripts, (
        f"the architecture page must load the vendored mermaid and diagrams.js; it loads {scripts}"
    )
    assert (site / "assets" / "javascripts" / "mermaid.min.js").stat().st_size > 1_000_000


def test_architecture_page_has_its_diagrams(site: Path) -> None:
    assert collect(site / "architecture" / "index.html").diagrams >= 2, (
        "the architecture page should carry the flowchart and the `docker run` sequence diagram"
    )


# --- rendering in a browser -------------------------------------------------


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.fixture(scope="module")
def served_site(site: Path) -> Iterator[tuple[str, list[str]]]:
    """The built site on http://127.0.0.1:<port>/, and the list of paths requested."""
    requested: list[str] = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the stdlib's name
            requested.append(self.path)  # instead of printing a log line

    handler = functools.partial(Handler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", requested
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def rendered_dom(chromium: str, url: str) -> str:
    """The page's DOM after its scripts ran, as headless Chromium sees it."""
    with tempfile.TemporaryDirectory(prefix="minidock-chromium-") as profile:
        cmd = [
            chromium,
            "--headless",
            # The sandbox needs user namespaces Chromium may not get (and it
            # refuses to run as root with it); we only open our own pages.
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            # Every host but the loopback is unreachable: a diagram that
            # needs a CDN cannot render.
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
            "--virtual-time-budget=10000",
            "--dump-dom",
            url,
        ]
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, f"chromium failed on {url}:\n{result.stderr[-2000:]}"
    return result.stdout


class DiagramCollector(HTMLParser):
    """For each <div class="diagram">, the aria-roledescription of the first <svg> inside it."""

    def __init__(self) -> None:
        super().__init__()
        self.diagrams: list[str | None] = []
        self._depth = 0  # nesting depth of divs inside the current diagram

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if self._depth:
            if tag == "div":
                self._depth += 1
            if tag == "svg" and self.diagrams[-1] is None:
                self.diagrams[-1] = a.get("aria-roledescription", "svg")
        elif tag == "div" and "diagram" in a.get("class", "").split():
            self.diagrams.append(None)
            self._depth = 1

    def handle_endtag(self, tag: str) -> None:
        if self._depth and tag == "div":
            self._depth -= 1


@pytest.fixture(scope="module")
def chromium() -> str:
    found = find_chromium()
    if found is None:
        skip_or_fail("headless Chromium is not installed (apt-get install chromium)")
    return found


def test_diagrams_render_offline_in_chromium(
    site: Path, served_site: tuple[str, list[str]], chromium: str
) -> None:
    base, requested = served_site
    pages = {url_of(site, p): collect(p).diagrams for p in html_pages(site)}
    pages = {url: n for url, n in pages.items() if n}
    assert "architecture/" in pages, "the architecture page has no diagram to render"

    with concurrent.futures.ThreadPoolExecutor(max_workers=min(4, len(pages))) as pool:
        doms = dict(zip(pages, pool.map(lambda url: rendered_dom(chromium, base + url), pages)))

    problems: list[str] = []
    for url, expected in pages.items():
        kinds = DiagramCollector()
        kinds.feed(doms[url])
        rendered = kinds.diagrams
        if len(rendered) != expected:
            problems.append(f"/{url}: {expected} diagrams in the HTML, {len(rendered)} in the browser's DOM")
        for i, kind in enumerate(rendered, 1):
            if kind is None:
                problems.append(f"/{url}: diagram {i} was not rendered (no <svg>): did mermaid load?")
            elif kind == "error":
                problems.append(f"/{url}: diagram {i} is mermaid's syntax-error picture: fix its source")
    assert not problems, "\n".join(problems)

    arch = DiagramCollector()
    arch.feed(doms["architecture/"])
    assert {"flowchart-v2", "sequence"} <= set(arch.diagrams), arch.diagrams
    assert "/assets/javascripts/mermaid.min.js" in requested, "mermaid was not served by the local site"
