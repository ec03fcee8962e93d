"""Shared test configuration: float32 by default, seeded keys only."""

import os

import jax
import pytest

# The command line turns on JAX's persistent compilation cache, process-wide. Tests run it
# in this process and in subprocesses: they must not write to the user's cache, nor let a
# cache hit hide a compilation that a test counts. The cache's own tests set the variable
# explicitly for the processes they start.
os.environ.setdefault("JAXNN_NO_COMPILATION_CACHE", "1")


@pytest.fixture
def key():
    """A fixed PRNG key; tests split it, never draw unseeded randomness."""
    return jax.random.key(0)


@pytest.fixture(params=[False, True], ids=["nojit", "jit"])
def maybe_jit(request):
    """Runs a test once as plain Python and once under ``jax.jit``."""
    return jax.jit if request.param else (lambda f, **kw: f)
