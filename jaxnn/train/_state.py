"""The loop carry of a training run and its set-up."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from jaxnn.train._types import Params


class TrainState(NamedTuple):
    """Where a training run stands: what :func:`run_epochs` takes and returns (and :func:`fit`'s loop carry).

    History entries are returned by each chunk, not carried.

    Attributes:
      params: the parameters.
      opt_state: the optimizer's state.
      epoch: the next epoch to run (int32); a stopped run stays at the epoch it stopped in.
      best_params: early stopping's best params (an empty tuple without early stopping).
      best_value: early stopping's best monitored value (lower is better), ``inf`` at first.
      best_epoch: the epoch of ``best_value``, -1 at first.
      wait: epochs since the last improvement.
      stopped: whether training stopped (early stopping, or a non-finite loss or params).
      nonfinite_epoch: the epoch whose loss or params went non-finite, -1 if none.
      nonfinite_step: that epoch's first step with a non-finite loss, -1 if none.
    """

    params: Params
    opt_state: Any
    epoch: jax.Array
    best_params: Params
    best_value: jax.Array
    best_epoch: jax.Array
    wait: jax.Array
    stopped: jax.Array
    nonfinite_epoch: jax.Array
    nonfinite_step: jax.Array


def initial_state(params, opt_state, keep_best: bool, initial_epoch) -> TrainState:
    return TrainState(
        params=params,
        opt_state=opt_state,
        epoch=jnp.asarray(initial_epoch, jnp.int32),
        # Only early stopping needs a second copy of the params.
        best_params=jax.tree.map(jnp.copy, params) if keep_best else (),
        best_value=jnp.asarray(jnp.inf, jnp.float32),
        best_epoch=jnp.asarray(-1, jnp.int32),
        wait=jnp.zeros((), jnp.int32),
        stopped=jnp.zeros((), bool),
        nonfinite_epoch=jnp.asarray(-1, jnp.int32),
        nonfinite_step=jnp.asarray(-1, jnp.int32),
    )


def all_finite(tree: Any) -> jax.Array:
    """``True`` when every element of every leaf of ``tree`` is finite."""
    # x * 0 is 0 for every finite x and NaN for NaN and +-Inf, so one sum of zeros per leaf
    # tells without overflowing (a sum of the values themselves could reach Inf).
    return jnp.isfinite(sum(jnp.sum(leaf * 0, dtype=jnp.float32) for leaf in jax.tree.leaves(tree)))
