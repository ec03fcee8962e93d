"""The book (docs/): its API-coverage check, and the built site as a reader's browser sees it.

The site itself is built by ``.ci/run`` before the tests
(``python -m sphinx -W --keep-going -b html docs docs/_build/html``); the tests of the built
site skip where it has not been built, unless ``JAXNN_REQUIRE_DOCS_BUILD=1`` (set by
``.ci/run``) makes its absence a failure. The coverage check's own tests build small Sphinx
projects and need no site.
"""

from __future__ import annotations

import functools
import html.parser
import importlib.util
import http.server
import os
import pathlib
import subprocess
import sys
import textwrap
import threading
import urllib.parse

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
EXT = ROOT / "docs" / "_ext"
# JAXNN_DOCS_SITE points the tests at a site built elsewhere.
SITE = pathlib.Path(os.environ.get("JAXNN_DOCS_SITE") or ROOT / "docs" / "_build" / "html")

sys.path.insert(0, str(EXT))


def _site() -> pathlib.Path:
    if (SITE / "index.html").is_file():
        return SITE
    if os.environ.get("JAXNN_REQUIRE_DOCS_BUILD") == "1":
        pytest.fail(f"the book was not built into {SITE} (python -m sphinx -W --keep-going -b html docs docs/_build/html)")
    pytest.skip("the book is not built (python -m sphinx -W --keep-going -b html docs docs/_build/html)")


# ----------------------------------------------------------------------------- the coverage check

FAKE_PACKAGE = {
    "fakepkg/__init__.py": '''
        """A package with two public names."""
        __all__ = ["documented", "forgotten"]

        def documented():
            """In the reference."""

        def forgotten():
            """Public, but nobody wrote its entry."""
    ''',
    "fakepkg/tools.py": '''
        """A public submodule."""
        __all__ = ["helper"]

        def helper():
            """A helper."""
    ''',
    "fakepkg/_private.py": '''
        """Private: never checked."""
        __all__ = ["internal"]

        def internal():
            """Internal."""
    ''',
}


def _build_fake(tmp_path: pathlib.Path, index: str) -> subprocess.CompletedProcess:
    for name, text in FAKE_PACKAGE.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "conf.py").write_text(
        'extensions = ["sphinx.ext.autodoc", "api_coverage"]\napi_coverage_packages = ["fakepkg"]\n'
    )
    (docs / "index.rst").write_text(textwrap.dedent(index))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(EXT), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html", str(docs), str(tmp_path / "out")],
        capture_output=True, text=True, env=env, timeout=120,
    )


def test_coverage_check_fails_the_build_on_an_undocumented_public_name(tmp_path):
    pytest.importorskip("sphinx")
    run = _build_fake(tmp_path, """
        Fake
        ====

        .. automodule:: fakepkg
           :members: documented

        .. automodule:: fakepkg.tools
           :members:
    """)
    assert run.returncode != 0, run.stderr
    assert "fakepkg.forgotten" in run.stderr
    assert "fakepkg.documented " not in run.stderr and "fakepkg.tools" not in run.stderr
    assert "_private" not in run.stderr  # private modules are not public namespaces


def test_coverage_check_names_a_public_module_without_a_page(tmp_path):
    pytest.importorskip("sphinx")
    run = _build_fake(tmp_path, """
        Fake
        ====

        .. automodule:: fakepkg
           :members:
    """)
    assert run.returncode != 0
    assert "public name fakepkg.tools " in run.stderr and "fakepkg.tools.helper" in run.stderr
    assert "fakepkg.forgotten" not in run.stderr


def test_coverage_check_passes_a_complete_reference(tmp_path):
    pytest.importorskip("sphinx")
    run = _build_fake(tmp_path, """
        Fake
        ====

        .. automodule:: fakepkg
           :members:

        .. automodule:: fakepkg.tools
           :members:
    """)
    assert run.returncode == 0, run.stderr


def test_public_namespaces_are_those_without_an_underscore():
    import api_coverage

    names = [m.__name__ for m in api_coverage.public_namespaces("jaxnn")]
    assert names[0] == "jaxnn"
    assert {"jaxnn.losses", "jaxnn.train", "jaxnn.optim", "jaxnn.checkpoint", "jaxnn.cli"} <= set(names)
    assert not [n for n in names if any(p.startswith("_") for p in n.split("."))]


# ----------------------------------------------------------------------------- the built site


def _inventory(site: pathlib.Path) -> set[str]:
    from sphinx.util.inventory import InventoryFile

    with open(site / "objects.inv", "rb") as f:
        inventory = InventoryFile.load(f, "", lambda base, uri: uri)
    data = getattr(inventory, "data", inventory)
    return {name for kind, entries in data.items() if kind.startswith("py:") for name in entries}


def test_objects_inv_lists_every_public_name():
    import importlib

    site = _site()
    documented = _inventory(site)
    expected = set()
    for module_name in ("jaxnn", "jaxnn.losses", "jaxnn.train", "jaxnn.optim", "jaxnn.activations", "jaxnn.cli"):
        module = importlib.import_module(module_name)
        expected |= {f"{module_name}.{n}" for n in module.__all__ if not n.startswith("__")}
    assert expected - documented == set()
    import api_coverage

    assert api_coverage.missing_entries(["jaxnn"], documented, documented) == []


class _Loads(html.parser.HTMLParser):
    """The URLs a page loads by itself: scripts, style sheets, images, frames, media, fonts."""

    def __init__(self):
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("script", "img", "iframe", "audio", "video", "source", "embed") and attrs.get("src"):
            self.urls.append(attrs["src"])
        if tag == "link" and attrs.get("href") and not {"canonical", "alternate"} & set((attrs.get("rel") or "").split()):
            self.urls.append(attrs["href"])


def _is_remote(url: str) -> bool:
    parsed = urllib.parse.urlparse(url)
    return bool(parsed.scheme in ("http", "https") or url.startswith("//"))


def test_no_page_loads_anything_from_another_host():
    site = _site()
    remote = {}
    for page in site.rglob("*.html"):
        parser = _Loads()
        parser.feed(page.read_text(encoding="utf-8"))
        if found := [u for u in parser.urls if _is_remote(u)]:
            remote[str(page.relative_to(site))] = found
    for sheet in site.rglob("*.css"):
        text = sheet.read_text(encoding="utf-8", errors="replace")
        if "url(http" in text.replace('"', "").replace("'", "") or "@import url(//" in text:
            remote[str(sheet.relative_to(site))] = ["a url() to another host"]
    assert remote == {}


def test_every_chapter_is_built_with_math_and_executed_output():
    site = _site()
    chapters = sorted((site / "course").glob("*.html"))
    assert len(chapters) == 10
    for page in chapters + sorted((site / "guide").glob("*.html")):
        text = page.read_text(encoding="utf-8")
        assert "cell_output" in text, f"{page.name} shows no executed output"
    for page in chapters:
        text = page.read_text(encoding="utf-8")
        assert "math notranslate" in text, f"{page.name} has no rendered formula"


# ----------------------------------------------------------------------------- in a browser

from _browser import MISSING, start_chromium  # noqa: E402
from _browser import wait_for as _wait  # noqa: E402

browser_only = pytest.mark.skipif(MISSING is not None or importlib.util.find_spec("selenium") is None,
                                  reason=MISSING or "needs selenium")


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def site_url():
    site = _site()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(site)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser():
    driver = start_chromium(1300, 1000)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def _open(browser, url):
    browser.get("about:blank")
    browser.get_log("browser")
    browser.get(url)
    _wait(lambda: browser.execute_script("return document.readyState") == "complete", 30, f"{url} to load")


def _check_page(browser, base: str, path: str, *, math: bool):
    _open(browser, base + path)
    if math:
        # MathJax typesets asynchronously; every formula becomes an <mjx-container> with glyphs.
        _wait(lambda: browser.execute_script(
            "const m = document.querySelectorAll('mjx-container');"
            "return m.length > 0 && document.querySelectorAll('.math').length > 0 && "
            "Array.from(m).every(e => e.getBoundingClientRect().width > 0);"), 30, f"the math of {path} to be typeset")
        assert browser.execute_script("return document.querySelectorAll('mjx-merror, .MathJax_Error').length") == 0
    images = browser.execute_script(
        "return Array.from(document.images).map(i => [i.src, i.complete && i.naturalWidth > 0]);")
    assert [src for src, ok in images if not ok] == [], f"images of {path} that did not load"
    resources = browser.execute_script("return performance.getEntriesByType('resource').map(e => e.name);")
    origin = urllib.parse.urlparse(browser.current_url)
    foreign = [r for r in resources if urllib.parse.urlparse(r).netloc not in ("", origin.netloc)]
    assert foreign == [], f"{path} loaded from another host"
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == [], f"console errors on {path}"
    return images


@browser_only
@pytest.mark.xdist_group("test_docs_browser")
def test_pages_typeset_their_math_load_their_images_and_log_no_errors(browser, site_url):
    images = _check_page(browser, site_url, "course/01_perceptron.html", math=True)
    assert len(images) >= 1  # the perceptron's figures, made at build time
    _check_page(browser, site_url, "course/05_losses.html", math=True)
    _check_page(browser, site_url, "course/06_optimizers.html", math=True)
    _check_page(browser, site_url, "api/jaxnn.optim.html", math=True)  # formulas from the docstrings
    _check_page(browser, site_url, "index.html", math=False)


@browser_only
@pytest.mark.xdist_group("test_docs_browser")
def test_the_search_box_finds_fit(browser, site_url):
    _open(browser, site_url + "search.html?q=fit")
    # Sphinx lists the results a few at a time: wait for the one we want (or fail, listing them).
    def links():
        return [a.get_attribute("href") for a in browser.find_elements("css selector", "#search-results a")]

    try:
        _wait(lambda: any("api/jaxnn.train.html#jaxnn.train.fit" in href for href in links()), 30,
              "jaxnn.train.fit among the search results for fit")
    except AssertionError as error:
        raise AssertionError(f"{error}; the results: {links()}") from None
    assert [e for e in browser.get_log("browser") if e["level"] == "SEVERE"] == []


@browser_only
@pytest.mark.xdist_group("test_docs_browser")
def test_the_site_works_opened_as_files_without_a_server(browser):
    # A classroom without a network opens index.html from the folder: math and figures still show.
    site = _site()
    _check_page(browser, site.as_uri() + "/", "course/05_losses.html", math=True)
