"""XOR by full-batch gradient descent: time after compiling, and the first call's compile time.

2-8-1 tanh, BCE from logits, full-batch GD with learning rate 0.5, 2000 steps. Targets: the
post-compile time <= 1.1x the raw-JAX scan's; >= 50x faster than a PyTorch eager loop;
the first call of fit on fresh objects (validation, trace, compile, 2000 steps) <= 1 s.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax

from bench import _peers as peers
from bench import _reference as ref
from bench._timing import Measurement, Timing, Work, measure_interleaved, record
from bench.workloads._common import first_calls, jaxnn, max_diff, pairs, steady_pair, torch_threads_note, with_unguarded
from bench.workloads._context import Context
from bench.workloads._peer_runs import Expected, run_peers

__all__ = ["run", "XOR_X", "XOR_Y"]

XOR_X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], np.float32)
XOR_Y = np.array([[0.0], [1.0], [1.0], [0.0]], np.float32)


def _builders(steps: int):
    nn, heads, optim, Supervised, fit, _ = jaxnn()
    kp, ks = jax.random.split(jax.random.key(1))
    x, y = jnp.asarray(XOR_X), jnp.asarray(XOR_Y)
    _, params0 = nn.MLP([8], 1, activation="tanh").init(kp, (-1, 2))

    def build_jaxnn(epochs: int = steps):
        # A new network, loss and optimizer: nothing compiled before can be reused by identity.
        net = nn.MLP([8], 1, activation="tanh")
        loss_fn, opt = Supervised(net.apply, heads.binary()), optim.sgd(0.5)
        return lambda **kw: fit(params0, loss_fn, x, y, optimizer=opt, key=ks, epochs=epochs, **kw)

    def build_ref():
        train = ref.make_train(ref.make_loss("tanh", None, "bce_logits"), optax.sgd(0.5), n=4, batch_size=None,
                               epochs=steps)
        return lambda: train(params0, ks, x, y)

    return params0, build_jaxnn, build_ref


def run(ctx: Context) -> None:
    """Times first calls and the steady state of fit and the reference, and the peers; targets."""
    c = ctx.cfg("xor")
    steps = c["steps"]
    params0, build_jaxnn, build_ref = _builders(steps)
    j1, _ = first_calls(ctx, "xor", build_jaxnn, build_ref, repeats=c["compile_repeats"],
                        notes=(f"fit first call (fresh net/loss/optimizer), median of {c['compile_repeats']}",
                               f"jit(scan) first call, median of {c['compile_repeats']}"))
    fns = {"jaxnn": build_jaxnn(), "reference": build_ref()}
    if ctx.diagnostics:
        fns["one epoch"] = build_jaxnn(epochs=1)  # fit's fixed cost per call
    ts = measure_interleaved(with_unguarded(ctx, fns, fns["jaxnn"]), repeats=ctx.repeats)
    tj, tr = ts["jaxnn"], ts["reference"]
    work = Work({"steps": steps, "batch": 4}, steps, "steps/s")
    steady_pair(ctx, "xor", ts, work, ("fit(epochs=steps), full batch, cached program",
                                       "hand-written jit(scan), optax.sgd"))
    if "one epoch" in ts:
        _fixed_cost(ctx, ts["one epoch"], tj, tr, steps)
    ctx.check("xor", "reference", max_diff(tr.result[0], tj.result.params), 1e-4,
              "max |difference| of trained weights, reference vs jaxnn")

    problem = peers.Problem(pairs(params0), "tanh", None, "bce_logits", "sgd", 0.5, XOR_X, XOR_Y, 4,
                            [np.arange(4)] * steps)
    pm = run_peers(ctx, "xor", problem, peers.PEERS, expected=Expected(pairs(tr.result[0])), work=work,
                   reference_s=tr.median)
    ctx.target("xor", "post-compile time vs raw-JAX scan", tj.median / tr.median, 1.1, "<=",
               "jaxnn seconds / reference seconds")
    ctx.target("xor", "speed-up over PyTorch eager", pm["torch"] / tj.median if "torch" in pm else None, 50.0, ">=",
               "torch seconds / jaxnn seconds" + torch_threads_note(pm, tj.median))
    ctx.target("xor", "first-call time (s)", j1.median, 1.0, "<=",
               "fit's first call: validation + trace + compile + 2000 steps, in a process that has run JAX before")


def _fixed_cost(ctx: Context, t1: Timing, tj: Timing, tr: Timing, steps: int) -> None:
    """fit's cost per call (epochs=1), and its cost per step inside the loop against the reference's."""
    ctx.measured(Measurement("xor", "jaxnn, epochs=1", "diagnostic", "steady", t1, Work({"steps": 1, "batch": 4}),
                             note="fit's fixed cost per call (validation, state set-up, dispatch) plus one step"))
    per_epoch = (tj.median - t1.median) / max(1, steps - 1)
    ctx.add(record("xor", "jaxnn", "diagnostic", "per-step cost inside the loop", median_s=per_epoch,
                   ratio=per_epoch / (tr.median / steps), ratio_to="reference",
                   note=f"(fit(epochs={steps}) - fit(epochs=1)) / {steps - 1}, vs the reference's seconds / {steps}: "
                        f"{per_epoch * 1e6:.2f} us vs {tr.median / steps * 1e6:.2f} us per step"))
