"""Perceptron mode: Rosenblatt's algorithm, one update (or whole epochs) per frame.

Step by update: the page must show every update, so the loop runs on the host in NumPy,
exactly as :func:`jaxnn.perceptron.perceptron_numpy` does (``w`` starts at 0; samples in
order; on ``y <w, x> <= 0``, ``w <- w + (eta y) x`` on the augmented input ``(1, x)``), and
stops between updates. Step by epoch: a frame's ``epochs_per_frame`` epochs run as one
compiled program (``lax.scan`` over epochs of ``lax.scan`` over samples) that resumes from
the current weights, so that on data no line separates the verdict "the mistakes never end"
comes after seconds, not the half hour that one Python update at a time would take. Both
give ``perceptron_numpy``'s weights after whole epochs (tested).
"""

from __future__ import annotations

import functools
import time
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxnn import combining
from jaxnn.playground._config import Config
from jaxnn.playground._data import Data, to_list
from jaxnn.playground._network import encode_u8


@functools.partial(jax.jit, static_argnames="epochs")
def run_epochs(w: jax.Array, X: jax.Array, y: jax.Array, eta: jax.Array, *, epochs: int) -> tuple[jax.Array, jax.Array]:
    """``epochs`` whole epochs of Rosenblatt's rule from ``w``, compiled.

    Args:
      w: the weights ``[d + 1]`` (bias first) to start from.
      X: augmented inputs ``[N, d + 1]``; y: labels ``[N]`` in {-1, +1}; eta: the learning rate.

    Returns:
      The weights after the epochs and the mistakes of each epoch ``[epochs]``. An epoch
      without mistakes changes nothing, so the epochs after convergence count 0 mistakes.
    """
    def sample(w, xy):
        x, yi = xy
        mistake = yi * jnp.sum(w * x) <= 0  # a product and a sum, as jaxnn.perceptron scores
        return jnp.where(mistake, w + (eta * yi) * x, w), mistake

    def epoch(w, _):
        w, mistakes = jax.lax.scan(sample, w, (X, y))
        return w, jnp.sum(mistakes.astype(jnp.int32))

    return jax.lax.scan(epoch, w, None, length=epochs)

__all__ = ["PerceptronJob", "MAX_EPOCHS"]

#: A run that has not converged after this many epochs stops (the page says it never will
#: on data that are not linearly separable, such as XOR).
MAX_EPOCHS = 10_000


def find_certificate(x: np.ndarray, y: np.ndarray) -> np.ndarray | None:
    """Multipliers proving that no line separates ``(x, y)``, or ``None`` when there are none.

    Gordan's alternative (see :func:`jaxnn.combining.certifies_not_separable`): the points are
    not strictly separable exactly when some ``lambda >= 0`` with ``sum(lambda) = 1`` makes
    ``sum_i lambda_i y_i (1, x_i) = 0``. SciPy's linear-program solver finds such ``lambda``
    (a feasibility problem, milliseconds for the playground's sizes) and jaxnn checks it, so
    the page can say "not separable" before the first update instead of after 10,000 epochs.

    Args:
      x: the perceptron's inputs ``[N, d]`` (without the column of ones); y: labels ``[N]`` in {-1, +1}.
    """
    from scipy.optimize import linprog

    x64, y64 = np.asarray(x, np.float64), np.asarray(y, np.float64)
    signed = y64[:, None] * np.concatenate([np.ones((len(x64), 1)), x64], axis=1)  # [N, d + 1]
    a_eq = np.vstack([signed.T, np.ones(len(x64))])
    b_eq = np.concatenate([np.zeros(signed.shape[1]), [1.0]])
    found = linprog(np.zeros(len(x64)), A_eq=a_eq, b_eq=b_eq, bounds=(0, None), method="highs")
    if found.status != 0:  # infeasible: a line separates the points strictly
        return None
    lam = np.maximum(found.x, 0.0)
    return lam if combining.certifies_not_separable(x64, y64, lam) else None


class PerceptronJob:
    kind = "perceptron"

    def __init__(self, cfg: Config, d: Data) -> None:
        self.cfg, self.data = cfg, d
        x = d.x_train
        self.X = np.concatenate([np.ones((x.shape[0], 1), np.float32), x], axis=1)
        # Binary targets are {0, 1}; the perceptron's labels are {-1, +1}.
        self.y = (2.0 * d.y_train[:, 0] - 1.0).astype(np.float32)
        self.eta = np.float32(cfg.eta)
        self.w = np.zeros(self.X.shape[1], np.float32)
        self.epoch, self.position, self.updates = 0, 0, 0
        self.mistakes: list[int] = []  # per completed epoch
        self.current = 0  # mistakes so far in the running epoch
        self.last_update: int | None = None
        self.converged = False
        self.grid_aug = np.concatenate([np.ones((d.grid_x.shape[0], 1), np.float32), d.grid_x], axis=1)
        self.certificate = find_certificate(x, self.y)

    @property
    def done(self) -> bool:
        return self.converged or self.epoch >= MAX_EPOCHS

    def _visit(self) -> bool:
        """Visits the next sample; returns whether it triggered an update."""
        i = self.position
        x, yi = self.X[i], self.y[i]
        mistake = bool(yi * np.dot(self.w, x) <= 0)
        if mistake:
            self.w = self.w + (self.eta * yi) * x
            self.current += 1
            self.updates += 1
            self.last_update = i
        self.position += 1
        if self.position == len(self.y):
            self.mistakes.append(self.current)
            self.converged = self.current == 0
            self.epoch += 1
            self.position, self.current = 0, 0
        return mistake

    def advance(self, epochs: int | None = None) -> dict[str, Any]:
        """One update (to the next mistake, or the end of an epoch without one), or whole epochs.

        ``epochs`` (the "one epoch" button) runs to the end of the current epoch and then
        ``epochs - 1`` more; ``None`` follows the set-up's step (``update`` or ``epoch``)
        ``epochs_per_frame`` times.
        """
        if self.done:
            return self.frame()
        start_epochs = len(self.mistakes)
        start, visits = time.perf_counter(), self.epoch * len(self.y) + self.position
        self.last_update = None
        if epochs is None and self.cfg.perceptron_step == "update":
            for _ in range(self.cfg.epochs_per_frame):
                while not self.done:
                    epoch_before = self.epoch
                    if self._visit() or self.epoch != epoch_before:
                        break
                if self.done:
                    break
        else:
            target = self.epoch + (self.cfg.epochs_per_frame if epochs is None else epochs)
            while self.position != 0 and not self.done:  # the running epoch, to its end
                self._visit()
            if self.epoch < target and not self.done:
                self._compiled_epochs(min(target, MAX_EPOCHS) - self.epoch)
        visited = self.epoch * len(self.y) + self.position - visits
        seconds = max(time.perf_counter() - start, 1e-9)
        # Whole epochs: the speed counts epochs; single updates: samples visited.
        speed = (len(self.mistakes) - start_epochs if epochs is not None or self.cfg.perceptron_step == "epoch"
                 else visited) / seconds
        return self.frame(self.mistakes[start_epochs:], speed)

    def _compiled_epochs(self, count: int) -> None:
        """Runs ``count`` whole epochs from the start of one, compiled; stops the count at convergence."""
        w, mistakes = run_epochs(jnp.asarray(self.w), jnp.asarray(self.X), jnp.asarray(self.y), self.eta,
                                 epochs=count)
        mistakes = np.asarray(mistakes).tolist()
        ran = mistakes.index(0) + 1 if 0 in mistakes else count
        self.w = np.asarray(w, np.float32)
        self.mistakes += mistakes[:ran]
        self.updates += int(sum(mistakes[:ran]))
        self.epoch += ran
        self.converged = mistakes[ran - 1] == 0

    def warm(self) -> None:
        """Nothing to compile: the perceptron runs in NumPy."""

    def step(self) -> dict[str, Any]:
        """The step button: one update (or the end of an epoch without one), or one epoch."""
        if self.done:
            return self.frame()
        start_epochs = len(self.mistakes)
        self.last_update = None
        if self.cfg.perceptron_step == "update":
            epoch_before = self.epoch
            while not self.done and not self._visit() and self.epoch == epoch_before:
                pass
        else:
            target = self.epoch + 1
            while self.epoch < target and not self.done:
                self._visit()
        return self.frame(self.mistakes[start_epochs:])

    def novikoff(self) -> dict[str, Any] | None:
        """Novikoff's bound ``(R / gamma)^2`` on the number of updates, when a separator is known.

        ``R`` is the largest norm of an augmented input. ``gamma`` is the margin of a unit
        augmented separator: the generator's (separable data) or, once the run has converged,
        the one found.
        """
        R = float(np.max(np.linalg.norm(self.X, axis=1)))
        if self.data.separator is not None and self.cfg.features == ("x1", "x2"):
            u = np.concatenate([[0.0], self.data.separator]).astype(np.float64)
            source = "the generator's separator"
        elif self.converged:
            u, source = self.w.astype(np.float64), "the separator found"
        else:
            return None
        u = u / np.linalg.norm(u)
        gamma = float(np.min(self.y * (self.X.astype(np.float64) @ u)))
        if gamma <= 0:
            return None
        return {"R": round(R, 4), "gamma": round(gamma, 5), "bound": round((R / gamma) ** 2, 1), "from": source}

    def frame(self, new_mistakes: Any = (), steps_per_s: float = 0.0) -> dict[str, Any]:
        scores = self.grid_aug @ self.w
        return {
            "type": "frame",
            "kind": self.kind,
            "epoch": self.epoch,
            "position": self.position,
            "updates": self.updates,
            "weights": to_list(self.w),
            "last_update": self.last_update,
            "mistakes": list(new_mistakes),
            "current_mistakes": self.current,
            "converged": self.converged,
            "novikoff": self.novikoff(),
            "output": {"p": encode_u8((scores >= 0).astype(np.float32))},
            "done": self.done,
            "steps_per_s": round(steps_per_s, 1),  # epochs (step by epoch) or samples visited per second
            "accuracy": self.accuracies(),
            # Gordan's multipliers when no line separates the training points: those with lambda > 0
            "certificate": None if self.certificate is None else {
                "points": [int(i) for i in np.flatnonzero(self.certificate > 1e-9)],
                "lambda": to_list(self.certificate[self.certificate > 1e-9])},
        }

    def accuracies(self) -> dict[str, float]:
        """The share of training and test points on the right side of the line (sign(0) = +1)."""
        d, out = self.data, {}
        for name, x, y in (("train", d.x_train, d.y_train), ("test", d.x_test, d.y_test)):
            scores = x @ self.w[1:] + self.w[0]
            out[name] = round(float(np.mean((scores >= 0) == (y[:, 0] >= 0.5))), 4)
        return out

    def start_frame(self) -> dict[str, Any]:
        return self.frame()
