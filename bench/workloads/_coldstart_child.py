"""One cold-start process: import, build and run the first training call, then report the times.

Run by the ``coldstart`` workload as::

    python -m bench.workloads._coldstart_child IMPL WORKLOAD CACHE CACHE_DIR HIDDEN BATCH STEPS

``IMPL`` is ``jaxnn`` or ``reference``; ``WORKLOAD`` is ``mlp`` (one Adam step of the MLP
workload's network, ``HIDDEN`` wide, batch ``BATCH``) or ``xor`` (the whole ``STEPS``-step XOR
run); ``CACHE`` is ``off`` or ``on`` (JAX's persistent compilation cache in ``CACHE_DIR``, every
program cached however fast it compiled). The last line of stdout is JSON: ``import_s``,
``first_step_s`` (building the data and params, compiling and running, until the result
exists), ``total_s``, the persistent cache's ``hits`` and ``misses``, and the seconds of XLA
compiling and of tracing + lowering.
"""

from __future__ import annotations

import time

_T0 = time.perf_counter()

import json  # noqa: E402
import sys  # noqa: E402
from typing import Any  # noqa: E402


def _configure(cache: str, cache_dir: str) -> dict[str, Any]:
    """Sets the persistent cache on or off and starts counting JAX's events; returns the counters."""
    import jax

    if cache == "off":
        jax.config.update("jax_enable_compilation_cache", False)
    else:
        jax.config.update("jax_enable_compilation_cache", True)
        jax.config.update("jax_compilation_cache_dir", cache_dir)
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
        jax.config.update("jax_persistent_cache_min_entry_size_bytes", -1)
    counts: dict[str, int] = {}
    durations: dict[str, float] = {}
    jax.monitoring.register_event_listener(lambda e, **k: counts.__setitem__(e, counts.get(e, 0) + 1))
    jax.monitoring.register_event_duration_secs_listener(
        lambda e, d, **k: durations.__setitem__(e, durations.get(e, 0.0) + d))
    return {"counts": counts, "durations": durations}


def _mlp(impl: str, hidden: int, batch: int) -> Any:
    import jax
    import jax.numpy as jnp

    kp, kx, ky, ks = jax.random.split(jax.random.key(0), 4)
    x = jax.random.normal(kx, (batch, 784), jnp.float32)
    y = jax.random.randint(ky, (batch,), 0, 10, jnp.int32)
    if impl == "jaxnn":
        import jaxnn.optim
        from jaxnn import heads, nn
        from jaxnn.train import Supervised, fit

        net = nn.MLP([hidden, hidden], 10, activation="relu")
        _, p0 = net.init(kp, (-1, 784))
        return fit(p0, Supervised(net.apply, heads.multiclass()), x, y, optimizer=jaxnn.optim.adam(1e-3),
                   key=ks, epochs=1, batch_size=batch)
    import optax

    from bench import _reference as ref

    p0 = ref.mlp_init(kp, [784, hidden, hidden, 10])
    return ref.make_train(ref.make_loss("relu", None, "softmax_ce"), optax.adam(1e-3), n=batch, batch_size=batch,
                          epochs=1)(p0, ks, x, y)


def _xor(impl: str, steps: int) -> Any:
    import jax
    import jax.numpy as jnp

    kp, ks = jax.random.split(jax.random.key(1))
    x = jnp.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y = jnp.array([[0.0], [1.0], [1.0], [0.0]])
    if impl == "jaxnn":
        import jaxnn.optim
        from jaxnn import heads, nn
        from jaxnn.train import Supervised, fit

        net = nn.MLP([8], 1, activation="tanh")
        _, p0 = net.init(kp, (-1, 2))
        return fit(p0, Supervised(net.apply, heads.binary()), x, y, optimizer=jaxnn.optim.sgd(0.5), key=ks,
                   epochs=steps)
    import optax

    from bench import _reference as ref

    p0 = ref.mlp_init(kp, [2, 8, 1])
    return ref.make_train(ref.make_loss("tanh", None, "bce_logits"), optax.sgd(0.5), n=4, batch_size=None,
                          epochs=steps)(p0, ks, x, y)


def _import(impl: str) -> None:
    if impl == "jaxnn":
        import jaxnn.optim  # noqa: F401
        from jaxnn import heads, nn  # noqa: F401
        from jaxnn.train import Supervised, fit  # noqa: F401
    else:
        import optax  # noqa: F401

        import bench._reference  # noqa: F401


def main(argv: list[str]) -> dict[str, Any]:
    """Runs one cold start as the module docstring says; returns the report."""
    impl, workload, cache, cache_dir, hidden, batch, steps = argv[:7]
    monitor = _configure(cache, cache_dir)
    _import(impl)
    t_import = time.perf_counter()
    out = _mlp(impl, int(hidden), int(batch)) if workload == "mlp" else _xor(impl, int(steps))
    import jax

    jax.block_until_ready(out)
    t_done = time.perf_counter()
    counts, durations = monitor["counts"], monitor["durations"]
    return {
        "import_s": t_import - _T0, "first_step_s": t_done - t_import, "total_s": t_done - _T0,
        "hits": counts.get("/jax/compilation_cache/cache_hits", 0),
        "misses": counts.get("/jax/compilation_cache/cache_misses", 0),
        "xla_compile_s": durations.get("/jax/core/compile/backend_compile_duration", 0.0),
        "trace_lower_s": durations.get("/jax/core/compile/jaxpr_trace_duration", 0.0)
        + durations.get("/jax/core/compile/jaxpr_to_mlir_module_duration", 0.0),
    }


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1:])))
