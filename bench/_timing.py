"""Timing primitives: warm up, block on results, medians over repeats, compile vs steady state.

Every measurement in the suite goes through :func:`measure` (steady state: one untimed warm-up
call, then ``repeats`` timed calls, each blocked until its results exist) or :func:`first_call`
(one timed call of a freshly built function: tracing + compiling + running). Results are plain
dicts (:func:`record`) so that they serialize to JSON unchanged; a :class:`Measurement` says
what one timing was of and turns it into such a record.
"""

from __future__ import annotations

import os
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

__all__ = [
    "Timing",
    "block",
    "measure",
    "measure_interleaved",
    "first_call",
    "CompileClock",
    "record",
    "timing_fields",
    "Work",
    "Measurement",
    "environment",
]


class Timing(NamedTuple):
    """The timings of one measured callable.

    Attributes:
      times: the timed calls, in seconds, in the order they ran (warm-up excluded).
      median: median of ``times`` (the number every ratio in the suite is built from).
      min: fastest call.
      warmup: seconds of the warm-up calls (the first one includes compiling, when the
        callable had not run before), or ``[]``.
      result: what the last call returned (for numerical checks).
      compile: for :func:`first_call`, the seconds JAX spent tracing, lowering and
        XLA-compiling during each timed call (see :class:`CompileClock`); else ``[]``.
    """

    times: list[float]
    median: float
    min: float
    warmup: list[float]
    result: Any
    compile: list[float] = []


def block(tree: Any) -> Any:
    """Waits until every JAX array in ``tree`` is computed; other leaves pass through.

    JAX dispatches asynchronously: without this, a timer would stop when the work was
    *queued*, not done. PyTorch (CPU) and NumPy are synchronous, so their leaves need nothing.
    """
    try:
        import jax
    except ImportError:  # pragma: no cover - jax is a dependency
        return tree
    return jax.block_until_ready(tree)


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    out = block(fn())
    return time.perf_counter() - start, out


def measure(fn: Callable[[], Any], *, repeats: int, warmup: int = 1) -> Timing:
    """Times ``fn()`` in the steady state.

    Args:
      fn: a callable with no arguments; whatever it returns is blocked on.
      repeats: number of timed calls (>= 1); the median is reported.
      warmup: untimed calls made first (compiling, caches, allocator warm-up).

    Returns:
      A :class:`Timing`.
    """
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    warm, out = [], None
    for _ in range(warmup):
        t, out = _timed(fn)
        warm.append(t)
    times = []
    for _ in range(repeats):
        t, out = _timed(fn)
        times.append(t)
    return Timing(times, statistics.median(times), min(times), warm, out)


def measure_interleaved(
    fns: dict[str, Callable[[], Any]],
    *,
    repeats: int,
    warmup: int = 1,
    calls_per_round: dict[str, int] | None = None,
) -> dict[str, Timing]:
    """Times several callables in the steady state, taking turns, so that a change in machine load
    during the run (this suite often shares its cores) hits all of them alike.

    Each callable is warmed up ``warmup`` times, then every round calls each of them once, the
    starting one rotating from round to round.

    Args:
      fns: ``{name: callable}``; each return value is blocked on.
      repeats: rounds (timed calls per callable).
      warmup: untimed calls of each callable first.
      calls_per_round: ``{name: k}`` to time a short callable ``k`` times per round (each call
        timed on its own), e.g. the matmul next to a long training run.

    Returns:
      ``{name: Timing}``.
    """
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    names = list(fns)
    warm: dict[str, list[float]] = {k: [] for k in names}
    times: dict[str, list[float]] = {k: [] for k in names}
    out: dict[str, Any] = dict.fromkeys(names)
    for name in names:
        for _ in range(warmup):
            t, out[name] = _timed(fns[name])
            warm[name].append(t)
    per_round = calls_per_round or {}
    for r in range(repeats):
        for i in range(len(names)):
            name = names[(i + r) % len(names)]
            for _ in range(per_round.get(name, 1)):
                t, out[name] = _timed(fns[name])
                times[name].append(t)
    return {
        k: Timing(times[k], statistics.median(times[k]), min(times[k]), warm[k], out[k]) for k in names
    }


def first_call(build: Callable[[], Callable[[], Any]], *, repeats: int = 1) -> Timing:
    """Times the *first* call of freshly built callables: trace + compile + run.

    Args:
      build: returns a new callable each time (new closures, so no compiled program is
        reused from an earlier build); only the call is timed, not ``build`` itself.
      repeats: how many fresh builds to time; the median is reported.

    Returns:
      A :class:`Timing` with no warm-up, whose ``compile`` lists the trace + lower + XLA
      compile seconds of each call.
    """
    times, compiles, out = [], [], None
    for _ in range(max(1, repeats)):
        fn = build()
        with CompileClock() as clock:
            t, out = _timed(fn)
        times.append(t)
        compiles.append(clock.total)
    return Timing(times, statistics.median(times), min(times), [], out, compiles)


_COMPILE_EVENTS = {
    "/jax/core/compile/jaxpr_trace_duration": "trace_s",
    "/jax/core/compile/jaxpr_to_mlir_module_duration": "lower_s",
    "/jax/core/compile/backend_compile_duration": "xla_compile_s",
}
_compile_totals: dict[str, float] = dict.fromkeys(_COMPILE_EVENTS.values(), 0.0)
# How many XLA programs were built: JAX records one backend-compile duration per program it
# compiles or loads from the persistent cache (never for a program found in memory), and one
# cache-hit event per program loaded from the persistent cache.
_COUNTED = {"/jax/core/compile/backend_compile_duration": "programs", "/jax/compilation_cache/cache_hits": "cache_hits"}
_compile_counts: dict[str, int] = dict.fromkeys(_COUNTED.values(), 0)
_listening = False


def _on_duration(event: str, duration: float, **_: Any) -> None:
    name = _COMPILE_EVENTS.get(event)
    if name is not None:
        _compile_totals[name] += duration
    if event in _COUNTED:
        _compile_counts[_COUNTED[event]] += 1


def _on_event(event: str, **_: Any) -> None:
    if event in _COUNTED:
        _compile_counts[_COUNTED[event]] += 1


class CompileClock:
    """Seconds JAX spends tracing, lowering and XLA-compiling inside a ``with`` block.

    Reads JAX's own monitoring events, so it splits a first call's time into compile work
    and the rest (validation, dispatch, running). After the block, ``seconds`` holds
    ``{"trace_s", "lower_s", "xla_compile_s"}``, ``programs`` the number of XLA programs
    built (compiled, or loaded from the persistent compilation cache; 0 when every call found
    its program in memory) and ``cache_hits`` how many of those came from the persistent cache.
    """

    def __init__(self) -> None:
        global _listening
        if not _listening:
            import jax

            jax.monitoring.register_event_duration_secs_listener(_on_duration)
            jax.monitoring.register_event_listener(_on_event)
            _listening = True
        self.seconds: dict[str, float] = {}
        self.programs = 0
        self.cache_hits = 0

    def __enter__(self) -> CompileClock:
        self._start = dict(_compile_totals)
        self._start_counts = dict(_compile_counts)
        return self

    def __exit__(self, *exc: Any) -> None:
        self.seconds = {k: _compile_totals[k] - self._start[k] for k in _compile_totals}
        self.programs = _compile_counts["programs"] - self._start_counts["programs"]
        self.cache_hits = _compile_counts["cache_hits"] - self._start_counts["cache_hits"]

    @property
    def compiled(self) -> int:
        """XLA programs compiled in the block (built, and not loaded from the persistent cache)."""
        return self.programs - self.cache_hits

    @property
    def total(self) -> float:
        """Trace + lower + XLA compile seconds."""
        return sum(self.seconds.values())


_FIELDS = (
    "workload",
    "impl",
    "kind",
    "measure",
    "median_s",
    "min_s",
    "times_s",
    "repeats",
    "work",
    "throughput",
    "throughput_unit",
    "gflops",
    "ratio",
    "ratio_to",
    "value",
    "threshold",
    "comparison",
    "met",
    "threads",
    "note",
)


def record(workload: str, impl: str, kind: str, measure: str, **fields: Any) -> dict[str, Any]:
    """One JSON record (one measurement, check or target) with every field present.

    Args:
      workload: workload name (``"mlp"``, ``"xor"``, ...).
      impl: who was measured (``"jaxnn"``, ``"reference"``, ``"torch"``, ...).
      kind: ``"jaxnn"``, ``"reference"``, ``"peer"``, ``"baseline"``, ``"diagnostic"``,
        ``"check"`` (numerical agreement), ``"target"`` or ``"skipped"``.
      measure: what was measured (``"steady"``, ``"first_call"``, ``"compile"``, ...).
      **fields: any of ``median_s, min_s, times_s, repeats, work, throughput,
        throughput_unit, gflops, ratio, ratio_to, value, threshold, comparison, met, threads,
        note``.

    Returns:
      A dict with all fields (missing ones are ``None``).
    """
    unknown = set(fields) - set(_FIELDS)
    if unknown:
        raise ValueError(f"unknown record fields {sorted(unknown)}; valid ones are {_FIELDS[4:]}")
    rec = dict.fromkeys(_FIELDS)
    rec.update(workload=workload, impl=impl, kind=kind, measure=measure, **fields)
    return rec


def timing_fields(t: Timing) -> dict[str, Any]:
    """The ``median_s``, ``min_s``, ``times_s`` and ``repeats`` fields of a :class:`Timing`."""
    return {"median_s": t.median, "min_s": t.min, "times_s": list(t.times), "repeats": len(t.times)}


@dataclass(frozen=True)
class Work:
    """What one timed call does, for a measurement's throughput and GFLOP/s.

    Attributes:
      fields: the record's ``work`` dict (steps, batch, sizes, FLOPs: whatever describes the call).
      per_call: units of work per call (samples, steps); the throughput is ``per_call / median``.
      unit: the throughput's unit, e.g. ``"samples/s"``.
      flops: floating-point operations per call; GFLOP/s is ``flops / median / 1e9``.
    """

    fields: dict[str, Any] | None = None
    per_call: float | None = None
    unit: str | None = None
    flops: float | None = None


@dataclass(frozen=True)
class Measurement:
    """One timing of one implementation on one workload, and what it is compared with.

    Attributes:
      workload: workload name (``"mlp"``, ``"coldstart:xor"``, ...).
      impl: who was measured (``"jaxnn"``, ``"reference"``, ``"torch"``, ...).
      kind: ``"jaxnn"``, ``"reference"``, ``"peer"``, ``"baseline"`` or ``"diagnostic"``.
      measure: what was measured (``"steady"``, ``"per_call"``, ...).
      timing: the :class:`Timing`.
      work: what one call does (:class:`Work`).
      reference_s: the reference's median in the same run; gives the ``ratio`` field.
      threads: threads the implementation computed with (default ``os.cpu_count()``).
      note: how it was set up.
    """

    workload: str
    impl: str
    kind: str
    measure: str
    timing: Timing
    work: Work = field(default_factory=Work)
    reference_s: float | None = None
    threads: int | None = None
    note: str = ""

    def record(self) -> dict[str, Any]:
        """The JSON record (:func:`record`) of this measurement."""
        t, w = self.timing, self.work
        ratio = t.median / self.reference_s if self.reference_s else None
        return record(
            self.workload, self.impl, self.kind, self.measure, **timing_fields(t), work=w.fields,
            throughput=w.per_call / t.median if w.per_call else None, throughput_unit=w.unit,
            gflops=w.flops / t.median / 1e9 if w.flops else None, ratio=ratio,
            ratio_to="reference" if ratio is not None else None,
            threads=self.threads if self.threads is not None else os.cpu_count(), note=self.note,
        )


def environment() -> dict[str, Any]:
    """Versions and hardware of this run: jax/jaxlib, backend, device, CPU and thread counts."""
    import jax
    import jaxlib

    devices = jax.devices()
    env: dict[str, Any] = {
        "jax_version": jax.__version__,
        "jaxlib_version": jaxlib.__version__,
        "backend": jax.default_backend(),
        "device_kind": devices[0].device_kind,
        "device_count": len(devices),
        "cpu_count": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "xla_flags": os.environ.get("XLA_FLAGS", ""),
    }
    try:
        import optax

        env["optax_version"] = optax.__version__
    except ImportError:  # pragma: no cover
        pass
    return env


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"
