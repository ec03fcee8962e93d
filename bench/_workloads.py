"""The suite's seven workloads (issue 6), each timing jaxnn against the raw-JAX reference and peers.

Every workload function takes a :class:`Context` and appends records to it (see
:func:`bench._timing.record`): measurements (``kind`` ``"jaxnn"``, ``"reference"``, ``"peer"``,
``"baseline"``, ``"diagnostic"``), numerical agreement checks (``"check"``), targets
(``"target"``) and notes on what was skipped (``"skipped"``/``"error"``). jaxnn and the
reference always start from the same params and see the same batches, and a ``check`` record
says whether they ended with the same numbers before any ratio between them is reported.

=============  ===========================================================================
workload       what is trained and timed
=============  ===========================================================================
mlp            784-512-512-10 ReLU, softmax CE, Adam 1e-3, batch 128, random data
xor            2-8-1 tanh, BCE from logits, full-batch GD lr 0.5, 2000 steps
sweep          256 XOR models (seeds x learning rates) in one call
roofline       three dense 2048 x 2048 tanh layers, batch 2048, MSE, SGD
perceptron     Rosenblatt's algorithm on ~20,000 separable points in 10-D
dispatch       one call of a single compiled training step on a small MLP
coldstart      import -> first finished step of mlp and xor, persistent cache off/on
=============  ===========================================================================
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from bench import _peers as peers
from bench import _reference as ref
from bench._timing import CompileClock, block, first_call, measure, measure_interleaved, record, timing_fields

__all__ = ["WORKLOADS", "SIZES", "CONFIGS", "Context", "run_workload", "perceptron_data"]

WORKLOADS: tuple[str, ...] = (
    "mlp", "xor", "sweep", "roofline", "perceptron", "dispatch", "coldstart", "time_to_result",
)
SIZES: tuple[str, ...] = ("tiny", "small", "full")

# Sizes: "full" is the specification; "small" shrinks what is slow on a 2-core CPU;
# "tiny" only proves that every code path runs (the smoke test).
CONFIGS: dict[str, dict[str, dict[str, Any]]] = {
    "full": {
        "matmul": {"n": 2048},
        "diagnostics": {"enabled": True},
        "mlp": {"inputs": 784, "hidden": 512, "classes": 10, "batch": 128, "batches_per_epoch": 50, "epochs": 2},
        "xor": {"steps": 2000, "compile_repeats": 3},
        "sweep": {"members": 256, "steps": 2000},
        "roofline": {"width": 2048, "batch": 2048, "steps": 2, "max_repeats": 3},
        "perceptron": {"n": 20000, "d": 10, "max_epochs": 1000, "numpy_repeats": 3},
        "dispatch": {"inputs": 16, "hidden": 32, "classes": 4, "batch": 32, "calls": 300},
        "coldstart": {"impls": ("jaxnn", "reference"), "workloads": ("mlp", "xor"), "modes": ("off", "cold", "warm")},
        "time_to_result": {"hidden": (32, 32), "epochs": 100, "batch": 32, "seeds": (0, 1, 2, 3), "lrs": (1e-3, 3e-3),
                           "impls": ("jaxnn", "sklearn", "torch", "keras"), "min_accuracy": 0.95,
                           "cli_repeats": 3, "cli_modes": ("off", "cold", "warm")},
    },
    "small": {
        "matmul": {"n": 2048},
        "diagnostics": {"enabled": True},
        "mlp": {"inputs": 784, "hidden": 512, "classes": 10, "batch": 128, "batches_per_epoch": 20, "epochs": 1},
        "xor": {"steps": 2000, "compile_repeats": 3},
        "sweep": {"members": 256, "steps": 2000},
        "roofline": {"width": 1024, "batch": 1024, "steps": 2, "max_repeats": 3},
        "perceptron": {"n": 5000, "d": 10, "max_epochs": 1000, "numpy_repeats": 2},
        "dispatch": {"inputs": 16, "hidden": 32, "classes": 4, "batch": 32, "calls": 200},
        "coldstart": {"impls": ("jaxnn", "reference"), "workloads": ("mlp", "xor"), "modes": ("off", "cold", "warm")},
        "time_to_result": {"hidden": (32, 32), "epochs": 100, "batch": 32, "seeds": (0, 1, 2, 3), "lrs": (1e-3, 3e-3),
                           "impls": ("jaxnn", "sklearn", "torch", "keras"), "min_accuracy": 0.95,
                           "cli_repeats": 3, "cli_modes": ("off", "cold", "warm")},
    },
    "tiny": {
        "matmul": {"n": 256},
        # Diagnostics that cost extra compiles (fit without its NaN guard, a profiled sweep)
        # are left out of the smoke test; the dispatch profile (no compile) stays.
        "diagnostics": {"enabled": False},
        "mlp": {"inputs": 784, "hidden": 16, "classes": 10, "batch": 8, "batches_per_epoch": 4, "epochs": 2},
        "xor": {"steps": 50, "compile_repeats": 1},
        "sweep": {"members": 8, "steps": 50},
        "roofline": {"width": 64, "batch": 64, "steps": 2, "max_repeats": 2},
        "perceptron": {"n": 200, "d": 10, "max_epochs": 1000, "numpy_repeats": 1},
        "dispatch": {"inputs": 16, "hidden": 32, "classes": 4, "batch": 32, "calls": 10},
        "coldstart": {"impls": ("jaxnn",), "workloads": ("xor",), "modes": ("cold", "warm")},
        # Two seeds x two learning rates keep "runs 2-N" in the smoke test, at a tenth of the epochs;
        # PyTorch and Keras (seconds of importing each) only at the larger sizes.
        "time_to_result": {"hidden": (32, 32), "epochs": 10, "batch": 32, "seeds": (0, 1), "lrs": (1e-3, 3e-3),
                           "impls": ("jaxnn", "sklearn"), "min_accuracy": 0.8,
                           "cli_repeats": 1, "cli_modes": ("cold", "warm")},
    },
}


class Context:
    """What a run of the suite shares: size, repeats, peers on/off and the records.

    Args:
      size: ``"tiny"``, ``"small"`` or ``"full"``.
      repeats: timed calls per steady-state measurement (medians are reported).
      peers: measure the installed peers too.
      log: progress messages (one line each), e.g. ``print`` to stderr; ``None`` is silent.
    """

    def __init__(self, size: str, repeats: int, peers: bool, log: Callable[[str], None] | None = None) -> None:
        if size not in SIZES:
            raise ValueError(f"size must be one of {SIZES}, got {size!r}")
        if not isinstance(repeats, int) or repeats < 1:
            raise ValueError(f"repeats must be an int >= 1, got {repeats!r}")
        self.size, self.repeats, self.peers = size, repeats, peers
        self.log = log or (lambda msg: None)
        self.records: list[dict[str, Any]] = []

    @property
    def diagnostics(self) -> bool:
        """Whether to run the diagnostics that cost extra compiles (not at the tiny size)."""
        return bool(CONFIGS[self.size]["diagnostics"]["enabled"])

    def cfg(self, workload: str) -> dict[str, Any]:
        """This size's settings for ``workload``."""
        return CONFIGS[self.size][workload]

    def add(self, rec: dict[str, Any]) -> dict[str, Any]:
        """Appends one record (and returns it)."""
        rec["size"] = self.size
        self.records.append(rec)
        return rec

    def matmul(self) -> tuple[Callable[[], Any], float, int]:
        """A jitted float32 ``n x n`` matmul ``(call, flops, n)`` to time next to a workload.

        The peak the GFLOP/s targets compare with is timed in the same interleaved rounds as
        jaxnn and the reference, so that a change in the machine's load hits all three alike.
        """
        n = self.cfg("matmul")["n"]
        if jax.default_backend() != "cpu" and self.size != "tiny":
            n *= 4  # a 2048^3 matmul is too short to show an accelerator's peak
        fn, flops = ref.make_matmul(n, jax.random.key(42))
        return fn, flops, n


def run_workload(name: str, ctx: Context) -> None:
    """Runs workload ``name`` and appends its records to ``ctx``."""
    if name not in WORKLOADS:
        raise ValueError(f"unknown workload {name!r}; valid workloads are {', '.join(WORKLOADS)}")
    ctx.log(f"workload {name} ({ctx.size})")
    _RUNNERS[name](ctx)


# ------------------------------------------------------------------------------ helpers


def _jaxnn():
    """jaxnn's pieces, imported when a workload runs (so ``import bench`` stays light)."""
    import jaxnn.optim
    from jaxnn import heads, nn
    from jaxnn.train import Supervised, fit, sweep

    return nn, heads, jaxnn.optim, Supervised, fit, sweep


def _leaves(params: Any) -> list[np.ndarray]:
    return [np.asarray(a) for a in jax.tree.leaves(params)]


def _pairs(params: list[dict[str, Any]]) -> list[tuple[np.ndarray, np.ndarray]]:
    return [(np.asarray(p["w"]), np.asarray(p["b"])) for p in params]


def _max_diff(a: Any, b: Any) -> float:
    la, lb = _leaves(a), _leaves(b)
    if len(la) != len(lb) or any(x.shape != y.shape for x, y in zip(la, lb)):
        return float("inf")
    return max(float(np.max(np.abs(x.astype(np.float64) - y.astype(np.float64)))) for x, y in zip(la, lb))


def _check(ctx: Context, workload: str, impl: str, a: Any, b: Any, tol: float, what: str) -> bool:
    diff = _max_diff(a, b)
    ok = bool(diff <= tol)
    ctx.add(
        record(
            workload, impl, "check", "agreement", value=diff, threshold=tol, comparison="<=", met=ok,
            note=f"max |difference| of {what}",
        )
    )
    return ok


def _target(
    ctx: Context, workload: str, name: str, value: float | None, threshold: float, comparison: str, note: str = ""
) -> None:
    if value is None or not np.isfinite(value):
        met = None
    else:
        met = bool(value >= threshold) if comparison == ">=" else bool(value <= threshold)
    ctx.add(
        record(workload, "jaxnn", "target", name, value=value, threshold=threshold, comparison=comparison, met=met, note=note)
    )


def _measured(ctx, workload, impl, kind, measure_name, t, *, work=None, per=None, unit=None, flops=None,
              ref_median=None, threads=None, note=""):
    """Adds a timing record; ``per`` units of work per call give the throughput."""
    fields = timing_fields(t)
    throughput = per / t.median if per else None
    gflops = flops / t.median / 1e9 if flops else None
    ratio = t.median / ref_median if ref_median else None
    return ctx.add(
        record(
            workload, impl, kind, measure_name, **fields, work=work, throughput=throughput, throughput_unit=unit,
            gflops=gflops, ratio=ratio, ratio_to="reference" if ratio is not None else None,
            threads=threads if threads is not None else os.cpu_count(), note=note,
        )
    )


def _first(ctx, workload, impl, kind, t, note=""):
    compile_s = float(np.median(t.compile)) if t.compile else None
    extra = f"; of which JAX trace+lower+XLA compile {compile_s:.3f} s" if compile_s is not None else ""
    return ctx.add(
        record(
            workload, impl, kind, "first_call", **timing_fields(t), value=compile_s, threads=os.cpu_count(),
            note=(note + extra).lstrip("; "),
        )
    )


def _peer_repeats(ctx: Context) -> int:
    return max(1, min(ctx.repeats, 3))


def _rel_diff(got: Any, expected: Any, init: Any) -> float:
    """``||got - expected|| / ||expected - init||`` over all weights: 0 for the same training run.

    Adam divides every step by a running RMS, so float round-off on near-zero gradients can
    move single weights by up to the learning rate; the norm over all weights, relative to
    how far training moved them, compares whole runs rather than single coordinates.
    """
    g, e, i = (np.concatenate([a.astype(np.float64).ravel() for a in _leaves(t)]) for t in (got, expected, init))
    moved = np.linalg.norm(e - i)
    return float(np.linalg.norm(g - e) / moved) if moved > 0 else float(np.linalg.norm(g - e))


def _peer_variants(ctx: Context, names: tuple[str, ...]) -> list[tuple[str, str, dict[str, Any]]]:
    """``(label, peer, kwargs)`` to time: each peer, plus PyTorch on one thread as a diagnostic.

    The issue fixes PyTorch's threads at the core count. On a small, shared CPU its thread pool
    can cost more than it gives on tiny ops, so one thread is timed too (when diagnostics are on),
    and the targets are reported against the threads the issue asks for.
    """
    out = [(name, name, {}) for name in names]
    if "torch" in names and ctx.diagnostics and (os.cpu_count() or 1) > 1:
        out.insert(names.index("torch") + 1, ("torch (1 thread)", "torch", {"torch_threads": 1}))
    return out


def _run_peers(
    ctx: Context,
    workload: str,
    problem: peers.Problem,
    names: tuple[str, ...],
    *,
    expected: Any,
    per: float,
    unit: str,
    flops: float | None = None,
    ref_median: float | None = None,
    tol: float = 0.05,
    check: tuple[peers.Problem, Any] | None = None,
) -> dict[str, float]:
    """Times each peer's trainer on ``problem``; returns ``{label: median seconds}``.

    ``expected`` are the reference's trained weights (``[(w, b), ...]``): a peer that starts
    from the same weights must end near them (:func:`_rel_diff` <= ``tol``), which shows it
    solved the same problem. ``check=(short_problem, short_expected)`` checks on a shorter
    run instead: over many Adam steps a ReLU network amplifies round-off (a unit that flips
    on or off changes every later step), so a correct peer drifts away from the reference.
    """
    medians: dict[str, float] = {}
    if not ctx.peers:
        return medians
    for label, name, kw in _peer_variants(ctx, names):
        ctx.log(f"  peer {label}")
        try:
            trainer = peers.make_trainer(name, problem, **kw)
            t = measure(trainer.run, repeats=_peer_repeats(ctx))
        except (peers.PeerUnavailable, peers.Unsupported) as err:
            ctx.add(record(workload, label, "skipped", "steady", note=str(err)))
            continue
        except Exception as err:  # noqa: BLE001 - a broken peer must not stop the suite
            ctx.add(record(workload, label, "error", "steady", note=f"{type(err).__name__}: {err}"))
            continue
        medians[label] = t.median
        first = "first call" + (" (incl. compile)" if name in ("flax", "equinox", "keras") else "")
        note = trainer.note + (f"; {first} {t.warmup[0]:.3f} s" if t.warmup else "")
        threads = kw.get("torch_threads") or peers.threads(name)
        kind = "diagnostic" if kw else "peer"
        _measured(ctx, workload, label, kind, "steady", t, per=per, unit=unit, flops=flops,
                  ref_median=ref_median, threads=threads, note=note)
        got, want, what = trainer.params(), expected, "the timed run"
        if check is not None and got is not None:
            try:
                short = peers.make_trainer(name, check[0], **kw)
                short.run()
            except Exception as err:  # noqa: BLE001
                ctx.add(record(workload, label, "error", "agreement", note=f"{type(err).__name__}: {err}"))
                continue
            steps = len(check[0].batches())
            got, want, what = short.params(), check[1], f"a {steps}-step run of the same problem"
        if got is not None and want is not None:
            diff = _rel_diff(got, want, problem.params0)
            ctx.add(record(workload, label, "check", "agreement", value=diff, threshold=tol, comparison="<=",
                           met=bool(diff <= tol),
                           note=f"||{name} - reference|| / ||reference - initial|| over all weights, {what}"))
    return medians


def _unguarded(fit: Callable[..., Any], call: Callable[..., Any], diagnostics: bool) -> Callable[[], Any] | None:
    """``call`` with ``on_nonfinite="ignore"`` when this fit has the in-loop NaN guard, else None.

    The guard (default ``"stop"``) checks every step's loss and gradients and selects between
    the new and the old state; timing fit without it shows what the guard costs.
    """
    import inspect

    if not diagnostics or "on_nonfinite" not in inspect.signature(fit).parameters:
        return None
    return lambda: call(on_nonfinite="ignore")


def _add_unguarded(ctx, workload, ts, **kw) -> None:
    if "unguarded" in ts:
        _measured(ctx, workload, "jaxnn, on_nonfinite='ignore'", "diagnostic", "steady", ts["unguarded"],
                  note="fit without the per-step NaN/Inf guard: what the guard costs", **kw)


def _add_peak(ctx: Context, workload: str, t, flops: float, n: int) -> float:
    peak = flops / t.median / 1e9
    ctx.add(record(workload, "matmul peak", "baseline", "steady", **timing_fields(t), work={"n": n, "flops": flops},
                   gflops=peak, threads=os.cpu_count(),
                   note=f"jitted {n}x{n} @ {n}x{n} float32, timed in the same rounds as jaxnn and the reference; "
                        f"median of {len(t.times)} calls (best call: {flops / t.min / 1e9:.1f} GFLOP/s)"))
    return peak


def _one_thread(pm: dict[str, float], jaxnn_median: float) -> str:
    if "torch" not in pm:
        return " (torch not measured)"
    if "torch (1 thread)" in pm:
        return (f" with {peers.threads('torch')} threads as the issue asks; against torch on 1 thread: "
                f"{pm['torch (1 thread)'] / jaxnn_median:.3g}")
    return ""


def _orders(key: jax.Array, n: int, epochs: int) -> list[np.ndarray]:
    """The sample order of each epoch, as jaxnn's fit draws it: permutation(fold_in(key, e), n)."""
    return [np.asarray(jax.random.permutation(jax.random.fold_in(key, jnp.int32(e)), n)) for e in range(epochs)]


def _count(params: Any) -> int:
    return sum(int(np.size(a)) for a in jax.tree.leaves(params))


# ----------------------------------------------------------------------------- 1. mlp


def mlp(ctx: Context) -> None:
    """Workload 1: the MLP training step, throughput of fit vs the lax.scan reference and peers."""
    nn, heads, optim, Supervised, fit, _ = _jaxnn()
    c = ctx.cfg("mlp")
    B, E, D, H, K = c["batch"], c["epochs"], c["inputs"], c["hidden"], c["classes"]
    n = B * c["batches_per_epoch"]
    kp, kx, ky, ks = jax.random.split(jax.random.key(0), 4)
    x = jax.random.normal(kx, (n, D), jnp.float32)
    y = jax.random.randint(ky, (n,), 0, K, jnp.int32)
    net = nn.MLP([H, H], K, activation="relu")
    _, params0 = net.init(kp, (-1, D))
    loss_fn = Supervised(net.apply, heads.multiclass())
    opt = optim.adam(1e-3)
    train = ref.make_train(ref.make_loss("relu", None, "softmax_ce"), optax.adam(1e-3), n=n, batch_size=B, epochs=E)

    def run_jaxnn(**kw):
        return fit(params0, loss_fn, x, y, optimizer=opt, key=ks, epochs=E, batch_size=B, **kw)

    def run_ref():
        return train(params0, ks, x, y)

    steps = E * n // B
    weights = _count(params0)
    flops = 6.0 * B * weights * steps
    work = {"steps": steps, "batch": B, "samples": E * n, "weights": weights, "flops": flops}
    j1 = first_call(lambda: run_jaxnn)
    r1 = first_call(lambda: run_ref)
    _first(ctx, "mlp", "jaxnn", "jaxnn", j1, "fit(...) first call: validate + trace + compile + run")
    _first(ctx, "mlp", "reference", "reference", r1, "jit(scan) first call")
    mm, mm_flops, mm_n = ctx.matmul()
    fns = {"jaxnn": run_jaxnn, "reference": run_ref, "matmul": mm}
    if _unguarded(fit, run_jaxnn, ctx.diagnostics):
        fns["unguarded"] = _unguarded(fit, run_jaxnn, ctx.diagnostics)
    ts = measure_interleaved(fns, repeats=ctx.repeats, calls_per_round={"matmul": 3})
    tj, tr = ts["jaxnn"], ts["reference"]
    peak = _add_peak(ctx, "mlp", ts["matmul"], mm_flops, mm_n)
    unit = "samples/s"
    _measured(ctx, "mlp", "reference", "reference", "steady", tr, work=work, per=E * n, unit=unit, flops=flops,
              ref_median=tr.median, note="hand-written jit(scan over epochs(scan over batches)), optax.adam")
    _measured(ctx, "mlp", "jaxnn", "jaxnn", "steady", tj, work=work, per=E * n, unit=unit, flops=flops,
              ref_median=tr.median, note="jaxnn.train.fit, jaxnn.optim.adam, same params/opt objects (cached program)")
    _add_unguarded(ctx, "mlp", ts, work=work, per=E * n, unit=unit, flops=flops, ref_median=tr.median)
    _check(ctx, "mlp", "reference", tr.result[0], tj.result.params, 2e-4 * max(1, steps / 10), "trained weights, reference vs jaxnn")

    problem = peers.Problem(
        [(np.asarray(p["w"]), np.asarray(p["b"])) for p in params0], "relu", None, "softmax_ce", "adam", 1e-3,
        np.asarray(x), np.asarray(y), B, _orders(ks, n, E),
    )
    # Agreement is checked on the first 5 batches of the data (one epoch of 5 steps).
    n5 = min(n, 5 * B)
    short_ref = ref.make_train(ref.make_loss("relu", None, "softmax_ce"), optax.adam(1e-3), n=n5, batch_size=B,
                               epochs=1)(params0, ks, x[:n5], y[:n5])[0]
    short = problem._replace(x=problem.x[:n5], y=problem.y[:n5], orders=_orders(ks, n5, 1))
    pm = _run_peers(ctx, "mlp", problem, peers.PEERS, expected=_pairs(tr.result[0]),
                    per=E * n, unit=unit, flops=flops, ref_median=tr.median, check=(short, _pairs(short_ref)))

    gflops = flops / tj.median / 1e9
    _target(ctx, "mlp", "throughput vs raw-JAX scan", tr.median / tj.median, 0.95, ">=",
            "jaxnn samples/s / reference samples/s")
    _target(ctx, "mlp", "throughput vs PyTorch eager", pm["torch"] / tj.median if "torch" in pm else None, 1.2, ">=",
            "jaxnn samples/s / torch samples/s" + _one_thread(pm, tj.median))
    _target(ctx, "mlp", "GFLOP/s vs matmul peak", gflops / peak, 0.85, ">=",
            f"6 x batch x weights per step: {gflops:.1f} GFLOP/s vs peak {peak:.1f} GFLOP/s")


# ----------------------------------------------------------------------------- 2. xor

XOR_X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], np.float32)
XOR_Y = np.array([[0.0], [1.0], [1.0], [0.0]], np.float32)


def _xor_builders(steps: int):
    nn, heads, optim, Supervised, fit, _ = _jaxnn()
    kp, ks = jax.random.split(jax.random.key(1))
    x, y = jnp.asarray(XOR_X), jnp.asarray(XOR_Y)
    _, params0 = nn.MLP([8], 1, activation="tanh").init(kp, (-1, 2))

    def build_jaxnn(epochs: int = steps):
        # A new network, loss and optimizer: nothing compiled before can be reused.
        net = nn.MLP([8], 1, activation="tanh")
        loss_fn, opt = Supervised(net.apply, heads.binary()), optim.sgd(0.5)
        return lambda **kw: fit(params0, loss_fn, x, y, optimizer=opt, key=ks, epochs=epochs, **kw)

    def build_ref():
        train = ref.make_train(ref.make_loss("tanh", None, "bce_logits"), optax.sgd(0.5), n=4, batch_size=None,
                               epochs=steps)
        return lambda: train(params0, ks, x, y)

    return params0, build_jaxnn, build_ref


def xor(ctx: Context) -> None:
    """Workload 2: XOR by full-batch GD, post-compile time and first-call compile time."""
    c = ctx.cfg("xor")
    steps = c["steps"]
    params0, build_jaxnn, build_ref = _xor_builders(steps)
    j1 = first_call(build_jaxnn, repeats=c["compile_repeats"])
    r1 = first_call(build_ref, repeats=c["compile_repeats"])
    _first(ctx, "xor", "jaxnn", "jaxnn", j1, f"fit first call (fresh net/loss/optimizer), median of {len(j1.times)}")
    _first(ctx, "xor", "reference", "reference", r1, f"jit(scan) first call, median of {len(r1.times)}")
    fns = {"jaxnn": build_jaxnn(), "reference": build_ref()}
    fit = _jaxnn()[4]
    if ctx.diagnostics:
        fns["one epoch"] = build_jaxnn(epochs=1)  # fit's fixed cost per call
    if _unguarded(fit, fns["jaxnn"], ctx.diagnostics):
        fns["unguarded"] = _unguarded(fit, fns["jaxnn"], ctx.diagnostics)
    ts = measure_interleaved(fns, repeats=ctx.repeats)
    tj, tr = ts["jaxnn"], ts["reference"]
    work = {"steps": steps, "batch": 4}
    _measured(ctx, "xor", "reference", "reference", "steady", tr, work=work, per=steps, unit="steps/s",
              ref_median=tr.median, note="hand-written jit(scan), optax.sgd")
    _measured(ctx, "xor", "jaxnn", "jaxnn", "steady", tj, work=work, per=steps, unit="steps/s",
              ref_median=tr.median, note="fit(epochs=steps), full batch, cached program")
    _add_unguarded(ctx, "xor", ts, work=work, per=steps, unit="steps/s", ref_median=tr.median)
    if "one epoch" in ts:
        t1 = ts["one epoch"]
        _measured(ctx, "xor", "jaxnn, epochs=1", "diagnostic", "steady", t1, work={"steps": 1, "batch": 4},
                  note="fit's fixed cost per call (validation, state set-up, dispatch) plus one step")
        per_epoch = (tj.median - t1.median) / max(1, steps - 1)
        ctx.add(record("xor", "jaxnn", "diagnostic", "per-step cost inside the loop", median_s=per_epoch,
                       ratio=per_epoch / (tr.median / steps), ratio_to="reference",
                       note=f"(fit(epochs={steps}) - fit(epochs=1)) / {steps - 1}, vs the reference's seconds / {steps}: "
                            f"{per_epoch * 1e6:.2f} us vs {tr.median / steps * 1e6:.2f} us per step"))
    _check(ctx, "xor", "reference", tr.result[0], tj.result.params, 1e-4, "trained weights, reference vs jaxnn")

    orders = [np.arange(4)] * steps
    problem = peers.Problem(_pairs(params0), "tanh", None, "bce_logits", "sgd", 0.5, XOR_X, XOR_Y, 4, orders)
    pm = _run_peers(ctx, "xor", problem, peers.PEERS, expected=_pairs(tr.result[0]),
                    per=steps, unit="steps/s", ref_median=tr.median)
    _target(ctx, "xor", "post-compile time vs raw-JAX scan", tj.median / tr.median, 1.1, "<=",
            "jaxnn seconds / reference seconds")
    _target(ctx, "xor", "speed-up over PyTorch eager", pm["torch"] / tj.median if "torch" in pm else None, 50.0, ">=",
            "torch seconds / jaxnn seconds" + _one_thread(pm, tj.median))
    _target(ctx, "xor", "first-call time (s)", j1.median, 1.0, "<=",
            "fit's first call: validation + trace + compile + 2000 steps, in a process that has run JAX before")


# ----------------------------------------------------------------------------- 3. sweep


def sweep_(ctx: Context) -> None:
    """Workload 3: 256 XOR models in one call vs one model and vs the raw-JAX vmap reference."""
    nn, heads, optim, Supervised, fit, sweep = _jaxnn()
    c = ctx.cfg("sweep")
    M, steps = c["members"], c["steps"]
    x, y = jnp.asarray(XOR_X), jnp.asarray(XOR_Y)
    keys = jax.random.split(jax.random.key(2), M)
    lrs = jnp.linspace(0.1, 1.0, M, dtype=jnp.float32)
    net = nn.MLP([8], 1, activation="tanh")
    loss_fn = Supervised(net.apply, heads.binary())

    def init_fn(k):
        return net.init(k, (-1, 2))[1]

    def make_optimizer(learning_rate):
        return optim.sgd(learning_rate)

    def run_sweep():
        return sweep(init_fn, loss_fn, x, y, make_optimizer=make_optimizer, keys=keys,
                     hyperparams={"learning_rate": lrs}, epochs=steps)

    one_params = init_fn(jax.random.split(keys[0])[0])
    one_opt = optim.sgd(0.5)

    def run_one():
        return fit(one_params, loss_fn, x, y, optimizer=one_opt, key=keys[0], epochs=steps)

    ref_sweep = ref.make_sweep([2, 8, 1], ref.make_loss("tanh", None, "bce_logits"), epochs=steps)

    def run_ref():
        return ref_sweep(keys, lrs, x, y)

    j1 = first_call(lambda: run_sweep)
    r1 = first_call(lambda: run_ref)
    _first(ctx, "sweep", "jaxnn", "jaxnn", j1, f"sweep(...) of {M} models, first call")
    _first(ctx, "sweep", "reference", "reference", r1, "jit(vmap(scan)) first call")
    # No warm-up round: the first calls above compiled the reference, and sweep compiles on every
    # call anyway (see the diagnostic below); only the one-model fit needs compiling first.
    block(run_one())
    ts = measure_interleaved({"jaxnn": run_sweep, "reference": run_ref, "one": run_one}, repeats=ctx.repeats,
                             warmup=0)
    tj, tr, t1 = ts["jaxnn"], ts["reference"], ts["one"]
    work = {"members": M, "steps": steps}
    _measured(ctx, "sweep", "reference", "reference", "steady", tr, work=work, per=M * steps, unit="model-steps/s",
              ref_median=tr.median, note="hand-written jit(vmap(member)), optax.sgd(lr)")
    _measured(ctx, "sweep", "jaxnn", "jaxnn", "steady", tj, work=work, per=M * steps, unit="model-steps/s",
              ref_median=tr.median, note="jaxnn.train.sweep, repeated calls with the same arguments")
    _measured(ctx, "sweep", "jaxnn (1 model)", "jaxnn", "steady", t1, work={"members": 1, "steps": steps},
              per=steps, unit="model-steps/s", note="fit of one of the models (cached program): the 'one model' time")
    _check(ctx, "sweep", "reference", tr.result[0], tj.result.params, 1e-4, "all members' trained weights")
    _target(ctx, "sweep", f"{M} models vs one model", tj.median / t1.median, 16.0, "<=",
            "sweep seconds / fit seconds for one model")
    _target(ctx, "sweep", "time vs raw-JAX vmap", tj.median / tr.median, 1.1, "<=", "jaxnn seconds / reference seconds")
    if ctx.peers:
        ctx.add(record("sweep", "peers", "skipped", "steady",
                       note="no peer has an equivalent one-call batched trainer; jaxnn is compared with raw JAX only"))
    if not ctx.diagnostics:
        return
    # One more call, already seen with the same arguments: how much of it is compiling, and where.
    with CompileClock() as clock:
        start = time.perf_counter()
        _profile_breakdown(ctx, "sweep", run_sweep, 1, ("jaxnn/train.py", "sweep"))
        seconds = time.perf_counter() - start
    ctx.add(record("sweep", "jaxnn", "diagnostic", "compile in a repeated call", median_s=seconds,
                   value=clock.total, note=f"JAX trace+lower+XLA compile during a sweep call with the same arguments "
                   f"as before (under cProfile): {clock.total:.3f} s of {seconds:.3f} s ("
                   + ", ".join(f"{k} {v:.3f}" for k, v in clock.seconds.items()) + ")"))


# -------------------------------------------------------------------------- 4. roofline


def roofline(ctx: Context) -> None:
    """Workload 4: three 2048 x 2048 tanh layers, batch 2048, MSE, SGD: GFLOP/s vs the matmul peak."""
    nn, heads, optim, Supervised, fit, _ = _jaxnn()
    c = ctx.cfg("roofline")
    W, B, steps = c["width"], c["batch"], c["steps"]
    n = B * steps
    kp, kx, ky, ks = jax.random.split(jax.random.key(3), 4)
    x = jax.random.normal(kx, (n, W), jnp.float32)
    y = jnp.tanh(jax.random.normal(ky, (n, W), jnp.float32))
    net = nn.MLP([W, W], W, activation="tanh", output_activation="tanh")
    _, params0 = net.init(kp, (-1, W))
    loss_fn = Supervised(net.apply, heads.multivariate_regression())
    opt = optim.sgd(0.01)
    train = ref.make_train(ref.make_loss("tanh", "tanh", "mse"), optax.sgd(0.01), n=n, batch_size=B, epochs=1)

    def run_jaxnn(**kw):
        return fit(params0, loss_fn, x, y, optimizer=opt, key=ks, epochs=1, batch_size=B, **kw)

    def run_ref():
        return train(params0, ks, x, y)

    weights = _count(params0)
    flops = 6.0 * B * weights * steps
    # The first layer's input gradient is never needed, so XLA does 6BW - 2B*W^2 per step.
    exact = (6.0 * B * weights - 2.0 * B * W * W) * steps
    work = {"steps": steps, "batch": B, "width": W, "weights": weights, "flops": flops, "flops_exact": exact}
    j1 = first_call(lambda: run_jaxnn)
    r1 = first_call(lambda: run_ref)
    _first(ctx, "roofline", "jaxnn", "jaxnn", j1)
    _first(ctx, "roofline", "reference", "reference", r1)
    reps = max(1, min(ctx.repeats, c["max_repeats"]))
    mm, mm_flops, mm_n = ctx.matmul()
    block(mm())  # compile it
    fns = {"jaxnn": run_jaxnn, "reference": run_ref, "matmul": mm}
    if _unguarded(fit, run_jaxnn, ctx.diagnostics):
        fns["unguarded"] = _unguarded(fit, run_jaxnn, ctx.diagnostics)
        block(fns["unguarded"]())  # compile it; jaxnn and the reference compiled in their first calls
    ts = measure_interleaved(fns, repeats=reps, warmup=0, calls_per_round={"matmul": 5})
    tj, tr = ts["jaxnn"], ts["reference"]
    peak = _add_peak(ctx, "roofline", ts["matmul"], mm_flops, mm_n)
    _measured(ctx, "roofline", "reference", "reference", "steady", tr, work=work, per=n, unit="samples/s",
              flops=flops, ref_median=tr.median, note="hand-written jit(scan), optax.sgd")
    _measured(ctx, "roofline", "jaxnn", "jaxnn", "steady", tj, work=work, per=n, unit="samples/s", flops=flops,
              ref_median=tr.median, note="fit, batch_size=B, one epoch")
    _add_unguarded(ctx, "roofline", ts, work=work, per=n, unit="samples/s", flops=flops, ref_median=tr.median)
    _check(ctx, "roofline", "reference", tr.result[0], tj.result.params, 1e-4, "trained weights, reference vs jaxnn")
    problem = peers.Problem(_pairs(params0), "tanh", "tanh", "mse", "sgd", 0.01, np.asarray(x), np.asarray(y), B,
                            _orders(ks, n, 1))
    _run_peers(ctx, "roofline", problem, ("torch",), expected=_pairs(tr.result[0]),
               per=n, unit="samples/s", flops=flops, ref_median=tr.median)
    gj, gr = flops / tj.median / 1e9, flops / tr.median / 1e9
    _target(ctx, "roofline", "GFLOP/s vs matmul peak", gj / peak, 0.90, ">=",
            f"{gj:.1f} GFLOP/s (6 x batch x weights) vs peak {peak:.1f}; reference reaches {gr / peak:.2f}; "
            f"counting only the matmuls done ({exact / flops:.3f} of the nominal) jaxnn reaches "
            f"{gj * exact / flops / peak:.2f}")


# ------------------------------------------------------------------------ 5. perceptron


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


def perceptron(ctx: Context) -> None:
    """Workload 5: Rosenblatt's algorithm, jaxnn vs a NumPy per-sample loop (same weights)."""
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

    j1 = first_call(lambda: run_jaxnn)
    r1 = first_call(lambda: run_ref)
    _first(ctx, "perceptron", "jaxnn", "jaxnn", j1)
    _first(ctx, "perceptron", "reference", "reference", r1)
    ts = measure_interleaved({"jaxnn": run_jaxnn, "reference": run_ref}, repeats=ctx.repeats)
    tj, tr = ts["jaxnn"], ts["reference"]
    epochs = int(tj.result.epochs)
    samples = epochs * c["n"]
    work = {"n": c["n"], "d": c["d"], "epochs": epochs, "updates": int(tj.result.updates),
            "converged": bool(tj.result.converged)}
    tn = measure(lambda: ref.perceptron_numpy(X, y, max_epochs=me), repeats=c["numpy_repeats"], warmup=0)
    _measured(ctx, "perceptron", "reference", "reference", "steady", tr, work=work, per=samples, unit="samples/s",
              ref_median=tr.median, note="hand-written jit(while_loop(scan))")
    _measured(ctx, "perceptron", "jaxnn", "jaxnn", "steady", tj, work=work, per=samples, unit="samples/s",
              ref_median=tr.median, note="jaxnn.perceptron.perceptron (host checks + compiled run)")
    _measured(ctx, "perceptron", "numpy loop", "baseline", "steady", tn, work=work, per=samples, unit="samples/s",
              ref_median=tr.median, threads=1, note="NumPy per-sample loop (bench/_reference.py)")
    np_w = tn.result[0]
    _check(ctx, "perceptron", "numpy loop", np.asarray(tj.result.weights), np_w, 0.0, "weights, jaxnn vs NumPy loop")
    _check(ctx, "perceptron", "reference", np.asarray(tr.result[0]), np_w, 0.0, "weights, raw-JAX reference vs NumPy")
    if ctx.peers:
        try:
            run_sk, note = peers.sklearn_perceptron(X, y, epochs)
            ts_ = measure(run_sk, repeats=_peer_repeats(ctx))
            _measured(ctx, "perceptron", "sklearn", "peer", "steady", ts_, work=work, per=samples, unit="samples/s",
                      ref_median=tr.median, threads=1, note=note)
            _check(ctx, "perceptron", "sklearn", ts_.result, np_w, 0.0, "weights, scikit-learn vs NumPy loop")
        except peers.PeerUnavailable as err:
            ctx.add(record("perceptron", "sklearn", "skipped", "steady", note=str(err)))
    if ctx.diagnostics:
        _profile_breakdown(ctx, "perceptron", run_jaxnn, 20, ("jaxnn/perceptron.py", "perceptron"))
    _target(ctx, "perceptron", "speed-up over NumPy per-sample loop", tn.median / tj.median, 100.0, ">=",
            "NumPy seconds / jaxnn seconds (same weights, checked)")


# -------------------------------------------------------------------------- 6. dispatch


def dispatch(ctx: Context) -> None:
    """Workload 6: the per-call cost of one compiled training step on a small MLP."""
    nn, heads, optim, Supervised, fit, _ = _jaxnn()
    c = ctx.cfg("dispatch")
    D, H, K, B = c["inputs"], c["hidden"], c["classes"], c["batch"]
    kp, kx, ky, ks = jax.random.split(jax.random.key(4), 4)
    x = jax.random.normal(kx, (B, D), jnp.float32)
    y = jax.random.randint(ky, (B,), 0, K, jnp.int32)
    net = nn.MLP([H, H], K, activation="relu")
    _, params0 = net.init(kp, (-1, D))
    loss_fn = Supervised(net.apply, heads.multiclass())
    opt = optim.adam(1e-3)
    step = ref.make_step(ref.make_loss("relu", None, "softmax_ce"), optax.adam(1e-3))
    state = {"p": params0, "s": optax.adam(1e-3).init(params0)}
    from jaxnn.train import make_train_step

    jaxnn_step = make_train_step(loss_fn, opt)
    copy = lambda tree: jax.tree.map(jnp.copy, tree)
    jstate = {"p": copy(params0), "s": opt.init(params0)}

    def run_jaxnn():
        jstate["p"], jstate["s"], value = jaxnn_step(jstate["p"], jstate["s"], x, y)
        return value

    def run_fit():
        return fit(params0, loss_fn, x, y, optimizer=opt, key=ks, epochs=1)

    def run_ref():
        state["p"], state["s"], value = step(state["p"], state["s"], x, y)
        return value

    calls = c["calls"]
    ts = measure_interleaved({"jaxnn": run_jaxnn, "reference": run_ref, "fit": run_fit}, repeats=calls, warmup=5)
    tj, tr = ts["jaxnn"], ts["reference"]
    work = {"steps": 1, "batch": B, "sizes": [D, H, H, K]}
    _measured(ctx, "dispatch", "reference", "reference", "per_call", tr, work=work, ref_median=tr.median,
              note="jax.jit(step)(params, opt_state, x, y), state carried between calls")
    _measured(ctx, "dispatch", "jaxnn", "jaxnn", "per_call", tj, work=work, ref_median=tr.median,
              note="jaxnn.train.make_train_step(loss, optimizer)(params, opt_state, x, y), state carried")
    _measured(ctx, "dispatch", "jaxnn fit(epochs=1)", "diagnostic", "per_call", ts["fit"], work=work,
              ref_median=tr.median, note="a whole fit call (validation, state set-up, one step)")
    one = step(params0, optax.adam(1e-3).init(params0), x, y)[0]
    _check(ctx, "dispatch", "reference", one, run_fit().params, 1e-5, "weights after one step (fit)")
    one_step = make_train_step(loss_fn, opt, donate=False)(params0, opt.init(params0), x, y)[0]
    _check(ctx, "dispatch", "reference", one, one_step, 1e-5, "weights after one step (make_train_step)")
    _profile_breakdown(ctx, "dispatch", run_fit, max(calls, 20), ("jaxnn/train.py", "fit"))
    if ctx.peers:
        p0 = _pairs(params0)
        problem = peers.Problem(p0, "relu", None, "softmax_ce", "adam", 1e-3, np.asarray(x), np.asarray(y), B,
                                [np.arange(B)])
        for label, name, kw in _peer_variants(ctx, peers.PEERS):
            ctx.log(f"  peer {label}")
            try:
                fn, note = peers.make_stepper(name, problem, **kw)
                t = measure(fn, repeats=calls, warmup=5)
            except (peers.PeerUnavailable, peers.Unsupported) as err:
                ctx.add(record("dispatch", label, "skipped", "per_call", note=str(err)))
                continue
            except Exception as err:  # noqa: BLE001
                ctx.add(record("dispatch", label, "error", "per_call", note=f"{type(err).__name__}: {err}"))
                continue
            _measured(ctx, "dispatch", label, "diagnostic" if kw else "peer", "per_call", t, work=work,
                      ref_median=tr.median, threads=kw.get("torch_threads") or peers.threads(name), note=note)
    _target(ctx, "dispatch", "per-call time vs raw jax.jit", tj.median / tr.median, 1.2, "<=",
            "make_train_step seconds / jitted step seconds")


def _profile_breakdown(ctx: Context, workload: str, call: Callable[[], Any], calls: int, entry: tuple[str, str]) -> None:
    """Where a jaxnn entry point spends its per-call time: cProfile's split of its direct callees.

    Only the public call is run (no private jaxnn API is touched), so this keeps working when
    the engine changes; each record names the callee's ``file:line``. cProfile slows Python
    code down, so the shares matter more than the absolute numbers.

    Args:
      entry: ``(path suffix, function name)`` of the entry point, e.g. ``("jaxnn/train.py", "fit")``.
    """
    import cProfile
    import pstats

    prof = cProfile.Profile()
    prof.enable()
    for _ in range(calls):
        block(call())
    prof.disable()
    stats = pstats.Stats(prof).stats  # {(file, line, name): (cc, nc, tt, ct, callers)}
    suffix = entry[0].replace("/", os.sep)
    keys = [k for k in stats if k[0].endswith(suffix) and k[2] == entry[1]]
    if not keys:
        ctx.add(record(workload, "jaxnn", "skipped", "profile", note=f"{entry[0]}:{entry[1]} not seen by the profiler"))
        return
    key = keys[0]
    total = stats[key][3] / calls
    ctx.add(record(workload, f"jaxnn profile: {entry[1]} (total)", "diagnostic", "per_call", median_s=total,
                   repeats=calls, note=f"{_where(key)}; under cProfile (Python-heavy parts are inflated)"))
    def callees(of):
        found = []
        for callee, (_, _, _, _, callers) in stats.items():
            if of in callers:
                nc, _, _, ct = callers[of]
                found.append((ct / calls, nc / calls, callee))
        return sorted(found, key=lambda p: -p[0])

    parts = callees(key)
    shown = 0.0
    for rank, (ct, nc, callee) in enumerate(parts[:8]):
        shown += ct
        ctx.add(record(workload, f"jaxnn profile: {callee[2]}", "diagnostic", "per_call", median_s=ct, repeats=calls,
                       value=ct / total if total else None,
                       note=f"{_where(callee)}, called {nc:g}x per call; {100 * ct / total:.0f}% of {entry[1]}"))
        if rank < 2:  # one level deeper for the two biggest
            for sub_ct, sub_nc, sub in callees(callee)[:4]:
                ctx.add(record(workload, f"jaxnn profile:   {callee[2]} > {sub[2]}", "diagnostic", "per_call",
                               median_s=sub_ct, repeats=calls, value=sub_ct / total if total else None,
                               note=f"{_where(sub)}, called {sub_nc:g}x per call; {100 * sub_ct / total:.0f}% of {entry[1]}"))
    ctx.add(record(workload, f"jaxnn profile: {entry[1]} (own code + rest)", "diagnostic", "per_call",
                   median_s=total - shown, repeats=calls, value=(total - shown) / total if total else None,
                   note=f"{entry[1]}'s own lines and the smaller callees"))


def _where(key: tuple[str, int, str]) -> str:
    path, line, _ = key
    for marker in (os.sep + "jaxnn" + os.sep, os.sep + "site-packages" + os.sep):
        if marker in path:
            path = path[path.rindex(marker) + 1 :]
            break
    return f"{path}:{line}" if line else path


# ------------------------------------------------------------------------- 7. coldstart

_CHILD = r"""
import time
t0 = time.perf_counter()
import json, sys
impl, workload, mode, cache_dir, hidden, batch, steps = sys.argv[1:8]
hidden, batch, steps = int(hidden), int(batch), int(steps)
import jax
if mode == "off":
    jax.config.update("jax_enable_compilation_cache", False)
else:
    jax.config.update("jax_enable_compilation_cache", True)
    jax.config.update("jax_compilation_cache_dir", cache_dir)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", -1)
counts, durations = {}, {}
jax.monitoring.register_event_listener(lambda e, **k: counts.__setitem__(e, counts.get(e, 0) + 1))
jax.monitoring.register_event_duration_secs_listener(
    lambda e, d, **k: durations.__setitem__(e, durations.get(e, 0.0) + d))
import jax.numpy as jnp
import numpy as np
if impl == "jaxnn":
    import jaxnn.optim
    from jaxnn import heads, nn
    from jaxnn.train import Supervised, fit
else:
    import optax
    from bench import _reference as ref
t_import = time.perf_counter()
if workload == "mlp":
    kp, kx, ky, ks = jax.random.split(jax.random.key(0), 4)
    x = jax.random.normal(kx, (batch, 784), jnp.float32)
    y = jax.random.randint(ky, (batch,), 0, 10, jnp.int32)
    if impl == "jaxnn":
        net = nn.MLP([hidden, hidden], 10, activation="relu")
        _, p0 = net.init(kp, (-1, 784))
        out = fit(p0, Supervised(net.apply, heads.multiclass()), x, y, optimizer=jaxnn.optim.adam(1e-3),
                  key=ks, epochs=1, batch_size=batch)
    else:
        p0 = ref.mlp_init(kp, [784, hidden, hidden, 10])
        out = ref.make_train(ref.make_loss("relu", None, "softmax_ce"), optax.adam(1e-3), n=batch,
                             batch_size=batch, epochs=1)(p0, ks, x, y)
else:
    kp, ks = jax.random.split(jax.random.key(1))
    x = jnp.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y = jnp.array([[0.0], [1.0], [1.0], [0.0]])
    if impl == "jaxnn":
        net = nn.MLP([8], 1, activation="tanh")
        _, p0 = net.init(kp, (-1, 2))
        out = fit(p0, Supervised(net.apply, heads.binary()), x, y, optimizer=jaxnn.optim.sgd(0.5), key=ks,
                  epochs=steps)
    else:
        p0 = ref.mlp_init(kp, [2, 8, 1])
        out = ref.make_train(ref.make_loss("tanh", None, "bce_logits"), optax.sgd(0.5), n=4, batch_size=None,
                             epochs=steps)(p0, ks, x, y)
jax.block_until_ready(out)
t_done = time.perf_counter()
print(json.dumps({
    "import_s": t_import - t0, "first_step_s": t_done - t_import, "total_s": t_done - t0,
    "hits": counts.get("/jax/compilation_cache/cache_hits", 0),
    "misses": counts.get("/jax/compilation_cache/cache_misses", 0),
    "xla_compile_s": durations.get("/jax/core/compile/backend_compile_duration", 0.0),
    "trace_lower_s": durations.get("/jax/core/compile/jaxpr_trace_duration", 0.0)
                     + durations.get("/jax/core/compile/jaxpr_to_mlir_module_duration", 0.0),
}))
"""


def _child(impl: str, workload: str, mode: str, cache_dir: str, hidden: int, batch: int, steps: int) -> dict[str, Any]:
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = {k: v for k, v in os.environ.items() if not k.startswith("JAX_COMPILATION_CACHE")
           and k not in ("JAX_ENABLE_COMPILATION_CACHE", "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS",
                         "JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES")}
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    args = [sys.executable, "-c", _CHILD, impl, workload, "off" if mode == "off" else "on", cache_dir,
            str(hidden), str(batch), str(steps)]
    start = time.perf_counter()
    proc = subprocess.run(args, capture_output=True, text=True, env=env, cwd=root, timeout=600)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"cold-start child failed ({impl}, {workload}, {mode}): {proc.stderr[-2000:]}")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out["process_s"] = wall
    return out


def coldstart(ctx: Context) -> None:
    """Workload 7: import -> first finished step in a fresh process, persistent cache off / cold / warm."""
    c = ctx.cfg("coldstart")
    mlp_c, xor_c = ctx.cfg("mlp"), ctx.cfg("xor")
    sizes = {"mlp": (mlp_c["hidden"], mlp_c["batch"], 1), "xor": (8, 4, xor_c["steps"])}
    what = {"mlp": "one Adam step of the workload-1 MLP", "xor": "the whole XOR training run (one compiled call)"}
    if ctx.size == "tiny":
        ctx.add(record("coldstart", "all", "skipped", "cache_off",
                       note="tiny size: jaxnn/xor only, cache cold and warm (the full size runs all 12 processes)"))
    for wl in c["workloads"]:
        results: dict[tuple[str, str], dict[str, Any]] = {}
        for impl in c["impls"]:
            with tempfile.TemporaryDirectory(prefix="jaxnn-bench-cache-") as cache_dir:
                for mode in c["modes"]:
                    ctx.log(f"  {wl} {impl} cache {mode}")
                    r = _child(impl, wl, mode, cache_dir, *sizes[wl])
                    r["cache_files"] = sum(len(f) for _, _, f in os.walk(cache_dir)) if mode != "off" else 0
                    results[impl, mode] = r
                    kind = "jaxnn" if impl == "jaxnn" else "reference"
                    label = {"off": "cache_off", "cold": "cache_on_cold", "warm": "cache_on_warm"}[mode]
                    ctx.add(record(
                        f"coldstart:{wl}", impl, kind, label, median_s=r["total_s"], min_s=r["total_s"],
                        times_s=[r["total_s"]], repeats=1, value=r["first_step_s"], threads=os.cpu_count(),
                        work={k: r[k] for k in ("import_s", "first_step_s", "total_s", "process_s", "hits", "misses",
                                                "xla_compile_s", "trace_lower_s", "cache_files")},
                        note=f"import {r['import_s']:.2f} s + first step {r['first_step_s']:.2f} s "
                             f"(XLA compile {r['xla_compile_s']:.2f} s; cache hits {r['hits']}, misses "
                             f"{r['misses']}); process incl. interpreter {r['process_s']:.2f} s; {what[wl]}",
                    ))
            if ("cold" in c["modes"]) and ("warm" in c["modes"]):
                cold, warm = results[impl, "cold"], results[impl, "warm"]
                verified = cold["cache_files"] > 0 and warm["hits"] > 0 and warm["misses"] == 0
                ctx.add(record(
                    f"coldstart:{wl}", impl, "check", "cache hit", value=warm["hits"], met=bool(verified),
                    note=f"cache dir had {cold['cache_files']} files after the cold run; warm run: {warm['hits']} "
                         f"hits, {warm['misses']} misses; first step {cold['first_step_s']:.2f} s -> "
                         f"{warm['first_step_s']:.2f} s",
                ))
        for mode in c["modes"]:
            if ("jaxnn", mode) in results and ("reference", mode) in results:
                j, r = results["jaxnn", mode], results["reference", mode]
                ctx.add(record(
                    f"coldstart:{wl}", "jaxnn", "target", f"import->first step vs reference ({mode})",
                    value=j["total_s"] / r["total_s"], note=f"{j['total_s']:.2f} s vs {r['total_s']:.2f} s; "
                    "reported, no threshold in the issue",
                ))


def _time_to_result(ctx: Context) -> None:
    from bench.workloads.time_to_result import time_to_result

    time_to_result(ctx)


_RUNNERS: dict[str, Callable[[Context], None]] = {
    "mlp": mlp,
    "xor": xor,
    "sweep": sweep_,
    "roofline": roofline,
    "perceptron": perceptron,
    "dispatch": dispatch,
    "coldstart": coldstart,
    "time_to_result": _time_to_result,
}
