"""One process of the ``breakdown`` workload: where a fresh process's time goes, phase by phase.

Run (under ``python -X importtime``, whose lines on stderr the parent reads) as::

    python -X importtime -m bench.workloads._breakdown_child cli REPORT.json ARG...
    python -X importtime -m bench.workloads._breakdown_child cli-unstored REPORT.json ARG...
    python -X importtime -m bench.workloads._breakdown_child loop REPORT.json DATA.npz SPEC_JSON CACHE_DIR|-

``cli`` runs ``jaxnn.cli.main([ARG...])`` as the ``jaxnn`` command does, with a timer around
each step of ``jaxnn train`` (reading the CSV and its schema, the split and scaling, the
network's initialization, training, the scores, writing the files); ``cli-unstored`` does the same
with fit's stored programs ignored (traced and lowered anew, as before they were stored), for
comparison; ``loop`` trains the
time-to-result loop (the README idiom, fresh objects per run) with the persistent cache in
``CACHE_DIR`` (``-``: off). Both first import JAX and start its backend, each timed. Every
phase carries the seconds JAX spent in it tracing, lowering, looking programs up in the
persistent cache and compiling (``jax.monitoring`` events); ``REPORT.json`` gets the phases,
the child's own start time (``time.time()``, for the parent to tell interpreter start-up)
and the seconds from the module's first line to the end.
"""

from __future__ import annotations

import time

_WALL0 = time.time()
_T0 = time.perf_counter()

import json  # noqa: E402
import sys  # noqa: E402
from typing import Any  # noqa: E402

_TOTALS = {"trace_s": 0.0, "lower_s": 0.0, "backend_s": 0.0, "cache_s": 0.0, "programs": 0, "hits": 0}
_DURATIONS = {"/jax/core/compile/jaxpr_trace_duration": "trace_s",
              "/jax/core/compile/jaxpr_to_mlir_module_duration": "lower_s",
              "/jax/core/compile/backend_compile_duration": "backend_s",
              "/jax/compilation_cache/cache_retrieval_time_sec": "cache_s"}


def _on_duration(event: str, seconds: float, **kw: Any) -> None:
    name = _DURATIONS.get(event)
    if name is not None:
        _TOTALS[name] += seconds
    if name == "backend_s":
        _TOTALS["programs"] += 1


def _on_event(event: str, **kw: Any) -> None:
    if event == "/jax/compilation_cache/cache_hits":
        _TOTALS["hits"] += 1


class Phases:
    """Timed phases, each with the compile work JAX did inside it."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    def time(self, name: str, fn, *args, **kwargs):
        before, start = dict(_TOTALS), time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            seconds = time.perf_counter() - start
            spent = {k: _TOTALS[k] - before[k] for k in _TOTALS}
            # backend_compile_duration includes a persistent-cache hit's retrieval.
            spent["xla_s"] = max(spent.pop("backend_s") - spent["cache_s"], 0.0)
            self.rows.append({"phase": name, "s": seconds, **spent})

    def wrap(self, module: Any, attr: str, name: str) -> None:
        fn = getattr(module, attr)
        setattr(module, attr, lambda *a, **k: self.time(name, fn, *a, **k))


def _start(phases: Phases) -> None:
    def imp():
        import jax

        jax.monitoring.register_event_duration_secs_listener(_on_duration)
        jax.monitoring.register_event_listener(_on_event)

    phases.time("import jax", imp)
    import jax

    phases.time("backend start", jax.devices)


def _cli(phases: Phases, args: list[str], stored: bool = True) -> int:
    def imp():
        import jaxnn.cli  # noqa: F401

    phases.time("import jaxnn.cli", imp)
    from jaxnn.cli import _train, main
    from jaxnn import _stored

    if not stored:  # the comparison: fit's programs traced and lowered as if never stored
        _stored.folder = lambda: None

    for attr, name in (("_read", "read CSV and schema"), ("_split", "split"), ("_scale", "scaling"),
                       ("_network", "network init"), ("_fit", "fit"), ("_report", "scores (report)"),
                       ("_write", "write outputs")):
        phases.wrap(_train, attr, name)
    return int(phases.time("jaxnn train (whole)", main, args) or 0)


def _loop(phases: Phases, data: str, spec: dict[str, Any], cache: str) -> int:
    def imp():
        import jaxnn  # noqa: F401
        from jaxnn import heads, metrics, nn, optim, train  # noqa: F401

    phases.time("import jaxnn", imp)
    import jax
    import numpy as np

    import jaxnn
    from jaxnn import heads, metrics, nn, optim, train

    if cache != "-":
        phases.time("enable cache", jaxnn.enable_compilation_cache, cache)
    with np.load(data) as f:
        x, y = f["x"], f["y"]
    for run, (seed, lr) in enumerate((s, lr) for s in spec["seeds"] for lr in spec["lrs"]):
        tag = f"run {run + 1}"

        def one(seed=seed, lr=lr, tag=tag):
            net, head = nn.MLP(spec["hidden"], spec["classes"], activation="relu"), heads.multiclass()
            _, params = phases.time(f"{tag}: network init", net.init, jax.random.key(seed), (-1, x.shape[1]))
            result = phases.time(f"{tag}: fit", train.fit, params, train.Supervised(net.apply, head), x, y,
                                 optimizer=optim.adam(lr), key=jax.random.key(seed + 1), epochs=spec["epochs"],
                                 batch_size=spec["batch"])
            return phases.time(f"{tag}: accuracy", lambda: float(metrics.accuracy(
                head.predict(net.apply(result.params, x)), y)))

        phases.time(tag, one)
    return 0


def main(argv: list[str]) -> int:
    """Runs the mode ``argv[0]``, writes the report to ``argv[1]``; returns the exit status."""
    mode, report = argv[0], argv[1]
    phases = Phases()
    _start(phases)
    status = _cli(phases, argv[2:], mode == "cli") if mode.startswith("cli") else _loop(phases, argv[2], json.loads(argv[3]), argv[4])
    with open(report, "w") as f:
        json.dump({"wall0": _WALL0, "child_s": time.perf_counter() - _T0, "phases": phases.rows}, f)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
