"""The loop carry of a training run and its set-up."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from jaxnn.train._types import Params


class _State(NamedTuple):
    """The loop carry of one training run (history entries are returned, not carried)."""

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


def _initial_state(params, opt_state, keep_best: bool, initial_epoch) -> _State:
    return _State(
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


def _all_finite(tree: Any) -> jax.Array:
    """``True`` when every element of every leaf of ``tree`` is finite."""
    # x * 0 is 0 for every finite x and NaN for NaN and +-Inf, so one sum of zeros per leaf
    # tells without overflowing (a sum of the values themselves could reach Inf).
    return jnp.isfinite(sum(jnp.sum(leaf * 0, dtype=jnp.float32) for leaf in jax.tree.leaves(tree)))
