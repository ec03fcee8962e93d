"""256 XOR models (seeds x learning rates) in one ``sweep`` call.

Targets: the sweep <= 16x the time of one model's ``fit``; <= 1.1x the raw-JAX
``jit(vmap(scan))`` reference's time. No peer has an equivalent one-call batched trainer.
"""

from __future__ import annotations

import time

import jax
import jax.numpy as jnp

from bench import _reference as ref
from bench._timing import CompileClock, Measurement, Work, block, measure_interleaved, record
from bench.workloads._common import first_calls, jaxnn, max_diff
from bench.workloads._context import Context
from bench.workloads._profile import profile_breakdown
from bench.workloads.xor import XOR_X, XOR_Y

__all__ = ["run"]


def run(ctx: Context) -> None:
    """Times the sweep, one model and the reference; checks, targets and (diagnostics) a profile."""
    nn, heads, optim, Supervised, fit, sweep = jaxnn()
    c = ctx.cfg("sweep")
    M, steps = c["members"], c["steps"]
    x, y = jnp.asarray(XOR_X), jnp.asarray(XOR_Y)
    keys = jax.random.split(jax.random.key(2), M)
    lrs = jnp.linspace(0.1, 1.0, M, dtype=jnp.float32)
    net = nn.MLP([8], 1, activation="tanh")
    loss_fn = Supervised(net.apply, heads.binary())

    def init_fn(k):
        return net.init(k, (-1, 2))[1]

    def make_optimizer(learning_rate):
        return optim.sgd(learning_rate)

    def run_sweep():
        return sweep(init_fn, loss_fn, x, y, make_optimizer=make_optimizer, keys=keys,
                     hyperparams={"learning_rate": lrs}, epochs=steps)

    one_params = init_fn(jax.random.split(keys[0])[0])
    one_opt = optim.sgd(0.5)

    def run_one():
        return fit(one_params, loss_fn, x, y, optimizer=one_opt, key=keys[0], epochs=steps)

    ref_sweep = ref.make_sweep([2, 8, 1], ref.make_loss("tanh", None, "bce_logits"), epochs=steps)

    def run_ref():
        return ref_sweep(keys, lrs, x, y)

    first_calls(ctx, "sweep", lambda: run_sweep, lambda: run_ref,
                (f"sweep(...) of {M} models, first call", "jit(vmap(scan)) first call"))
    # No warm-up round: the first calls above compiled the sweep and the reference; only the
    # one-model fit needs compiling first.
    block(run_one())
    ts = measure_interleaved({"jaxnn": run_sweep, "reference": run_ref, "one": run_one}, repeats=ctx.repeats,
                             warmup=0)
    tj, tr, t1 = ts["jaxnn"], ts["reference"], ts["one"]
    work = Work({"members": M, "steps": steps}, M * steps, "model-steps/s")
    ctx.measured(Measurement("sweep", "reference", "reference", "steady", tr, work, tr.median,
                             note="hand-written jit(vmap(member)), optax.sgd(lr)"))
    ctx.measured(Measurement("sweep", "jaxnn", "jaxnn", "steady", tj, work, tr.median,
                             note="jaxnn.train.sweep, repeated calls with the same arguments"))
    ctx.measured(Measurement("sweep", "jaxnn (1 model)", "jaxnn", "steady", t1,
                             Work({"members": 1, "steps": steps}, steps, "model-steps/s"),
                             note="fit of one of the models (cached program): the 'one model' time"))
    ctx.check("sweep", "reference", max_diff(tr.result[0], tj.result.params), 1e-4,
              "max |difference| of all members' trained weights")
    ctx.target("sweep", f"{M} models vs one model", tj.median / t1.median, 16.0, "<=",
               "sweep seconds / fit seconds for one model")
    ctx.target("sweep", "time vs raw-JAX vmap", tj.median / tr.median, 1.1, "<=", "jaxnn seconds / reference seconds")
    if ctx.peers:
        ctx.add(record("sweep", "peers", "skipped", "steady",
                       note="no peer has an equivalent one-call batched trainer; jaxnn is compared with raw JAX only"))
    if ctx.diagnostics:
        _repeated_call(ctx, run_sweep)


def _repeated_call(ctx: Context, run_sweep) -> None:
    """One more call, already seen with the same arguments: how much of it is compiling, and where."""
    with CompileClock() as clock:
        start = time.perf_counter()
        profile_breakdown(ctx, "sweep", run_sweep, 1, ("jaxnn/train", "sweep"))
        seconds = time.perf_counter() - start
    ctx.add(record("sweep", "jaxnn", "diagnostic", "compile in a repeated call", median_s=seconds,
                   value=clock.total, note=f"JAX trace+lower+XLA compile during a sweep call with the same arguments "
                   f"as before (under cProfile): {clock.total:.3f} s of {seconds:.3f} s ("
                   + ", ".join(f"{k} {v:.3f}" for k, v in clock.seconds.items()) + ")"))
