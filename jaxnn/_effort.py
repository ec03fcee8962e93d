"""How hard XLA works at compiling the programs that jaxnn runs briefly.

XLA's CPU backend runs LLVM at optimization level 2 by default. For the programs jaxnn builds
that run once and briefly (a network's initialization, ``fit``'s set-up) and for the training
loop of a small network, level 1 compiles faster and runs as fast: measured by the bench
workload ``compile_effort`` on a 2-core CPU, the wine MLP 32-32's training program compiled in
0.75x the time and its initialization in about 0.5x, while 100 epochs ran in 0.7-1.0x the
time, and a 784-512-512-10 MLP's training program compiled in 0.65x and ran in 0.99x; the
trained params were bit for bit the same in both. Level 0 compiles faster still but runs
twice as long and changes the numbers; XLA's ``exec_time_optimization_effort`` and
``optimization_level`` saved less. The option is given per program (``jax.jit``'s
``compiler_options``), never globally, and only on the CPU, where it was measured; a network
larger than the largest one measured keeps XLA's default.
"""

from __future__ import annotations

from typing import Any

import jax
import numpy as np

__all__ = ["short_run", "small_network"]

_LARGEST_MEASURED = 1 << 20  # parameters: the 784-512-512-10 MLP has 0.67 million


def short_run() -> dict[str, Any]:
    """``jax.jit`` keyword arguments for a program whose run is short (none off the CPU)."""
    if jax.default_backend() != "cpu":
        return {}
    return {"compiler_options": {"xla_backend_optimization_level": 1}}


def small_network(params: Any) -> bool:
    """Whether ``params`` is no larger than the largest network the option was measured on."""
    return sum(int(np.prod(np.shape(leaf))) for leaf in jax.tree.leaves(params)) <= _LARGEST_MEASURED
