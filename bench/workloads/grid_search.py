"""Grid search: scikit-learn's, scikit-learn's over jaxnn's estimator, and jaxnn's one-program search.

On the digits (1797 x 64, bundled in :mod:`jaxnn.datasets`, inputs divided by 16), an
``MLPClassifier`` (64,) with Adam, 50 epochs (every fit runs all of them:
``n_iter_no_change=50``), the grid ``learning_rate_init`` {1e-3, 3e-3, 1e-2} x ``alpha``
{1e-4, 1e-3, 1e-2}, stratified 5-fold (shuffled, seed 0), ``random_state=0``, then the refit
of the best candidate on all the data; ``n_jobs`` left at its default (one worker):

- ``sklearn``: ``sklearn.model_selection.GridSearchCV(sklearn.neural_network.MLPClassifier)``;
- ``sklearn-jaxnn``: ``sklearn.model_selection.GridSearchCV(jaxnn.sklearn.MLPClassifier)``
  (45 fits, one compiled program for all of them);
- ``jaxnn``: ``jaxnn.sklearn.GridSearchCV(jaxnn.sklearn.MLPClassifier)`` (the 45 fits as one
  sweep).

Each runs in a fresh process (``_grid_search_child.py``), JAX's persistent compilation
cache off, the three interleaved per repeat; the time is the process's wall time, from
interpreter start (imports included) to exit, median over repeats. The XLA programs each
process compiles are counted with JAX's monitoring events.

Targets: ``sklearn-jaxnn`` <= 1.0x scikit-learn's time; ``jaxnn`` <= 0.2x; each best CV
score within 0.01 of scikit-learn's.
"""

from __future__ import annotations

import json
import os
import statistics
import tempfile
from typing import Any

import numpy as np

from bench._process import child_env, run_python
from bench._timing import record
from bench.workloads._context import Context

__all__ = ["run"]

WORKLOAD = "grid_search"
IMPLS = ("sklearn", "sklearn-jaxnn", "jaxnn")
_HOW = {
    "sklearn": "sklearn GridSearchCV(sklearn MLPClassifier)",
    "sklearn-jaxnn": "sklearn GridSearchCV(jaxnn.sklearn.MLPClassifier)",
    "jaxnn": "jaxnn.sklearn.GridSearchCV(jaxnn.sklearn.MLPClassifier)",
}
_TARGETS = {"sklearn-jaxnn": 1.0, "jaxnn": 0.2}


def run(ctx: Context) -> None:
    """The workload (see the module docstring)."""
    c = ctx.cfg(WORKLOAD)
    try:
        import sklearn  # noqa: F401
    except ImportError as err:
        ctx.add(record(WORKLOAD, "all", "skipped", "process", note=f"needs scikit-learn: {err}"))
        return
    from jaxnn.datasets import load_digits

    digits = load_digits()
    spec = {"hidden": list(c["hidden"]), "epochs": c["epochs"], "folds": c["folds"], "grid": c["grid"]}
    runs: dict[str, list[dict[str, Any]]] = {impl: [] for impl in IMPLS}
    with tempfile.TemporaryDirectory(prefix="jaxnn-bench-grid-") as tmp:
        data = os.path.join(tmp, "digits.npz")
        np.savez(data, x=np.asarray(digits.x, np.float64) / 16.0, y=np.asarray(digits.y))
        env = child_env({"JAXNN_NO_COMPILATION_CACHE": "1"})
        for repeat in range(c["repeats"]):
            for impl in IMPLS:  # interleaved: a change of the machine's load hits all three alike
                ctx.log(f"  {impl}, repeat {repeat + 1}")
                try:
                    done = run_python(["-m", "bench.workloads._grid_search_child", impl, data, json.dumps(spec)],
                                      env=env, what=f"the {impl} grid search")
                except Exception as err:  # noqa: BLE001 - a broken run must not stop the suite
                    ctx.add(record(WORKLOAD, impl, "error", "process", note=f"{type(err).__name__}: {err}"))
                    return
                runs[impl].append({**json.loads(done.stdout.strip().splitlines()[-1]), "process_s": done.seconds})
    _report(ctx, runs)


def _report(ctx: Context, runs: dict[str, list[dict[str, Any]]]) -> None:
    times = {impl: [r["process_s"] for r in rs] for impl, rs in runs.items()}
    base = statistics.median(times["sklearn"])
    best = {impl: rs[0]["best_score"] for impl, rs in runs.items()}
    for impl, rs in runs.items():
        median = statistics.median(times[impl])
        note = (f"{_HOW[impl]}; import {statistics.median(r['import_s'] for r in rs):.2f} s, search "
                f"{statistics.median(r['search_s'] for r in rs):.2f} s; XLA programs compiled {rs[0]['compiles']}; "
                f"best CV score {best[impl]:.4f} at {rs[0]['best_params']}")
        if rs[0]["groups"] is not None:
            note += f"; {rs[0]['groups']} sweep(s)"
        ctx.add(record(WORKLOAD, impl, "baseline" if impl == "sklearn" else "jaxnn", "process (import + search)",
                       median_s=median, min_s=min(times[impl]), times_s=times[impl], repeats=len(times[impl]),
                       ratio=median / base, ratio_to="sklearn", value=float(rs[0]["compiles"]),
                       threads=os.cpu_count(), work={"runs": rs}, note=note))
    for impl, threshold in _TARGETS.items():
        ctx.target(WORKLOAD, f"{impl} time vs scikit-learn", statistics.median(times[impl]) / base, threshold, "<=",
                   _HOW[impl])
        ctx.target(WORKLOAD, f"{impl} best CV score - scikit-learn's", abs(best[impl] - best["sklearn"]), 0.01, "<=",
                   f"{best[impl]:.4f} vs {best['sklearn']:.4f}")
