"""How much slower is fit with its progress bar on? (target: at most a few percent).

Run: python -m bench.progress [--epochs 200] [--repeats 7]

Trains the same digits-sized MLP (64-64-10, Adam, batch 32, 1797 samples) with
``progress=False`` and ``progress=True`` in alternating rounds, after a warm-up that compiles
both, and prints the median of each and their ratio. The bar is tqdm's, written to a null
stream so terminal speed does not count; the compiled loop runs in chunks of about 1/50 of
the epochs, so the cost is about 50 host round trips per run.
"""

from __future__ import annotations

import argparse
import io
import statistics
import time
from unittest import mock


def main(argv: list[str] | None = None) -> float:
    """Prints and returns the median time ratio, progress on / off."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args(argv)

    import jax
    import optax
    import tqdm.auto

    from jaxnn import datasets, heads, nn
    from jaxnn.train import Supervised, fit

    ds = datasets.load_digits()
    net = nn.MLP([64], 10, activation="relu")
    params = net.init(jax.random.key(0), (-1, 64))[1]
    loss, opt = Supervised(net.apply, heads.multiclass()), optax.adam(1e-3)
    null = io.StringIO()
    real_tqdm = tqdm.auto.tqdm

    def run(progress: bool) -> float:
        start = time.perf_counter()
        with mock.patch.object(tqdm.auto, "tqdm", lambda *a, **k: real_tqdm(*a, file=null, **k)):
            r = fit(params, loss, ds.x, ds.y, optimizer=opt, key=jax.random.key(1), epochs=args.epochs,
                    batch_size=32, progress=progress)
        jax.block_until_ready(r.params)
        return time.perf_counter() - start

    run(False), run(True)  # compile both
    off, on = [], []
    for _ in range(args.repeats):
        off.append(run(False))
        on.append(run(True))
    ratio = statistics.median(on) / statistics.median(off)
    print(f"fit, {args.epochs} epochs of digits (64-64-10, batch 32): progress off {statistics.median(off):.3f} s, "
          f"on {statistics.median(on):.3f} s (medians of {args.repeats}); ratio {ratio:.3f}")
    return ratio


if __name__ == "__main__":
    main()
