"""Section 4 of the course, at scale: final loss against learning rate for many seeds, from one compiled call.

``jaxnn.train.sweep`` trains a batch of networks with ``vmap``: member i initializes from
its own key and trains with its own learning rate, and all of them run as one compiled
program. Here: a 2-16-1 tanh network learning two moons with full-batch gradient descent,
for 12 learning rates from 1e-3 to 300 and 8 seeds each (96 networks). Too small a rate
barely moves in the epochs given, a good one fits, and too large a one blows up (the loss
explodes, or the guard in ``fit`` stops the run at the first non-finite step).

``compute`` does the work and returns a :class:`Result`; ``plot`` draws it; ``main`` does both
and writes the figure.

Run: python examples/10_sweep.py [--out DIR] [--quick]      (needs: pip install "jaxnn[plot]")
"""

from __future__ import annotations

import argparse
import dataclasses
import os

import jax
import jax.numpy as jnp
import numpy as np

from jaxnn import datasets, heads, nn, optim, train


@dataclasses.dataclass(frozen=True)
class Result:
    """What :func:`compute` found.

    Attributes:
      learning_rates: the rates swept, ``[rates]``.
      seeds: the networks trained per rate.
      epochs: the epochs each was given.
      final: each network's final training loss, ``inf`` for a run stopped by a NaN/Inf, ``[rates, seeds]``.
      median: the median over the seeds, ``[rates]``.
      best: the index of the best rate (lowest median).
    """

    learning_rates: np.ndarray
    seeds: int
    epochs: int
    final: np.ndarray
    median: np.ndarray
    best: int

    @property
    def members(self) -> int:
        """How many networks were trained in the one call."""
        return self.final.size


def compute(quick: bool = False) -> Result:
    """Sweeps learning rates x seeds in one compiled call.

    Args:
      quick: fewer learning rates, seeds and epochs.

    Returns:
      The :class:`Result`.
    """
    seeds = 3 if quick else 8
    learning_rates = np.geomspace(1e-3, 300.0, 6 if quick else 12).astype(np.float32)
    epochs = 50 if quick else 200
    x, labels = datasets.two_moons(jax.random.key(0), 200, noise=0.15)
    y = labels.astype(jnp.float32)[:, None]  # {0, 1} targets [N, 1] for the binary head
    net = nn.MLP([16], 1, activation="tanh")

    members = len(learning_rates) * seeds
    result = train.sweep(
        lambda key: net.init(key, (-1, 2))[1],  # member i: its own initialization ...
        train.Supervised(net.apply, heads.binary()),
        x, y,
        make_optimizer=lambda learning_rate: optim.sgd(learning_rate),  # ... and its own learning rate
        keys=jax.random.split(jax.random.key(1), members),
        hyperparams={"learning_rate": np.repeat(learning_rates, seeds)},
        epochs=epochs,  # batch_size=None: full-batch gradient descent
    )
    history = result.history  # every field has a leading [members] axis
    last = np.asarray(history.train_loss)[np.arange(members), np.asarray(history.epochs_run) - 1]
    stopped = np.asarray(history.nonfinite_epoch) >= 0
    # A run stopped by a NaN/Inf counts as infinitely bad.
    final = np.where(stopped | ~np.isfinite(last), np.inf, last).reshape(len(learning_rates), seeds)
    median = np.median(final, axis=1)
    return Result(learning_rates=learning_rates, seeds=seeds, epochs=epochs, final=final, median=median,
                  best=int(np.argmin(median)))


def plot(result: Result, fig) -> None:
    """Draws the final loss of every network and the median against the learning rate into ``fig``.

    Args:
      result: from :func:`compute`.
      fig: an empty ``matplotlib.figure.Figure`` or ``SubFigure``; one axes is added to it.
    """
    ax = fig.subplots()
    lrs, final, median, best = result.learning_rates, result.final, result.median, result.best
    ceiling = np.nanmax(np.where(np.isfinite(final), final, np.nan)) * 3  # where diverged runs are drawn
    for s in range(result.seeds):
        shown = np.where(np.isfinite(final[:, s]), final[:, s], ceiling)
        ax.loglog(lrs, shown, "o", color="C0", alpha=0.4, ms=5, label="one seed" if s == 0 else None)
    ax.loglog(lrs, np.where(np.isfinite(median), median, ceiling), "-", color="C3", lw=2,
              label=f"median of {result.seeds} seeds")
    ax.axvline(lrs[best], color="k", ls=":", lw=1, label=f"best: {lrs[best]:.3g}")
    ax.set(xlabel="learning rate (GD)", ylabel=f"training loss after {result.epochs} epochs",
           title=f"{result.members} networks (2-16-1, two moons) trained in one compiled call")
    ax.title.set_fontsize(10)
    ax.legend(fontsize=8)


def main(out_dir: str = "out", quick: bool = False) -> dict:
    """Sweeps learning rates x seeds in one compiled call and plots the final loss against the learning rate.

    Args:
      out_dir: folder for the figure (created if needed).
      quick: fewer learning rates, seeds and epochs.

    Returns:
      ``{"learning_rates", "median_final_loss", "best_learning_rate", "members", "figures"}``.
    """
    try:
        from matplotlib.figure import Figure
    except ImportError as err:  # pragma: no cover
        raise SystemExit("this example draws figures with matplotlib: pip install 'jaxnn[plot]'") from err
    r = compute(quick)
    for lr, row in zip(r.learning_rates, r.final):
        print(f"lr {lr:9.4g}: final loss per seed {np.array2string(row, precision=3, max_line_width=200)}")
    print(f"{r.members} networks in one compiled call; best learning rate {r.learning_rates[r.best]:.3g} "
          f"(median final loss {r.median[r.best]:.4f})")

    os.makedirs(out_dir, exist_ok=True)
    fig = Figure(figsize=(7.5, 4.5), layout="constrained")
    plot(r, fig)
    path = os.path.join(out_dir, "10_sweep.png")
    fig.savefig(path, dpi=100)
    return {"learning_rates": r.learning_rates.tolist(), "median_final_loss": r.median.tolist(),
            "best_learning_rate": float(r.learning_rates[r.best]), "members": r.members, "figures": [path]}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="out", help="folder for the figures (default: out)")
    parser.add_argument("--quick", action="store_true", help="a smaller, faster run")
    args = parser.parse_args()
    main(args.out, args.quick)
