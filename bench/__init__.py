"""jaxnn's benchmark suite: jaxnn against hand-written JAX + Optax and against its peers.

Run it with ``python -m bench`` from the root of a checkout (it is not part of the package); ``python -m bench --help`` lists the
options. Each workload (``bench/workloads/``, one module each) runs jaxnn and a raw JAX + Optax
reference (``bench/_reference.py``, which does not import jaxnn) in the same process, checks that
they compute the same numbers, times both (warm-up first, ``block_until_ready``, medians over
repeats, first call and steady state apart) and reports the ratio against the workload's
targets; installed peers (PyTorch eager, Flax NNX, Equinox, Keras 3 on JAX, scikit-learn) are
timed on the same problem. The cold-start and time-to-result workloads time fresh processes
instead, as a user waits for them. Results print as a table and can be written as JSON, one
record per measurement.

Importing this package is cheap: JAX and the peers are imported when a run starts.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["DEFAULT_REPEATS", "run", "format_table", "main"]

DEFAULT_REPEATS: dict[str, int] = {"tiny": 2, "small": 5, "full": 5}


def run(
    workloads: Sequence[str] | None = None,
    *,
    size: str = "small",
    repeats: int | None = None,
    peers: bool = True,
    log: Callable[[str], None] | None = None,
) -> list[dict[str, Any]]:
    """Runs workloads in this process and returns their records.

    Args:
      workloads: names from ``bench.workloads.WORKLOADS`` (all of them when ``None``).
      size: ``"tiny"`` (smoke test), ``"small"`` or ``"full"`` (the sizes the targets are stated for).
      repeats: timed calls per steady-state measurement (default: ``DEFAULT_REPEATS[size]``).
      peers: also time the installed peers.
      log: called with one progress line at a time (``None``: silent).

    Returns:
      The records (dicts, see ``bench._timing.record``), each with the run's environment
      (jax/jaxlib versions, backend, device kind, CPU count) merged in.

    Raises:
      ValueError: for an unknown workload or size, or ``repeats < 1``.
    """
    from bench import _timing
    from bench import workloads as W

    names = list(W.WORKLOADS if workloads is None else workloads)
    unknown = [w for w in names if w not in W.WORKLOADS]
    if unknown:
        raise ValueError(f"unknown workload(s) {unknown}; valid workloads are {', '.join(W.WORKLOADS)}")
    if size not in W.SIZES:
        raise ValueError(f"size must be one of {W.SIZES}, got {size!r}")
    ctx = W.Context(size, DEFAULT_REPEATS[size] if repeats is None else repeats, peers, log)
    for name in names:
        W.run_workload(name, ctx)
    env = _timing.environment()
    return [{**rec, **env} for rec in ctx.records]


def _fmt_s(s: float | None) -> str:
    if s is None:
        return ""
    if s >= 1:
        return f"{s:.3f} s"
    if s >= 1e-3:
        return f"{s * 1e3:.2f} ms"
    return f"{s * 1e6:.1f} us"


def _fmt_num(v: float | None) -> str:
    if v is None:
        return ""
    if abs(v) >= 1e4:
        return f"{v:,.0f}"
    if abs(v) >= 10:
        return f"{v:.1f}"
    return f"{v:.3g}"


def _table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(header)]
    line = "| " + " | ".join(h.ljust(w) for h, w in zip(header, widths)) + " |"
    sep = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    body = ["| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |" for r in rows]
    return "\n".join([line, sep, *body])


def format_table(records: Sequence[dict[str, Any]]) -> str:
    """Renders records as Markdown tables: measurements, agreement checks, targets, skips.

    Args:
      records: as returned by :func:`run` (or read back from the JSON file).

    Returns:
      The tables as one string.
    """
    timed = [r for r in records if r["kind"] in ("jaxnn", "reference", "peer", "baseline", "diagnostic")]
    rows = []
    for r in timed:
        thr = f"{_fmt_num(r['throughput'])} {r['throughput_unit']}" if r["throughput"] is not None else ""
        rows.append([
            r["workload"], r["impl"], r["measure"], _fmt_s(r["median_s"]), thr,
            _fmt_num(r["gflops"]), f"{r['ratio']:.2f}x" if r["ratio"] is not None else "", r["note"] or "",
        ])
    out = [
        "Measurements (medians; `x ref` = time / reference time, lower is faster)",
        "",
        _table(["workload", "impl", "measure", "median", "throughput", "GFLOP/s", "x ref", "note"], rows),
    ]
    checks = [r for r in records if r["kind"] == "check"]
    if checks:
        rows = [[r["workload"], r["impl"], r["measure"], _fmt_num(r["value"]), _bound(r), _ok(r["met"]),
                 r["note"] or ""] for r in checks]
        out += ["", "Checks", "", _table(["workload", "impl", "check", "value", "tolerance", "ok", "note"], rows)]
    targets = [r for r in records if r["kind"] == "target"]
    if targets:
        rows = [[r["workload"], r["measure"], _fmt_num(r["value"]),
                 "" if r["threshold"] is None else f"{r['comparison']} {r['threshold']:g}", _ok(r["met"]),
                 r["note"] or ""] for r in targets]
        out += ["", "Targets", "", _table(["workload", "target", "value", "target", "met", "note"], rows)]
    skipped = [r for r in records if r["kind"] in ("skipped", "error")]
    if skipped:
        rows = [[r["workload"], r["impl"], r["kind"], r["note"] or ""] for r in skipped]
        out += ["", "Skipped", "", _table(["workload", "impl", "status", "why"], rows)]
    return "\n".join(out)


def _bound(r: dict[str, Any]) -> str:
    return "" if r["threshold"] is None else f"{r['comparison'] or '<='} {r['threshold']:g}"


def _ok(met: bool | None) -> str:
    return "n/a" if met is None else ("yes" if met else "**NO**")


def _parser() -> argparse.ArgumentParser:
    from bench.workloads import SIZES, WORKLOADS

    p = argparse.ArgumentParser(
        prog="python -m bench",
        description="jaxnn benchmarks: jaxnn vs a raw JAX + Optax reference and peers, each workload against "
        "its targets (throughput, compile time, GFLOP/s, time to result; see bench/RESULTS.md).",
    )
    p.add_argument("--workloads", default="all",
                   help=f"comma-separated subset of {','.join(WORKLOADS)} (default: all)")
    p.add_argument("--size", choices=SIZES, default="small",
                   help="tiny (smoke test), small (fits a 2-core CPU in minutes) or full (the sizes the targets are "
                   "stated for)")
    p.add_argument("--repeats", type=int, default=None,
                   help="timed calls per steady-state measurement (default: 2 tiny, 5 small/full)")
    p.add_argument("--json", metavar="PATH", default=None, help="write the records to PATH as a JSON list")
    p.add_argument("--peers", action=argparse.BooleanOptionalAction, default=True,
                   help="also time the installed peers (PyTorch, Flax NNX, Equinox, Keras, scikit-learn)")
    p.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """The command line: ``python -m bench [--workloads W,..] [--size S] [--repeats N] [--json PATH] [--no-peers]``.

    Args:
      argv: the arguments (without the program name); ``None`` reads ``sys.argv[1:]``.

    Returns:
      The exit status: 0 when everything ran and jaxnn agreed with the reference, 1 when a
      numerical check failed or a workload errored, 2 for bad arguments.
    """
    parser = _parser()
    args = parser.parse_args(argv)
    from bench.workloads import WORKLOADS

    names = list(WORKLOADS) if args.workloads == "all" else [w.strip() for w in args.workloads.split(",") if w.strip()]
    unknown = [w for w in names if w not in WORKLOADS]
    if unknown:
        parser.error(f"unknown workload(s) {', '.join(unknown)}; choose from {', '.join(WORKLOADS)}")
    if args.repeats is not None and args.repeats < 1:
        parser.error(f"--repeats must be >= 1, got {args.repeats}")
    log = None if args.quiet else (lambda msg: print(msg, file=sys.stderr, flush=True))
    records = run(names, size=args.size, repeats=args.repeats, peers=args.peers, log=log)
    command = "python -m bench " + " ".join(sys.argv[1:] if argv is None else argv)
    env = {k: records[0][k] for k in ("jax_version", "jaxlib_version", "backend", "device_kind", "cpu_count",
                                      "cpu_model")} if records else {}
    print(f"# {command}\n# " + ", ".join(f"{k}={v}" for k, v in env.items()) + "\n")
    print(format_table(records))
    if args.json:
        with open(args.json, "w") as f:
            json.dump([{**r, "command": command} for r in records], f, indent=1, default=_jsonable)
        print(f"\nwrote {len(records)} records to {os.path.abspath(args.json)}", file=sys.stderr)
    from bench._peers import PEERS

    # jaxnn disagreeing with the reference (or the NumPy loop) is a failure; a peer that
    # differs or breaks is reported in the tables but does not fail the run.
    failed = [r for r in records if r["kind"] == "check" and r["met"] is False and r["impl"] not in PEERS]
    return 1 if failed else 0


def _jsonable(obj: Any) -> Any:
    try:
        import numpy as np

        if isinstance(obj, np.generic):
            return obj.item()
        if isinstance(obj, np.ndarray):
            return obj.tolist()
    except ImportError:  # pragma: no cover
        pass
    return str(obj)
