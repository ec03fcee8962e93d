"""Helpers the in-process workloads share: jaxnn's pieces, weight comparisons, the timing skeleton."""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from bench import _peers as peers
from bench._timing import Measurement, Timing, Work, first_call, record, timing_fields
from bench.workloads._context import Context

__all__ = ["jaxnn", "pairs", "max_diff", "rel_diff", "orders", "count", "first_calls", "steady_pair",
           "with_unguarded", "add_peak", "torch_threads_note"]


def jaxnn():
    """jaxnn's pieces ``(nn, heads, optim, Supervised, fit, sweep)``, imported when a workload runs."""
    import jaxnn.optim
    from jaxnn import heads, nn
    from jaxnn.train import Supervised, fit, sweep

    return nn, heads, jaxnn.optim, Supervised, fit, sweep


def _leaves(params: Any) -> list[np.ndarray]:
    return [np.asarray(a) for a in jax.tree.leaves(params)]


def pairs(params: list[dict[str, Any]]) -> list[tuple[np.ndarray, np.ndarray]]:
    """``[{"w", "b"}, ...]`` as the peers' ``[(w, b), ...]`` NumPy pairs."""
    return [(np.asarray(p["w"]), np.asarray(p["b"])) for p in params]


def max_diff(a: Any, b: Any) -> float:
    """The largest absolute difference between two pytrees' leaves (``inf`` if they differ in shape)."""
    la, lb = _leaves(a), _leaves(b)
    if len(la) != len(lb) or any(x.shape != y.shape for x, y in zip(la, lb)):
        return float("inf")
    return max(float(np.max(np.abs(x.astype(np.float64) - y.astype(np.float64)))) for x, y in zip(la, lb))


def rel_diff(got: Any, expected: Any, init: Any) -> float:
    """``||got - expected|| / ||expected - init||`` over all weights: 0 for the same training run.

    Adam divides every step by a running RMS, so float round-off on near-zero gradients can
    move single weights by up to the learning rate; the norm over all weights, relative to
    how far training moved them, compares whole runs rather than single coordinates.
    """
    g, e, i = (np.concatenate([a.astype(np.float64).ravel() for a in _leaves(t)]) for t in (got, expected, init))
    moved = np.linalg.norm(e - i)
    return float(np.linalg.norm(g - e) / moved) if moved > 0 else float(np.linalg.norm(g - e))


def orders(key: jax.Array, n: int, epochs: int) -> list[np.ndarray]:
    """The sample order of each epoch, as jaxnn's fit draws it: permutation(fold_in(key, e), n)."""
    return [np.asarray(jax.random.permutation(jax.random.fold_in(key, jnp.int32(e)), n)) for e in range(epochs)]


def count(params: Any) -> int:
    """The number of weights in a pytree."""
    return sum(int(np.size(a)) for a in jax.tree.leaves(params))


def first_calls(ctx: Context, workload: str, build_jaxnn: Callable[[], Callable[[], Any]],
                build_ref: Callable[[], Callable[[], Any]], notes: tuple[str, str] = ("", ""),
                repeats: int = 1) -> tuple[Timing, Timing]:
    """Times and records the first calls (trace + compile + run) of jaxnn and of the reference."""
    j1 = first_call(build_jaxnn, repeats=repeats)
    r1 = first_call(build_ref, repeats=repeats)
    ctx.first(workload, "jaxnn", "jaxnn", j1, notes[0])
    ctx.first(workload, "reference", "reference", r1, notes[1])
    return j1, r1


def steady_pair(ctx: Context, workload: str, ts: dict[str, Timing], work: Work, notes: tuple[str, str]) -> None:
    """Records the steady state of the reference, jaxnn and (if timed) jaxnn without its NaN guard."""
    ref_s = ts["reference"].median
    ctx.measured(Measurement(workload, "reference", "reference", "steady", ts["reference"], work, ref_s,
                             note=notes[1]))
    ctx.measured(Measurement(workload, "jaxnn", "jaxnn", "steady", ts["jaxnn"], work, ref_s, note=notes[0]))
    if "unguarded" in ts:
        ctx.measured(Measurement(workload, "jaxnn, on_nonfinite='ignore'", "diagnostic", "steady", ts["unguarded"],
                                 work, ref_s, note="fit without the per-step NaN/Inf guard: what the guard costs"))


def with_unguarded(ctx: Context, fns: dict[str, Callable[[], Any]], call: Callable[..., Any]) -> dict[str, Any]:
    """``fns`` plus ``"unguarded"``: ``call(on_nonfinite="ignore")``, when diagnostics are on and fit has the guard.

    The guard (default ``"stop"``) checks every step's loss and gradients and selects between
    the new and the old state; timing fit without it shows what the guard costs.
    """
    fit = jaxnn()[4]
    if ctx.diagnostics and "on_nonfinite" in inspect.signature(fit).parameters:
        fns["unguarded"] = lambda: call(on_nonfinite="ignore")
    return fns


def add_peak(ctx: Context, workload: str, t: Timing, flops: float, n: int) -> float:
    """Records the matmul timed beside a workload; returns its GFLOP/s, the peak the targets use."""
    peak = flops / t.median / 1e9
    ctx.add(record(workload, "matmul peak", "baseline", "steady", **timing_fields(t), work={"n": n, "flops": flops},
                   gflops=peak, threads=os.cpu_count(),
                   note=f"jitted {n}x{n} @ {n}x{n} float32, timed in the same rounds as jaxnn and the reference; "
                        f"median of {len(t.times)} calls (best call: {flops / t.min / 1e9:.1f} GFLOP/s)"))
    return peak


def torch_threads_note(pm: dict[str, float], jaxnn_median: float) -> str:
    """How many threads PyTorch had for a target, and the ratio against one thread when timed."""
    if "torch" not in pm:
        return " (torch not measured)"
    if "torch (1 thread)" in pm:
        return (f" with {peers.threads('torch')} threads (the core count); against torch on 1 thread: "
                f"{pm['torch (1 thread)'] / jaxnn_median:.3g}")
    return ""
