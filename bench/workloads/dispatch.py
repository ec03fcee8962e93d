"""The per-call cost of one compiled training step on a small MLP (16-32-32-4, batch 32).

Target: ``jaxnn.train.make_train_step``'s step <= 1.2x a hand-jitted step's per-call time.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax

from bench import _peers as peers
from bench import _reference as ref
from bench._timing import Measurement, Work, measure_interleaved
from bench.workloads._common import jaxnn, max_diff, pairs
from bench.workloads._context import Context
from bench.workloads._peer_runs import run_steppers
from bench.workloads._profile import profile_breakdown

__all__ = ["run"]


def run(ctx: Context) -> None:
    """Times jaxnn's step, the jitted reference step and a whole fit(epochs=1); peers; the target."""
    nn, heads, optim, Supervised, fit, _ = jaxnn()
    from jaxnn.train import make_train_step

    c = ctx.cfg("dispatch")
    D, H, K, B = c["inputs"], c["hidden"], c["classes"], c["batch"]
    kp, kx, ky, ks = jax.random.split(jax.random.key(4), 4)
    x = jax.random.normal(kx, (B, D), jnp.float32)
    y = jax.random.randint(ky, (B,), 0, K, jnp.int32)
    net = nn.MLP([H, H], K, activation="relu")
    _, params0 = net.init(kp, (-1, D))
    loss_fn = Supervised(net.apply, heads.multiclass())
    opt = optim.adam(1e-3)
    step = ref.make_step(ref.make_loss("relu", None, "softmax_ce"), optax.adam(1e-3))
    state = {"p": params0, "s": optax.adam(1e-3).init(params0)}
    jaxnn_step = make_train_step(loss_fn, opt)
    jstate = {"p": jax.tree.map(jnp.copy, params0), "s": opt.init(params0)}

    def run_jaxnn():
        jstate["p"], jstate["s"], value = jaxnn_step(jstate["p"], jstate["s"], x, y)
        return value

    def run_fit():
        return fit(params0, loss_fn, x, y, optimizer=opt, key=ks, epochs=1)

    def run_ref():
        state["p"], state["s"], value = step(state["p"], state["s"], x, y)
        return value

    calls = c["calls"]
    ts = measure_interleaved({"jaxnn": run_jaxnn, "reference": run_ref, "fit": run_fit}, repeats=calls, warmup=5)
    tj, tr = ts["jaxnn"], ts["reference"]
    work = Work({"steps": 1, "batch": B, "sizes": [D, H, H, K]})
    for impl, kind, t, note in (
        ("reference", "reference", tr, "jax.jit(step)(params, opt_state, x, y), state carried between calls"),
        ("jaxnn", "jaxnn", tj, "jaxnn.train.make_train_step(loss, optimizer)(params, opt_state, x, y), state carried"),
        ("jaxnn fit(epochs=1)", "diagnostic", ts["fit"], "a whole fit call (validation, state set-up, one step)"),
    ):
        ctx.measured(Measurement("dispatch", impl, kind, "per_call", t, work, tr.median, note=note))
    one = step(params0, optax.adam(1e-3).init(params0), x, y)[0]
    ctx.check("dispatch", "reference", max_diff(one, run_fit().params), 1e-5,
              "max |difference| of weights after one step (fit)")
    one_step = make_train_step(loss_fn, opt, donate=False)(params0, opt.init(params0), x, y)[0]
    ctx.check("dispatch", "reference", max_diff(one, one_step), 1e-5,
              "max |difference| of weights after one step (make_train_step)")
    profile_breakdown(ctx, "dispatch", run_fit, max(calls, 20), ("jaxnn/train", "fit"))
    if ctx.peers:
        problem = peers.Problem(pairs(params0), "relu", None, "softmax_ce", "adam", 1e-3, np.asarray(x), np.asarray(y),
                                B, [np.arange(B)])
        run_steppers(ctx, "dispatch", problem, calls, work, tr.median)
    ctx.target("dispatch", "per-call time vs raw jax.jit", tj.median / tr.median, 1.2, "<=",
               "make_train_step seconds / jitted step seconds")
