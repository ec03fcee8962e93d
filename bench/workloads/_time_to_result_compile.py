"""One process of the first-compile comparison: fit's first call against a minimal loop.

Run by the ``time_to_result`` workload as::

    python -m bench.workloads._time_to_result_compile DATA.npz SPEC_JSON ORDER

In a fresh process, the XLA compile time of ``jaxnn.train.fit``'s first call (every program it
builds: set-up, training loop, helpers) and of a minimal hand-written
``jit(scan over epochs(permute; scan over batches(step)))`` of the same model, loss, optimizer
and batches (the last partial batch dropped), in the order ``ORDER`` (``fit-first`` or
``minimal-first``), after one trivial jitted call has started XLA. The compile time is the sum
of JAX's trace, lowering and backend-compile durations (``jax.monitoring`` events), and CPU
time is reported beside it (the machine may be shared). The last line of stdout is JSON.
"""

from __future__ import annotations

import json
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax import monitoring

_EVENTS = ("/jax/core/compile/jaxpr_trace_duration", "/jax/core/compile/jaxpr_to_mlir_module_duration",
           "/jax/core/compile/backend_compile_duration")
_SPENT: list[float] = []
_PROGRAMS: list[str] = []


def _listen(event: str, duration: float, **kw) -> None:
    if event in _EVENTS:
        _SPENT.append(duration)
    if event == _EVENTS[-1]:
        _PROGRAMS.append(kw.get("fun_name", "?"))


def _measured(fn) -> dict:
    spent, programs, cpu = len(_SPENT), len(_PROGRAMS), time.process_time()
    jax.block_until_ready(fn())
    return {"compile_s": sum(_SPENT[spent:]), "cpu_s": time.process_time() - cpu, "programs": _PROGRAMS[programs:]}


def main(data: str, spec: dict, order: str) -> dict:
    from jaxnn import heads, nn, optim, train

    d = np.load(data)
    x, y = jnp.asarray(d["x"]), jnp.asarray(d["y"])
    net, head = nn.MLP(spec["hidden"], spec["classes"], activation="relu"), heads.multiclass()
    _, params = net.init(jax.random.key(0), (-1, x.shape[1]))
    epochs, batch = spec["epochs"], spec["batch"]

    def fit():
        return train.fit(params, train.Supervised(net.apply, head), x, y, optimizer=optim.adam(1e-3),
                         key=jax.random.key(1), epochs=epochs, batch_size=batch).params

    def minimal():
        tx = optax.adam(1e-3)
        loss = lambda p, xb, yb: jnp.mean(head.loss(net.apply(p, xb), yb))
        n = x.shape[0]
        batches = n // batch

        def run(p, key, x, y):
            def epoch(carry, e):
                order = jax.random.permutation(jax.random.fold_in(key, e), n)[: batches * batch]

                def step(c, idx):
                    p, s = c
                    g = jax.grad(loss)(p, x[idx], y[idx])
                    u, s = tx.update(g, s, p)
                    return (optax.apply_updates(p, u), s), None

                return jax.lax.scan(step, carry, order.reshape(batches, batch))[0], None

            return jax.lax.scan(epoch, (p, tx.init(p)), jnp.arange(epochs))[0][0]

        return jax.jit(run)(params, jax.random.key(1), x, y)

    jax.block_until_ready(jax.jit(lambda a: a + 1)(jnp.ones(3)))
    monitoring.register_event_duration_secs_listener(_listen)
    out = {}
    for name in (("fit", "minimal") if order == "fit-first" else ("minimal", "fit")):
        out[name] = _measured(fit if name == "fit" else minimal)
    return out


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], json.loads(sys.argv[2]), sys.argv[3])))
