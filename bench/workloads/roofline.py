"""Three dense 2048 x 2048 tanh layers, batch 2048, MSE, SGD: achieved GFLOP/s against a matmul's.

Target: ``fit`` reaches >= 90% of the GFLOP/s of a jitted square matmul timed in the same
rounds (counting 6 x batch x weights FLOPs per step).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax

from bench import _peers as peers
from bench import _reference as ref
from bench._timing import Work, block, measure_interleaved
from bench.workloads._common import (
    add_peak,
    count,
    first_calls,
    jaxnn,
    max_diff,
    orders,
    pairs,
    steady_pair,
    with_unguarded,
)
from bench.workloads._context import Context
from bench.workloads._peer_runs import Expected, run_peers

__all__ = ["run"]


def run(ctx: Context) -> None:
    """Times fit, the reference, the matmul peak and PyTorch; checks and the target."""
    nn, heads, optim, Supervised, fit, _ = jaxnn()
    c = ctx.cfg("roofline")
    W, B, steps = c["width"], c["batch"], c["steps"]
    n = B * steps
    kp, kx, ky, ks = jax.random.split(jax.random.key(3), 4)
    x = jax.random.normal(kx, (n, W), jnp.float32)
    y = jnp.tanh(jax.random.normal(ky, (n, W), jnp.float32))
    net = nn.MLP([W, W], W, activation="tanh", output_activation="tanh")
    _, params0 = net.init(kp, (-1, W))
    loss_fn = Supervised(net.apply, heads.multivariate_regression())
    opt = optim.sgd(0.01)
    train = ref.make_train(ref.make_loss("tanh", "tanh", "mse"), optax.sgd(0.01), n=n, batch_size=B, epochs=1)

    def run_jaxnn(**kw):
        return fit(params0, loss_fn, x, y, optimizer=opt, key=ks, epochs=1, batch_size=B, **kw)

    def run_ref():
        return train(params0, ks, x, y)

    weights = count(params0)
    flops = 6.0 * B * weights * steps
    # The first layer's input gradient is never needed, so XLA does 6BW - 2B*W^2 per step.
    exact = (6.0 * B * weights - 2.0 * B * W * W) * steps
    work = Work({"steps": steps, "batch": B, "width": W, "weights": weights, "flops": flops, "flops_exact": exact},
                n, "samples/s", flops)
    first_calls(ctx, "roofline", lambda: run_jaxnn, lambda: run_ref)
    mm, mm_flops, mm_n = ctx.matmul()
    block(mm())  # compile it
    fns = with_unguarded(ctx, {"jaxnn": run_jaxnn, "reference": run_ref, "matmul": mm}, run_jaxnn)
    if "unguarded" in fns:
        block(fns["unguarded"]())  # compile it; jaxnn and the reference compiled in their first calls
    reps = max(1, min(ctx.repeats, c["max_repeats"]))
    ts = measure_interleaved(fns, repeats=reps, warmup=0, calls_per_round={"matmul": 5})
    tj, tr = ts["jaxnn"], ts["reference"]
    peak = add_peak(ctx, "roofline", ts["matmul"], mm_flops, mm_n)
    steady_pair(ctx, "roofline", ts, work, ("fit, batch_size=B, one epoch", "hand-written jit(scan), optax.sgd"))
    ctx.check("roofline", "reference", max_diff(tr.result[0], tj.result.params), 1e-4,
              "max |difference| of trained weights, reference vs jaxnn")
    problem = peers.Problem(pairs(params0), "tanh", "tanh", "mse", "sgd", 0.01, np.asarray(x), np.asarray(y), B,
                            orders(ks, n, 1))
    run_peers(ctx, "roofline", problem, ("torch",), expected=Expected(pairs(tr.result[0])), work=work,
              reference_s=tr.median)
    gj, gr = flops / tj.median / 1e9, flops / tr.median / 1e9
    ctx.target("roofline", "GFLOP/s vs matmul peak", gj / peak, 0.90, ">=",
               f"{gj:.1f} GFLOP/s (6 x batch x weights) vs peak {peak:.1f}; reference reaches {gr / peak:.2f}; "
               f"counting only the matmuls done ({exact / flops:.3f} of the nominal) jaxnn reaches "
               f"{gj * exact / flops / peak:.2f}")
