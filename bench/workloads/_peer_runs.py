"""Timing the peers on a workload's problem and checking that they solved the same problem."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from typing import Any, NamedTuple

from bench import _peers as peers
from bench._timing import Measurement, Timing, Work, measure, record
from bench.workloads._common import rel_diff
from bench.workloads._context import Context

__all__ = ["Expected", "peer_variants", "run_peers", "run_steppers"]


class Expected(NamedTuple):
    """What a peer's trained weights are checked against.

    Attributes:
      weights: the reference's trained weights ``[(w, b), ...]`` on the timed problem.
      tol: the largest :func:`~bench.workloads._common.rel_diff` that counts as the same run.
      short: ``(short_problem, its reference weights)`` to check on a shorter run instead:
        over many Adam steps a ReLU network amplifies round-off (a unit that flips on or off
        changes every later step), so a correct peer drifts away from the reference.
    """

    weights: Any
    tol: float = 0.05
    short: tuple[peers.Problem, Any] | None = None


def peer_variants(ctx: Context, names: tuple[str, ...]) -> list[tuple[str, str, dict[str, Any]]]:
    """``(label, peer, kwargs)`` to time: each peer, plus PyTorch on one thread as a diagnostic.

    The targets fix PyTorch's threads at the core count. On a small, shared CPU its thread pool
    can cost more than it gives on tiny ops, so one thread is timed too (when diagnostics are on),
    and the targets are reported against the core count.
    """
    out = [(name, name, {}) for name in names]
    if "torch" in names and ctx.diagnostics and (os.cpu_count() or 1) > 1:
        out.insert(names.index("torch") + 1, ("torch (1 thread)", "torch", {"torch_threads": 1}))
    return out


def _attempt(ctx: Context, workload: str, label: str, measure_name: str, fn: Callable[[], Any]) -> Any:
    """``fn()``, or ``None`` after recording why a peer was skipped or failed (it must not stop the suite)."""
    try:
        return fn()
    except (peers.PeerUnavailable, peers.Unsupported) as err:
        ctx.add(record(workload, label, "skipped", measure_name, note=str(err)))
    except Exception as err:  # noqa: BLE001 - a broken peer must not stop the suite
        ctx.add(record(workload, label, "error", measure_name, note=f"{type(err).__name__}: {err}"))
    return None


def run_peers(ctx: Context, workload: str, problem: peers.Problem, names: tuple[str, ...], *, expected: Expected,
              work: Work, reference_s: float | None = None) -> dict[str, float]:
    """Times each peer's trainer on ``problem``; returns ``{label: median seconds}``.

    A peer that starts from the same weights must end near ``expected`` (see :class:`Expected`),
    which shows it solved the same problem.
    """
    medians: dict[str, float] = {}
    if not ctx.peers:
        return medians
    work = dataclasses.replace(work, fields=None)  # the peers' records carry rates, not the work dict
    for label, name, kw in peer_variants(ctx, names):
        ctx.log(f"  peer {label}")

        def timed(name=name, kw=kw) -> tuple[peers.Trainer, Timing]:
            trainer = peers.make_trainer(name, problem, **kw)
            return trainer, measure(trainer.run, repeats=ctx.peer_repeats)

        done = _attempt(ctx, workload, label, "steady", timed)
        if done is None:
            continue
        trainer, t = done
        medians[label] = t.median
        first = "first call" + (" (incl. compile)" if name in ("flax", "equinox", "keras") else "")
        note = trainer.note + (f"; {first} {t.warmup[0]:.3f} s" if t.warmup else "")
        ctx.measured(Measurement(workload, label, "diagnostic" if kw else "peer", "steady", t, work, reference_s,
                                 threads=kw.get("torch_threads") or peers.threads(name), note=note))
        _check_peer(ctx, workload, label, name, kw, trainer, problem, expected)
    return medians


def _check_peer(ctx: Context, workload: str, label: str, name: str, kw: dict[str, Any], trainer: peers.Trainer,
                problem: peers.Problem, expected: Expected) -> None:
    got, want, what = trainer.params(), expected.weights, "the timed run"
    if expected.short is not None and got is not None:
        short_problem, want = expected.short

        def short_run() -> peers.Trainer:
            short = peers.make_trainer(name, short_problem, **kw)
            short.run()
            return short

        short = _attempt(ctx, workload, label, "agreement", short_run)
        if short is None:
            return
        got, what = short.params(), f"a {len(short_problem.batches())}-step run of the same problem"
    if got is not None and want is not None:
        diff = rel_diff(got, want, problem.params0)
        ctx.add(record(workload, label, "check", "agreement", value=diff, threshold=expected.tol, comparison="<=",
                       met=bool(diff <= expected.tol),
                       note=f"||{name} - reference|| / ||reference - initial|| over all weights, {what}"))


def run_steppers(ctx: Context, workload: str, problem: peers.Problem, calls: int, work: Work,
                 reference_s: float) -> None:
    """Times each peer's single training step on the whole of ``problem.x`` (state kept between calls)."""
    for label, name, kw in peer_variants(ctx, peers.PEERS):
        ctx.log(f"  peer {label}")

        def timed(name=name, kw=kw) -> tuple[Timing, str]:
            fn, note = peers.make_stepper(name, problem, **kw)
            return measure(fn, repeats=calls, warmup=5), note

        done = _attempt(ctx, workload, label, "per_call", timed)
        if done is not None:
            t, note = done
            ctx.measured(Measurement(workload, label, "diagnostic" if kw else "peer", "per_call", t, work,
                                     reference_s, threads=kw.get("torch_threads") or peers.threads(name), note=note))
