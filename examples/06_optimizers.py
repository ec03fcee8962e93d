"""Section 3 of the course: the optimizers racing on Rosenbrock's valley and on a small network.

Trajectories over the contours of Rosenbrock's function, and loss curves of a small network.

Every optimizer in ``jaxnn.optim`` is an ``optax.GradientTransformation``, so the same
``jaxnn.descent.minimize`` runs each of them on any function of any pytree: a point of the
plane, or all the weights of a network (then it is full-batch gradient descent on the
training loss). Rosenbrock's valley is found fast and followed slowly; momentum and the
adaptive methods (RMSProp, Adam) follow it much faster than plain gradient descent.

``compute`` does the work and returns a :class:`Result`; ``plot_rosenbrock`` and
``plot_network`` draw its two figures; ``main`` does both and writes the figures.

Run: python examples/06_optimizers.py [--out DIR] [--quick]      (needs: pip install "jaxnn[plot]")
"""

from __future__ import annotations

import argparse
import dataclasses
import os

import jax
import jax.numpy as jnp
import numpy as np

from jaxnn import datasets, descent, heads, nn, optim, testfunctions as tf

# Learning rates picked for each optimizer on Rosenbrock (plain GD diverges above ~2e-3).
ROSENBROCK = {
    "GD (sgd 1e-3)": optim.sgd(1e-3),
    "momentum 0.9": optim.momentum(1e-3, 0.9),
    "Nesterov 0.9": optim.momentum(1e-3, 0.9, nesterov=True),
    "Adagrad": optim.adagrad(0.3),
    "RMSProp": optim.rmsprop(1e-2),
    "Adadelta": optim.adadelta(1.0),
    "Adam": optim.adam(5e-2),
}
# The same optimizers on a network's training loss, each at a customary learning rate.
NETWORK = {
    "GD (sgd 0.1)": optim.sgd(0.1),
    "momentum 0.9": optim.momentum(0.1, 0.9),
    "Adagrad": optim.adagrad(0.1),
    "RMSProp": optim.rmsprop(1e-2),
    "Adadelta": optim.adadelta(1.0),
    "Adam": optim.adam(1e-2),
}


@dataclasses.dataclass(frozen=True)
class Result:
    """What :func:`compute` found.

    Attributes:
      x0: the start on Rosenbrock, ``[2]``.
      steps: the steps each optimizer took on Rosenbrock.
      rosenbrock_xs: each optimizer's trajectory, ``{name: [steps + 1, 2]}``, in the order of ``ROSENBROCK``.
      rosenbrock_values: f along it, ``{name: [steps + 1]}``.
      rosenbrock_diverged: whether the run diverged, ``{name: bool}``.
      rosenbrock_distance: the final distance to the minimum (1, 1), ``{name: float}``.
      network_values: the network's full-batch training loss per step, ``{name: [net_steps + 1]}``.
    """

    x0: np.ndarray
    steps: int
    rosenbrock_xs: dict[str, np.ndarray]
    rosenbrock_values: dict[str, np.ndarray]
    rosenbrock_diverged: dict[str, bool]
    rosenbrock_distance: dict[str, float]
    network_values: dict[str, np.ndarray]


def compute(quick: bool = False) -> Result:
    """Races the optimizers on Rosenbrock and on a 2-16-1 network learning two moons.

    Args:
      quick: fewer steps and fewer optimizers on the network.

    Returns:
      The :class:`Result`.
    """
    steps = 300 if quick else 2000
    x0 = jnp.array([-1.2, 1.0])  # the classic start
    # All the races in one compiled program (one compilation instead of one per optimizer).
    race = jax.jit(lambda x0: {name: descent.minimize(tf.rosenbrock, x0, opt, steps)
                               for name, opt in ROSENBROCK.items()})
    runs = race(x0)
    runs = {name: runs[name] for name in ROSENBROCK}  # jit returns dicts with sorted keys; keep our order
    target = jnp.asarray(tf.ROSENBROCK_MINIMUM, jnp.float32)

    # A small network: the full-batch training loss is a function of the params pytree.
    x, y = datasets.two_moons(jax.random.key(0), 200, noise=0.15)
    targets = y.astype(jnp.float32)[:, None]
    net, head = nn.MLP([16], 1, activation="tanh"), heads.binary()
    _, params = net.init(jax.random.key(1), (-1, 2))

    def training_loss(p):
        return jnp.mean(head.loss(net.apply(p, x), targets))

    chosen = {k: NETWORK[k] for k in ("GD (sgd 0.1)", "momentum 0.9", "Adam")} if quick else NETWORK
    net_steps = 200 if quick else 1000
    net_runs = jax.jit(lambda p: {name: descent.minimize(training_loss, p, opt, net_steps)
                                  for name, opt in chosen.items()})(params)
    return Result(
        x0=np.asarray(x0), steps=steps,
        rosenbrock_xs={name: np.asarray(r.xs) for name, r in runs.items()},
        rosenbrock_values={name: np.asarray(r.values) for name, r in runs.items()},
        rosenbrock_diverged={name: bool(r.diverged) for name, r in runs.items()},
        rosenbrock_distance={name: float(jnp.linalg.norm(r.x - target)) for name, r in runs.items()},
        network_values={name: np.asarray(net_runs[name].values) for name in chosen},
    )


def plot_rosenbrock(result: Result, fig) -> None:
    """Draws the trajectories over Rosenbrock's contours and f along the way into ``fig`` (two axes)."""
    ax, ax2 = fig.subplots(1, 2)
    g1, g2 = np.meshgrid(np.linspace(-2, 2, 201), np.linspace(-1, 3, 201))
    ax.contour(g1, g2, 100 * (g2 - g1**2) ** 2 + (1 - g1) ** 2, levels=np.geomspace(0.3, 2500, 16),
               colors="0.75", linewidths=0.7)
    for name, xs in result.rosenbrock_xs.items():
        ax.plot(*xs.T, lw=1.2, label=name)
        ax2.semilogy(np.maximum(result.rosenbrock_values[name], 1e-14), lw=1.2, label=name)
    ax.plot(*result.x0, "ko", ms=5)
    ax.plot(1, 1, "k*", ms=14)
    ax.set(xlim=(-2, 2), ylim=(-1, 3), xlabel="x", ylabel="y",
           title=f"Rosenbrock: {result.steps} steps from (-1.2, 1)")
    ax.legend(fontsize=8, loc="upper right")
    ax2.set(xlabel="step", ylabel="f (log scale)", title="f along the way")


def plot_network(result: Result, fig) -> None:
    """Draws the network's training loss under each optimizer into ``fig`` (one axes)."""
    ax = fig.subplots()
    for name, values in result.network_values.items():
        ax.semilogy(values, label=name)
    ax.set(xlabel="full-batch step", ylabel="training loss (BCE)",
           title="The same optimizers training a 2-16-1 tanh net on two moons")
    ax.title.set_fontsize(10)
    ax.legend(fontsize=8)


# Each figure main writes: file name, size (inches) and what draws it.
FIGURES = {
    "06_optimizers_rosenbrock.png": ((13, 5), plot_rosenbrock),
    "06_optimizers_network.png": ((7, 4.5), plot_network),
}


def main(out_dir: str = "out", quick: bool = False) -> dict:
    """Races the optimizers on Rosenbrock and on a 2-16-1 network learning two moons.

    Args:
      out_dir: folder for the figures (created if needed).
      quick: fewer steps and fewer optimizers on the network.

    Returns:
      ``{"rosenbrock_distance": {name: |x - (1, 1)|}, "network_loss": {name: final loss}, "figures"}``.
    """
    try:
        from matplotlib.figure import Figure
    except ImportError as err:  # pragma: no cover
        raise SystemExit("this example draws figures with matplotlib: pip install 'jaxnn[plot]'") from err
    r = compute(quick)
    for name, d in r.rosenbrock_distance.items():
        print(f"Rosenbrock, {name:14s}: f = {r.rosenbrock_values[name][-1]:.2e}, |x - (1, 1)| = {d:.3g}"
              + ("  (diverged)" if r.rosenbrock_diverged[name] else ""))
    network_loss = {name: float(v[-1]) for name, v in r.network_values.items()}
    for name, v in r.network_values.items():
        print(f"2-16-1 network, {name:14s}: loss {v[0]:.3f} -> {v[-1]:.4f}")

    os.makedirs(out_dir, exist_ok=True)
    figures = []
    for name, (size, draw) in FIGURES.items():
        fig = Figure(figsize=size, layout="constrained")
        draw(r, fig)
        figures.append(os.path.join(out_dir, name))
        fig.savefig(figures[-1], dpi=100)
    return {"rosenbrock_distance": r.rosenbrock_distance, "network_loss": network_loss, "figures": figures}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="out", help="folder for the figures (default: out)")
    parser.add_argument("--quick", action="store_true", help="a smaller, faster run")
    args = parser.parse_args()
    main(args.out, args.quick)
