"""The same training problems in PyTorch (eager), Flax NNX, Equinox, Keras 3 (JAX backend) and scikit-learn.

Each peer is imported lazily, when a workload first asks for it, and a missing one raises
:class:`PeerUnavailable` with an install hint; the suite turns that into a "skipped" record.
A :class:`Problem` fixes everything the peers must share: the initial weights, the hidden
and output activations, the loss, the optimizer and its learning rate, the data, the batch
size and the order in which the samples are visited in each epoch. Every peer except
scikit-learn (which initializes its own weights) starts from the same weights and visits
the same batches, so its trained weights can be compared with jaxnn's.

Each peer is written the way its documentation trains a model: PyTorch's eager loop
(``zero_grad``/``backward``/``step``), a jitted step function called in a Python loop for
Equinox (``eqx.filter_jit``) and Flax (``nnx.jit``), ``model.fit`` for Keras and for
scikit-learn. The batch gather happens inside the jitted step for Equinox and Flax, as it
does inside jaxnn's compiled loop.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from typing import Any

from bench._peers import _equinox, _flax, _keras, _sklearn, _torch
from bench._peers._base import PEERS, PeerUnavailable, Problem, Trainer, Unsupported, import_peer
from bench._peers._sklearn import sklearn_perceptron

__all__ = [
    "PEERS",
    "PeerUnavailable",
    "Unsupported",
    "Problem",
    "Trainer",
    "version",
    "threads",
    "make_trainer",
    "make_stepper",
    "sklearn_perceptron",
]


def version(name: str) -> str:
    """The installed version of peer ``name``; raises :class:`PeerUnavailable` if missing."""
    module = import_peer(name)
    if name == "flax":
        module = importlib.import_module("flax")
    return str(getattr(module, "__version__", "?"))


def threads(name: str) -> int | None:
    """Intra-op threads the peer computes with (PyTorch is set to ``os.cpu_count()``)."""
    if name == "torch":
        torch = import_peer("torch")
        torch.set_num_threads(os.cpu_count() or 1)
        return torch.get_num_threads()
    return os.cpu_count()


def make_trainer(name: str, problem: Problem, *, torch_threads: int | None = None) -> Trainer:
    """Builds peer ``name``'s training run for ``problem`` (see :class:`Trainer`).

    Args:
      name: one of :data:`PEERS`.
      problem: what to train.
      torch_threads: PyTorch's intra-op threads for this trainer (set at the start of every
        run); ``None`` is ``os.cpu_count()``, the thread count the targets are stated for.

    Raises:
      PeerUnavailable: the peer is not installed.
      Unsupported: the peer cannot express this problem faithfully.
    """
    if name not in PEERS:
        raise ValueError(f"unknown peer {name!r}; valid peers are {PEERS}")
    if name == "torch":
        return _torch.trainer(problem, torch_threads)
    return _MODULES[name].trainer(problem)


def make_stepper(name: str, problem: Problem, *, torch_threads: int | None = None) -> tuple[Callable[[], Any], str]:
    """Peer ``name``'s single training step on the whole of ``problem.x`` (state kept between calls).

    ``torch_threads`` is as in :func:`make_trainer`.

    Returns:
      ``(step, note)``; ``step()`` makes one optimizer step and returns something to block on.
    """
    if name not in PEERS:
        raise ValueError(f"unknown peer {name!r}; valid peers are {PEERS}")
    if name == "torch":
        return _torch.stepper(problem, torch_threads)
    return _MODULES[name].stepper(problem)


_MODULES = {"torch": _torch, "flax": _flax, "equinox": _equinox, "keras": _keras, "sklearn": _sklearn}
