"""Section 2 of the course: the perceptron learning algorithm, with its decision line after each epoch.

Rosenblatt's rule, w <- w + eta y_i x_i on every mistake, visits the points in order until an
epoch makes no mistake. On linearly separable data it stops after at most (R / gamma)^2
updates (Novikoff's theorem). ``jaxnn.perceptron.perceptron`` runs the whole loop as one
compiled program; ``perceptron_numpy`` is the same algorithm as a plain Python loop, which
we stop after 1, 2, ... epochs to draw the line the algorithm held at the end of each.

``compute`` does the work and returns a :class:`Result`; ``plot`` draws it; ``main`` does both
and writes the figure.

Run: python examples/01_perceptron.py [--out DIR] [--quick]      (needs: pip install "jaxnn[plot]")
"""

from __future__ import annotations

import argparse
import dataclasses
import os

import jax
import numpy as np

from jaxnn import datasets, perceptron


@dataclasses.dataclass(frozen=True)
class Result:
    """What :func:`compute` found.

    Attributes:
      x: the points, ``[n, 2]``.
      y: their labels in {-1, +1}, ``[n]``.
      converged: whether an epoch made no mistake.
      epochs: the epochs run.
      updates: the weight updates made (one per mistake).
      mistakes: mistakes per epoch, ``[epochs]``.
      per_epoch: the augmented weights (b, w1, w2) after each epoch, ``[epochs, 3]``.
      radius: R = max ||(1, x_i)||.
      gamma: the margin of the data's own unit-norm augmented separator.
      bound: Novikoff's bound (R / gamma)^2 on the number of updates.
    """

    x: np.ndarray
    y: np.ndarray
    converged: bool
    epochs: int
    updates: int
    mistakes: np.ndarray
    per_epoch: np.ndarray
    radius: float
    gamma: float
    bound: float


def compute(quick: bool = False) -> Result:
    """Trains a perceptron on 80 separable points and records its weights after every epoch.

    Args:
      quick: accepted for symmetry with the other examples; this one is small already.

    Returns:
      The :class:`Result`.
    """
    n = 80  # small either way; `quick` changes nothing here
    # Separable points around (3, 2): the line does not pass through the origin, so the bias
    # (the weight of the constant input x_0 = 1) has to be learned too.
    offset = np.array([3.0, 2.0], np.float32)
    z, y, w_true = datasets.linearly_separable(jax.random.key(0), n, dim=2, margin=0.05)
    x = z + offset

    # The compiled algorithm: a while_loop over epochs around a scan over the points.
    result = perceptron.perceptron(x, y, eta=1.0, max_epochs=200)
    epochs = int(result.epochs)

    # Novikoff: at most (R / gamma)^2 updates, R = max ||(1, x_i)||, gamma = the margin of a
    # unit-norm augmented separator. The data's own line, <w_true, x - offset> = 0, is the
    # augmented vector (-<w_true, offset>, w_true); normalized, it gives a gamma.
    xn, yn = np.asarray(x), np.asarray(y)
    radius = float(np.max(np.linalg.norm(np.c_[np.ones(n), xn], axis=1)))
    w_aug = np.r_[-np.asarray(w_true) @ offset, np.asarray(w_true)]
    gamma = float(np.min(yn * (np.c_[np.ones(n), xn] @ w_aug)) / np.linalg.norm(w_aug))

    # The same algorithm in NumPy, stopped after e epochs: the weights after each epoch.
    per_epoch = np.stack([np.asarray(perceptron.perceptron_numpy(x, y, 1.0, max_epochs=e).weights)
                          for e in range(1, epochs + 1)])
    assert np.allclose(per_epoch[-1], np.asarray(result.weights), atol=1e-5), "NumPy and compiled runs differ"
    return Result(x=xn, y=yn, converged=bool(result.converged), epochs=epochs, updates=int(result.updates),
                  mistakes=np.asarray(result.mistakes[:epochs]), per_epoch=per_epoch, radius=radius, gamma=gamma,
                  bound=(radius / gamma) ** 2)


def plot(result: Result, fig) -> None:
    """Draws the decision line after each epoch and the mistakes per epoch into ``fig``.

    Args:
      result: from :func:`compute`.
      fig: an empty ``matplotlib.figure.Figure`` or ``SubFigure``; two axes are added to it.
    """
    import matplotlib

    xn, yn, epochs = result.x, result.y, result.epochs
    ax, ax2 = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.4, 1]})
    ax.scatter(*xn[yn > 0].T, marker="o", color="C0", label="y = +1")
    ax.scatter(*xn[yn < 0].T, marker="x", color="C3", label="y = -1")
    xs = np.array([xn[:, 0].min() - 0.3, xn[:, 0].max() + 0.3])
    cmap = matplotlib.colormaps["viridis"]
    for e, w in enumerate(result.per_epoch, 1):
        if abs(w[2]) < 1e-12:
            continue  # a vertical line; never happens here
        last = e == epochs
        ax.plot(xs, -(w[0] + w[1] * xs) / w[2], color="k" if last else cmap(e / epochs), lw=2.5 if last else 1,
                alpha=1 if last else 0.8, label=f"after epoch {e}" if (e <= 3 or last) else None)
    ax.set(xlim=xs, ylim=(xn[:, 1].min() - 0.5, xn[:, 1].max() + 0.5), xlabel="$x_1$", ylabel="$x_2$",
           title=f"The decision line after each of the {epochs} epochs")
    ax.legend(fontsize=8, loc="best")
    ax2.bar(np.arange(1, epochs + 1), result.mistakes, color="C2")
    ax2.set(xlabel="epoch", ylabel="mistakes (= updates)",
            title=f"Mistakes per epoch: {result.updates} updates (bound {result.bound:.0f})")


def main(out_dir: str = "out", quick: bool = False) -> dict:
    """Trains a perceptron on separable points and draws its line after every epoch.

    Args:
      out_dir: folder for the figure (created if needed).
      quick: accepted for symmetry with the other examples; this one is small already.

    Returns:
      ``{"converged", "epochs", "updates", "novikoff_bound", "figures"}``.
    """
    try:
        from matplotlib.figure import Figure
    except ImportError as err:  # pragma: no cover
        raise SystemExit("this example draws figures with matplotlib: pip install 'jaxnn[plot]'") from err
    r = compute(quick)
    print(f"converged={r.converged} after {r.epochs} epochs and {r.updates} updates")
    print("mistakes per epoch:", r.mistakes.tolist())
    print(f"Novikoff bound (R/gamma)^2 = ({r.radius:.2f}/{r.gamma:.3f})^2 = {r.bound:.0f} >= {r.updates} updates")

    os.makedirs(out_dir, exist_ok=True)
    fig = Figure(figsize=(11, 4.5), layout="constrained")
    plot(r, fig)
    path = os.path.join(out_dir, "01_perceptron.png")
    fig.savefig(path, dpi=100)
    return {"converged": r.converged, "epochs": r.epochs, "updates": r.updates, "novikoff_bound": r.bound,
            "figures": [path]}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="out", help="folder for the figures (default: out)")
    parser.add_argument("--quick", action="store_true", help="a smaller, faster run")
    args = parser.parse_args()
    main(args.out, args.quick)
