"""The MLP training step: throughput of ``fit`` against the raw-JAX ``lax.scan`` reference and peers.

784-512-512-10 ReLU, softmax cross-entropy, Adam 1e-3, batch 128, random data. Targets:
throughput >= 0.95x the reference's, >= 1.2x PyTorch eager's (threads = cores), achieved
GFLOP/s (6 x batch x weights per step) >= 85% of a matmul's, timed in the same rounds.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax

from bench import _peers as peers
from bench import _reference as ref
from bench._timing import Work, measure_interleaved
from bench.workloads._common import (
    add_peak,
    count,
    first_calls,
    jaxnn,
    max_diff,
    orders,
    pairs,
    steady_pair,
    torch_threads_note,
    with_unguarded,
)
from bench.workloads._context import Context
from bench.workloads._peer_runs import Expected, run_peers

__all__ = ["run"]


def run(ctx: Context) -> None:
    """Times fit, the reference, the matmul peak and the peers; checks and targets."""
    nn, heads, optim, Supervised, fit, _ = jaxnn()
    c = ctx.cfg("mlp")
    B, E, D, H, K = c["batch"], c["epochs"], c["inputs"], c["hidden"], c["classes"]
    n = B * c["batches_per_epoch"]
    kp, kx, ky, ks = jax.random.split(jax.random.key(0), 4)
    x = jax.random.normal(kx, (n, D), jnp.float32)
    y = jax.random.randint(ky, (n,), 0, K, jnp.int32)
    net = nn.MLP([H, H], K, activation="relu")
    _, params0 = net.init(kp, (-1, D))
    loss_fn = Supervised(net.apply, heads.multiclass())
    opt = optim.adam(1e-3)
    ref_loss = ref.make_loss("relu", None, "softmax_ce")
    train = ref.make_train(ref_loss, optax.adam(1e-3), n=n, batch_size=B, epochs=E)

    def run_jaxnn(**kw):
        return fit(params0, loss_fn, x, y, optimizer=opt, key=ks, epochs=E, batch_size=B, **kw)

    def run_ref():
        return train(params0, ks, x, y)

    steps = E * n // B
    weights = count(params0)
    flops = 6.0 * B * weights * steps
    work = Work({"steps": steps, "batch": B, "samples": E * n, "weights": weights, "flops": flops}, E * n,
                "samples/s", flops)
    first_calls(ctx, "mlp", lambda: run_jaxnn, lambda: run_ref,
                ("fit(...) first call: validate + trace + compile + run", "jit(scan) first call"))
    mm, mm_flops, mm_n = ctx.matmul()
    fns = with_unguarded(ctx, {"jaxnn": run_jaxnn, "reference": run_ref, "matmul": mm}, run_jaxnn)
    ts = measure_interleaved(fns, repeats=ctx.repeats, calls_per_round={"matmul": 3})
    tj, tr = ts["jaxnn"], ts["reference"]
    peak = add_peak(ctx, "mlp", ts["matmul"], mm_flops, mm_n)
    steady_pair(ctx, "mlp", ts, work, ("jaxnn.train.fit, jaxnn.optim.adam, same params/opt objects (cached program)",
                                       "hand-written jit(scan over epochs(scan over batches)), optax.adam"))
    ctx.check("mlp", "reference", max_diff(tr.result[0], tj.result.params), 2e-4 * max(1, steps / 10),
              "max |difference| of trained weights, reference vs jaxnn")

    problem = peers.Problem(pairs(params0), "relu", None, "softmax_ce", "adam", 1e-3, np.asarray(x), np.asarray(y), B,
                            orders(ks, n, E))
    # Agreement is checked on the first 5 batches of the data (one epoch of 5 steps).
    n5 = min(n, 5 * B)
    short_ref = ref.make_train(ref_loss, optax.adam(1e-3), n=n5, batch_size=B, epochs=1)(params0, ks, x[:n5], y[:n5])
    short = problem._replace(x=problem.x[:n5], y=problem.y[:n5], orders=orders(ks, n5, 1))
    pm = run_peers(ctx, "mlp", problem, peers.PEERS, work=work, reference_s=tr.median,
                   expected=Expected(pairs(tr.result[0]), short=(short, pairs(short_ref[0]))))

    gflops = flops / tj.median / 1e9
    ctx.target("mlp", "throughput vs raw-JAX scan", tr.median / tj.median, 0.95, ">=",
               "jaxnn samples/s / reference samples/s")
    ctx.target("mlp", "throughput vs PyTorch eager", pm["torch"] / tj.median if "torch" in pm else None, 1.2, ">=",
               "jaxnn samples/s / torch samples/s" + torch_threads_note(pm, tj.median))
    ctx.target("mlp", "GFLOP/s vs matmul peak", gflops / peak, 0.85, ">=",
               f"6 x batch x weights per step: {gflops:.1f} GFLOP/s vs peak {peak:.1f} GFLOP/s")
