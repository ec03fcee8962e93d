"""Sphinx configuration of the jaxnn book.

Build (warnings are errors; every page's code is executed):

    python -m sphinx -W --keep-going -b html docs docs/_build/html

Pages are MyST markdown executed by MyST-NB. Under CI (``CI`` set) every page is executed on
every build; elsewhere jupyter-cache re-executes only the pages whose code changed.
``JAXNN_DOCS_ONLY=course/01_perceptron,guide/cli`` builds those executed pages alone (with the
API reference), for a quick look while writing one chapter; that build is not warning-free,
since the table of contents names pages it leaves out.
"""

from __future__ import annotations

import os
import pathlib
import sys

import jaxnn

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "_ext"))

project = "jaxnn"
author = "the jaxnn authors"
copyright = "2026, the jaxnn authors"  # noqa: A001 (Sphinx's name)
release = jaxnn.__version__
version = release

extensions = [
    "myst_nb",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "sphinx_copybutton",
    "api_coverage",
    "offline_mathjax",
]

# ----------------------------------------------------------------------------- pages
exclude_patterns = ["_build", "**/.ipynb_checkpoints", "README.md", "jupyter_execute"]
_only = [p.strip() for p in os.environ.get("JAXNN_DOCS_ONLY", "").split(",") if p.strip()]
if _only:
    _executed = [str(p.relative_to(HERE).with_suffix("")) for d in ("course", "guide") for p in (HERE / d).glob("*.md")]
    exclude_patterns += [f"{page}.md" for page in _executed if page not in _only]

myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist"]
myst_heading_anchors = 3

# Every page runs on every CI build (no stored outputs); locally, jupyter-cache skips pages
# whose code has not changed. A cell that raises fails the build.
nb_execution_mode = "force" if os.environ.get("CI") else "cache"
nb_execution_raise_on_error = True
nb_execution_show_tb = True
nb_execution_timeout = 600
nb_merge_streams = True
# Figures are PNGs made by matplotlib at build time, stored in the site itself.
nb_mime_priority_overrides = [("html", "image/svg+xml", 0)]

# ----------------------------------------------------------------------------- API reference
# Every name in a module's __all__, in that order (module constants need a `#:` comment).
autodoc_default_options = {"members": True, "member-order": "bysource"}
autodoc_typehints = "signature"
autodoc_typehints_format = "short"
autodoc_preserve_defaults = True
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_rtype = False
napoleon_attr_annotations = True

# Every cross-reference must resolve (warnings are errors), except names that belong to
# other libraries: there is no network at build time, so no intersphinx inventories.
nitpicky = True
nitpick_ignore_regex = [
    (r"py:.*", r"(jax|jaxlib|jnp|numpy|np|optax|chex|matplotlib|starlette|sklearn|collections|typing|types|os|pathlib|dataclasses)(\..*)?"),
    (r"py:.*", r"(Array|ArrayLike|DTypeLike|PRNGKeyArray|Callable|Sequence|Mapping|Iterator|Iterable|Any|PyTree|Params|Shape)"),
]

# ----------------------------------------------------------------------------- HTML
html_theme = "furo"
html_title = f"jaxnn {release}"
html_static_path = ["_static"]
html_favicon = "_static/favicon.svg"
html_css_files = ["book.css"]
html_last_updated_fmt = None
html_copy_source = False
html_show_sourcelink = False
api_coverage_packages = ["jaxnn"]


def _skip_members_described_elsewhere(app, what, name, obj, skip, options):
    """A NamedTuple's fields are described by its docstring's Attributes section; autodoc would
    add each field again as "Alias for field number N", a second entry under the same name.
    The scikit-learn estimators' ``set_*_request`` methods are scikit-learn's, documented there."""
    if what == "class" and (getattr(obj, "__doc__", None) or "").startswith("Alias for field number"):
        return True
    if what == "class" and name.startswith("set_") and name.endswith("_request"):
        return True
    return skip


def setup(app):
    app.connect("autodoc-skip-member", _skip_members_described_elsewhere)
