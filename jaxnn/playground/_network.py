"""Network mode: one MLP trained by :func:`jaxnn.train.fit` in compiled chunks.

Each chunk is one ``fit`` call of ``epochs_per_frame`` epochs that resumes from the previous
chunk's params and optimizer state, shuffling with ``fold_in(train_key, first_epoch)``. The
network, loss and optimizer objects are built by cached factories, so that every chunk of a
job (and every job with the same set-up) reuses fit's compiled program: only the first
chunk of a new shape compiles. The exported script replays the same calls (``schedule``).
"""

from __future__ import annotations

import base64
import dataclasses
import functools
import time
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxnn import activations, heads, nn, optim, train
from jaxnn.playground._config import Config
from jaxnn.playground._data import Data, to_list

__all__ = ["Penalized", "NetworkJob", "network", "optimizer", "head_of", "encode_u8", "encode_units", "accuracy"]


@dataclasses.dataclass(frozen=True)
class Penalized(train.Supervised):
    """``Supervised`` plus L1 and L2 penalties on the weights (not the biases), per example.

    ``loss_i = head.loss(apply(params, x), y)_i + l1 sum|w| + l2 sum w^2``; the batch mean is
    the head's mean loss plus the penalty. Being a ``Supervised``, fit still checks the
    targets against the head before compiling.
    """

    l1: float = 0.0
    l2: float = 0.0

    def __call__(self, params: Any, x: jax.Array, y: jax.Array) -> jax.Array:
        weights = [layer["w"] for layer in params]
        penalty = self.l1 * sum(jnp.sum(jnp.abs(w)) for w in weights) + self.l2 * sum(
            jnp.sum(w * w) for w in weights
        )
        return self.head.loss(self.apply(params, x), y) + penalty


@functools.lru_cache(maxsize=64)
def network(hidden: tuple[int, ...], outputs: int, activation: str) -> nn.Layer:
    """The MLP of a set-up; one object per set-up, so fit's program cache keys on it."""
    return nn.MLP(list(hidden), outputs, activation=activation)


@functools.lru_cache(maxsize=64)
def optimizer(name: str, lr: float, hyperparams: tuple[tuple[str, float], ...]) -> Any:
    """The jaxnn optimizer of a set-up, one object per set-up (see :func:`network`)."""
    return getattr(optim, name)(lr, **dict(hyperparams))


def head_of(task: str) -> heads.Head:
    return heads.get(task)


def outputs_of(d: Data) -> int:
    return d.classes if d.task == "multiclass" else 1


def make_loss(net: nn.Layer, task: str, l1: float, l2: float) -> train.Supervised:
    if l1 == 0 and l2 == 0:
        return train.Supervised(net.apply, head_of(task))
    return Penalized(net.apply, head_of(task), l1, l2)


@functools.lru_cache(maxsize=64)
def evaluator(hidden: tuple[int, ...], activation: str, task: str) -> Any:
    """A compiled ``(params, x) -> (outputs, [units per hidden layer])`` for the maps."""
    act, head = activations.get(activation), head_of(task)

    def run(params, x):
        units, h = [], x
        for layer in params[:-1]:
            h = act(h @ layer["w"] + layer["b"])  # as MLP.apply computes each hidden layer
            units.append(h)
        return head.output_activation(h @ params[-1]["w"] + params[-1]["b"]), units

    return jax.jit(run)


@functools.lru_cache(maxsize=64)
def mean_loss(loss: Any) -> Any:
    return jax.jit(lambda p, x, y: jnp.mean(loss(p, x, y)))


def encode_u8(values: np.ndarray) -> str:
    """Values in [0, 1] as base64 bytes 0..255 (a 50 x 50 map is 3.4 kB of text)."""
    q = np.round(np.clip(np.nan_to_num(values, nan=0.5), 0.0, 1.0) * 255).astype(np.uint8)
    return base64.b64encode(q.tobytes()).decode("ascii")


def encode_units(units: np.ndarray) -> dict[str, Any]:
    """Unit activations ``[G, k]``: each unit scaled by its largest magnitude into bytes, 128 = 0."""
    scale = np.maximum(np.max(np.abs(np.nan_to_num(units)), axis=0), 1e-6)
    return {"maps": [encode_u8(0.5 + 0.5 * units[:, j] / scale[j]) for j in range(units.shape[1])],
            "scale": to_list(scale)}


def encode_output(task: str, out: np.ndarray) -> dict[str, Any]:
    """The output map: probabilities of class 1, (class, confidence), or values."""
    if task == "binary":
        return {"p": encode_u8(out[:, 0])}
    if task == "multiclass":
        return {"cls": base64.b64encode(np.argmax(out, 1).astype(np.uint8).tobytes()).decode("ascii"),
                "conf": encode_u8(np.max(out, 1))}
    return {"values": to_list(out[:, 0])}


def accuracy(task: str, outputs: np.ndarray, targets: np.ndarray) -> float | None:
    """The share of examples classified right, from the head's outputs ``[n, K]`` (``None`` for regression).

    Binary: probability of class 1 at least 1/2, against targets ``[n, 1]`` in {0, 1};
    multi-class: the largest probability, against class indices ``[n]``.
    """
    if task == "regression":
        return None
    if task == "binary":
        right = (outputs[:, 0] >= 0.5) == (targets[:, 0] >= 0.5)
    else:
        right = np.argmax(outputs, axis=1) == targets
    return round(float(np.mean(right)), 4)


def finite_list(a: Any) -> list[float | None]:
    """Floats for JSON, with ``None`` (null) for NaN and Inf: the page draws them as a break."""
    return [float(v) if np.isfinite(v) else None for v in np.round(np.asarray(a, np.float64), 6)]


class NetworkJob:
    """One network being trained, chunk by chunk."""

    kind = "network"

    def __init__(self, cfg: Config, d: Data) -> None:
        self.cfg, self.data = cfg, d
        self.net = network(cfg.hidden, outputs_of(d), cfg.activation)
        self.loss = make_loss(self.net, d.task, cfg.l1, cfg.l2)
        self.optimizer = optimizer(cfg.optimizer, cfg.lr, tuple(cfg.optimizer_hyperparams().items()))
        init_key, self.train_key = jax.random.split(jax.random.key(cfg.train_seed))
        _, self.params = self.net.init(init_key, (-1, d.x_train.shape[1]))
        self.opt_state = None
        self.epoch = 0
        self.schedule: list[list[int]] = []  # [epochs per fit call, calls]
        self.nonfinite: dict[str, int] | None = None
        self.xy = tuple(jnp.asarray(a) for a in (d.x_train, d.y_train, d.x_test, d.y_test))
        self.batch = None if cfg.batch == 0 else cfg.batch
        n = d.x_train.shape[0]
        self.steps_per_epoch = 1 if self.batch is None else -(-n // self.batch)
        self.evaluate = evaluator(cfg.hidden, cfg.activation, d.task)
        # The output map's points, then the training and test inputs: one call gives the maps
        # and the accuracies.
        self.points = jnp.asarray(np.concatenate([d.grid_x, d.x_train, d.x_test]))

    @property
    def done(self) -> bool:
        return self.nonfinite is not None

    def advance(self, epochs: int | None = None) -> dict[str, Any]:
        """Runs one chunk (``epochs_per_frame`` epochs unless told) and returns the frame."""
        k = self.cfg.epochs_per_frame if epochs is None else epochs
        if self.done:
            return self.frame()
        x, y, xv, yv = self.xy
        start = time.perf_counter()
        result = train.fit(
            self.params, self.loss, x, y, optimizer=self.optimizer,
            key=jax.random.fold_in(self.train_key, self.epoch), epochs=k, batch_size=self.batch,
            validation_data=(xv, yv), opt_state=self.opt_state,
        )
        h = jax.device_get(result.history)
        seconds = time.perf_counter() - start
        if self.schedule and self.schedule[-1][0] == k:
            self.schedule[-1][1] += 1
        else:
            self.schedule.append([k, 1])
        ran = int(h.epochs_run)
        first = self.epoch
        self.params, self.opt_state = result.params, result.opt_state
        self.epoch += ran
        if int(h.nonfinite_epoch) >= 0:
            self.nonfinite = {"epoch": first + int(h.nonfinite_epoch), "step": int(h.nonfinite_step)}
        return self.frame(h.train_loss[:ran], h.val_loss[:ran], ran * self.steps_per_epoch / seconds)

    def warm(self) -> None:
        """Compiles the chunk's program ahead of play: one chunk on the initial state, thrown away.

        Runs right after the first frame, while the student looks at it, so that pressing play
        shows a frame within milliseconds even for a network of a new shape.
        """
        x, y, xv, yv = self.xy
        train.fit(self.params, self.loss, x, y, optimizer=self.optimizer, key=self.train_key,
                  epochs=self.cfg.epochs_per_frame, batch_size=self.batch, validation_data=(xv, yv))

    def initial_losses(self) -> tuple[float, float]:
        x, y, xv, yv = self.xy
        f = mean_loss(self.loss)
        return float(f(self.params, x, y)), float(f(self.params, xv, yv))

    def frame(self, train_loss: Any = (), test_loss: Any = (), steps_per_s: float = 0.0) -> dict[str, Any]:
        out, units = jax.device_get(self.evaluate(self.params, self.points))
        g = len(self.data.grid_x)
        accuracies = self.accuracies(np.asarray(out[g:]))
        out, units = out[:g], [u[:g] for u in units]
        return {
            "type": "frame",
            "kind": self.kind,
            "epoch": self.epoch,
            "train_loss": finite_list(train_loss),
            "test_loss": finite_list(test_loss),
            "steps_per_s": round(steps_per_s, 1),
            "output": encode_output(self.data.task, np.asarray(out)),
            "units": [encode_units(np.asarray(u)) for u in units],
            "weights": [{"w": finite_list(np.ravel(p["w"])), "shape": list(np.shape(p["w"])),
                         "b": finite_list(p["b"])} for p in jax.device_get(self.params)],
            "nonfinite": self.nonfinite,
            "done": self.done,
            "accuracy": accuracies,
        }

    def accuracies(self, outputs: np.ndarray) -> dict[str, float | None]:
        """Train and test accuracy from the outputs on the training then the test inputs."""
        d = self.data
        n = len(d.x_train)
        return {"train": accuracy(d.task, outputs[:n], d.y_train), "test": accuracy(d.task, outputs[n:], d.y_test)}

    def start_frame(self) -> dict[str, Any]:
        """The frame before training: the maps at the initial params and the initial losses."""
        tr, te = self.initial_losses()
        f = self.frame()
        f["initial_loss"] = dict(zip(("train", "test"), finite_list([tr, te])))
        return f
