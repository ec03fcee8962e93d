"""What every peer shares: the problem, the trainer, the errors and the lazy imports.

A :class:`Problem` fixes everything the peers must share: the initial weights, the hidden and
output activations, the loss, the optimizer and its learning rate, the data, the batch size
and the order in which the samples are visited in each epoch.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

__all__ = ["PEERS", "PeerUnavailable", "Unsupported", "Problem", "Trainer", "import_peer", "jax_loss", "optax_for",
           "device_batches"]

PEERS: tuple[str, ...] = ("torch", "flax", "equinox", "keras", "sklearn")

_MODULES = {"torch": "torch", "flax": "flax.nnx", "equinox": "equinox", "keras": "keras", "sklearn": "sklearn"}
_PIP = {"torch": "torch", "flax": "flax", "equinox": "equinox", "keras": "keras", "sklearn": "scikit-learn"}


class PeerUnavailable(ImportError):
    """A peer library is not installed (or cannot be used in this process)."""


class Unsupported(NotImplementedError):
    """The peer has no faithful version of this problem (e.g. scikit-learn with a tanh output)."""


class Problem(NamedTuple):
    """One training problem, shared by jaxnn, the reference and every peer.

    Attributes:
      params0: initial weights, one ``(w [in, out], b [out])`` pair of float32 arrays per layer.
      activation: hidden activation, ``"relu"`` or ``"tanh"``.
      output_activation: ``None`` (logits) or ``"tanh"``.
      loss: ``"softmax_ce"`` (integer labels ``[N]``), ``"bce_logits"`` (``[N, 1]`` in {0, 1})
        or ``"mse"`` (``[N, out]``).
      optimizer: ``"adam"`` (b1 0.9, b2 0.999, eps 1e-8) or ``"sgd"`` (plain).
      lr: learning rate.
      x: inputs ``[N, in]`` float32.
      y: targets, as ``loss`` says.
      batch_size: samples per step; ``N`` is full-batch gradient descent.
      orders: one sample order ``[N]`` per epoch; epoch ``e`` visits
        ``orders[e][i * batch_size:(i + 1) * batch_size]`` at step ``i``.
    """

    params0: list[tuple[np.ndarray, np.ndarray]]
    activation: str
    output_activation: str | None
    loss: str
    optimizer: str
    lr: float
    x: np.ndarray
    y: np.ndarray
    batch_size: int
    orders: list[np.ndarray]

    @property
    def full_batch(self) -> bool:
        """True when every step sees all the data (no gather)."""
        return self.batch_size == self.x.shape[0]

    def batches(self) -> list[np.ndarray]:
        """The index array of every step, in order, over all epochs."""
        b, n = self.batch_size, self.x.shape[0]
        return [order[i * b : (i + 1) * b] for order in self.orders for i in range(n // b)]


class Trainer(NamedTuple):
    """A peer's training run.

    Attributes:
      run: trains from ``params0`` over every epoch of the problem and returns something
        to block on (each call starts again from ``params0`` with a fresh optimizer state).
      params: the weights after the last ``run``, as ``[(w [in, out], b [out]), ...]``,
        or ``None`` when the peer cannot start from ``params0`` (scikit-learn).
      note: how the peer was set up (version, threads, deviations).
    """

    run: Callable[[], Any]
    params: Callable[[], list[tuple[np.ndarray, np.ndarray]] | None]
    note: str


def import_peer(name: str) -> Any:
    if name == "keras":
        return _import_keras()
    try:
        return importlib.import_module(_MODULES[name])
    except ImportError as err:
        raise PeerUnavailable(f"{name} is not installed (pip install {_PIP[name]}, or jaxnn[bench])") from err


def _import_keras() -> Any:
    if "keras" not in sys.modules:
        # Keras picks its backend once, at import: ask for JAX for this import only.
        previous = os.environ.get("KERAS_BACKEND")
        os.environ["KERAS_BACKEND"] = "jax"
        try:
            importlib.import_module("keras")
        except ImportError as err:
            raise PeerUnavailable("keras is not installed (pip install keras, or jaxnn[bench])") from err
        finally:
            if previous is None:
                del os.environ["KERAS_BACKEND"]
            else:
                os.environ["KERAS_BACKEND"] = previous
    keras = sys.modules["keras"]
    if keras.backend.backend() != "jax":
        raise PeerUnavailable(
            f"keras was already imported with the {keras.backend.backend()!r} backend; "
            "run the suite in a fresh process (it sets KERAS_BACKEND=jax itself)"
        )
    return keras


def jax_loss(name: str):
    """The reference's per-example loss ``name`` (``bench._reference.LOSSES``)."""
    from bench import _reference as ref

    return ref.LOSSES[name]


def optax_for(p: Problem):
    """The Optax optimizer of ``p`` (Adam with b1 0.9, b2 0.999, eps 1e-8, or plain SGD)."""
    import optax

    return optax.adam(p.lr, b1=0.9, b2=0.999, eps=1e-8) if p.optimizer == "adam" else optax.sgd(p.lr)


def device_batches(p: Problem):
    """Each step's sample indices as device arrays, or ``None`` for full-batch training."""
    import jax.numpy as jnp

    return None if p.full_batch else [jnp.asarray(idx, jnp.int32) for idx in p.batches()]
