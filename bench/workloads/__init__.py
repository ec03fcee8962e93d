"""The suite's workloads, one module each, and the registry that runs them by name.

=================  ======================================================================
workload           what is trained and timed
=================  ======================================================================
mlp                784-512-512-10 ReLU, softmax CE, Adam 1e-3, batch 128, random data
xor                2-8-1 tanh, BCE from logits, full-batch GD lr 0.5, 2000 steps
sweep              256 XOR models (seeds x learning rates) in one call
roofline           three dense 2048 x 2048 tanh layers, batch 2048, MSE, SGD
perceptron         Rosenblatt's algorithm on ~20,000 separable points in 10-D
dispatch           one call of a single compiled training step on a small MLP
coldstart          import -> first finished step of mlp and xor, persistent cache off/on
time_to_result     8 fresh-object runs on the wine data in one process, and ``jaxnn train``
                   processes with the persistent cache off/cold/warm, vs scikit-learn
grid_search        a 3 x 3 x 5-fold grid search of an MLP on the digits in fresh processes:
                   scikit-learn's, scikit-learn's over jaxnn's estimator, jaxnn's sweep
breakdown          the same problem split into phases (interpreter, imports, backend, CSV,
                   trace, lower, cache, compile, run, outputs); the four ratios vs scikit-learn
compile_effort     XLA's compile-effort options on those programs: compile time vs run time
=================  ======================================================================

Each module has a ``run(ctx)`` that appends its records to the :class:`Context`. jaxnn and
the reference always start from the same params and see the same batches, and a ``check``
record says whether they ended with the same numbers before any ratio between them is
reported. Importing this package is cheap (the size tables and the context only): a workload's
module, and JAX with it, is imported when the workload runs, so the child processes of
``coldstart`` and ``time_to_result`` can import from here without paying for it.
"""

from __future__ import annotations

import importlib

from bench.workloads._config import CONFIGS, SIZES
from bench.workloads._context import Context

__all__ = ["WORKLOADS", "SIZES", "CONFIGS", "Context", "run_workload"]

WORKLOADS: tuple[str, ...] = (
    "mlp", "xor", "sweep", "roofline", "perceptron", "dispatch", "coldstart", "time_to_result", "grid_search",
    "breakdown", "compile_effort",
)


def run_workload(name: str, ctx: Context) -> None:
    """Runs workload ``name`` and appends its records to ``ctx``."""
    if name not in WORKLOADS:
        raise ValueError(f"unknown workload {name!r}; valid workloads are {', '.join(WORKLOADS)}")
    ctx.log(f"workload {name} ({ctx.size})")
    importlib.import_module(f"bench.workloads.{name}").run(ctx)
