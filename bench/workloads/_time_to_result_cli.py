"""One ``jaxnn train`` process of the time-to-result workload, with JAX's compile events counted.

Run as ``python -m bench.workloads._time_to_result_cli REPORT.json ARG...``: calls
``jaxnn.cli.main([ARG...])`` exactly as the ``jaxnn`` command does, after registering JAX's
monitoring listeners, and writes ``{"status", "seconds", "programs", "cache_hits",
"compile_s"}`` to ``REPORT.json`` (``programs``: XLA programs built in this process, compiled or
loaded from the persistent compilation cache; ``cache_hits``: how many were loaded). The
process exits with the command's status.
"""

from __future__ import annotations

import time

_T0 = time.perf_counter()

import json  # noqa: E402
import sys  # noqa: E402


def main(argv: list[str]) -> int:
    """Runs the command line on ``argv[1:]`` and writes the report to ``argv[0]``."""
    from bench._timing import CompileClock
    from jaxnn.cli import main as jaxnn_main

    with CompileClock() as clock:
        status = jaxnn_main(argv[1:])
    report = {"status": status, "seconds": time.perf_counter() - _T0, "programs": clock.programs,
              "cache_hits": clock.cache_hits, "compile_s": clock.total}
    with open(argv[0], "w") as f:
        json.dump(report, f)
    return int(status or 0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
