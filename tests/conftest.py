"""Shared test configuration: float32 by default, seeded keys only."""

import jax
import pytest


@pytest.fixture
def key():
    """A fixed PRNG key; tests split it, never draw unseeded randomness."""
    return jax.random.key(0)


@pytest.fixture(params=[False, True], ids=["nojit", "jit"])
def maybe_jit(request):
    """Runs a test once as plain Python and once under ``jax.jit``."""
    return jax.jit if request.param else (lambda f, **kw: f)
