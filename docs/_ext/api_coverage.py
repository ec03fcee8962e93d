"""Fails the build when a public name has no entry in the API reference.

A package's public namespaces are the package itself and every module or subpackage under it
whose dotted path has no part starting with ``_``. Each namespace's ``__all__`` is its list
of public names: every one of them must be documented (an ``automodule``, ``autofunction``,
... entry, so that it appears in the site's ``objects.inv``). A name that is a module must
have a module entry. A missing entry is a warning naming it and the fix, so the build, which
runs with ``-W``, fails: the reference never silently falls behind the code.

Configuration: ``api_coverage_packages`` (default ``[]``), the top-level packages to check.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from types import ModuleType

from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment
from sphinx.util import logging

logger = logging.getLogger(__name__)


def public_namespaces(package: str) -> list[ModuleType]:
    """The package and every public module or subpackage under it, imported."""
    root = importlib.import_module(package)
    found = [root]
    for info in pkgutil.walk_packages(getattr(root, "__path__", []), f"{package}."):
        if any(part.startswith("_") for part in info.name.split(".")):
            continue
        found.append(importlib.import_module(info.name))
    return found


def expected_entries(module: ModuleType) -> dict[str, str]:
    """``{qualified name: kind}`` for every name in the module's ``__all__`` (dunder names aside)."""
    names = getattr(module, "__all__", None)
    if names is None:
        return {module.__name__: "module"}
    entries = {module.__name__: "module"}
    for name in names:
        if name.startswith("__"):
            continue
        value = getattr(module, name)
        entries[f"{module.__name__}.{name}"] = "module" if inspect.ismodule(value) else "object"
    return entries


def missing_entries(packages: list[str], documented: set[str], modules: set[str]) -> list[str]:
    """The public names of ``packages`` that have no entry among ``documented`` / ``modules``."""
    missing = []
    for package in packages:
        for namespace in public_namespaces(package):
            for qualified, kind in expected_entries(namespace).items():
                if qualified not in (modules if kind == "module" else documented | modules):
                    missing.append(qualified)
    return sorted(set(missing))


def _check(app: Sphinx, env: BuildEnvironment) -> None:
    packages = list(app.config.api_coverage_packages)
    if not packages:
        return
    domain = env.get_domain("py")
    documented = {name for name, *_ in domain.get_objects()}
    modules = {name for name, _, kind, *_ in domain.get_objects() if kind == "module"}
    for name in missing_entries(packages, documented, modules):
        logger.warning(
            "public name %s is in __all__ but has no entry in the API reference: add it to the page of its "
            "namespace under docs/api/ (an automodule with :members: documents every name in __all__)",
            name,
            type="api_coverage",
        )


def setup(app: Sphinx) -> dict:
    app.add_config_value("api_coverage_packages", [], "env")
    app.connect("env-check-consistency", _check)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
