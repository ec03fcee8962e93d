"""Runs every docstring example, and checks every public name has a docstring."""

import doctest
import importlib
import inspect

import jax
import jax.numpy as jnp
import pytest

import jaxnn

MODULES = [f"jaxnn.{name}" for name in jaxnn.__all__ if name != "__version__" and inspect.ismodule(getattr(jaxnn, name))]


@pytest.mark.parametrize("name", MODULES)
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
