"""Section 3 of the course: the loss functions side by side, each against the margin or the error, with its gradient.

Classification losses are functions of the margin m = y f(x) (labels y in {-1, +1}, score
f): the 0/1 loss counts mistakes but has no useful gradient; the perceptron loss
max(0, -m) is zero for every right answer; the hinge max(0, 1 - m) also pushes right answers
of low confidence; the logistic loss (binary cross-entropy of the sigmoid, computed from the
logit by ``binary_cross_entropy_with_logits``) is smooth everywhere. Regression losses are
functions of the error r = f(x) - y: squared (MSE), absolute (MAE), Huber and log-cosh.
The lower row plots each loss's derivative, taken with ``jax.grad`` (vmapped over the grid).

Run: python examples/05_losses.py [--out DIR] [--quick]      (needs: pip install "jaxnn[plot]")
"""

from __future__ import annotations

import argparse
import os

import jax
import jax.numpy as jnp

try:
    from matplotlib.figure import Figure
except ImportError as err:  # pragma: no cover
    raise SystemExit("this example draws figures with matplotlib: pip install 'jaxnn[plot]'") from err

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


def main(out_dir: str = "out", quick: bool = False) -> dict:
    """Plots the course's losses and their derivatives.

    Args:
      out_dir: folder for the figure (created if needed).
      quick: a coarser grid.

    Returns:
      ``{"at_zero": {loss: value at margin or error 0}, "figures"}``.
    """
    os.makedirs(out_dir, exist_ok=True)
    grid = jnp.linspace(-3.0, 3.0, 121 if quick else 601)
    fig = Figure(figsize=(12, 8))
    (ax_c, ax_r), (ax_cg, ax_rg) = fig.subplots(2, 2)
    # Every loss and its derivative on the grid, in one compiled call.
    curves = jax.jit(lambda g: {
        name: (jax.vmap(fn)(g), jax.vmap(jax.grad(fn))(g), fn(jnp.zeros(())))
        for name, fn in {**CLASSIFICATION, **REGRESSION}.items()
    })(grid)
    at_zero = {}
    for (ax, ax_g, table, xlabel) in [
        (ax_c, ax_cg, CLASSIFICATION, "margin m = y f(x)"),
        (ax_r, ax_rg, REGRESSION, "error r = f(x) - y"),
    ]:
        for name in table:
            values, slopes, zero = curves[name]
            at_zero[name] = float(zero)
            ax.plot(grid, values, label=name)
            ax_g.plot(grid, slopes, label=name)
        ax.set(xlabel=xlabel, ylabel="loss", ylim=(-0.1, 4.0))
        ax_g.set(xlabel=xlabel, ylabel="d loss / d f (jax.grad)")
        ax.legend(fontsize=9)
        ax_g.axhline(0, color="k", lw=0.5)
    ax_c.set_title("Classification losses against the margin")
    ax_r.set_title("Regression losses against the error")
    ax_cg.set_title("Gradients: none from 0/1; none from the perceptron once right")
    ax_cg.set_ylim(-3.2, 0.4)  # the squared hinge goes on to -8
    ax_rg.set_title("Gradients: bounded for MAE, Huber, log-cosh (robust)")
    fig.tight_layout()
    path = os.path.join(out_dir, "05_losses.png")
    fig.savefig(path, dpi=100)
    for name, v in at_zero.items():
        print(f"{name:28s} at 0: {v:.4f}")
    return {"at_zero": at_zero, "figures": [path]}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="out", help="folder for the figures (default: out)")
    parser.add_argument("--quick", action="store_true", help="a smaller, faster run")
    args = parser.parse_args()
    main(args.out, args.quick)
