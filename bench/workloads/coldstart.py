"""Cold start: import -> first finished training step in a fresh process, persistent cache off/cold/warm.

For the MLP workload's network (one Adam step) and the XOR run, jaxnn and the raw-JAX reference
each run in fresh processes (``_coldstart_child.py``): with JAX's persistent compilation cache
off, on with an empty cache directory (cold), and on again with the directory the cold run
filled (warm). A check says whether the warm run was served from the cache; the ratios to the
reference are reported without a threshold.
"""

from __future__ import annotations

import json
import os
import tempfile
from typing import Any

from bench._process import child_env, run_python
from bench._timing import record
from bench.workloads._context import Context

__all__ = ["run"]

_WHAT = {"mlp": "one Adam step of the MLP workload's network", "xor": "the whole XOR training run (one compiled call)"}
_LABEL = {"off": "cache_off", "cold": "cache_on_cold", "warm": "cache_on_warm"}
_WORK = ("import_s", "first_step_s", "total_s", "process_s", "hits", "misses", "xla_compile_s", "trace_lower_s",
         "cache_files")


def _child(impl: str, workload: str, mode: str, cache_dir: str, sizes: tuple[int, int, int]) -> dict[str, Any]:
    args = ["-m", "bench.workloads._coldstart_child", impl, workload, "off" if mode == "off" else "on", cache_dir,
            *map(str, sizes)]
    done = run_python(args, env=child_env(), what=f"cold-start child ({impl}, {workload}, {mode})", timeout=600)
    out = json.loads(done.stdout.strip().splitlines()[-1])
    out["process_s"] = done.seconds
    out["cache_files"] = sum(len(f) for _, _, f in os.walk(cache_dir)) if mode != "off" else 0
    return out


def _add_run(ctx: Context, wl: str, impl: str, mode: str, r: dict[str, Any]) -> None:
    ctx.add(record(
        f"coldstart:{wl}", impl, "jaxnn" if impl == "jaxnn" else "reference", _LABEL[mode], median_s=r["total_s"],
        min_s=r["total_s"], times_s=[r["total_s"]], repeats=1, value=r["first_step_s"], threads=os.cpu_count(),
        work={k: r[k] for k in _WORK},
        note=f"import {r['import_s']:.2f} s + first step {r['first_step_s']:.2f} s "
             f"(XLA compile {r['xla_compile_s']:.2f} s; cache hits {r['hits']}, misses "
             f"{r['misses']}); process incl. interpreter {r['process_s']:.2f} s; {_WHAT[wl]}",
    ))


def _check_hit(ctx: Context, wl: str, impl: str, cold: dict[str, Any], warm: dict[str, Any]) -> None:
    verified = cold["cache_files"] > 0 and warm["hits"] > 0 and warm["misses"] == 0
    ctx.add(record(
        f"coldstart:{wl}", impl, "check", "cache hit", value=warm["hits"], met=bool(verified),
        note=f"cache dir had {cold['cache_files']} files after the cold run; warm run: {warm['hits']} "
             f"hits, {warm['misses']} misses; first step {cold['first_step_s']:.2f} s -> "
             f"{warm['first_step_s']:.2f} s",
    ))


def run(ctx: Context) -> None:
    """Runs every (workload, implementation, cache mode) process of this size; records, checks, ratios."""
    c = ctx.cfg("coldstart")
    sizes = {"mlp": (ctx.cfg("mlp")["hidden"], ctx.cfg("mlp")["batch"], 1), "xor": (8, 4, ctx.cfg("xor")["steps"])}
    if ctx.size == "tiny":
        ctx.add(record("coldstart", "all", "skipped", "cache_off",
                       note="tiny size: jaxnn/xor only, cache cold and warm (the full size runs all 12 processes)"))
    for wl in c["workloads"]:
        results: dict[tuple[str, str], dict[str, Any]] = {}
        for impl in c["impls"]:
            with tempfile.TemporaryDirectory(prefix="jaxnn-bench-cache-") as cache_dir:
                for mode in c["modes"]:
                    ctx.log(f"  {wl} {impl} cache {mode}")
                    results[impl, mode] = _child(impl, wl, mode, cache_dir, sizes[wl])
                    _add_run(ctx, wl, impl, mode, results[impl, mode])
            if "cold" in c["modes"] and "warm" in c["modes"]:
                _check_hit(ctx, wl, impl, results[impl, "cold"], results[impl, "warm"])
        for mode in c["modes"]:
            if ("jaxnn", mode) in results and ("reference", mode) in results:
                j, r = results["jaxnn", mode], results["reference", mode]
                ctx.target(f"coldstart:{wl}", f"import->first step vs reference ({mode})", j["total_s"] / r["total_s"],
                           None, None, f"{j['total_s']:.2f} s vs {r['total_s']:.2f} s; reported, no threshold")
