"""Section 3 of the course: the optimizers racing on Rosenbrock's valley and on a small network.

Trajectories over the contours of Rosenbrock's function, and loss curves of a small network.

Every optimizer in ``jaxnn.optim`` is an ``optax.GradientTransformation``, so the same
``jaxnn.descent.minimize`` runs each of them on any function of any pytree: a point of the
plane, or all the weights of a network (then it is full-batch gradient descent on the
training loss). Rosenbrock's valley is found fast and followed slowly; momentum and the
adaptive methods (RMSProp, Adam) follow it much faster than plain gradient descent.

Run: python examples/06_optimizers.py [--out DIR] [--quick]      (needs: pip install "jaxnn[plot]")
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


def main(out_dir: str = "out", quick: bool = False) -> dict:
    """Races the optimizers on Rosenbrock and on a 2-16-1 network learning two moons.

    Args:
      out_dir: folder for the figures (created if needed).
      quick: fewer steps and fewer optimizers on the network.

    Returns:
      ``{"rosenbrock_distance": {name: |x - (1, 1)|}, "network_loss": {name: final loss}, "figures"}``.
    """
    os.makedirs(out_dir, exist_ok=True)
    figures = []
    steps = 300 if quick else 2000
    x0 = jnp.array([-1.2, 1.0])  # the classic start
    # All the races in one compiled program (one compilation instead of one per optimizer).
    race = jax.jit(lambda x0: {name: descent.minimize(tf.rosenbrock, x0, opt, steps)
                               for name, opt in ROSENBROCK.items()})
    runs = race(x0)
    runs = {name: runs[name] for name in ROSENBROCK}  # jit returns dicts with sorted keys; keep our order
    target = jnp.asarray(tf.ROSENBROCK_MINIMUM, jnp.float32)
    distance = {name: float(jnp.linalg.norm(r.x - target)) for name, r in runs.items()}
    for name, r in runs.items():
        print(f"Rosenbrock, {name:14s}: f = {float(r.values[-1]):.2e}, |x - (1, 1)| = {distance[name]:.3g}"
              + ("  (diverged)" if bool(r.diverged) else ""))

    fig = Figure(figsize=(13, 5))
    ax, ax2 = fig.subplots(1, 2)
    g1, g2 = np.meshgrid(np.linspace(-2, 2, 201), np.linspace(-1, 3, 201))
    ax.contour(g1, g2, 100 * (g2 - g1**2) ** 2 + (1 - g1) ** 2, levels=np.geomspace(0.3, 2500, 16),
               colors="0.75", linewidths=0.7)
    for name, r in runs.items():
        ax.plot(*np.asarray(r.xs).T, lw=1.2, label=name)
        ax2.semilogy(np.maximum(np.asarray(r.values), 1e-14), lw=1.2, label=name)
    ax.plot(*x0, "ko", ms=5)
    ax.plot(1, 1, "k*", ms=14)
    ax.set(xlim=(-2, 2), ylim=(-1, 3), xlabel="x", ylabel="y", title=f"Rosenbrock: {steps} steps from (-1.2, 1)")
    ax.legend(fontsize=8, loc="upper right")
    ax2.set(xlabel="step", ylabel="f (log scale)", title="f along the way")
    fig.tight_layout()
    figures.append(os.path.join(out_dir, "06_optimizers_rosenbrock.png"))
    fig.savefig(figures[-1], dpi=100)

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
    net_runs = {name: net_runs[name] for name in chosen}
    network_loss = {name: float(r.values[-1]) for name, r in net_runs.items()}
    for name, v in network_loss.items():
        print(f"2-16-1 network, {name:14s}: loss {float(net_runs[name].values[0]):.3f} -> {v:.4f}")
    fig = Figure(figsize=(7, 4.5))
    ax = fig.subplots()
    for name, r in net_runs.items():
        ax.semilogy(np.asarray(r.values), label=name)
    ax.set(xlabel="full-batch step", ylabel="training loss (BCE)",
           title="The same optimizers training a 2-16-1 tanh net on two moons")
    ax.title.set_fontsize(10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    figures.append(os.path.join(out_dir, "06_optimizers_network.png"))
    fig.savefig(figures[-1], dpi=100)
    return {"rosenbrock_distance": distance, "network_loss": network_loss, "figures": figures}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="out", help="folder for the figures (default: out)")
    parser.add_argument("--quick", action="store_true", help="a smaller, faster run")
    args = parser.parse_args()
    main(args.out, args.quick)
