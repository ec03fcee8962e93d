"""What one run of the suite shares: its size, repeats, peers on or off, and the records."""

from __future__ import annotations

import math
import os
import statistics
from collections.abc import Callable
from typing import Any

from bench._timing import Measurement, Timing, record, timing_fields
from bench.workloads._config import CONFIGS, SIZES

__all__ = ["Context"]


class Context:
    """What a run of the suite shares, and the one place records are added.

    Every workload appends records through it (see :func:`bench._timing.record`):
    measurements (``kind`` ``"jaxnn"``, ``"reference"``, ``"peer"``, ``"baseline"``,
    ``"diagnostic"``), numerical agreement checks (``"check"``), targets (``"target"``) and
    notes on what was skipped (``"skipped"``/``"error"``).

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

    @property
    def peer_repeats(self) -> int:
        """Timed calls per peer (at most 3: the peers are slow and only their medians matter)."""
        return max(1, min(self.repeats, 3))

    def cfg(self, workload: str) -> dict[str, Any]:
        """This size's settings for ``workload``."""
        return CONFIGS[self.size][workload]

    def add(self, rec: dict[str, Any]) -> dict[str, Any]:
        """Appends one record (and returns it)."""
        rec["size"] = self.size
        self.records.append(rec)
        return rec

    def measured(self, m: Measurement) -> dict[str, Any]:
        """Appends a measurement's record."""
        return self.add(m.record())

    def first(self, workload: str, impl: str, kind: str, t: Timing, note: str = "") -> dict[str, Any]:
        """Appends a first-call record (trace + compile + run), with the compile seconds as ``value``."""
        compile_s = float(statistics.median(t.compile)) if t.compile else None
        extra = f"; of which JAX trace+lower+XLA compile {compile_s:.3f} s" if compile_s is not None else ""
        return self.add(record(workload, impl, kind, "first_call", **timing_fields(t), value=compile_s,
                               threads=os.cpu_count(), note=(note + extra).lstrip("; ")))

    def check(self, workload: str, impl: str, diff: float, tol: float, what: str) -> bool:
        """Appends an agreement check ``diff <= tol``; returns whether it holds."""
        ok = bool(diff <= tol)
        self.add(record(workload, impl, "check", "agreement", value=diff, threshold=tol, comparison="<=", met=ok,
                        note=what))
        return ok

    def target(self, workload: str, name: str, value: float | None, threshold: float | None,
               comparison: str | None, note: str = "") -> None:
        """Appends a target: ``value`` against ``threshold`` (``None``: reported only; ``met`` is then n/a)."""
        met = None
        if value is not None and threshold is not None and math.isfinite(value):
            met = bool(value >= threshold) if comparison == ">=" else bool(value <= threshold)
        self.add(record(workload, "jaxnn", "target", name, value=value, threshold=threshold, comparison=comparison,
                        met=met, note=note))

    def matmul(self) -> tuple[Callable[[], Any], float, int]:
        """A jitted float32 ``n x n`` matmul ``(call, flops, n)`` to time next to a workload.

        The peak the GFLOP/s targets compare with is timed in the same interleaved rounds as
        jaxnn and the reference, so that a change in the machine's load hits all three alike.
        """
        import jax

        from bench import _reference as ref

        n = self.cfg("matmul")["n"]
        if jax.default_backend() != "cpu" and self.size != "tiny":
            n *= 4  # a 2048^3 matmul is too short to show an accelerator's peak
        fn, flops = ref.make_matmul(n, jax.random.key(42))
        return fn, flops, n
