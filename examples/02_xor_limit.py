"""Section 2 of the course: the perceptron's limit. On XOR no line works, and the mistakes never reach zero.

XOR labels the four corners of {-1, +1}^2 with +1 exactly when the inputs differ. No line
separates the two classes, so Rosenblatt's algorithm never has a clean epoch: it cycles
forever (here: until ``max_epochs``). The pocket algorithm keeps the best weights seen, which
still get one point in four wrong. ``jaxnn.combining.certifies_not_separable`` checks a
proof that no line can do better (Gordan's theorem: the labelled points sum to zero).

``compute`` does the work and returns a :class:`Result`; ``plot`` draws it; ``main`` does both
and writes the figure.

Run: python examples/02_xor_limit.py [--out DIR] [--quick]      (needs: pip install "jaxnn[plot]")
"""

from __future__ import annotations

import argparse
import dataclasses
import os

import jax
import jax.numpy as jnp
import numpy as np

from jaxnn import combining, datasets, perceptron


@dataclasses.dataclass(frozen=True)
class Result:
    """What :func:`compute` found.

    Attributes:
      x: the four XOR points, ``[4, 2]``.
      y: their labels in {-1, +1}, ``[4]``.
      epochs: the epochs the perceptron was given.
      converged: whether the perceptron had an epoch without mistakes (never, on XOR).
      mistakes: its mistakes per epoch, ``[epochs]``.
      weights: its last augmented weights (b, w1, w2).
      pocket_weights: the best weights the pocket algorithm saw.
      pocket_errors: how many of the four points they get wrong.
      labelled_sum: sum_i y_i (1, x_i), ``[3]``; zero proves no line separates the points.
      certificate: whether :func:`jaxnn.combining.certifies_not_separable` accepts that proof.
      noisy_x: noisy XOR points, ``[n, 2]``.
      noisy_y: their labels, ``[n]``.
      noisy_weights: the pocket's best line on them.
      noisy_accuracy: the fraction of noisy points that line gets right.
    """

    x: np.ndarray
    y: np.ndarray
    epochs: int
    converged: bool
    mistakes: np.ndarray
    weights: np.ndarray
    pocket_weights: np.ndarray
    pocket_errors: int
    labelled_sum: np.ndarray
    certificate: bool
    noisy_x: np.ndarray
    noisy_y: np.ndarray
    noisy_weights: np.ndarray
    noisy_accuracy: float


def compute(quick: bool = False) -> Result:
    """Runs the perceptron and the pocket algorithm on XOR and on noisy XOR.

    Args:
      quick: fewer epochs and points.

    Returns:
      The :class:`Result`.
    """
    epochs = 15 if quick else 30
    x, y = datasets.xor()
    res = perceptron.perceptron(x, y, max_epochs=epochs)
    pocket = perceptron.pocket_perceptron(x, y, max_epochs=epochs)
    certificate = combining.certifies_not_separable(x, y, jnp.ones(4))
    labelled_sum = np.asarray(y) @ np.c_[np.ones(4), np.asarray(x)]

    # The same on noisy XOR points: the best line (pocket) is right on about half the plane.
    n = 100 if quick else 200
    xn, yn = datasets.noisy_xor(jax.random.key(0), n, noise=0.25)
    noisy = perceptron.pocket_perceptron(xn, yn, max_epochs=epochs)
    noisy_acc = float(jnp.mean(perceptron.predict(noisy.weights, xn) == yn))
    return Result(x=np.asarray(x), y=np.asarray(y), epochs=epochs, converged=bool(res.converged),
                  mistakes=np.asarray(res.mistakes), weights=np.asarray(res.weights),
                  pocket_weights=np.asarray(pocket.weights), pocket_errors=int(pocket.errors),
                  labelled_sum=labelled_sum, certificate=bool(certificate), noisy_x=np.asarray(xn),
                  noisy_y=np.asarray(yn), noisy_weights=np.asarray(noisy.weights), noisy_accuracy=noisy_acc)


def _line(ax, w, xs, **kw):
    """Draws b + w1 x1 + w2 x2 = 0 for augmented weights w = (b, w1, w2)."""
    if abs(w[2]) > 1e-9:
        ax.plot(xs, -(w[0] + w[1] * xs) / w[2], **kw)
    elif abs(w[1]) > 1e-9:
        ax.axvline(-w[0] / w[1], **kw)


def plot(result: Result, fig) -> None:
    """Draws XOR with the lines found, the mistakes per epoch and noisy XOR into ``fig``.

    Args:
      result: from :func:`compute`.
      fig: an empty ``matplotlib.figure.Figure`` or ``SubFigure``; three axes are added to it.
    """
    ax, ax2, ax3 = fig.subplots(1, 3)
    xs = np.linspace(-1.8, 1.8, 2)
    xa, ya = result.x, result.y
    ax.scatter(*xa[ya > 0].T, s=120, marker="o", color="C0", label="y = +1 (inputs differ)")
    ax.scatter(*xa[ya < 0].T, s=120, marker="x", color="C3", label="y = -1")
    if np.allclose(result.weights, 0):
        # In this order the four updates of an epoch cancel: w is back at 0 after every epoch.
        ax.plot([], [], " ", label="perceptron: w = 0 after every epoch")
    else:
        _line(ax, result.weights, xs, color="0.5", ls="--", label="last perceptron line")
    _line(ax, result.pocket_weights, xs, color="k", label=f"pocket line ({result.pocket_errors}/4 wrong)")
    ax.set(xlim=(-1.8, 1.8), ylim=(-1.8, 1.8), xlabel="$x_1$", ylabel="$x_2$",
           title="XOR: no line separates the classes")
    ax.legend(fontsize=8, loc="center")
    ax2.bar(np.arange(1, result.epochs + 1), result.mistakes, color="C3")
    ax2.axhline(0, color="k", lw=0.8)
    ax2.set(xlabel="epoch", ylabel="mistakes (of 4)", ylim=(0, 4.5),
            title=f"Mistakes per epoch never reach 0 (min {result.mistakes.min()})")
    xna, yna = result.noisy_x, result.noisy_y
    ax3.scatter(*xna[yna > 0].T, s=12, marker="o", color="C0")
    ax3.scatter(*xna[yna < 0].T, s=12, marker="x", color="C3")
    _line(ax3, result.noisy_weights, np.linspace(-2, 2, 2), color="k", label="pocket line")
    ax3.set(xlim=(-2, 2), ylim=(-2, 2), xlabel="$x_1$", ylabel="$x_2$",
            title=f"Noisy XOR: the best line gets {result.noisy_accuracy:.0%} right")
    ax3.legend(fontsize=8)


def main(out_dir: str = "out", quick: bool = False) -> dict:
    """Runs the perceptron and the pocket algorithm on XOR and on noisy XOR.

    Args:
      out_dir: folder for the figure (created if needed).
      quick: fewer epochs and points.

    Returns:
      ``{"converged", "min_mistakes", "pocket_errors", "certificate", "noisy_pocket_accuracy", "figures"}``.
    """
    try:
        from matplotlib.figure import Figure
    except ImportError as err:  # pragma: no cover
        raise SystemExit("this example draws figures with matplotlib: pip install 'jaxnn[plot]'") from err
    r = compute(quick)
    print(f"XOR: converged={r.converged} after {r.epochs} epochs; mistakes per epoch {r.mistakes.tolist()}")
    print(f"pocket weights {r.pocket_weights.tolist()} make {r.pocket_errors} mistake(s) of 4")
    print(f"sum_i y_i (1, x_i) = {r.labelled_sum} -> no line separates XOR: {r.certificate}")
    print(f"noisy XOR ({len(r.noisy_y)} points): the pocket's best line classifies {r.noisy_accuracy:.0%} correctly")

    os.makedirs(out_dir, exist_ok=True)
    fig = Figure(figsize=(14, 4.3), layout="constrained")
    plot(r, fig)
    path = os.path.join(out_dir, "02_xor_limit.png")
    fig.savefig(path, dpi=100)
    return {"converged": r.converged, "min_mistakes": int(r.mistakes.min()), "pocket_errors": r.pocket_errors,
            "certificate": r.certificate, "noisy_pocket_accuracy": r.noisy_accuracy, "figures": [path]}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="out", help="folder for the figures (default: out)")
    parser.add_argument("--quick", action="store_true", help="a smaller, faster run")
    args = parser.parse_args()
    main(args.out, args.quick)
