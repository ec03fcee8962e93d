"""Section 3 of the course: backpropagation by hand for the course's small network, printed next to ``jax.grad``.

The course's network: inputs (x1, x2), one tanh hidden unit g, one sigmoid output f, and the
error e = (y - f)^2 / 2. The chain rule gives its five partial derivatives
(``jaxnn.backprop.course_gradients``); ``jax.grad`` of the error gives the same numbers by
automatic differentiation. ``jaxnn.backprop.backprop`` does the same by hand for any dense
network (deltas running backwards through the layers), checked here against ``jax.grad`` for
each loss it supports. Finally the course's network is trained by stochastic gradient
descent with its hand-written update ``course_gd_step``.

``compute`` does the work and returns a :class:`Result`; ``plot`` draws it; ``main`` does both
and writes the figure.

Run: python examples/07_backprop.py [--out DIR] [--quick]      (needs: pip install "jaxnn[plot]")
"""

from __future__ import annotations

import argparse
import dataclasses
import os

import jax
import jax.numpy as jnp
import numpy as np

from jaxnn import backprop as bp
from jaxnn import datasets, losses, nn


@dataclasses.dataclass(frozen=True)
class Result:
    """What :func:`compute` found.

    Attributes:
      forward: the course network's forward pass at the example point, ``{"z_g", "g", "z_f", "f"}``.
      hand: its five partial derivatives by the chain rule, ``{weight name: value}``.
      auto: the same by ``jax.grad``.
      course_max_diff: max |hand - auto|.
      mlp_max_diff: max |manual backprop - jax.grad| over a 4-8-8-3 MLP's gradients, ``{loss: value}``.
      mlp_examples: the batch size of that comparison.
      errors: the course network's mean error after each SGD epoch, ``[epochs]``.
      accuracy: its training accuracy at the end.
    """

    forward: dict[str, float]
    hand: dict[str, float]
    auto: dict[str, float]
    course_max_diff: float
    mlp_max_diff: dict[str, float]
    mlp_examples: int
    errors: np.ndarray
    accuracy: float


def _mlp_gradient_differences(net: nn.MLP, batch: int) -> dict[str, float]:
    """Manual backprop against ``jax.grad`` on random data, for each loss ``backprop`` supports."""

    @jax.jit
    def make_problem(key):  # one compiled call draws every random array
        k_init, k_x, k_r, k_b, k_c = jax.random.split(key, 5)
        _, params = net.init(k_init, (-1, 4))
        regression = jax.random.normal(k_r, (batch, 3))
        return params, jax.random.normal(k_x, (batch, 4)), {
            "half_squared_error": regression,
            "mse": regression,
            "binary_cross_entropy_with_logits": jax.random.bernoulli(k_b, 0.5, (batch, 3)).astype(jnp.float32),
            "categorical_cross_entropy_with_logits": jax.random.randint(k_c, (batch,), 0, 3),
        }

    params, xb, targets = make_problem(jax.random.key(1))
    by_autodiff = {
        "half_squared_error": lambda p, x, t: jnp.sum((t - net.apply(p, x)) ** 2) / (2 * x.shape[0]),
        "mse": lambda p, x, t: losses.mean_squared_error(net.apply(p, x), t, reduction="mean"),
        "binary_cross_entropy_with_logits": lambda p, x, t: losses.binary_cross_entropy_with_logits(
            net.apply(p, x), t, reduction="mean"),
        "categorical_cross_entropy_with_logits": lambda p, x, t: losses.categorical_cross_entropy_with_logits(
            net.apply(p, x), t, reduction="mean"),
    }

    @jax.jit
    def compare(params, xb, targets):
        diffs = {}
        for name, t in targets.items():
            _, g_hand = bp.backprop(params, xb, t, activation="tanh", loss=name)
            g_auto = jax.grad(by_autodiff[name])(params, xb, t)
            diffs[name] = jnp.max(jnp.stack([jnp.max(jnp.abs(a - b)) for a, b in
                                             zip(jax.tree.leaves(g_hand), jax.tree.leaves(g_auto))]))
        return diffs

    diffs = compare(params, xb, targets)
    return {name: float(diffs[name]) for name in by_autodiff}


def _train_course_network(epochs: int) -> tuple[np.ndarray, float]:
    """Trains the course's network one example at a time with the hand-written update."""
    data_x, labels, _ = datasets.linearly_separable(jax.random.key(5), 64, dim=2, margin=0.1)
    data_y = (labels > 0).astype(jnp.float32)  # the sigmoid output learns {0, 1} targets

    @jax.jit
    def train(w):
        def sample(w, xy):
            return bp.course_gd_step(w, xy[0], xy[1], 0.5), None

        def epoch(w, _):
            w, _ = jax.lax.scan(sample, w, (data_x, data_y))
            mean_error = jnp.mean(jax.vmap(bp.course_error, (None, 0, 0))(w, data_x, data_y))
            return w, mean_error

        w, errors = jax.lax.scan(epoch, w, None, length=epochs)
        outputs = jax.vmap(lambda xi: bp.course_forward(w, xi).f)(data_x)
        return errors, jnp.mean((outputs >= 0.5) == (data_y > 0.5))

    start = bp.CourseWeights(*(jnp.float32(v) for v in (0.0, 0.1, 0.0, 0.1, -0.1)))
    errors, accuracy = train(start)
    return np.asarray(errors), float(accuracy)


def compute(quick: bool = False) -> Result:
    """Compares hand-derived gradients with ``jax.grad`` and trains the course's network by SGD.

    Args:
      quick: fewer training epochs.

    Returns:
      The :class:`Result`.
    """
    w = bp.CourseWeights(w_gf0=0.3, w_gf1=-0.8, w_xg0=0.1, w_xg1=0.5, w_xg2=-0.4)
    x, y = jnp.array([1.0, 2.0]), jnp.array(1.0)
    fwd = jax.jit(bp.course_forward)(w, x)
    hand = jax.jit(bp.course_gradients)(w, x, y)
    auto = jax.jit(jax.grad(bp.course_error))(w, x, y)
    batch = 32
    # Any dense network: manual backprop against jax.grad, for each supported loss.
    mlp_diff = _mlp_gradient_differences(nn.MLP([8, 8], 3, activation="tanh"), batch)
    errors, accuracy = _train_course_network(20 if quick else 60)
    return Result(
        forward={k: float(getattr(fwd, k)) for k in ("z_g", "g", "z_f", "f")},
        hand={k: float(v) for k, v in zip(bp.CourseWeights._fields, hand)},
        auto={k: float(v) for k, v in zip(bp.CourseWeights._fields, auto)},
        course_max_diff=max(abs(float(h) - float(a)) for h, a in zip(hand, auto)),
        mlp_max_diff=mlp_diff, mlp_examples=batch, errors=errors, accuracy=accuracy,
    )


def plot(result: Result, fig) -> None:
    """Draws the five partial derivatives (by hand and by ``jax.grad``) and the SGD errors into ``fig``.

    Args:
      result: from :func:`compute`.
      fig: an empty ``matplotlib.figure.Figure`` or ``SubFigure``; two axes are added to it.
    """
    ax, ax2 = fig.subplots(1, 2)
    pos = np.arange(len(result.hand))
    ax.bar(pos - 0.2, list(result.hand.values()), 0.4, label="by hand (chain rule)")
    ax.bar(pos + 0.2, list(result.auto.values()), 0.4, label="jax.grad")
    ax.set_xticks(pos, [f"$\\partial e/\\partial {n[0]}_{{{n[2:]}}}$" for n in result.hand])
    ax.axhline(0, color="k", lw=0.5)
    ax.set(title=f"The course's five partial derivatives (max difference {result.course_max_diff:.0e})",
           ylabel="value")
    ax.title.set_fontsize(10)
    ax.legend(fontsize=9)
    ax2.plot(np.arange(1, len(result.errors) + 1), result.errors, "o-", ms=3)
    ax2.set(xlabel="epoch", ylabel="mean error (y - f)$^2$ / 2",
            title=f"SGD with the hand-written update: {result.accuracy:.0%} right")
    ax2.title.set_fontsize(10)


def main(out_dir: str = "out", quick: bool = False) -> dict:
    """Compares hand-derived gradients with ``jax.grad`` and trains the course's network by SGD.

    Args:
      out_dir: folder for the figure (created if needed).
      quick: fewer training epochs.

    Returns:
      ``{"course_max_diff", "mlp_max_diff": {loss: diff}, "final_error", "accuracy", "figures"}``.
    """
    try:
        from matplotlib.figure import Figure
    except ImportError as err:  # pragma: no cover
        raise SystemExit("this example draws figures with matplotlib: pip install 'jaxnn[plot]'") from err
    r = compute(quick)
    f = r.forward
    print(f"forward: z_g={f['z_g']:.4f}  g=tanh(z_g)={f['g']:.4f}  z_f={f['z_f']:.4f}  f=S(z_f)={f['f']:.4f}")
    print(f"{'weight':8s} {'by hand':>12s} {'jax.grad':>12s} {'difference':>11s}")
    for name, h in r.hand.items():
        a = r.auto[name]
        print(f"{name:8s} {h:12.8f} {a:12.8f} {abs(h - a):11.1e}")
    for name, d in r.mlp_max_diff.items():
        print(f"4-8-8-3 tanh MLP, {name:38s}: max |backprop - jax.grad| = {d:.1e}")
    print(f"course network trained by SGD with course_gd_step: mean error {r.errors[0]:.4f} -> "
          f"{r.errors[-1]:.4f}, accuracy {r.accuracy:.0%}")

    os.makedirs(out_dir, exist_ok=True)
    fig = Figure(figsize=(12, 4.2), layout="constrained")
    plot(r, fig)
    path = os.path.join(out_dir, "07_backprop.png")
    fig.savefig(path, dpi=100)
    return {"course_max_diff": r.course_max_diff, "mlp_max_diff": r.mlp_max_diff, "final_error": float(r.errors[-1]),
            "accuracy": r.accuracy, "figures": [path]}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="out", help="folder for the figures (default: out)")
    parser.add_argument("--quick", action="store_true", help="a smaller, faster run")
    args = parser.parse_args()
    main(args.out, args.quick)
