"""Shared test configuration: float32 by default, seeded keys only."""

import contextlib
import os

import jax
import pytest
from jax import monitoring

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


_COMPILED: list[str] = []
monitoring.register_event_duration_secs_listener(
    lambda event, duration, **kw: _COMPILED.append(kw.get("fun_name", "?"))
    if event == "/jax/core/compile/backend_compile_duration"
    else None
)


@pytest.fixture
def count_compiles():
    """``with count_compiles() as seen:`` collects the XLA programs compiled inside the block.

    Counted from JAX's backend-compile event, one per program compiled (none for a program
    found in memory); never timed.
    """

    @contextlib.contextmanager
    def counting():
        seen: list[str] = []
        start = len(_COMPILED)
        yield seen
        seen.extend(_COMPILED[start:])

    return counting
