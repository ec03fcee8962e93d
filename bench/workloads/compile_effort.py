"""XLA's compile-effort options on the suite's small programs: compile time against run time.

For each option set, fresh processes (``_compile_effort_child.py``, persistent cache off)
compile and run the network's initialization, ``fit``'s programs and a prediction, on the wine
problem (100 epochs: a run of tens of milliseconds) and on a larger MLP (784-512-512-10, 2
epochs of 20 batches). Options, given per program as ``jax.jit(..., compiler_options=...)``:
``exec_time_optimization_effort`` (-1 is the least), ``optimization_level`` (XLA's effort
level: 9 is O0, 19 is O1), ``xla_backend_optimization_level`` (LLVM's, 0 to 3) and
``xla_llvm_disable_expensive_passes``. Rounds interleave the option sets; medians reported,
with whether the trained params are bit for bit those of JAX's defaults.
"""

from __future__ import annotations

import json
import statistics
from typing import Any

from bench._process import child_env, run_python
from bench._timing import record
from bench.workloads._context import Context

__all__ = ["run", "OPTIONS"]

W = "compile_effort"
OPTIONS: dict[str, dict[str, Any] | None] = {
    "JAX's defaults": None,
    "exec_time_optimization_effort=-1": {"exec_time_optimization_effort": -1.0},
    "optimization_level=O0": {"optimization_level": 9},
    "optimization_level=O1": {"optimization_level": 19},
    "xla_backend_optimization_level=0": {"xla_backend_optimization_level": 0},
    "xla_backend_optimization_level=1": {"xla_backend_optimization_level": 1},
    "xla_llvm_disable_expensive_passes": {"xla_llvm_disable_expensive_passes": True},
}
_MEASURES = ("init_compile_s", "fit_compile_s", "predict_compile_s", "fit_first_cpu_s", "fit_run_s")


def run(ctx: Context) -> None:
    """The workload (see the module docstring)."""
    c = ctx.cfg("compile_effort")
    seen: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for size in c["sizes"]:
        for rep in range(c["repeats"]):
            names = list(OPTIONS)
            names = names[rep % len(names):] + names[:rep % len(names)]  # rotate who goes first
            for name in names:
                ctx.log(f"  {size}, {name} ({rep + 1}/{c['repeats']})")
                done = run_python(["-m", "bench.workloads._compile_effort_child", json.dumps(OPTIONS[name]), size],
                                  env=child_env({"JAXNN_NO_COMPILATION_CACHE": "1"}), what=f"compile effort {name}")
                seen.setdefault((size, name), []).append(json.loads(done.stdout.strip().splitlines()[-1]))
    for (size, name), runs in seen.items():
        base = seen[(size, "JAX's defaults")]
        medians = {k: statistics.median(r[k] for r in runs) for k in _MEASURES}
        same = runs[0]["params_sha256"] == base[0]["params_sha256"]
        default = {k: statistics.median(r[k] for r in base) for k in _MEASURES}
        ctx.add(record(
            f"{W}:{size}", "jaxnn", "diagnostic", name, median_s=medians["fit_compile_s"],
            min_s=min(r["fit_compile_s"] for r in runs), times_s=[r["fit_compile_s"] for r in runs],
            repeats=len(runs), ratio=medians["fit_compile_s"] / default["fit_compile_s"], work=medians,
            note=(f"fit's XLA compile (median shown); init compile {medians['init_compile_s'] * 1e3:.0f} ms, predict "
                  f"{medians['predict_compile_s'] * 1e3:.0f} ms, fit's first call CPU {medians['fit_first_cpu_s']:.2f} s, "
                  f"fit's run {medians['fit_run_s'] * 1e3:.1f} ms ({medians['fit_run_s'] / default['fit_run_s']:.2f}x "
                  f"the default's); params {'bit for bit the same' if same else 'DIFFER'}"),
        ))
