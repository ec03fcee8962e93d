"""``run_epochs``: a resumable chunk of fit's epochs, a pure function to jit and vmap yourself."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jax
import jax.numpy as jnp
import optax

from jaxnn._checks import check_int, check_xy
from jaxnn.train._epoch import epoch_fn
from jaxnn.train._programs import Engine
from jaxnn.train._state import TrainState, initial_state
from jaxnn.train._types import LossFn, MetricFn, Params
from jaxnn.train._validate import check_batch_size

# Epochs that never reach the limit: a chunk runs all its epochs unless training stops.
_NO_LIMIT = jnp.iinfo(jnp.int32).max


def init_state(params: Params, optimizer: optax.GradientTransformation) -> TrainState:
    """The state of a training run before its first epoch, for :func:`run_epochs`.

    Args:
      params: the initial parameters, a pytree of arrays.
      optimizer: an ``optax.GradientTransformation``; its ``init(params)`` is the optimizer state.

    Returns:
      A :class:`TrainState` at epoch 0, not stopped.
    """
    return initial_state(params, optimizer.init(params), False, 0)


def run_epochs(
    loss_fn: LossFn,
    optimizer: optax.GradientTransformation,
    state: TrainState,
    x: jax.Array,
    y: jax.Array,
    *,
    key: jax.Array,
    epochs: int,
    batch_size: int | None = None,
    shuffle: bool = True,
    validation_data: tuple[jax.Array, jax.Array] | None = None,
    metrics: Mapping[str, MetricFn] | None = None,
) -> tuple[TrainState, dict[str, Any]]:
    """Runs ``epochs`` epochs of :func:`fit`'s training from ``state``: the engine's loop, resumable.

    Each epoch is :func:`fit`'s (shuffled batches drawn from ``fold_in(key, state.epoch)``,
    the masked mean loss of each batch, one optimizer update per batch, and the non-finite
    guard), so chunks run one after another train exactly as one :func:`fit` call with the
    same key, and a batch of runs under ``jax.vmap`` trains as :func:`sweep`. It is a pure
    function: compile it with ``jax.jit``, batch it with ``jax.vmap`` (runs with their own
    keys, learning rates, data), and call it again with the state it returned to go on;
    between calls the host can draw, log or stop. :func:`fit` and :func:`sweep` run the same
    epochs inside their own compiled loops; the playground's grid mode runs this function.

    A run whose loss or params turn non-finite keeps the params from the start of the
    failing epoch, stops (``state.stopped``), records the epoch in ``state.nonfinite_epoch``
    and from then on changes nothing: its history entries are NaN.

    Args:
      loss_fn: per-example loss ``loss_fn(params, x, y) -> [batch]``.
      optimizer: an ``optax.GradientTransformation`` (its state is ``state.opt_state``).
      state: where to start: :func:`init_state`, or the state a previous call returned.
      x: training inputs ``[N, ...]``.
      y: training targets ``[N, ...]``.
      key: the run's shuffling key (the same for every chunk of one run).
      epochs: epochs in this chunk (static: one program per chunk length).
      batch_size: samples per mini-batch (``None``: full batch), as :func:`fit`'s.
      shuffle: shuffle the samples every epoch.
      validation_data: ``(x_val, y_val)`` measured after every epoch, or ``None``.
      metrics: ``{name: metric(params, x, y) -> scalar}`` measured on the validation data.

    Returns:
      ``(state, history)``: the state after the chunk, and per-epoch entries ``[epochs]``:
      ``history["train_loss"]``, and with validation data ``history["val_loss"]`` and
      ``history["val_metrics"][name]``.

    >>> import optax
    >>> loss = lambda w, x, y: (x[:, 0] * w - y) ** 2
    >>> x, y = jnp.array([[1.0], [2.0]]), jnp.array([2.0, 4.0])
    >>> state = init_state(jnp.array(0.0), optax.sgd(0.1))
    >>> state, history = run_epochs(loss, optax.sgd(0.1), state, x, y, key=jax.random.key(0), epochs=3)
    >>> int(state.epoch), history["train_loss"].shape
    (3, (3,))
    """
    if not callable(loss_fn):
        raise TypeError("loss_fn must be callable as loss_fn(params, x, y) -> per-example losses [batch]")
    epochs = check_int(epochs, "epochs", minimum=1)
    n = check_xy(x, y, "training")
    batch_size = check_batch_size(batch_size, n)
    metrics = dict(metrics or {})
    if metrics and validation_data is None:
        raise ValueError("metrics are measured on validation data: pass validation_data=(x_val, y_val)")
    has_val = validation_data is not None
    xv, yv = validation_data if has_val else (None, None)
    engine = Engine(loss=None, optimizer=None, metrics=(), n=n, batch_size=batch_size, shuffle=bool(shuffle),
                    has_val=has_val, monitor=None, mode="min", guard=True)
    one_epoch = epoch_fn(engine, loss_fn, optimizer, metrics, 0, 0.0, freeze=True)
    return jax.lax.scan(lambda s, _: one_epoch(s, key, x, y, xv, yv, _NO_LIMIT), state, None, length=epochs)
