"""Section 2 of the course: the perceptron's limit. On XOR no line works, and the mistakes never reach zero.

XOR labels the four corners of {-1, +1}^2 with +1 exactly when the inputs differ. No line
separates the two classes, so Rosenblatt's algorithm never has a clean epoch: it cycles
forever (here: until ``max_epochs``). The pocket algorithm keeps the best weights seen, which
still get one point in four wrong. ``jaxnn.combining.certifies_not_separable`` checks a
proof that no line can do better (Gordan's theorem: the labelled points sum to zero).

Run: python examples/02_xor_limit.py [--out DIR] [--quick]      (needs: pip install "jaxnn[plot]")
"""

from __future__ import annotations

import argparse
import os

import jax
import jax.numpy as jnp
import numpy as np

try:
    from matplotlib.figure import Figure
except ImportError as err:  # pragma: no cover
    raise SystemExit("this example draws figures with matplotlib: pip install 'jaxnn[plot]'") from err

from jaxnn import combining, datasets, perceptron


def _line(ax, w, xs, **kw):
    """Draws b + w1 x1 + w2 x2 = 0 for augmented weights w = (b, w1, w2)."""
    w = np.asarray(w)
    if abs(w[2]) > 1e-9:
        ax.plot(xs, -(w[0] + w[1] * xs) / w[2], **kw)
    elif abs(w[1]) > 1e-9:
        ax.axvline(-w[0] / w[1], **kw)


def main(out_dir: str = "out", quick: bool = False) -> dict:
    """Runs the perceptron and the pocket algorithm on XOR and on noisy XOR.

    Args:
      out_dir: folder for the figure (created if needed).
      quick: fewer epochs and points.

    Returns:
      ``{"converged", "min_mistakes", "pocket_errors", "certificate", "noisy_pocket_accuracy", "figures"}``.
    """
    os.makedirs(out_dir, exist_ok=True)
    epochs = 15 if quick else 30
    x, y = datasets.xor()
    res = perceptron.perceptron(x, y, max_epochs=epochs)
    pocket = perceptron.pocket_perceptron(x, y, max_epochs=epochs)
    certificate = combining.certifies_not_separable(x, y, jnp.ones(4))
    mistakes = np.asarray(res.mistakes)
    print(f"XOR: converged={bool(res.converged)} after {int(res.epochs)} epochs; "
          f"mistakes per epoch {mistakes.tolist()}")
    print(f"pocket weights {np.asarray(pocket.weights).tolist()} make {int(pocket.errors)} mistake(s) of 4")
    labelled_sum = np.asarray(y) @ np.c_[np.ones(4), np.asarray(x)]
    print(f"sum_i y_i (1, x_i) = {labelled_sum} -> no line separates XOR: {certificate}")

    # The same on 200 noisy XOR points: the best line (pocket) is right on about half the plane.
    n = 100 if quick else 200
    xn, yn = datasets.noisy_xor(jax.random.key(0), n, noise=0.25)
    noisy = perceptron.pocket_perceptron(xn, yn, max_epochs=epochs)
    noisy_acc = float(jnp.mean(perceptron.predict(noisy.weights, xn) == yn))
    print(f"noisy XOR ({n} points): the pocket's best line classifies {noisy_acc:.0%} correctly")

    fig = Figure(figsize=(14, 4.3))
    ax, ax2, ax3 = fig.subplots(1, 3)
    xs = np.linspace(-1.8, 1.8, 2)
    xa, ya = np.asarray(x), np.asarray(y)
    ax.scatter(*xa[ya > 0].T, s=120, marker="o", color="C0", label="y = +1 (inputs differ)")
    ax.scatter(*xa[ya < 0].T, s=120, marker="x", color="C3", label="y = -1")
    if np.allclose(np.asarray(res.weights), 0):
        # In this order the four updates of an epoch cancel: w is back at 0 after every epoch.
        ax.plot([], [], " ", label="perceptron: w = 0 after every epoch")
    else:
        _line(ax, res.weights, xs, color="0.5", ls="--", label="last perceptron line")
    _line(ax, pocket.weights, xs, color="k", label=f"pocket line ({int(pocket.errors)}/4 wrong)")
    ax.set(xlim=(-1.8, 1.8), ylim=(-1.8, 1.8), xlabel="$x_1$", ylabel="$x_2$",
           title="XOR: no line separates the classes")
    ax.legend(fontsize=8, loc="center")
    ax2.bar(np.arange(1, epochs + 1), mistakes, color="C3")
    ax2.axhline(0, color="k", lw=0.8)
    ax2.set(xlabel="epoch", ylabel="mistakes (of 4)", ylim=(0, 4.5),
            title=f"Mistakes per epoch never reach 0 (min {mistakes.min()})")
    xna, yna = np.asarray(xn), np.asarray(yn)
    ax3.scatter(*xna[yna > 0].T, s=12, marker="o", color="C0")
    ax3.scatter(*xna[yna < 0].T, s=12, marker="x", color="C3")
    _line(ax3, noisy.weights, np.linspace(-2, 2, 2), color="k", label="pocket line")
    ax3.set(xlim=(-2, 2), ylim=(-2, 2), xlabel="$x_1$", ylabel="$x_2$",
            title=f"Noisy XOR: the best line gets {noisy_acc:.0%} right")
    ax3.legend(fontsize=8)
    fig.tight_layout()
    path = os.path.join(out_dir, "02_xor_limit.png")
    fig.savefig(path, dpi=100)
    return {"converged": bool(res.converged), "min_mistakes": int(mistakes.min()), "pocket_errors": int(pocket.errors),
            "certificate": bool(certificate), "noisy_pocket_accuracy": noisy_acc, "figures": [path]}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="out", help="folder for the figures (default: out)")
    parser.add_argument("--quick", action="store_true", help="a smaller, faster run")
    args = parser.parse_args()
    main(args.out, args.quick)
