"""Where a jaxnn entry point spends its per-call time: cProfile's split of its direct callees."""

from __future__ import annotations

import cProfile
import os
import pstats
from collections.abc import Callable
from typing import Any

from bench._timing import block, record
from bench.workloads._context import Context

__all__ = ["profile_breakdown"]

Key = tuple[str, int, str]  # cProfile's (file, line, function name)


def profile_breakdown(ctx: Context, workload: str, call: Callable[[], Any], calls: int, entry: tuple[str, str]) -> None:
    """Records the per-call seconds of ``entry`` and of its biggest callees under cProfile.

    Only the public call is run (no private jaxnn API is touched), so this keeps working when
    the engine changes; each record names the callee's ``file:line``. cProfile slows Python
    code down, so the shares matter more than the absolute numbers.

    Args:
      entry: ``(module path without .py, function name)`` of the entry point, e.g.
        ``("jaxnn/train", "fit")``: ``jaxnn/train.py``, or any module of a ``jaxnn/train/`` package.
    """
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(calls):
        block(call())
    prof.disable()
    stats = pstats.Stats(prof).stats  # {(file, line, name): (cc, nc, tt, ct, callers)}
    key = _find(stats, entry)
    if key is None:
        ctx.add(record(workload, "jaxnn", "skipped", "profile",
                       note=f"{entry[0]}.py:{entry[1]} not seen by the profiler"))
        return
    total = stats[key][3] / calls
    ctx.add(record(workload, f"jaxnn profile: {entry[1]} (total)", "diagnostic", "per_call", median_s=total,
                   repeats=calls, note=f"{_where(key)}; under cProfile (Python-heavy parts are inflated)"))
    shown = 0.0
    for rank, (ct, nc, callee) in enumerate(_callees(stats, key, calls)[:8]):
        shown += ct
        _add_part(ctx, workload, callee[2], ct, nc, callee, total, calls, entry[1])
        if rank < 2:  # one level deeper for the two biggest
            for sub_ct, sub_nc, sub in _callees(stats, callee, calls)[:4]:
                _add_part(ctx, workload, f"  {callee[2]} > {sub[2]}", sub_ct, sub_nc, sub, total, calls, entry[1])
    ctx.add(record(workload, f"jaxnn profile: {entry[1]} (own code + rest)", "diagnostic", "per_call",
                   median_s=total - shown, repeats=calls, value=(total - shown) / total if total else None,
                   note=f"{entry[1]}'s own lines and the smaller callees"))


def _find(stats: dict[Key, Any], entry: tuple[str, str]) -> Key | None:
    path = entry[0].replace("/", os.sep)
    keys = [k for k in stats if k[2] == entry[1] and (k[0].endswith(path + ".py") or path + os.sep in k[0])]
    return keys[0] if keys else None


def _callees(stats: dict[Key, Any], of: Key, calls: int) -> list[tuple[float, float, Key]]:
    found = []
    for callee, (_, _, _, _, callers) in stats.items():
        if of in callers:
            nc, _, _, ct = callers[of]
            found.append((ct / calls, nc / calls, callee))
    return sorted(found, key=lambda p: -p[0])


def _add_part(ctx: Context, workload: str, label: str, ct: float, nc: float, key: Key, total: float, calls: int,
              entry: str) -> None:
    ctx.add(record(workload, f"jaxnn profile: {label}", "diagnostic", "per_call", median_s=ct, repeats=calls,
                   value=ct / total if total else None,
                   note=f"{_where(key)}, called {nc:g}x per call; {100 * ct / total:.0f}% of {entry}"))


def _where(key: Key) -> str:
    path, line, _ = key
    for marker in (os.sep + "jaxnn" + os.sep, os.sep + "site-packages" + os.sep):
        if marker in path:
            path = path[path.rindex(marker) + 1 :]
            break
    return f"{path}:{line}" if line else path
