"""How hard XLA works at compiling the programs that jaxnn runs briefly.

XLA's CPU backend runs LLVM at its default optimization level. For the programs jaxnn builds
that run once and briefly (a network's initialization, ``fit``'s set-up) and for the training
loop of a small network, level 1 compiles faster and runs as fast. Measured by the bench
workload ``compile_effort`` on a shared 2-core CPU (medians of fresh processes): the wine MLP
32-32's initialization compiled in about 0.5x the time, its training program in 0.63-0.77x,
and 100 epochs ran in 0.67-1.00x the time, the trained params bit for bit the same. For a
784-512-512-10 MLP the initialization again compiled in about 0.5x, but the training
program's compile and run times were not clearly better (0.99x to 1.9x the run time across
loaded runs), so networks above ``_SMALL`` parameters keep XLA's default for training. Level 0
compiles faster still but runs about twice as long and changes the numbers; XLA's
``exec_time_optimization_effort=-1`` and ``optimization_level`` saved less or nothing. The
option is given per program (``jax.jit``'s ``compiler_options``), never globally, and only
on the CPU, where it was measured.
"""

from __future__ import annotations

from typing import Any

import jax
import numpy as np

__all__ = ["short_run", "small_network"]

_SMALL = 1 << 16  # parameters; the wine MLP 13-32-32-3 has 1,603


def short_run() -> dict[str, Any]:
    """``jax.jit`` keyword arguments for a program whose run is short (none off the CPU)."""
    if jax.default_backend() != "cpu":
        return {}
    return {"compiler_options": {"xla_backend_optimization_level": 1}}


def small_network(params: Any) -> bool:
    """Whether ``params`` is small enough for its training program to get :func:`short_run`'s options."""
    return sum(int(np.prod(np.shape(leaf))) for leaf in jax.tree.leaves(params)) <= _SMALL
