"""Rosenblatt's perceptron algorithm on ~20,000 separable points in 10-D.

Target: ``jaxnn.perceptron.perceptron`` >= 100x faster than a NumPy per-sample loop, ending
with bitwise the same weights.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from bench import _peers as peers
from bench import _reference as ref
from bench._timing import Measurement, Work, measure, measure_interleaved, record
from bench.workloads._common import first_calls, max_diff
from bench.workloads._context import Context
from bench.workloads._profile import profile_breakdown

__all__ = ["run", "perceptron_data"]


def perceptron_data(n: int, d: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` linearly separable points in ``d``-D with a margin, on a dyadic grid (exact float32 sums).

    Coordinates are multiples of 1/4 in [-2, 2] and the true separator has small integer
    weights, so every score the perceptron computes is exact in float32 and any two correct
    implementations end with bitwise equal weights.
    """
    rng = np.random.default_rng(seed)
    w_true = rng.integers(-3, 4, size=d).astype(np.float32)
    w_true[w_true == 0] = 1.0
    kept_x, total = [], 0
    while total < n:
        X = (rng.integers(-8, 9, size=(4 * n, d)) / 4.0).astype(np.float32)
        s = X @ w_true + 0.5
        X = X[np.abs(s) >= 2.0]
        kept_x.append(X)
        total += len(X)
    X = np.concatenate(kept_x)[:n]
    y = np.where(X @ w_true + 0.5 > 0, 1.0, -1.0).astype(np.float32)
    return X, y


def run(ctx: Context) -> None:
    """Times jaxnn, the raw-JAX reference, the NumPy loop and scikit-learn; checks and the target."""
    try:
        from jaxnn import perceptron as jp
    except ImportError as err:
        ctx.add(record("perceptron", "jaxnn", "skipped", "steady", note=f"jaxnn.perceptron is not available: {err}"))
        return
    c = ctx.cfg("perceptron")
    X, y = perceptron_data(c["n"], c["d"])
    me = c["max_epochs"]
    Xj, yj = jnp.asarray(X), jnp.asarray(y)

    def run_jaxnn():
        return jp.perceptron(Xj, yj, 1.0, max_epochs=me)

    def run_ref():
        return ref.perceptron(Xj, yj, max_epochs=me)

    first_calls(ctx, "perceptron", lambda: run_jaxnn, lambda: run_ref)
    ts = measure_interleaved({"jaxnn": run_jaxnn, "reference": run_ref}, repeats=ctx.repeats)
    tj, tr = ts["jaxnn"], ts["reference"]
    epochs = int(tj.result.epochs)
    work = Work({"n": c["n"], "d": c["d"], "epochs": epochs, "updates": int(tj.result.updates),
                 "converged": bool(tj.result.converged)}, epochs * c["n"], "samples/s")
    tn = measure(lambda: ref.perceptron_numpy(X, y, max_epochs=me), repeats=c["numpy_repeats"], warmup=0)
    ctx.measured(Measurement("perceptron", "reference", "reference", "steady", tr, work, tr.median,
                             note="hand-written jit(while_loop(scan))"))
    ctx.measured(Measurement("perceptron", "jaxnn", "jaxnn", "steady", tj, work, tr.median,
                             note="jaxnn.perceptron.perceptron (host checks + compiled run)"))
    ctx.measured(Measurement("perceptron", "numpy loop", "baseline", "steady", tn, work, tr.median, threads=1,
                             note="NumPy per-sample loop (bench/_reference.py)"))
    np_w = tn.result[0]
    ctx.check("perceptron", "numpy loop", max_diff(np.asarray(tj.result.weights), np_w), 0.0,
              "max |difference| of weights, jaxnn vs NumPy loop")
    ctx.check("perceptron", "reference", max_diff(np.asarray(tr.result[0]), np_w), 0.0,
              "max |difference| of weights, raw-JAX reference vs NumPy")
    if ctx.peers:
        _sklearn(ctx, X, y, epochs, work, tr.median, np_w)
    if ctx.diagnostics:
        profile_breakdown(ctx, "perceptron", run_jaxnn, 20, ("jaxnn/perceptron", "perceptron"))
    ctx.target("perceptron", "speed-up over NumPy per-sample loop", tn.median / tj.median, 100.0, ">=",
               "NumPy seconds / jaxnn seconds (same weights, checked)")


def _sklearn(ctx: Context, X: np.ndarray, y: np.ndarray, epochs: int, work: Work, reference_s: float,
             np_w: np.ndarray) -> None:
    try:
        run_sk, note = peers.sklearn_perceptron(X, y, epochs)
    except peers.PeerUnavailable as err:
        ctx.add(record("perceptron", "sklearn", "skipped", "steady", note=str(err)))
        return
    t = measure(run_sk, repeats=ctx.peer_repeats)
    ctx.measured(Measurement("perceptron", "sklearn", "peer", "steady", t, work, reference_s, threads=1, note=note))
    ctx.check("perceptron", "sklearn", max_diff(t.result, np_w), 0.0,
              "max |difference| of weights, scikit-learn vs NumPy loop")
