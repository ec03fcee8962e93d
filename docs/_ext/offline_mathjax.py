"""Math typeset by a MathJax that ships with the site, so a page opened offline shows it.

Sphinx's ``mathjax`` extension loads MathJax from a CDN by default. The MathJax 3 files come
from the ``sphinx-mathjax-offline`` package (the official MathJax 3.2.2 build); this
extension copies them into ``_static/mathjax`` (all of them: the bundle the pages use, TeX
input with CommonHTML output, loads its fonts, and TeX extensions or the accessibility menu on
demand, from beside itself) and points ``mathjax_path`` at that bundle.
"""

from __future__ import annotations

import importlib.util
import pathlib
import shutil

from sphinx.application import Sphinx

BUNDLE = "tex-chtml.js"


def _mathjax_folder() -> pathlib.Path:
    spec = importlib.util.find_spec("sphinx-mathjax-offline")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError('the docs need MathJax from the sphinx-mathjax-offline package: pip install -e ".[docs]"')
    return pathlib.Path(next(iter(spec.submodule_search_locations))) / "static" / "mathjax"


def _copy(app: Sphinx, exc: Exception | None) -> None:
    if exc is not None or app.builder.format != "html":
        return
    shutil.copytree(_mathjax_folder(), pathlib.Path(app.outdir) / "_static" / "mathjax", dirs_exist_ok=True)


def setup(app: Sphinx) -> dict:
    _mathjax_folder()  # fails at once, before any page is built, where MathJax is missing
    app.config.mathjax_path = f"mathjax/{BUNDLE}"
    app.connect("build-finished", _copy)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
