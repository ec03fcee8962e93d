"""The sweep workload's sharded variant, in a process of its own: one sweep on N devices and on one.

``python -m bench.workloads._sweep_sharded_child MEMBERS STEPS REPEATS`` is started by
:mod:`bench.workloads.sweep` with ``XLA_FLAGS=--xla_force_host_platform_device_count=N`` (a
process's device count is fixed when JAX starts). It times the workload's sweep on the first
device (``sweep(...)``) and split over all N (``sweep(..., devices=jax.devices())``), both on
the same cores, in interleaved rounds after one first call each, and prints one JSON line:
the timings and how far apart the two results are.
"""

from __future__ import annotations

import json
import sys


def main(argv: list[str]) -> None:
    members, steps, repeats = (int(a) for a in argv)
    import jax
    import numpy as np

    from bench._timing import first_call, measure_interleaved
    from bench.workloads.sweep import sweep_call

    one, sharded = sweep_call(members, steps), sweep_call(members, steps, devices=jax.devices())
    first = {"one": first_call(lambda: one), "sharded": first_call(lambda: sharded)}
    timed = measure_interleaved({"one": one, "sharded": sharded}, repeats=repeats, warmup=0)
    a, b = (jax.tree.leaves(jax.device_get(timed[k].result)) for k in ("one", "sharded"))
    same = len(a) == len(b) and all(x.shape == y.shape and np.array_equal(x, y, equal_nan=True) for x, y in zip(a, b))
    diff = max(float(np.nanmax(np.abs(np.asarray(x, np.float64) - y), initial=0.0)) for x, y in zip(a, b))
    print(json.dumps({
        "devices": jax.device_count(),
        "same_bits": bool(same),
        "max_diff": diff,
        **{f"{k}_times": t.times for k, t in timed.items()},
        **{f"{k}_first": f.times[0] for k, f in first.items()},
        **{f"{k}_compile": f.compile[0] for k, f in first.items()},
    }))


if __name__ == "__main__":
    main(sys.argv[1:])
