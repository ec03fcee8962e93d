"""Time to result: what a user waits for, from a fresh process to trained numbers.

On scikit-learn's wine data (178 x 13, 3 classes), an MLP 32-32 with ReLU, Adam, 100 epochs,
batch 32, in two parts:

- ``time_to_result:loop``, an experiment loop: 8 runs (4 seeds x learning rates 1e-3 and 3e-3)
  in one process on the standardized data, each written as the library's documentation writes
  one run with every object new (jaxnn: a fresh ``nn.MLP``, ``train.Supervised`` and
  ``optim.adam(lr)`` per run, as in the README; scikit-learn ``MLPClassifier``; PyTorch eager;
  Keras 3 on JAX). Each library runs in a fresh process (``_time_to_result_loop.py``); the loop total is the
  time from the start of run 1 to the end of run 8, after the imports and the data loading,
  which are reported apart with the process's wall time. For the JAX-based libraries the XLA
  programs each run builds are counted with JAX's monitoring events.
- ``time_to_result:cli``, the command line: one fresh process of ``jaxnn train --data wine.csv
  --hidden 32,32 --lr 1e-3 --epochs 100`` with JAX's persistent compilation cache off
  (``JAXNN_NO_COMPILATION_CACHE=1``), cold (an empty ``XDG_CACHE_HOME``) and warm (the same
  directory, a second process), against a plain scikit-learn script doing the same on the same
  CSV (``sklearn_wine_script.py``). Process wall times from interpreter start to exit, medians over
  repeats, the repeats interleaved so that a change of machine load hits all of them alike.

- ``time_to_result:compile``, the first compile: in fresh processes, the compile time (JAX's
  trace, lowering and XLA compile) of ``fit``'s first call, every program it builds, against a
  minimal hand-written ``jit(scan over epochs(permute; scan over batches(step)))`` of the same
  model (``_time_to_result_compile.py``).

Targets: the first ``fit`` call compiles in <= 1.5x the minimal loop's time; runs 2-8 of the loop build no XLA program (new objects equal in configuration and
another learning rate or seed reuse the compiled program); jaxnn's loop total <= 0.5x
scikit-learn's; a warm-cache ``jaxnn train`` process <= 1.2x the scikit-learn script's.
"""

from __future__ import annotations

import importlib.util
import json
import os
import statistics
import tempfile
from typing import Any

import numpy as np

from bench._process import child_env, run_python
from bench._timing import record
from bench.workloads._context import Context

__all__ = ["run", "wine"]

LOOP, CLI, COMPILE = "time_to_result:loop", "time_to_result:cli", "time_to_result:compile"
_MODULES = {"jaxnn": "jaxnn", "sklearn": "sklearn", "torch": "torch", "keras": "keras"}
_HOW = {
    "jaxnn": "README idiom: fresh nn.MLP, train.Supervised, optim.adam(lr) per run; train.fit",
    "sklearn": "MLPClassifier(solver='adam', n_iter_no_change=epochs).fit per run",
    "torch": "eager loop (zero_grad/backward/step), randperm batches, fresh model and Adam per run",
    "keras": "keras 3 on JAX: fresh Sequential, compile, fit(verbose=0) per run",
    "jaxnn-cache": "as jaxnn, in a script that calls jaxnn.enable_compilation_cache() and was run once before",
}
_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sklearn_wine_script.py")


def wine() -> tuple[np.ndarray, np.ndarray, list[str]]:
    """scikit-learn's wine data: features ``[178, 13]`` (float64, as shipped), labels ``[178]``, names.

    Raises:
      ImportError: scikit-learn is not installed.
    """
    from sklearn.datasets import load_wine

    d = load_wine()
    return np.asarray(d.data, np.float64), np.asarray(d.target, np.int32), list(d.feature_names)


def run(ctx: Context) -> None:
    """The workload: the experiment loop, then the command line (see the module docstring)."""
    c = ctx.cfg("time_to_result")
    try:
        x, y, names = wine()
    except ImportError as err:
        ctx.add(record(LOOP, "all", "skipped", "loop total",
                       note=f"needs scikit-learn's wine data (pip install scikit-learn): {err}"))
        return
    with tempfile.TemporaryDirectory(prefix="jaxnn-bench-ttr-") as tmp:
        _loop(ctx, c, x, y, tmp)
        _first_compile(ctx, c, x, y, tmp)
        _cli(ctx, c, x, y, names, tmp)


def _wanted(ctx: Context, impls: tuple[str, ...], workload: str, measure: str) -> list[str]:
    """The implementations to time: jaxnn, plus the installed peers when peers are on."""
    out = []
    for impl in impls:
        if impl != "jaxnn" and not ctx.peers:
            continue
        if importlib.util.find_spec(_MODULES[impl]) is None:
            ctx.add(record(workload, impl, "skipped", measure, note=f"{_MODULES[impl]} is not installed"))
            continue
        out.append(impl)
    return out


# ---------------------------------------------------------------------------- the loop


def _loop(ctx: Context, c: dict[str, Any], x: np.ndarray, y: np.ndarray, tmp: str) -> None:
    data = os.path.join(tmp, "wine.npz")
    np.savez(data, x=((x - x.mean(0)) / x.std(0)).astype(np.float32), y=y)
    spec = {"hidden": list(c["hidden"]), "classes": int(y.max()) + 1, "epochs": c["epochs"], "batch": c["batch"],
            "seeds": list(c["seeds"]), "lrs": list(c["lrs"])}
    results: dict[str, dict[str, Any]] = {}
    for impl in _wanted(ctx, c["impls"], LOOP, "loop total"):
        ctx.log(f"  loop {impl}")
        env = child_env({"XDG_CACHE_HOME": tempfile.mkdtemp(dir=tmp)})
        try:
            done = run_python(["-m", "bench.workloads._time_to_result_loop", impl, data, json.dumps(spec)],
                              env=env, what=f"the {impl} loop")
        except Exception as err:  # noqa: BLE001 - a broken peer must not stop the suite
            ctx.add(record(LOOP, impl, "error", "loop total", note=f"{type(err).__name__}: {err}"))
            continue
        results[impl] = {**json.loads(done.stdout.strip().splitlines()[-1]), "process_s": done.seconds}
        _add_loop(ctx, impl, results[impl], c)
    if "jaxnn" in results and c.get("warm_loop", True):  # two more processes: not in the smoke test
        results["jaxnn-cache"] = _loop_warm_cache(ctx, c, data, spec, tmp)
    _loop_targets(ctx, results, len(c["seeds"]) * len(c["lrs"]))


def _loop_warm_cache(ctx: Context, c: dict[str, Any], data: str, spec: dict[str, Any], tmp: str) -> dict | None:
    """The jaxnn loop with the persistent cache on, run a second time: a re-run notebook or script."""
    env = child_env({"XDG_CACHE_HOME": tempfile.mkdtemp(dir=tmp)})
    try:
        for _ in range(2):  # the first process fills the cache, the second is the one measured
            ctx.log("  loop jaxnn, persistent cache on")
            done = run_python(["-m", "bench.workloads._time_to_result_loop", "jaxnn-cache", data, json.dumps(spec)],
                              env=env, what="the jaxnn loop with the cache")
    except Exception as err:  # noqa: BLE001 - a broken run must not stop the suite
        ctx.add(record(LOOP, "jaxnn-cache", "error", "loop total", note=f"{type(err).__name__}: {err}"))
        return None
    result = {**json.loads(done.stdout.strip().splitlines()[-1]), "process_s": done.seconds}
    _add_loop(ctx, "jaxnn-cache", result, c)
    return result


def _add_loop(ctx: Context, impl: str, r: dict[str, Any], c: dict[str, Any]) -> None:
    runs = r["runs"]
    seconds = [run["seconds"] for run in runs]
    programs = [run.get("programs") for run in runs]
    n = len(runs)
    built = f"; XLA programs built per run {programs}" if programs[0] is not None else ""
    ctx.add(record(
        LOOP, impl, "jaxnn" if impl.startswith("jaxnn") else "peer", f"loop total ({n} runs)", median_s=r["loop_s"],
        min_s=r["loop_s"], times_s=[r["loop_s"]], repeats=1, value=r["process_s"], threads=os.cpu_count(),
        work={"runs": runs, "import_s": r["import_s"], "data_s": r["data_s"], "process_s": r["process_s"]},
        note=f"{_HOW[impl]}; import {r['import_s']:.2f} s, process incl. interpreter {r['process_s']:.2f} s{built}",
    ))
    ctx.add(record(LOOP, impl, "diagnostic", "run 1", median_s=seconds[0], min_s=seconds[0], times_s=seconds[:1],
                   repeats=1, value=programs[0], note="the first run of the process, compiling included"
                   + (f": {programs[0]} XLA programs built" if programs[0] is not None else "")))
    if n > 1:
        later = seconds[1:]
        ctx.add(record(LOOP, impl, "diagnostic", f"runs 2-{n}", median_s=statistics.median(later), min_s=min(later),
                       times_s=later, repeats=len(later), note="median of the later runs"))
    lowest = min(run["accuracy"] for run in runs)
    full = all(run["epochs"] == c["epochs"] for run in runs)
    ctx.add(record(
        LOOP, impl, "check", "training accuracy", value=lowest, threshold=c["min_accuracy"], comparison=">=",
        met=bool(lowest >= c["min_accuracy"] and full),
        note=f"lowest training accuracy of the {n} runs; every run trained {c['epochs']} epochs: "
             + ("yes" if full else "NO"),
    ))


def _loop_targets(ctx: Context, results: dict[str, dict[str, Any]], runs: int) -> None:
    j, s = results.get("jaxnn"), results.get("sklearn")
    later = None if j is None else sum(run["programs"] for run in j["runs"][1:])
    first = None if j is None else j["runs"][0]["programs"]
    ctx.target(LOOP, f"XLA programs built in runs 2-{runs}", later, 0, "<=",
               "new objects equal in configuration, another seed or learning rate: nothing to compile; "
               f"run 1 built {first}")
    both = j is not None and s is not None
    others = "; ".join(f"vs {k} {j['loop_s'] / r['loop_s']:.2f}x ({r['loop_s']:.2f} s)"
                       for k, r in results.items() if k not in ("jaxnn", "sklearn")) if j else ""
    ctx.target(LOOP, "loop total vs scikit-learn", j["loop_s"] / s["loop_s"] if both else None, 0.5, "<=",
               (f"{j['loop_s']:.2f} s vs {s['loop_s']:.2f} s; " if both else "")
               + "from the start of run 1 to the end of the last run, imports excluded"
               + (f"; {others}" if others else ""))
    w = results.get("jaxnn-cache")
    ctx.target(LOOP, "loop total vs scikit-learn, persistent cache warm",
               w["loop_s"] / s["loop_s"] if w is not None and s is not None else None, 0.5, "<=",
               (f"{w['loop_s']:.2f} s vs {s['loop_s']:.2f} s; " if w is not None and s is not None else "")
               + "the same loop in a script that turns the cache on, its second run (a re-run notebook)")
    ctx.target(LOOP, "process vs scikit-learn's process", j["process_s"] / s["process_s"] if both else None, None,
               None, (f"{j['process_s']:.2f} s vs {s['process_s']:.2f} s; " if both else "")
               + "the whole process: interpreter, imports, data and the loop; reported, no threshold")


# ------------------------------------------------------------------ the first compile


def _first_compile(ctx: Context, c: dict[str, Any], x: np.ndarray, y: np.ndarray, tmp: str) -> None:
    """fit's first call against a minimal jit(scan(scan)) loop, each in fresh processes."""
    data = os.path.join(tmp, "wine-compile.npz")
    np.savez(data, x=((x - x.mean(0)) / x.std(0)).astype(np.float32), y=y)
    spec = {"hidden": list(c["hidden"]), "classes": int(y.max()) + 1, "epochs": c["epochs"], "batch": c["batch"]}
    ratios, cpu_ratios, seen = [], [], []
    for rep in range(c["cli_repeats"]):
        order = ("fit-first", "minimal-first")[rep % 2]
        ctx.log(f"  first compile, {order} ({rep + 1}/{c['cli_repeats']})")
        done = run_python(["-m", "bench.workloads._time_to_result_compile", data, json.dumps(spec), order],
                          env=child_env({"JAXNN_NO_COMPILATION_CACHE": "1"}), what="the first-compile comparison")
        r = json.loads(done.stdout.strip().splitlines()[-1])
        ratios.append(r["fit"]["compile_s"] / r["minimal"]["compile_s"])
        cpu_ratios.append(r["fit"]["cpu_s"] / r["minimal"]["cpu_s"])
        seen.append(r)
    fit_s = statistics.median(r["fit"]["compile_s"] for r in seen)
    minimal_s = statistics.median(r["minimal"]["compile_s"] for r in seen)
    ctx.add(record(COMPILE, "jaxnn", "jaxnn", "first fit call, compiling", median_s=fit_s, min_s=fit_s,
                   times_s=[r["fit"]["compile_s"] for r in seen], repeats=len(seen),
                   note=f"trace+lower+compile of every program fit's first call builds: {seen[0]['fit']['programs']}"))
    ctx.add(record(COMPILE, "reference", "reference", "minimal loop, compiling", median_s=minimal_s, min_s=minimal_s,
                   times_s=[r["minimal"]["compile_s"] for r in seen], repeats=len(seen),
                   note="jit(scan over epochs(permutation; scan over batches(grad, optax.adam))), same model"))
    ctx.target(COMPILE, "first fit call's compile time vs a minimal loop's", statistics.median(ratios), 1.5, "<=",
               f"median of {len(ratios)} fresh processes, alternating which compiles first; "
               f"CPU-time ratio {statistics.median(cpu_ratios):.2f}")


# ------------------------------------------------------------------------ the command line


def _write_csv(path: str, x: np.ndarray, y: np.ndarray, names: list[str]) -> None:
    with open(path, "w") as f:
        f.write(",".join([*names, "class"]) + "\n")
        for row, label in zip(x, y):
            f.write(",".join([*(repr(float(v)) for v in row), str(int(label))]) + "\n")


def _cli(ctx: Context, c: dict[str, Any], x: np.ndarray, y: np.ndarray, names: list[str], tmp: str) -> None:
    csv = os.path.join(tmp, "wine.csv")
    _write_csv(csv, x, y, names)
    impls = _wanted(ctx, ("jaxnn", "sklearn"), CLI, "process")
    jaxnn_args = ["train", "--data", csv, "--hidden", ",".join(map(str, c["hidden"])), "--lr", "1e-3",
                  "--epochs", str(c["epochs"]), "--batch-size", str(c["batch"]), "--seed", "0",
                  "--out", os.path.join(tmp, "wine.jaxnn")]
    runs: dict[str, list[dict[str, Any]]] = {}
    for rep in range(c["cli_repeats"]):
        cache_home = tempfile.mkdtemp(dir=tmp)  # cold, then warm: a new empty cache each repeat
        for mode in c["cli_modes"] if "jaxnn" in impls else ():
            ctx.log(f"  jaxnn train, cache {mode} ({rep + 1}/{c['cli_repeats']})")
            home = tempfile.mkdtemp(dir=tmp) if mode == "off" else cache_home
            extra = {"XDG_CACHE_HOME": home, **({"JAXNN_NO_COMPILATION_CACHE": "1"} if mode == "off" else {})}
            report = os.path.join(tmp, "report.json")
            done = run_python(["-m", "bench.workloads._time_to_result_cli", report, *jaxnn_args],
                              env=child_env(extra), what=f"jaxnn train (cache {mode})")
            with open(report) as f:
                runs.setdefault(mode, []).append({**json.load(f), "process_s": done.seconds,
                                                  "cache_files": _files(os.path.join(home, "jaxnn"))})
        if "sklearn" in impls:
            ctx.log(f"  scikit-learn script ({rep + 1}/{c['cli_repeats']})")
            done = run_python([_SCRIPT, csv, os.path.join(tmp, "wine.pkl"), str(c["epochs"])], env=child_env(),
                              what="the scikit-learn script", cwd=tmp)
            runs.setdefault("sklearn", []).append({"process_s": done.seconds})
    _add_cli(ctx, runs)


def _files(folder: str) -> int:
    return sum(len(files) for _, _, files in os.walk(folder))


def _add_cli(ctx: Context, runs: dict[str, list[dict[str, Any]]]) -> None:
    medians = {k: statistics.median(r["process_s"] for r in v) for k, v in runs.items()}
    for mode, rs in runs.items():
        times = [r["process_s"] for r in rs]
        fields = {"median_s": medians[mode], "min_s": min(times), "times_s": times, "repeats": len(times),
                  "threads": os.cpu_count()}
        if mode == "sklearn":
            ctx.add(record(CLI, "sklearn", "peer", "process", **fields,
                           note="python sklearn_wine_script.py wine.csv: read, split, scale, MLPClassifier 32-32, "
                                "pickle"))
            continue
        work = {k: [r[k] for r in rs] for k in ("programs", "cache_hits", "cache_files", "seconds", "compile_s")}
        ctx.add(record(
            CLI, "jaxnn", "jaxnn", f"process, cache {mode}", **fields, work=work,
            note=f"jaxnn train, wall time of the process; XLA programs built {work['programs']}, of them loaded "
                 f"from the persistent cache {work['cache_hits']}; files in the cache after the run "
                 f"{work['cache_files']}; JAX trace+lower+compile {statistics.median(work['compile_s']):.2f} s",
        ))
    sk = medians.get("sklearn")
    for mode, limit in (("warm", 1.2), ("cold", None), ("off", None)):
        if mode in medians or mode == "warm":
            value = medians[mode] / sk if mode in medians and sk else None
            ctx.target(CLI, f"cache-{mode} process vs scikit-learn script", value, limit, "<=",
                    (f"{medians[mode]:.2f} s vs {sk:.2f} s; " if value is not None else "")
                    + ("medians of the process wall times" if limit else "reported, no threshold"))
