"""Section 2 of the course: combining perceptrons. A linear hidden layer still fails on XOR; a nonlinear one solves it.

A hidden layer without activation computes an affine map of an affine map, which is one
affine map: ``jaxnn.combining.collapse_linear`` computes the single equivalent layer, so the
network is one perceptron in disguise and its decision region is a half-plane. Trained by
least squares on XOR, its best fit is the constant 0. With ``sign`` hidden units (OR and
NOT AND, set by hand) or ``tanh`` units trained by gradient descent, XOR is solved.

``compute`` does the work and returns a :class:`Result`; ``plot`` draws it; ``main`` does both
and writes the figure.

Run: python examples/03_combining.py [--out DIR] [--quick]      (needs: pip install "jaxnn[plot]")
"""

from __future__ import annotations

import argparse
import dataclasses
import os

import jax
import jax.numpy as jnp
import numpy as np

from jaxnn import combining, datasets, heads, nn, optim, train


@dataclasses.dataclass(frozen=True)
class Result:
    """What :func:`compute` found.

    Attributes:
      x: the four XOR points, ``[4, 2]``.
      y: their labels in {-1, +1}, ``[4]``.
      linear_accuracy: accuracy of the 2-2-1 network with a linear hidden layer.
      collapse_error: max difference between that network and its one-layer equivalent.
      one_layer_w: the equivalent layer's weights, ``[2]``.
      one_layer_b: its bias, ``[1]``.
      sign_accuracy: accuracy of the hand-set sign network.
      tanh_accuracy: accuracy of the trained 2-4-1 tanh network.
      tanh_losses: the tanh network's loss per gradient-descent step, ``[steps]``.
      grid: the coordinates of the plane's grid, ``[g]`` along each axis.
      regions: the sign of each network's output on the grid, ``{title: [g, g]}`` in {-1, +1}.
    """

    x: np.ndarray
    y: np.ndarray
    linear_accuracy: float
    collapse_error: float
    one_layer_w: np.ndarray
    one_layer_b: np.ndarray
    sign_accuracy: float
    tanh_accuracy: float
    tanh_losses: np.ndarray
    grid: np.ndarray
    regions: dict[str, np.ndarray]


def _accuracy(outputs: jax.Array, y: jax.Array) -> float:
    return float(jnp.mean(jnp.where(outputs[:, 0] >= 0, 1, -1) == y))


def compute(quick: bool = False) -> Result:
    """Trains a linear and a tanh hidden layer on XOR and evaluates three networks over the plane.

    Args:
      quick: fewer training steps.

    Returns:
      The :class:`Result`.
    """
    steps = 300 if quick else 1000
    x, y = datasets.xor()
    targets = y.astype(jnp.float32)[:, None]  # the +-1 labels as regression targets, [4, 1]

    # 1. Two hidden units with no activation, trained by gradient descent on the squared error.
    linear = nn.MLP([2], 1, activation="identity")
    _, params = linear.init(jax.random.key(0), (-1, 2))
    fitted = train.fit(params, train.Supervised(linear.apply, heads.regression()), x, targets,
                       optimizer=optim.sgd(0.1), key=jax.random.key(1), epochs=steps)
    one_layer = combining.collapse_linear(fitted.params)  # {"w": [2, 1], "b": [1]}
    collapse_error = float(jnp.max(jnp.abs(linear.apply(fitted.params, x) - (x @ one_layer["w"] + one_layer["b"]))))
    linear_acc = _accuracy(linear.apply(fitted.params, x), y)

    # 2. Hand-set sign units: h1 = OR, h2 = AND, output = h1 AND NOT h2.
    sign_net, sign_params = combining.xor_sign_network()
    sign_acc = _accuracy(sign_net.apply(sign_params, x), y)

    # 3. Four tanh units trained by gradient descent on the course's squared error.
    tanh_params, tanh_losses = combining.train_xor_tanh(jax.random.key(2), hidden_size=4, steps=steps)
    tanh_net = nn.MLP([4], 1, activation="tanh")
    tanh_acc = _accuracy(tanh_net.apply(tanh_params, x), y)

    g = np.linspace(-2, 2, 161)
    gx, gy = np.meshgrid(g, g)
    points = jnp.asarray(np.c_[gx.ravel(), gy.ravel()], jnp.float32)
    # The three networks on a grid of the plane, in one compiled call.
    outputs = jax.jit(lambda p: (linear.apply(fitted.params, p), sign_net.apply(sign_params, p),
                                 tanh_net.apply(tanh_params, p)))(points)
    titles = [f"linear hidden layer: a half-plane ({linear_acc:.0%})",
              f"sign hidden units, set by hand ({sign_acc:.0%})",
              f"tanh hidden units, trained ({tanh_acc:.0%})"]
    regions = {t: np.where(np.asarray(out)[:, 0] >= 0, 1.0, -1.0).reshape(gx.shape) for t, out in zip(titles, outputs)}
    return Result(x=np.asarray(x), y=np.asarray(y), linear_accuracy=linear_acc, collapse_error=collapse_error,
                  one_layer_w=np.asarray(one_layer["w"][:, 0]), one_layer_b=np.asarray(one_layer["b"]),
                  sign_accuracy=sign_acc, tanh_accuracy=tanh_acc, tanh_losses=np.asarray(tanh_losses), grid=g,
                  regions=regions)


def plot(result: Result, fig) -> None:
    """Draws the decision regions of the three networks and the tanh network's loss into ``fig``.

    Args:
      result: from :func:`compute`.
      fig: an empty ``matplotlib.figure.Figure`` or ``SubFigure``; four axes are added to it.
    """
    axes = fig.subplots(1, 4)
    xa, ya = result.x, result.y
    for ax, (title, region) in zip(axes, result.regions.items()):
        ax.contourf(result.grid, result.grid, region, levels=[-2, 0, 2], colors=["#f6c1c1", "#c1d8f6"])
        ax.scatter(*xa[ya > 0].T, s=110, marker="o", color="C0")
        ax.scatter(*xa[ya < 0].T, s=110, marker="x", color="C3")
        ax.set(title=title, xlabel="$x_1$", ylabel="$x_2$")
        ax.title.set_fontsize(10)
    axes[3].semilogy(result.tanh_losses)
    axes[3].set(title="tanh network: loss per GD step", xlabel="step", ylabel="squared error / 2")
    axes[3].title.set_fontsize(10)


def main(out_dir: str = "out", quick: bool = False) -> dict:
    """Trains a linear and a tanh hidden layer on XOR and draws the decision regions of three networks.

    Args:
      out_dir: folder for the figure (created if needed).
      quick: fewer training steps.

    Returns:
      ``{"linear_accuracy", "collapse_error", "sign_accuracy", "tanh_accuracy", "figures"}``.
    """
    try:
        from matplotlib.figure import Figure
    except ImportError as err:  # pragma: no cover
        raise SystemExit("this example draws figures with matplotlib: pip install 'jaxnn[plot]'") from err
    r = compute(quick)
    print(f"linear hidden layer: accuracy {r.linear_accuracy:.0%}; it equals one layer w={r.one_layer_w}, "
          f"b={r.one_layer_b} (max difference {r.collapse_error:.1e})")
    print(f"sign units (by hand): accuracy {r.sign_accuracy:.0%}; tanh units (trained): accuracy "
          f"{r.tanh_accuracy:.0%}, loss {r.tanh_losses[0]:.3f} -> {r.tanh_losses[-1]:.5f}")

    os.makedirs(out_dir, exist_ok=True)
    fig = Figure(figsize=(16, 4.2), layout="constrained")
    plot(r, fig)
    path = os.path.join(out_dir, "03_combining.png")
    fig.savefig(path, dpi=100)
    return {"linear_accuracy": r.linear_accuracy, "collapse_error": r.collapse_error,
            "sign_accuracy": r.sign_accuracy, "tanh_accuracy": r.tanh_accuracy, "figures": [path]}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="out", help="folder for the figures (default: out)")
    parser.add_argument("--quick", action="store_true", help="a smaller, faster run")
    args = parser.parse_args()
    main(args.out, args.quick)
