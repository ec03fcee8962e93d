"""Section 3 of the course: the loss functions side by side, each against the margin or the error, with its gradient.

Classification losses are functions of the margin m = y f(x) (labels y in {-1, +1}, score
f): the 0/1 loss counts mistakes but has no useful gradient; the perceptron loss
max(0, -m) is zero for every right answer; the hinge max(0, 1 - m) also pushes right answers
of low confidence; the logistic loss (binary cross-entropy of the sigmoid, computed from the
logit by ``binary_cross_entropy_with_logits``) is smooth everywhere. Regression losses are
functions of the error r = f(x) - y: squared (MSE), absolute (MAE), Huber and log-cosh.
The lower row plots each loss's derivative, taken with ``jax.grad`` (vmapped over the grid).

``compute`` does the work and returns a :class:`Result`; ``plot`` draws it; ``main`` does both
and writes the figure.

Run: python examples/05_losses.py [--out DIR] [--quick]      (needs: pip install "jaxnn[plot]")
"""

from __future__ import annotations

import argparse
import dataclasses
import os

import jax
import jax.numpy as jnp
import numpy as np

from jaxnn import data, losses

# Each classification loss as a function of one score s for the label +1 (margin m = s).
# The {0, 1} label of the cross-entropy is made explicitly from the {-1, +1} one.
CLASSIFICATION = {
    "0/1": lambda s: losses.zero_one_loss(s[None], jnp.ones(1))[0],
    "perceptron": lambda s: losses.perceptron_loss(s[None], jnp.ones(1))[0],
    "hinge": lambda s: losses.hinge_loss(s[None], jnp.ones(1))[0],
    "squared hinge": lambda s: losses.squared_hinge_loss(s[None], jnp.ones(1))[0],
    "logistic (BCE from logits)": lambda s: losses.binary_cross_entropy_with_logits(
        s[None], data.labels_to_01(jnp.ones(1, jnp.int32)).astype(jnp.float32))[0],
}
# Each regression loss as a function of one error r (prediction r, target 0).
REGRESSION = {
    "squared (MSE)": lambda r: losses.mean_squared_error(r[None], jnp.zeros(1))[0],
    "absolute (MAE)": lambda r: losses.mean_absolute_error(r[None], jnp.zeros(1))[0],
    "Huber (delta = 1)": lambda r: losses.huber_loss(r[None], jnp.zeros(1))[0],
    "log-cosh": lambda r: losses.log_cosh(r[None], jnp.zeros(1))[0],
}


@dataclasses.dataclass(frozen=True)
class Result:
    """What :func:`compute` found.

    Attributes:
      grid: the margins (classification) and errors (regression) evaluated, ``[g]``.
      values: each loss on the grid, ``{name: [g]}``, in the order of ``CLASSIFICATION`` then ``REGRESSION``.
      slopes: each loss's derivative on the grid (``jax.grad``), ``{name: [g]}``.
      at_zero: each loss at margin or error 0, ``{name: value}``.
    """

    grid: np.ndarray
    values: dict[str, np.ndarray]
    slopes: dict[str, np.ndarray]
    at_zero: dict[str, float]


def compute(quick: bool = False) -> Result:
    """Evaluates the course's losses and their derivatives on a grid.

    Args:
      quick: a coarser grid.

    Returns:
      The :class:`Result`.
    """
    grid = jnp.linspace(-3.0, 3.0, 121 if quick else 601)
    # Every loss and its derivative on the grid, in one compiled call.
    curves = jax.jit(lambda g: {
        name: (jax.vmap(fn)(g), jax.vmap(jax.grad(fn))(g), fn(jnp.zeros(())))
        for name, fn in {**CLASSIFICATION, **REGRESSION}.items()
    })(grid)
    names = [*CLASSIFICATION, *REGRESSION]  # jit returns dicts with sorted keys; keep our order
    return Result(grid=np.asarray(grid), values={k: np.asarray(curves[k][0]) for k in names},
                  slopes={k: np.asarray(curves[k][1]) for k in names}, at_zero={k: float(curves[k][2]) for k in names})


def plot(result: Result, fig) -> None:
    """Draws the losses (upper row) and their derivatives (lower row) into ``fig``.

    Args:
      result: from :func:`compute`.
      fig: an empty ``matplotlib.figure.Figure`` or ``SubFigure``; a 2 x 2 grid of axes is added to it.
    """
    (ax_c, ax_r), (ax_cg, ax_rg) = fig.subplots(2, 2)
    for ax, ax_g, table, xlabel in [
        (ax_c, ax_cg, CLASSIFICATION, "margin m = y f(x)"),
        (ax_r, ax_rg, REGRESSION, "error r = f(x) - y"),
    ]:
        for name in table:
            ax.plot(result.grid, result.values[name], label=name)
            ax_g.plot(result.grid, result.slopes[name], label=name)
        ax.set(xlabel=xlabel, ylabel="loss", ylim=(-0.1, 4.0))
        ax_g.set(xlabel=xlabel, ylabel="d loss / d f (jax.grad)")
        ax.legend(fontsize=9)
        ax_g.axhline(0, color="k", lw=0.5)
    ax_c.set_title("Classification losses against the margin")
    ax_r.set_title("Regression losses against the error")
    ax_cg.set_title("Gradients: none from 0/1; none from the perceptron once right")
    ax_cg.set_ylim(-3.2, 0.4)  # the squared hinge goes on to -8
    ax_rg.set_title("Gradients: bounded for MAE, Huber, log-cosh (robust)")


def main(out_dir: str = "out", quick: bool = False) -> dict:
    """Plots the course's losses and their derivatives.

    Args:
      out_dir: folder for the figure (created if needed).
      quick: a coarser grid.

    Returns:
      ``{"at_zero": {loss: value at margin or error 0}, "figures"}``.
    """
    try:
        from matplotlib.figure import Figure
    except ImportError as err:  # pragma: no cover
        raise SystemExit("this example draws figures with matplotlib: pip install 'jaxnn[plot]'") from err
    r = compute(quick)
    for name, v in r.at_zero.items():
        print(f"{name:28s} at 0: {v:.4f}")

    os.makedirs(out_dir, exist_ok=True)
    fig = Figure(figsize=(12, 8), layout="constrained")
    plot(r, fig)
    path = os.path.join(out_dir, "05_losses.png")
    fig.savefig(path, dpi=100)
    return {"at_zero": r.at_zero, "figures": [path]}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="out", help="folder for the figures (default: out)")
    parser.add_argument("--quick", action="store_true", help="a smaller, faster run")
    args = parser.parse_args()
    main(args.out, args.quick)
