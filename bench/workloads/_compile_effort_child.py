"""One process of the ``compile_effort`` workload: one set of XLA compile options, timed.

Run as ``python -m bench.workloads._compile_effort_child OPTIONS_JSON SIZE``. Every program
built after start-up gets ``OPTIONS_JSON`` as its ``jax.jit(..., compiler_options=...)``
in place of any jaxnn chose (``jax.jit`` is wrapped, so ``fit``'s own programs get them too;
``null``: JAX's defaults).
It compiles and runs the network's initialization, ``fit`` (set-up and training programs) and
a prediction on the wine problem (``SIZE`` ``wine``: MLP 32-32, 100 epochs, batch 32) or a
larger one (``mlp``: 784-512-512-10 on 2,560 random rows, 2 epochs, batch 128), with the
persistent cache off. The last line of stdout is JSON: XLA compile seconds per program
family (``jax.monitoring``), the CPU seconds of fit's first call, the median of 5 further fit
calls (the run alone), and the trained params' bytes' SHA-256 (to tell whether the options
change the numbers).
"""

from __future__ import annotations

import hashlib
import json
import statistics
import sys
import time

import jax
import numpy as np

from bench._timing import CompileClock


def main(options: dict | None, size: str) -> dict:
    from jaxnn import heads, nn, optim, train

    plain = jax.jit

    def jit(fun=None, **kw):
        kw = {k: v for k, v in kw.items() if k != "compiler_options"}  # jaxnn's own choice too
        return plain(fun, **({**kw, "compiler_options": options} if options else kw))

    jax.jit = jit  # every program built from here on: fit's, and the ones below
    rng = np.random.default_rng(0)
    if size == "wine":
        from bench.workloads.time_to_result import wine

        x, y, _ = wine()
        x = ((x - x.mean(0)) / x.std(0)).astype(np.float32)
        hidden, classes, epochs, batch = [32, 32], 3, 100, 32
    else:
        x, y = rng.normal(size=(2560, 784)).astype(np.float32), rng.integers(0, 10, 2560).astype(np.int32)
        hidden, classes, epochs, batch = [512, 512], 10, 2, 128
    net, head = nn.MLP(hidden, classes, activation="relu"), heads.multiclass()
    with CompileClock() as init_clock:
        params = jax.block_until_ready(net.init(jax.random.key(0), (-1, x.shape[1]))[1])

    def fit():
        return jax.block_until_ready(train.fit(params, train.Supervised(net.apply, head), x, y,
                                               optimizer=optim.adam(1e-3), key=jax.random.key(1), epochs=epochs,
                                               batch_size=batch).params)

    cpu = time.process_time()
    with CompileClock() as fit_clock:
        out = fit()
    cpu = time.process_time() - cpu
    times = []
    for _ in range(5):
        start = time.perf_counter()
        fit()
        times.append(time.perf_counter() - start)
    predict = jit(lambda p, x: head.predict(net.apply(p, x)))
    with CompileClock() as predict_clock:
        jax.block_until_ready(predict(out, x))
    digest = hashlib.sha256(b"".join(np.asarray(a).tobytes() for a in jax.tree.leaves(out))).hexdigest()
    return {"init_compile_s": init_clock.seconds["xla_compile_s"], "fit_compile_s": fit_clock.seconds["xla_compile_s"],
            "fit_first_cpu_s": cpu, "fit_run_s": statistics.median(times),
            "predict_compile_s": predict_clock.seconds["xla_compile_s"], "params_sha256": digest}


if __name__ == "__main__":
    print(json.dumps(main(json.loads(sys.argv[1]), sys.argv[2])))
