"""Section 4 of the course: the feed-forward pass in matrix form, with its shapes.

The course writes a dense network on a whole batch at once. With the inputs X (N x d) and a
leading column of ones, X~ = [1, X] (N x (d + 1)), each layer is one matrix product and an
activation: h = Phi1(X~ W1^T), then h~ = [1, h] and O = Phi2(h~ W2^T). Each W holds its
layer's bias in column 0. For the course's example (3 features, 5 hidden units, 4 outputs):
X~ is N x 4, W1 is 5 x 4, h is N x 5, h~ is N x 6, W2 is 4 x 6 and O is N x 4.
``jaxnn.nn.forward_matrix_form`` computes exactly this; ``jaxnn.nn.to_augmented`` turns an
MLP layer's ``{"w": [in, out], "b": [out]}`` into the course's W, so both agree.

Run: python examples/08_matrix_form.py [--out DIR] [--quick]      (needs: pip install "jaxnn[plot]")
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

from jaxnn import activations, nn


def main(out_dir: str = "out", quick: bool = False) -> dict:
    """Runs the course's 3-5-4 network in matrix form, prints every shape and draws the matrices.

    Args:
      out_dir: folder for the figure (created if needed).
      quick: accepted for symmetry with the other examples; this one is small already.

    Returns:
      ``{"shapes": {name: shape}, "max_diff", "figures"}``.
    """
    os.makedirs(out_dir, exist_ok=True)
    n = 6
    net = nn.MLP([5], 4, activation="tanh", output_activation="sigmoid")

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
        return {
            "X~ = [1, X]": x_bar, "W1": w1, "h = Phi1(X~ W1^T)": h, "h~ = [1, h]": h_bar, "W2": w2,
            "O = Phi2(h~ W2^T)": o,
            "forward_matrix_form": nn.forward_matrix_form(x, [w1, w2], ["tanh", "sigmoid"]),
            "MLP.apply": net.apply(params, x),
        }

    mats = forward(jax.random.key(0))
    order = ["X~ = [1, X]", "W1", "h = Phi1(X~ W1^T)", "h~ = [1, h]", "W2", "O = Phi2(h~ W2^T)"]
    for name in order:
        print(f"{name:20s} shape {tuple(mats[name].shape)}")
    max_diff = float(jnp.maximum(jnp.max(jnp.abs(mats["O = Phi2(h~ W2^T)"] - mats["MLP.apply"])),
                                 jnp.max(jnp.abs(mats["forward_matrix_form"] - mats["MLP.apply"]))))
    print(f"max |matrix form - MLP.apply| = {max_diff:.1e}")

    fig = Figure(figsize=(15, 3.6))
    axes = fig.subplots(1, len(order), gridspec_kw={"width_ratios": [mats[k].shape[1] for k in order]})
    for ax, name in zip(axes, order):
        m = np.asarray(mats[name])
        ax.imshow(m, cmap="coolwarm", vmin=-np.abs(m).max(), vmax=np.abs(m).max(), aspect="equal")
        for (r, c), v in np.ndenumerate(m):
            ax.text(c, r, f"{v:.2f}", ha="center", va="center", fontsize=5.5)
        ax.set_title(f"{name}\n{m.shape[0]} x {m.shape[1]}", fontsize=9)
        ax.set_xticks(range(m.shape[1]))
        ax.set_yticks(range(m.shape[0]))
        ax.tick_params(labelsize=6)
    fig.suptitle("The course's 3-5-4 network in matrix form (bias in column 0 of each W; N = 6 inputs)", fontsize=11)
    fig.tight_layout()
    path = os.path.join(out_dir, "08_matrix_form.png")
    fig.savefig(path, dpi=100)
    return {"shapes": {k: tuple(int(d) for d in mats[k].shape) for k in order}, "max_diff": max_diff, "figures": [path]}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="out", help="folder for the figures (default: out)")
    parser.add_argument("--quick", action="store_true", help="a smaller, faster run")
    args = parser.parse_args()
    main(args.out, args.quick)
