"""Public types of the training engine: the supervised loss, early stopping, history and results."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, NamedTuple

import jax

from jaxnn import _structure
from jaxnn import heads as _heads
from jaxnn._typing import Params

LossFn = Callable[[Params, jax.Array, jax.Array], jax.Array]
MetricFn = Callable[[Params, jax.Array, jax.Array], jax.Array]


@dataclasses.dataclass(frozen=True, eq=False)
class Supervised:
    """A per-example loss made of a network's ``apply`` and a :class:`jaxnn.heads.Head`.

    ``Supervised(net.apply, heads.binary())(params, x, y)`` is
    ``head.loss(net.apply(params, x), y)``, of shape ``[batch]``. Given to :func:`fit`, it
    also lets ``fit`` check the targets against the head before compiling (class indices
    within the output width, binary targets in {0, 1}, matching output widths).

    Two of them compare and hash alike when their networks and heads are configured alike
    (``Supervised(MLP([8], 1).apply, binary())`` twice), so :func:`fit` reuses its
    compiled program for them.
    """

    apply: Callable[[Params, jax.Array], jax.Array]
    head: _heads.Head

    def __call__(self, params: Params, x: jax.Array, y: jax.Array) -> jax.Array:
        """Per-example loss ``head.loss(apply(params, x), y)``, shape ``[batch]``."""
        return self.head.loss(self.apply(params, x), y)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Supervised) and _structure.config_key(self) == _structure.config_key(other)

    def __hash__(self) -> int:
        return hash(_structure.config_key(self))


class EarlyStopping(NamedTuple):
    """Stop when a validation quantity has not improved for ``patience`` epochs.

    Attributes:
      monitor: ``"val_loss"`` or ``"val_<metric>"`` for a metric passed to :func:`fit`.
      mode: ``"min"`` (loss-like) or ``"max"`` (accuracy-like).
      patience: epochs without improvement before stopping (>= 1).
      min_delta: an improvement must beat the best value by more than this.
      restore_best: give back the params of the best epoch (default) instead of the last.
    """

    monitor: str = "val_loss"
    mode: str = "min"
    patience: int = 10
    min_delta: float = 0.0
    restore_best: bool = True


class History(NamedTuple):
    """Per-epoch records of one training run (arrays of length ``epochs``, NaN where not run).

    Attributes:
      train_loss: mean training loss of each epoch, ``[epochs]``: the mean over the
        epoch's batches, each measured before its own update (so runs with other batch
        sizes are compared on a separate full-batch evaluation, not on this).
      val_loss: validation loss after each epoch, ``[epochs]`` (all NaN without validation data).
      val_metrics: ``{name: [epochs]}`` for each metric given to :func:`fit`.
      epochs_run: number of epochs actually run (fewer than ``epochs`` after early stopping).
      best_epoch: the epoch whose params were returned with early stopping, else the last one.
      nonfinite_epoch: the epoch in which a non-finite loss (or params) appeared, or -1.
      nonfinite_step: the batch index within that epoch of the first non-finite loss (the
        last batch when only the params at the end of the epoch were non-finite), or -1.
    """

    train_loss: jax.Array
    val_loss: jax.Array
    val_metrics: dict[str, jax.Array]
    epochs_run: jax.Array
    best_epoch: jax.Array
    nonfinite_epoch: jax.Array
    nonfinite_step: jax.Array


class FitResult(NamedTuple):
    """What :func:`fit` returns: trained ``params``, the final ``opt_state`` and the ``history``."""

    params: Params
    opt_state: Any
    history: History
