"""One epoch of training, shared by fit's and sweep's compiled loops."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp

from jaxnn.train._programs import Engine
from jaxnn.train._state import all_finite, TrainState
from jaxnn.train._step import apply_step

# ----------------------------------------------------------------------------------------
# Compiled programs, cached on what they compute.
#
# A program is fixed by the *structure* of the loss, optimizer and metrics (the code and
# every captured value that is not a float or an array), the static options and the data
# shapes. Floats and arrays captured in them (learning rates, betas, a schedule's decay
# rate, a margin), the epoch count, the early-stopping patience and min_delta, and the keys
# are arguments of the program, so changing them reuses it. See :mod:`jaxnn._structure`.

CHUNK = 128  # epochs per inner loop: 128 float32 history entries are 512 bytes


def epoch_batches(key: jax.Array, n: int, batch_size: int, shuffle: bool = True) -> tuple[jax.Array, jax.Array]:
    """The sample indices and mask of one epoch's batches.

    Args:
      key: the epoch's key (the permutation is drawn from it when ``shuffle``).
      n: number of samples.
      batch_size: samples per batch; the last batch is padded when ``n % batch_size != 0``.
      shuffle: draw a permutation (otherwise samples go in order).

    Returns:
      ``(indices, mask)``, both ``[ceil(n / batch_size), batch_size]``. Padding entries repeat
      valid indices with ``mask == 0``, so every sample appears exactly once with mask 1.
    """
    num_batches = -(-n // batch_size)
    order = jax.random.permutation(key, n) if shuffle else jnp.arange(n)
    pad = num_batches * batch_size - n
    indices = jnp.concatenate([order, order[:pad]]) if pad else order
    mask = (jnp.arange(num_batches * batch_size) < n).astype(jnp.float32)
    return indices.reshape(num_batches, batch_size), mask.reshape(num_batches, batch_size)


def _masked_mean(values: jax.Array, mask: jax.Array) -> jax.Array:
    return jnp.sum(values * mask.astype(values.dtype)) / jnp.sum(mask).astype(values.dtype)


def nan_records(metric_names: Sequence[str], has_val: bool, length: int) -> dict[str, Any]:
    nan = lambda: jnp.full((length,), jnp.nan, jnp.float32)
    records = {"train_loss": nan()}
    if has_val:
        records["val_loss"] = nan()
        records["val_metrics"] = {name: nan() for name in metric_names}
    return records


def _batches_fn(engine: Engine, loss_fn, optimizer):
    """An epoch's steps: ``run_batches(state, key, x, y, rows) -> ((params, opt_state, bad_step), total, last)``.

    ``rows`` (``[n]`` indices, or ``None`` for all of ``x``) are the rows this run trains on.

    ``total`` is the summed (not averaged) loss of the epoch's samples, ``bad_step`` the first
    step whose loss was not finite (-1 if none), ``last`` the index of the last step.
    """
    n, batch_size = engine.n, engine.batch_size

    def batch_loss(params, xb, yb, mask):
        if engine.batch_sharding is not None:
            # Data parallelism: split the batch across devices; params stay replicated and
            # XLA inserts the gradient all-reduce.
            xb, yb, mask = (jax.lax.with_sharding_constraint(a, engine.batch_sharding) for a in (xb, yb, mask))
        return _masked_mean(loss_fn(params, xb, yb), mask)

    def train_step(carry, batch):
        params, opt_state, bad_step = carry
        xb, yb, mask, step = batch
        new_params, new_opt_state, value = apply_step(lambda p: batch_loss(p, xb, yb, mask), optimizer, params,
                                                      opt_state)
        if engine.guard:
            # Only a scalar test per step: a non-finite gradient makes the params non-finite,
            # which the next step's loss (or the end-of-epoch check) reveals. No per-step
            # select over params and optimizer state, which would cost a pass over each.
            bad_step = jnp.where((bad_step < 0) & ~jnp.isfinite(value), step, bad_step)
        return (new_params, new_opt_state, bad_step), value * jnp.sum(mask)

    def run_batches(state: TrainState, key, x, y, rows=None):
        no_bad = jnp.asarray(-1, jnp.int32)
        if batch_size == n:  # one batch of everything: no permutation or gather
            if rows is not None:
                x, y = jnp.take(x, rows, axis=0), jnp.take(y, rows, axis=0)
            carry, total = train_step((state.params, state.opt_state, no_bad), (x, y, jnp.ones((n,), jnp.float32), 0))
            return carry, total, 0
        idx, mask = epoch_batches(jax.random.fold_in(key, state.epoch), n, batch_size, engine.shuffle)
        if rows is not None:  # the run's own rows of x: each batch gathered once, from x itself
            idx = jnp.take(rows, idx)

        def step(carry, batch):
            ib, mb, i = batch
            return train_step(carry, (jnp.take(x, ib, axis=0), jnp.take(y, ib, axis=0), mb, i))

        steps = jnp.arange(idx.shape[0], dtype=jnp.int32)
        carry, totals = jax.lax.scan(step, (state.params, state.opt_state, no_bad), (idx, mask, steps))
        return carry, jnp.sum(totals), idx.shape[0] - 1

    return run_batches


def epoch_fn(engine: Engine, loss_fn, optimizer, metrics, patience, min_delta, freeze: bool):
    """One epoch: ``one_epoch(state, key, x, y, xv, yv, limit, rows=None) -> (state, records)``.

    ``rows``: the indices of the rows of ``x`` and ``y`` this run trains on (a sweep member's
    own), ``None`` for all of them.

    ``records`` holds this epoch's history entries. With ``freeze`` (sweep, where every
    member runs the same number of epochs) a stopped run, or one past ``limit``, stays as it
    is and records NaN; without it the caller's loop stops instead.
    """
    n = engine.n
    sign = -1.0 if engine.mode == "max" else 1.0  # lower is better after the sign flip
    run_batches = _batches_fn(engine, loss_fn, optimizer)

    def one_epoch(state: TrainState, key, x, y, xv, yv, limit, rows=None) -> tuple[TrainState, dict[str, Any]]:
        epoch = state.epoch
        (params, opt_state, bad_step), total, last_step = run_batches(state, key, x, y, rows)
        skip = (state.stopped | (epoch >= limit)) if freeze else jnp.asarray(False)
        bad = jnp.asarray(False)
        failed_step = state.nonfinite_step
        if engine.guard:
            # Once per epoch: are the params still finite (a non-finite last update)? On a
            # failure, roll back to the epoch's starting params and state, the last ones known
            # finite; this epoch is then not counted and its history entries stay NaN.
            failed_step = jnp.where(bad_step >= 0, bad_step, jnp.where(all_finite(params), -1, last_step))
            bad = (failed_step >= 0) & ~skip
        undo = bad | skip
        if engine.guard or freeze:
            params, opt_state = jax.lax.cond(
                undo, lambda: (state.params, state.opt_state), lambda: (params, opt_state)
            )

        def entry(value):  # an epoch that did not count records NaN
            return jnp.where(undo, jnp.nan, value).astype(jnp.float32)

        records = {"train_loss": entry(total / n)}
        state = state._replace(
            params=params,
            opt_state=opt_state,
            epoch=jnp.where(undo, epoch, epoch + 1),
            stopped=state.stopped | undo,
            nonfinite_epoch=jnp.where(bad, epoch, state.nonfinite_epoch),
            nonfinite_step=jnp.where(bad, failed_step, state.nonfinite_step),
        )
        if engine.has_val:
            val_loss = jnp.mean(loss_fn(params, xv, yv))
            measured = {name: fn(params, xv, yv) for name, fn in metrics.items()}
            records["val_loss"] = entry(val_loss)
            records["val_metrics"] = {name: entry(value) for name, value in measured.items()}
            if engine.monitor is not None and engine.monitor != "train_loss":
                monitored = val_loss if engine.monitor == "val_loss" else measured[engine.monitor[4:]]
                state = _early_stopping_update(state, (sign * monitored).astype(jnp.float32), ~undo, epoch,
                                               patience, min_delta, engine.reference)
        if engine.monitor == "train_loss":
            # The epoch's running loss (each batch's loss before its update): scikit-learn's
            # rule for stopping when there is no validation set.
            state = _early_stopping_update(state, (sign * total / n).astype(jnp.float32), ~undo, epoch,
                                           patience, min_delta, engine.reference)
        return state, records

    return one_epoch


def _early_stopping_update(state: TrainState, score, counted, epoch, patience, min_delta, reference) -> TrainState:
    """Keeps the best params (lowest ``score``) and stops after ``patience`` epochs without an improvement.

    An improvement beats the reference by more than ``min_delta``; the reference is the best
    improvement so far (``"improvement"``) or the best score of any epoch (``"best"``), and so
    are the params kept.
    """
    improved = counted & (score < state.best_value - min_delta)
    better = counted & (score < state.best_value) if reference == "best" else improved
    wait = jnp.where(improved, 0, state.wait + 1)
    return state._replace(
        best_params=jax.tree.map(lambda new, old: jnp.where(better, new, old), state.params, state.best_params),
        best_value=jnp.where(better, score, state.best_value),
        best_epoch=jnp.where(better, epoch, state.best_epoch),
        wait=wait,
        stopped=state.stopped | (wait >= patience),
    )


def put(records, entries, at):
    """``records`` with one epoch's ``entries`` written at index ``at`` (within bounds)."""
    return jax.tree.map(lambda r, e: jax.lax.dynamic_update_slice(r, e[None], (at,)), records, entries)
