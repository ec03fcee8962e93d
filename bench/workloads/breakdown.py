"""Where the time to a first result goes, and the four ratios against scikit-learn, in one run.

The problem of ``time_to_result`` (scikit-learn's wine data, an MLP 32-32 with ReLU, Adam,
100 epochs, batch 32), measured as a user waits for it:

- ``breakdown:cli``: a fresh ``jaxnn train --data wine.csv`` process with JAX's persistent
  compilation cache cold (an empty folder) and warm (the same folder, a second process),
  against the plain scikit-learn script (``sklearn_wine_script.py``); and one more warm
  process under ``python -X importtime`` split into phases (``_breakdown_child.py``):
  interpreter start, imports per package, backend start, CSV read and schema, the split, the
  network's initialization, ``fit`` (its tracing, lowering, cache look-ups, XLA compiling and
  the rest: checks, dispatch, the training itself), the scores and writing the outputs; and
  the same with ``fit``'s stored programs ignored (traced and lowered anew), for comparison.
- ``breakdown:loop``: the 8-run loop (fresh objects each run, the README idiom) in one process
  with the cache on, cold and warm, against scikit-learn's ``MLPClassifier`` loop; run 1 of
  each split as above.
- the floors: a bare interpreter (``python -c pass``) and ``import jax`` with the backend
  started, each as a process.

Repeats interleave every kind of process, so a change of machine load hits all alike;
medians are reported. Targets: the loop <= 1.0x scikit-learn's with the cache cold and
<= 0.35x warm; a warm ``jaxnn train`` process <= 1.2x the scikit-learn script, a cold one <= 2x.
"""

from __future__ import annotations

import collections
import json
import os
import statistics
import sys
import tempfile
import time
from typing import Any

import numpy as np

from bench._process import ROOT, child_env, run_python
from bench._timing import record
from bench.workloads._context import Context
from bench.workloads.time_to_result import _SCRIPT, _write_csv, wine

__all__ = ["run", "import_times"]

CLI, LOOP, FLOOR = "breakdown:cli", "breakdown:loop", "breakdown:floor"


def import_times(stderr: str) -> dict[str, float]:
    """Seconds of ``python -X importtime`` output spent in each top-level package (self times)."""
    spent: dict[str, float] = collections.defaultdict(float)
    for line in stderr.splitlines():
        fields = line.removeprefix("import time:").split("|")
        if not line.startswith("import time:") or len(fields) != 3 or not fields[0].strip().isdigit():
            continue  # the header line, or something else on stderr
        root = fields[2].strip().split(".")[0]
        stdlib = root in sys.stdlib_module_names or root.startswith("_")
        spent["Python's standard library" if stdlib else root] += int(fields[0]) / 1e6
    return dict(spent)


def _child(mode: str, report: str, args: list[str], env: dict[str, str]) -> dict[str, Any]:
    spawned = time.time()
    done = run_python(["-X", "importtime", "-m", "bench.workloads._breakdown_child", mode, report, *args], env=env,
                      what=f"the breakdown child ({mode})")
    with open(report) as f:
        out = json.load(f)
    out.update(process_s=done.seconds, interpreter_s=out["wall0"] - spawned, imports=import_times(done.stderr))
    return out


def _process(args: list[str], env: dict[str, str], cwd: str = ROOT) -> float:
    return run_python(args, env=env, what=" ".join(args[:3]), cwd=cwd).seconds


def run(ctx: Context) -> None:
    """The workload (see the module docstring)."""
    c = ctx.cfg("breakdown")
    try:
        x, y, names = wine()
    except ImportError as err:
        ctx.add(record(CLI, "all", "skipped", "process", note=f"needs scikit-learn (pip install scikit-learn): {err}"))
        return
    with tempfile.TemporaryDirectory(prefix="jaxnn-bench-breakdown-") as tmp:
        csv, data = os.path.join(tmp, "wine.csv"), os.path.join(tmp, "wine.npz")
        _write_csv(csv, x, y, names)
        np.savez(data, x=((x - x.mean(0)) / x.std(0)).astype(np.float32), y=y)
        spec = {"hidden": list(c["hidden"]), "classes": int(y.max()) + 1, "epochs": c["epochs"], "batch": c["batch"],
                "seeds": list(c["seeds"]), "lrs": list(c["lrs"])}
        train = ["-m", "jaxnn", "train", "--data", csv, "--hidden", ",".join(map(str, c["hidden"])), "--lr", "1e-3",
                 "--epochs", str(c["epochs"]), "--batch-size", str(c["batch"]), "--seed", "0",
                 "--out", os.path.join(tmp, "wine.jaxnn")]
        seen: dict[str, list[Any]] = collections.defaultdict(list)
        for rep in range(c["repeats"]):
            ctx.log(f"  round {rep + 1}/{c['repeats']}")
            seen["python -c pass"].append(_process(["-c", "pass"], child_env()))
            seen["import jax; jax.devices()"].append(_process(["-c", "import jax; jax.devices()"], child_env()))
            home = tempfile.mkdtemp(dir=tmp)
            env = child_env({"XDG_CACHE_HOME": home})
            seen["cli cold"].append(_process(train, env))
            seen["cli warm"].append(_process(train, env))
            seen["cli warm, phases"].append(_child("cli", os.path.join(tmp, "cli.json"), train[2:], env))
            for _ in range(2):  # the first one puts the unstored programs' compiled forms in the cache
                unstored = _child("cli-unstored", os.path.join(tmp, "cli.json"), train[2:], env)
            seen["cli warm, unstored"].append(unstored)
            seen["sklearn script"].append(_process([_SCRIPT, csv, os.path.join(tmp, "wine.pkl"), str(c["epochs"])],
                                                   child_env(), cwd=tmp))
            cache = tempfile.mkdtemp(dir=tmp)
            for mode in ("cold", "warm"):
                seen[f"loop {mode}"].append(_child("loop", os.path.join(tmp, "loop.json"),
                                                   [data, json.dumps(spec), cache], child_env()))
            done = run_python(["-m", "bench.workloads._time_to_result_loop", "sklearn", data, json.dumps(spec)],
                              env=child_env(), what="the scikit-learn loop")
            seen["sklearn loop"].append(json.loads(done.stdout.strip().splitlines()[-1])["loop_s"])
    _report(ctx, seen, len(c["seeds"]) * len(c["lrs"]))


def _median(values: list[float]) -> float:
    return statistics.median(values)


def _timed(ctx: Context, workload: str, impl: str, kind: str, measure: str, times: list[float], note: str) -> float:
    m = _median(times)
    ctx.add(record(workload, impl, kind, measure, median_s=m, min_s=min(times), times_s=times, repeats=len(times),
                   threads=os.cpu_count(), note=note))
    return m


def _loop_total(child: dict[str, Any]) -> float:
    return sum(p["s"] for p in child["phases"] if p["phase"].startswith("run ") and ":" not in p["phase"])


def _report(ctx: Context, seen: dict[str, list[Any]], runs: int) -> None:
    bare = _timed(ctx, FLOOR, "python", "baseline", "python -c pass", seen["python -c pass"],
                  "a bare interpreter's process")
    floor = _timed(ctx, FLOOR, "jax", "baseline", "import jax; jax.devices()", seen["import jax; jax.devices()"],
                   "a process that imports JAX and starts its CPU backend: the floor of any jaxnn process")
    sk_script = _timed(ctx, CLI, "sklearn", "peer", "process", seen["sklearn script"],
                       "python sklearn_wine_script.py wine.csv: read, split, scale, MLPClassifier 32-32, pickle")
    medians = {}
    for mode in ("cold", "warm"):
        medians[mode] = _timed(ctx, CLI, "jaxnn", "jaxnn", f"process, cache {mode}", seen[f"cli {mode}"],
                               f"python -m jaxnn train, persistent cache {mode}")
    _phases(ctx, CLI, "warm process", seen["cli warm, phases"], whole=True)
    _phases(ctx, CLI, "warm process, fit's programs not stored", seen["cli warm, unstored"], whole=True)
    sk_loop = _timed(ctx, LOOP, "sklearn", "peer", f"loop total ({runs} runs)", seen["sklearn loop"],
                     "MLPClassifier(solver='adam').fit per run, imports excluded")
    loops = {}
    for mode in ("cold", "warm"):
        loops[mode] = _timed(ctx, LOOP, "jaxnn", "jaxnn", f"loop total ({runs} runs), cache {mode}",
                             [_loop_total(r) for r in seen[f"loop {mode}"]],
                             "README idiom, fresh objects per run; imports excluded")
        _phases(ctx, LOOP, f"cache {mode}", seen[f"loop {mode}"], whole=False)
    floors = f"floors: interpreter {bare:.2f} s, import jax + backend {floor:.2f} s (processes)"
    ctx.target(LOOP, "loop total vs scikit-learn's, cache cold", loops["cold"] / sk_loop, 1.0, "<=",
               f"{loops['cold']:.2f} s vs {sk_loop:.2f} s")
    ctx.target(LOOP, "loop total vs scikit-learn's, cache warm", loops["warm"] / sk_loop, 0.35, "<=",
               f"{loops['warm']:.2f} s vs {sk_loop:.2f} s")
    ctx.target(CLI, "warm jaxnn train process vs the scikit-learn script", medians["warm"] / sk_script, 1.2, "<=",
               f"{medians['warm']:.2f} s vs {sk_script:.2f} s; {floors}")
    ctx.target(CLI, "cold jaxnn train process vs the scikit-learn script", medians["cold"] / sk_script, 2.0, "<=",
               f"{medians['cold']:.2f} s vs {sk_script:.2f} s; {floors}")


_SPLIT = ("trace_s", "lower_s", "cache_s", "xla_s")


def _phases(ctx: Context, workload: str, label: str, children: list[dict[str, Any]], whole: bool) -> None:
    """One diagnostic record per phase (medians over the processes), compile work split out."""
    rows: dict[str, list[dict[str, float]]] = collections.defaultdict(list)
    for child in children:
        phases = {p["phase"]: p for p in child["phases"]}
        if whole:
            rows["interpreter start"].append({"s": child["interpreter_s"]})
            inner = sum(p["s"] for name, p in phases.items() if name != "jaxnn train (whole)")
            train = phases["jaxnn train (whole)"]
            rows["jaxnn train: other"].append({"s": train["s"] - inner + phases["import jax"]["s"]
                                               + phases["backend start"]["s"] + phases["import jaxnn.cli"]["s"]})
            rows["exit and the rest"].append({"s": child["process_s"] - child["interpreter_s"] - child["child_s"]})
            for package, s in child["imports"].items():
                rows[f"imports (self time): {package}"].append({"s": s})
        for name, p in phases.items():
            if name == "jaxnn train (whole)" or (name.startswith("run ") and not name.startswith("run 1")):
                continue
            rows[name].append(p)
    for name, ps in rows.items():
        if name.startswith("imports (self time)") and _median([p["s"] for p in ps]) < 0.01:
            continue
        split = {k: _median([p.get(k, 0.0) for p in ps]) for k in _SPLIT}
        programs = _median([p.get("programs", 0) for p in ps])
        note = "" if not any(split.values()) else (
            f"trace {split['trace_s'] * 1e3:.0f} ms, lower {split['lower_s'] * 1e3:.0f} ms, cache look-ups "
            f"{split['cache_s'] * 1e3:.0f} ms, XLA compile {split['xla_s'] * 1e3:.0f} ms; {programs:g} programs, "
            f"{_median([p.get('hits', 0) for p in ps]):g} from the cache")
        times = [p["s"] for p in ps]
        ctx.add(record(workload, "jaxnn", "diagnostic", f"{label}: {name}", median_s=_median(times), min_s=min(times),
                       times_s=times, repeats=len(times), work=split, note=note))
