"""Runs every docstring example, and checks every public name has a docstring."""

import doctest
import importlib
import inspect
import pkgutil

import jax
import jax.numpy as jnp
import pytest

import jaxnn

MODULES = [f"jaxnn.{name}" for name in jaxnn.__all__ if name != "__version__" and inspect.ismodule(getattr(jaxnn, name))]
# Every module, private ones included: doctest only collects the examples of functions
# defined in the module it is given, so a package's re-exports are tested where they live.
ALL_MODULES = sorted(m.name for m in pkgutil.walk_packages(jaxnn.__path__, "jaxnn.") if not m.name.endswith("__main__"))


@pytest.mark.parametrize("name", ALL_MODULES)
def test_doctests(name):
    module = importlib.import_module(name)
    result = doctest.testmod(
        module, extraglobs={"jax": jax, "jnp": jnp}, optionflags=doctest.NORMALIZE_WHITESPACE, verbose=False
    )
    assert result.failed == 0


@pytest.mark.parametrize("name", MODULES)
def test_every_public_name_is_documented(name):
    module = importlib.import_module(name)
    assert module.__doc__
    for attr in module.__all__:
        obj = getattr(module, attr)
        if inspect.isfunction(obj) or inspect.isclass(obj):
            assert inspect.getdoc(obj), f"{name}.{attr} has no docstring"


def _sections_off_style(source: str) -> list[str]:
    """The Google-style sections whose items are not indented two spaces under the header."""
    import ast
    import re

    header = re.compile(r"^( *)(Args|Returns|Raises|Attributes|Yields):\s*$")
    bad = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        doc = ast.get_docstring(node, clean=False)
        lines = (doc or "").split("\n")
        for i, line in enumerate(lines):
            m = header.match(line)
            following = [l for l in lines[i + 1:] if l.strip()]
            if m and following:
                indent = len(following[0]) - len(following[0].lstrip())
                if indent - len(m.group(1)) != 2:
                    bad.append(f"{getattr(node, 'name', '<module>')}: {m.group(2)}")
    return bad


def test_one_docstring_style():
    # Google style as the package writes it: section items two spaces under their header,
    # continuation lines two more.
    import pathlib

    root = pathlib.Path(jaxnn.__file__).parent
    bad = {str(p.relative_to(root)): s for p in sorted(root.rglob("*.py")) if (s := _sections_off_style(p.read_text()))}
    assert not bad, bad
