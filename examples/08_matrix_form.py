"""Section 4 of the course: the feed-forward pass in matrix form, with its shapes.

The course writes a dense network on a whole batch at once. With the inputs X (N x d) and a
leading column of ones, X~ = [1, X] (N x (d + 1)), each layer is one matrix product and an
activation: h = Phi1(X~ W1^T), then h~ = [1, h] and O = Phi2(h~ W2^T). Each W holds its
layer's bias in column 0. For the course's example (3 features, 5 hidden units, 4 outputs):
X~ is N x 4, W1 is 5 x 4, h is N x 5, h~ is N x 6, W2 is 4 x 6 and O is N x 4.
``jaxnn.nn.forward_matrix_form`` computes exactly this; ``jaxnn.nn.to_augmented`` turns an
MLP layer's ``{"w": [in, out], "b": [out]}`` into the course's W, so both agree.

``compute`` does the work and returns a :class:`Result`; ``plot`` draws it; ``main`` does both
and writes the figure.

Run: python examples/08_matrix_form.py [--out DIR] [--quick]      (needs: pip install "jaxnn[plot]")
"""

from __future__ import annotations

import argparse
import dataclasses
import os

import jax
import jax.numpy as jnp
import numpy as np

from jaxnn import activations, init, nn

ORDER = ("X~ = [1, X]", "W1", "h = Phi1(X~ W1^T)", "h~ = [1, h]", "W2", "O = Phi2(h~ W2^T)")


@dataclasses.dataclass(frozen=True)
class Result:
    """What :func:`compute` found.

    Attributes:
      matrices: every matrix of the matrix form, ``{name: array}`` in the order of ``ORDER``.
      max_diff: max |matrix form - MLP.apply| (for both the hand-written products and
        ``forward_matrix_form``).
    """

    matrices: dict[str, np.ndarray]
    max_diff: float


def compute(quick: bool = False) -> Result:
    """Runs the course's 3-5-4 network in matrix form on 6 random inputs.

    Args:
      quick: accepted for symmetry with the other examples; this one is small already.

    Returns:
      The :class:`Result`.
    """
    n = 6
    # Random biases (an MLP starts them at zero), so that column 0 of each W, the bias, is
    # checked against net.apply as well.
    net = nn.MLP([5], 4, activation="tanh", output_activation="sigmoid", b_init=init.normal(0.5))

    @jax.jit
    def forward(key):
        k_init, k_x = jax.random.split(key)
        _, params = net.init(k_init, (-1, 3))
        x = jax.random.normal(k_x, (n, 3))
        w1, w2 = (nn.to_augmented(layer) for layer in params)  # [5, 4] and [4, 6]
        x_bar = nn.add_bias_column(x)  # [N, 4]
        h = activations.tanh(x_bar @ w1.T)  # [N, 5]
        h_bar = nn.add_bias_column(h)  # [N, 6]
        o = activations.sigmoid(h_bar @ w2.T)  # [N, 4]
        mats = dict(zip(ORDER, (x_bar, w1, h, h_bar, w2, o)))
        reference = net.apply(params, x)
        max_diff = jnp.maximum(jnp.max(jnp.abs(o - reference)),
                               jnp.max(jnp.abs(nn.forward_matrix_form(x, [w1, w2], ["tanh", "sigmoid"]) - reference)))
        return mats, max_diff

    mats, max_diff = forward(jax.random.key(0))
    return Result(matrices={k: np.asarray(mats[k]) for k in ORDER}, max_diff=float(max_diff))


def plot(result: Result, fig) -> None:
    """Draws every matrix as a heat map with its values and shape into ``fig``.

    Args:
      result: from :func:`compute`.
      fig: an empty ``matplotlib.figure.Figure`` or ``SubFigure``; one axes per matrix is added to it.
    """
    mats = result.matrices
    axes = fig.subplots(1, len(mats), gridspec_kw={"width_ratios": [m.shape[1] for m in mats.values()]})
    for ax, (name, m) in zip(axes, mats.items()):
        ax.imshow(m, cmap="coolwarm", vmin=-np.abs(m).max(), vmax=np.abs(m).max(), aspect="equal")
        for (r, c), v in np.ndenumerate(m):
            ax.text(c, r, f"{v:.2f}", ha="center", va="center", fontsize=5.5)
        ax.set_title(f"{name}\n{m.shape[0]} x {m.shape[1]}", fontsize=9)
        ax.set_xticks(range(m.shape[1]))
        ax.set_yticks(range(m.shape[0]))
        ax.tick_params(labelsize=6)
    n = mats[ORDER[0]].shape[0]
    fig.suptitle(f"The course's 3-5-4 network in matrix form (bias in column 0 of each W; N = {n} inputs)",
                 fontsize=11)


def main(out_dir: str = "out", quick: bool = False) -> dict:
    """Runs the course's 3-5-4 network in matrix form, prints every shape and draws the matrices.

    Args:
      out_dir: folder for the figure (created if needed).
      quick: accepted for symmetry with the other examples; this one is small already.

    Returns:
      ``{"shapes": {name: shape}, "max_diff", "figures"}``.
    """
    try:
        from matplotlib.figure import Figure
    except ImportError as err:  # pragma: no cover
        raise SystemExit("this example draws figures with matplotlib: pip install 'jaxnn[plot]'") from err
    r = compute(quick)
    shapes = {k: tuple(int(d) for d in m.shape) for k, m in r.matrices.items()}
    for name, shape in shapes.items():
        print(f"{name:20s} shape {shape}")
    print(f"max |matrix form - MLP.apply| = {r.max_diff:.1e}")

    os.makedirs(out_dir, exist_ok=True)
    fig = Figure(figsize=(15, 3.6), layout="constrained")
    plot(r, fig)
    path = os.path.join(out_dir, "08_matrix_form.png")
    fig.savefig(path, dpi=100)
    return {"shapes": shapes, "max_diff": r.max_diff, "figures": [path]}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="out", help="folder for the figures (default: out)")
    parser.add_argument("--quick", action="store_true", help="a smaller, faster run")
    args = parser.parse_args()
    main(args.out, args.quick)
