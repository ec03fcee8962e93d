"""256 XOR models (seeds x learning rates) in one ``sweep`` call, on one device and sharded.

Targets: the sweep <= 16x the time of one model's ``fit``; <= 1.1x the raw-JAX
``jit(vmap(scan))`` reference's time. No peer has an equivalent one-call batched trainer.

Sharded (``sweep:sharded``): the same sweep with ``devices=jax.devices()`` on 8 simulated
CPU devices against the one-device sweep, in a child process (the device count is fixed
when JAX starts): the same results, and the sharded time <= 1.2x the one-device time on the
same cores (the overhead of splitting the members, at equal hardware).
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from bench import _reference as ref
from bench._process import child_env, run_python
from bench._timing import CompileClock, Measurement, Timing, Work, block, measure_interleaved, record
from bench.workloads._common import first_calls, jaxnn, max_diff
from bench.workloads._context import Context
from bench.workloads._profile import profile_breakdown
from bench.workloads.xor import XOR_X, XOR_Y

__all__ = ["run"]


def sweep_call(members: int, steps: int, **placement: Any) -> Callable[[], Any]:
    """The workload's sweep: ``members`` 2-8-1 XOR models, full-batch GD for ``steps`` epochs.

    Member ``i`` has learning rate ``linspace(0.1, 1.0, members)[i]``; ``placement`` goes to
    ``sweep`` as it is (``devices=...``).
    """
    nn, heads, optim, Supervised, _, sweep = jaxnn()
    x, y = jnp.asarray(XOR_X), jnp.asarray(XOR_Y)
    keys = jax.random.split(jax.random.key(2), members)
    lrs = jnp.linspace(0.1, 1.0, members, dtype=jnp.float32)
    net = nn.MLP([8], 1, activation="tanh")
    loss_fn = Supervised(net.apply, heads.binary())

    def init_fn(k):
        return net.init(k, (-1, 2))[1]

    def make_optimizer(learning_rate):
        return optim.sgd(learning_rate)

    def run_sweep():
        return sweep(init_fn, loss_fn, x, y, make_optimizer=make_optimizer, keys=keys,
                     hyperparams={"learning_rate": lrs}, epochs=steps, **placement)

    return run_sweep


def run(ctx: Context) -> None:
    """Times the sweep, one model and the reference; checks, targets, the sharded variant, a profile."""
    nn, heads, optim, Supervised, fit, _ = jaxnn()
    c = ctx.cfg("sweep")
    M, steps = c["members"], c["steps"]
    x, y = jnp.asarray(XOR_X), jnp.asarray(XOR_Y)
    keys = jax.random.split(jax.random.key(2), M)
    lrs = jnp.linspace(0.1, 1.0, M, dtype=jnp.float32)
    net = nn.MLP([8], 1, activation="tanh")
    loss_fn = Supervised(net.apply, heads.binary())
    run_sweep = sweep_call(M, steps)
    one_params = net.init(jax.random.split(keys[0])[0], (-1, 2))[1]
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
    _sharded(ctx, tj)
    if ctx.diagnostics:
        _repeated_call(ctx, run_sweep)


def _sharded(ctx: Context, in_process: Timing) -> None:
    """The sharded variant: the child's timings, its agreement check and the overhead target."""
    c = ctx.cfg("sweep")
    M, steps, n = c["members"], c["steps"], c["sharded_devices"]
    env = child_env({"XLA_FLAGS": f"--xla_force_host_platform_device_count={n}", "JAX_PLATFORMS": "cpu"})
    done = run_python(["-m", "bench.workloads._sweep_sharded_child", str(M), str(steps), str(ctx.repeats)], env=env,
                      what=f"sharded sweep child ({n} devices)", timeout=900)
    r = json.loads(done.stdout.strip().splitlines()[-1])
    timings = {k: Timing(r[f"{k}_times"], statistics.median(r[f"{k}_times"]), min(r[f"{k}_times"]), [], None,
                         [r[f"{k}_compile"]]) for k in ("one", "sharded")}
    first = {k: t._replace(times=[r[f"{k}_first"]], median=r[f"{k}_first"], min=r[f"{k}_first"])
             for k, t in timings.items()}
    work = Work({"members": M, "steps": steps, "devices": r["devices"]}, M * steps, "model-steps/s")
    one_s = timings["one"].median
    ctx.first("sweep:sharded", "jaxnn (1 device)", "jaxnn", first["one"], f"sweep(...) of {M} models, first call")
    ctx.first("sweep:sharded", f"jaxnn ({n} devices)", "jaxnn", first["sharded"],
              f"sweep(..., devices=jax.devices()) of {M} models over {n} simulated CPU devices, first call")
    ctx.measured(Measurement("sweep:sharded", "jaxnn (1 device)", "jaxnn", "steady", timings["one"], work,
                             note=f"sweep(...) on the first of {n} simulated CPU devices (child process; the "
                                  f"in-process sweep above took {in_process.median * 1e3:.1f} ms)"))
    ctx.measured(Measurement("sweep:sharded", f"jaxnn ({n} devices)", "jaxnn", "steady", timings["sharded"], work,
                             one_s, note=f"sweep(..., devices=jax.devices()): {M} members over {n} simulated CPU "
                                         "devices on the same cores; ratio to the 1-device sweep"))
    ctx.check("sweep:sharded", f"jaxnn ({n} devices)", r["max_diff"], 1e-5,
              "max |difference| of every leaf of the two results (params, opt_state, history); same bits: "
              + ("yes" if r["same_bits"] else "no"))
    ctx.target("sweep:sharded", f"{n} devices vs 1 (equal hardware)", timings["sharded"].median / one_s, 1.2, "<=",
               f"sharded sweep seconds / one-device sweep seconds, {M} members on {n} simulated devices")


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
