"""Section 3 of the course: gradient descent in 1-D and 2-D. eta too small, right, too large; the local-minimum trap.

``jaxnn.descent.minimize`` runs x_{n+1} = x_n - eta f'(x_n) (with ``jaxnn.optim.sgd(eta)``)
as one compiled ``lax.scan`` and returns the whole trajectory; ``sweep_learning_rates`` runs
several learning rates in one vmapped call. On the quadratic f(x) = L x^2 / 2 each step
multiplies x by (1 - eta L): slow for small eta, one step at eta = 1 / L, oscillating for
1 / L < eta < 2 / L, and diverging beyond 2 / L. Divergence is reported (``diverged``,
``diverged_at``), never returned as NaNs. On the double well f(x) = x^4 - 3x^2 + x the start
decides which minimum gradient descent finds.

``compute`` does the work and returns a :class:`Result`; ``plot_1d``, ``plot_2d`` and
``plot_local_minimum`` draw its three figures; ``main`` does both and writes the figures.

Run: python examples/04_gradient_descent.py [--out DIR] [--quick]      (needs: pip install "jaxnn[plot]")
"""

from __future__ import annotations

import argparse
import dataclasses
import os

import jax
import jax.numpy as jnp
import numpy as np

from jaxnn import descent, optim, testfunctions as tf

LABELS = ("too small", "right", "too large")


@dataclasses.dataclass(frozen=True)
class Result:
    """What :func:`compute` found.

    Attributes:
      etas_1d: the three learning rates on f(x) = x^2, ``[3]``.
      xs_1d: their iterates, ``[3, steps + 1]``.
      values_1d: f along the way, ``[3, steps + 1]``.
      eta_grid: many learning rates, ``[k]``.
      grid_final: f after 20 steps at each of them, ``[k]``.
      etas_2d: the three learning rates on the elongated bowl, ``[3]``.
      xs_2d: their iterates, ``[3, steps + 1, 2]``.
      values_2d: f along the way, ``[3, steps + 1]``.
      diverged_2d: whether each run diverged, ``[3]``.
      diverged_at_2d: the step at which it was detected, ``[3]``.
      well_xs: gradient descent on the double well from many starts, ``[starts, steps + 1]``.
    """

    etas_1d: np.ndarray
    xs_1d: np.ndarray
    values_1d: np.ndarray
    eta_grid: np.ndarray
    grid_final: np.ndarray
    etas_2d: np.ndarray
    xs_2d: np.ndarray
    values_2d: np.ndarray
    diverged_2d: np.ndarray
    diverged_at_2d: np.ndarray
    well_xs: np.ndarray


def compute(quick: bool = False) -> Result:
    """Runs gradient descent on a 1-D and a 2-D quadratic and on the double well.

    Args:
      quick: fewer starting points for the double well.

    Returns:
      The :class:`Result`.
    """
    # ---- 1-D: f(x) = x^2 (curvature L = 2, so eta = 0.5 solves it in one step, 2 / L = 1 diverges).
    f1 = lambda x: tf.quadratic_bowl(x, 2.0)
    etas1 = np.array([0.05, 0.3, 1.05], np.float32)
    runs1 = descent.sweep_learning_rates(f1, jnp.array(2.0), optim.sgd, etas1, 12)
    # Final value against eta: the "U" whose right side is divergence.
    eta_grid = np.geomspace(0.005, 1.2, 60).astype(np.float32)
    grid_runs = descent.sweep_learning_rates(f1, jnp.array(2.0), optim.sgd, eta_grid, 20)

    # ---- 2-D: an elongated bowl, curvatures 1 and 10 (so 2 / L_max = 0.2).
    curvature = jnp.array([1.0, 10.0])
    f2 = lambda p: tf.quadratic_bowl(p, curvature)
    etas2 = np.array([0.02, 0.1, 0.22], np.float32)
    runs2 = descent.sweep_learning_rates(f2, jnp.array([-4.0, 1.5]), optim.sgd, etas2, 40, max_growth=1e3)

    # ---- The local-minimum trap: many starts in one vmapped, compiled call.
    starts = jnp.linspace(-2.0, 2.0, 9 if quick else 17)
    well = jax.jit(jax.vmap(lambda x0: descent.minimize(tf.double_well, x0, optim.sgd(0.02), 100)))(starts)
    return Result(etas_1d=etas1, xs_1d=np.asarray(runs1.xs), values_1d=np.asarray(runs1.values), eta_grid=eta_grid,
                  grid_final=np.asarray(grid_runs.values)[:, -1], etas_2d=etas2, xs_2d=np.asarray(runs2.xs),
                  values_2d=np.asarray(runs2.values), diverged_2d=np.asarray(runs2.diverged),
                  diverged_at_2d=np.asarray(runs2.diverged_at), well_xs=np.asarray(well.xs))


def plot_1d(result: Result, fig) -> None:
    """Draws the three 1-D runs and the final value against eta into ``fig`` (four axes)."""
    axes = fig.subplots(1, 4)
    xx = np.linspace(-3, 3, 200)
    for ax, eta, path, label in zip(axes, result.etas_1d, result.xs_1d, LABELS):
        ax.plot(xx, xx**2, color="0.6")
        ax.plot(path, path**2, "o-", color="C3", ms=4, lw=1)
        ax.annotate("$x_0$", (path[0], path[0] ** 2), textcoords="offset points", xytext=(5, 5))
        ax.set(title=f"eta = {eta:g} ({label})", xlabel="x", ylabel="f(x) = x$^2$", xlim=(-3, 3), ylim=(-0.3, 9))
    axes[3].loglog(result.eta_grid, np.maximum(result.grid_final, 1e-30), ".-")
    axes[3].axvline(1.0, color="C3", ls="--", lw=1, label="2 / L: divergence")
    axes[3].axvline(0.5, color="C2", ls="--", lw=1, label="1 / L: one step")
    axes[3].set(title="f after 20 steps against eta", xlabel="eta", ylabel="f($x_{20}$)")
    axes[3].legend(fontsize=8)


def _stop(result: Result, i: int) -> int:
    """Where to cut run i of the 2-D sweep: at the detected divergence, else after the last step."""
    return int(result.diverged_at_2d[i]) if result.diverged_2d[i] else result.values_2d.shape[1]


def plot_2d(result: Result, fig) -> None:
    """Draws the 2-D trajectories over the contours and f along the way into ``fig`` (two axes)."""
    ax, ax2 = fig.subplots(1, 2)
    g1, g2 = np.meshgrid(np.linspace(-4.5, 4.5, 181), np.linspace(-2.5, 2.5, 121))
    ax.contour(g1, g2, 0.5 * (g1**2 + 10 * g2**2), levels=np.geomspace(0.05, 80, 14), colors="0.75", linewidths=0.8)
    for i, (eta, label) in enumerate(zip(result.etas_2d, LABELS)):
        stop = _stop(result, i)
        ax.plot(*result.xs_2d[i, :stop].T, "o-", ms=3, lw=1, label=f"eta = {eta:g} ({label})")
        ax2.semilogy(result.values_2d[i, :stop], label=f"eta = {eta:g}")
    ax.set(xlim=(-4.5, 4.5), ylim=(-2.5, 2.5), xlabel="$x_1$", ylabel="$x_2$",
           title="f = ($x_1^2$ + 10 $x_2^2$) / 2: the steep direction sets the limit")
    ax.legend(fontsize=8, loc="lower right")
    ax2.set(xlabel="step", ylabel="f", title="f along the way (cut where divergence was detected)")
    ax2.legend(fontsize=8)


def plot_local_minimum(result: Result, fig) -> None:
    """Draws the double well with every start's path and the two minima into ``fig`` (one axes)."""
    ax = fig.subplots()
    f = lambda x: x**4 - 3 * x**2 + x
    xx = np.linspace(-2.1, 2.1, 300)
    ax.plot(xx, f(xx), color="0.5")
    barrier = float(tf.DOUBLE_WELL_LOCAL_MAXIMUM)
    for path in result.well_xs:
        color = "C0" if path[0] < barrier else "C3"
        ax.plot(path, f(path), ".", color=color, ms=2, alpha=0.6)
        ax.plot(path[0], f(path[0]), "o", color=color, mfc="none")
    global_min, local_min = float(tf.DOUBLE_WELL_GLOBAL_MINIMUM), float(tf.DOUBLE_WELL_LOCAL_MINIMUM)
    for end in (global_min, local_min):
        ax.plot(end, f(end), "*", color="k", ms=14)
    ax.axvline(barrier, color="k", ls=":", lw=1)
    ax.plot([], [], "o", color="C0", mfc="none", label=f"starts left of the barrier -> global min {global_min:.3f}")
    ax.plot([], [], "o", color="C3", mfc="none", label=f"starts right of it -> local min {local_min:.3f}")
    ax.set(xlabel="x", ylabel="f(x) = $x^4 - 3x^2 + x$", title="Gradient descent finds a minimum, not the minimum")
    ax.legend(fontsize=8, loc="upper center")


# Each figure main writes: file name, size (inches) and what draws it.
FIGURES = {
    "04_gd_1d.png": ((15, 4), plot_1d),
    "04_gd_2d.png": ((13, 4.5), plot_2d),
    "04_local_minimum.png": ((7, 4.5), plot_local_minimum),
}


def main(out_dir: str = "out", quick: bool = False) -> dict:
    """Draws gradient descent on a 1-D and a 2-D quadratic and on the double well.

    Args:
      out_dir: folder for the figures (created if needed).
      quick: fewer starting points for the double well.

    Returns:
      ``{"final_1d", "diverged_1d", "diverged_2d", "well_ends", "figures"}``.
    """
    try:
        from matplotlib.figure import Figure
    except ImportError as err:  # pragma: no cover
        raise SystemExit("this example draws figures with matplotlib: pip install 'jaxnn[plot]'") from err
    r = compute(quick)
    steps1 = r.values_1d.shape[1] - 1
    for eta, v in zip(r.etas_1d, r.values_1d):
        note = "  (grows: diverging)" if v[-1] > v[0] else ""
        print(f"1-D, eta={eta:g}: f(x_0)={v[0]:.3g} -> f(x_{steps1})={v[-1]:.3g}{note}")
    for eta, v, d, at in zip(r.etas_2d, r.values_2d, r.diverged_2d, r.diverged_at_2d):
        print(f"2-D, eta={eta:g}: f={v[-1]:.3g}" + (f"  diverged at step {at}" if d else ""))
    ends = r.well_xs[:, -1]
    print("double well: start -> end", ", ".join(f"{s:.2f}->{e:.3f}" for s, e in zip(r.well_xs[:, 0], ends)))

    os.makedirs(out_dir, exist_ok=True)
    figures = []
    for name, (size, draw) in FIGURES.items():
        fig = Figure(figsize=size, layout="constrained")
        draw(r, fig)
        figures.append(os.path.join(out_dir, name))
        fig.savefig(figures[-1], dpi=100)
    return {
        "final_1d": r.values_1d[:, -1].tolist(),
        "diverged_1d": bool(r.values_1d[2, -1] > r.values_1d[2, 0]),
        "diverged_2d": r.diverged_2d.tolist(),
        "well_ends": ends.tolist(),
        "figures": figures,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="out", help="folder for the figures (default: out)")
    parser.add_argument("--quick", action="store_true", help="a smaller, faster run")
    args = parser.parse_args()
    main(args.out, args.quick)
