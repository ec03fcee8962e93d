"""The fused training engine: feed-forward, loss and back-propagation as one compiled program.

:func:`fit` trains any params pytree with any per-example loss and any optimizer in Optax's
protocol (jaxnn's or Optax's). Epochs run in a ``lax.while_loop`` and the mini-batches of
an epoch in a ``lax.scan``, so there is no Python loop per step; the loop state is donated
to the compiled program.

Batches
  ``batch_size=None`` is full-batch gradient descent, ``batch_size=1`` is SGD, anything in
  between is mini-batch gradient descent: the same function. Each epoch draws a fresh
  permutation from ``fold_in(key, epoch)``. When ``N`` is not a multiple of the batch size the
  last batch of each epoch is *smaller* (padded and masked out of the loss), exactly like
  PyTorch's ``drop_last=False``: every sample is used once per epoch and none is dropped.

History
  ``train_loss[e]`` is the mean per-example loss over epoch ``e``, accumulated while training
  (the Keras convention; for full-batch GD it is the loss before that epoch's update).
  ``val_loss[e]`` and ``val_<metric>[e]`` are measured on the validation data after epoch
  ``e``. Entries for epochs that were not run (early stopping) are NaN; ``epochs_run`` says
  how many were.

Sweeps
  :func:`sweep` trains a batch of models (different seeds and/or float hyperparameters such as
  the learning rate) in one compiled call with ``vmap``.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.sharding import Mesh, NamedSharding, PartitionSpec
from jax.typing import ArrayLike

from jaxnn import heads as _heads
from jaxnn._checks import check_finite_host

__all__ = [
    "Supervised",
    "EarlyStopping",
    "History",
    "FitResult",
    "fit",
    "sweep",
    "make_train_step",
    "epoch_batches",
]

Params = Any
LossFn = Callable[[Params, jax.Array, jax.Array], jax.Array]
MetricFn = Callable[[Params, jax.Array, jax.Array], jax.Array]


@dataclasses.dataclass(frozen=True)
class Supervised:
    """A per-example loss made of a network's ``apply`` and a :class:`jaxnn.heads.Head`.

    ``Supervised(net.apply, heads.binary())(params, x, y)`` is
    ``head.loss(net.apply(params, x), y)``, of shape ``[batch]``. Given to :func:`fit`, it
    also lets ``fit`` check the targets against the head before compiling (class indices
    within the output width, binary targets in {0, 1}, matching output widths).
    """

    apply: Callable[[Params, jax.Array], jax.Array]
    head: _heads.Head

    def __call__(self, params: Params, x: jax.Array, y: jax.Array) -> jax.Array:
        """Per-example loss ``head.loss(apply(params, x), y)``, shape ``[batch]``."""
        return self.head.loss(self.apply(params, x), y)


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
      train_loss: mean training loss of each epoch, ``[epochs]``.
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


class _State(NamedTuple):
    params: Params
    opt_state: Any
    epoch: jax.Array
    train_loss: jax.Array
    val_loss: jax.Array
    val_metrics: dict[str, jax.Array]
    best_params: Params
    best_value: jax.Array
    best_epoch: jax.Array
    wait: jax.Array
    stopped: jax.Array
    nonfinite_epoch: jax.Array
    nonfinite_step: jax.Array


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


def _check_data(x: Any, y: Any, what: str) -> int:
    if not hasattr(x, "shape") or not hasattr(y, "shape"):
        raise TypeError(f"{what} x and y must be arrays, got {type(x).__name__} and {type(y).__name__}")
    if x.ndim < 1 or y.ndim < 1:
        raise ValueError(f"{what} x and y need a leading sample axis, got x.shape={x.shape}, y.shape={y.shape}")
    if x.shape[0] != y.shape[0]:
        raise ValueError(
            f"{what} x and y have different numbers of samples: x.shape={x.shape}, y.shape={y.shape}"
        )
    if x.shape[0] == 0:
        raise ValueError(f"{what} data is empty (0 samples)")
    check_finite_host(f"{what} x", x)
    check_finite_host(f"{what} y", y)
    return int(x.shape[0])


def _spec(tree: Any) -> tuple:
    """A hashable description of a pytree's structure, shapes and dtypes."""
    leaves, treedef = jax.tree.flatten(tree)
    return treedef, tuple((tuple(np.shape(a)), str(jnp.result_type(a))) for a in leaves)


@functools.lru_cache(maxsize=256)
def _eval_shape_cached(fn: Callable, *specs: tuple) -> Any:
    # Tracing is the costly part of fit's checks, and it only depends on shapes and dtypes:
    # repeated fit calls with the same loss and data shapes trace once.
    args = [
        jax.tree.unflatten(treedef, [jax.ShapeDtypeStruct(shape, dtype) for shape, dtype in leaves])
        for treedef, leaves in specs
    ]
    return jax.eval_shape(fn, *args)


def _check_targets(loss_fn: Supervised, params: Params, x: Any, y: Any, what: str) -> None:
    """Host-side checks of the targets against a Supervised loss's head (before compiling)."""
    out = _eval_shape_cached(loss_fn.apply, _spec(params), _spec(x))
    width = out.shape[-1] if out.ndim > 1 else 1
    name = loss_fn.head.name
    y_host = np.asarray(y)
    if name == "multiclass":
        if np.issubdtype(y_host.dtype, np.integer):
            if y_host.ndim != 1:
                raise ValueError(f"{what} y must be class indices of shape [N], got {y_host.shape}")
            lo, hi = int(y_host.min()), int(y_host.max())
            if lo < 0 or hi >= width:
                raise ValueError(
                    f"{what} y has class labels in [{lo}, {hi}] but the network has {width} outputs "
                    f"(classes 0..{width - 1}); give the output layer {hi + 1} units"
                )
        elif y_host.shape != (x.shape[0], width):
            raise ValueError(
                f"{what} one-hot y must have shape {(x.shape[0], width)} for {width} outputs, got {y_host.shape}"
            )
    else:
        expected = (x.shape[0], width) if out.ndim > 1 else (x.shape[0],)
        if y_host.shape != expected:
            raise ValueError(
                f"{what} y has shape {y_host.shape} but the network outputs {out.shape[1:] or 'scalars'} "
                f"per sample; y must have shape {expected}"
                + (" (reshape with y[:, None])" if y_host.shape == expected[:1] else "")
            )
        if name == "binary":
            bad = np.setdiff1d(np.unique(y_host), [0, 1])
            if bad.size:
                raise ValueError(
                    f"{what} y must be in {{0, 1}} for the binary head, found {bad[:5].tolist()}; "
                    "convert {-1, +1} labels with jaxnn.data.labels_to_01"
                )


def _check_batch_size(batch_size: int | None, n: int) -> int:
    if batch_size is None:
        return n
    if not isinstance(batch_size, (int, np.integer)) or isinstance(batch_size, bool):
        raise TypeError(f"batch_size must be an int or None, got {type(batch_size).__name__}")
    if batch_size <= 0:
        raise ValueError(f"batch_size must be >= 1 (or None for full batch), got {batch_size}")
    if batch_size > n:
        raise ValueError(
            f"batch_size={batch_size} is larger than the {n} training samples; "
            "use batch_size=None for full-batch gradient descent"
        )
    return int(batch_size)


def _check_early_stopping(es: EarlyStopping | None, metric_names: list[str], has_val: bool) -> None:
    if es is None:
        return
    if not has_val:
        raise ValueError("early_stopping needs validation_data=(x_val, y_val)")
    valid = ["val_loss"] + [f"val_{m}" for m in metric_names]
    if es.monitor not in valid:
        raise ValueError(f"early_stopping.monitor must be one of {valid}, got {es.monitor!r}")
    if es.mode not in ("min", "max"):
        raise ValueError(f"early_stopping.mode must be 'min' or 'max', got {es.mode!r}")
    if es.patience < 1:
        raise ValueError(f"early_stopping.patience must be >= 1, got {es.patience}")
    if es.min_delta < 0:
        raise ValueError(f"early_stopping.min_delta must be >= 0, got {es.min_delta}")


def _make_run(
    loss_fn: LossFn,
    optimizer: optax.GradientTransformation,
    n: int,
    batch_size: int,
    epochs: int,
    shuffle: bool,
    metrics: Mapping[str, MetricFn],
    has_val: bool,
    early_stopping: EarlyStopping | None,
    guard: bool = True,
    batch_sharding: Any = None,
    loop: str = "while",
):
    """Builds the training loop over epochs.

    ``loop="while"`` (fit): ``run(state, key, x, y, xv, yv, stop) -> state`` runs epochs until
    ``stop`` and exits as soon as training stops, recording into the state's history.

    ``loop="scan"`` (sweep, where the epoch count is fixed):
    ``run(state, key, x, y, xv, yv, length) -> (state, records)`` runs exactly ``length``
    epochs, freezing a stopped run instead of exiting, and returns the ``[length]`` history
    entries as scan outputs (the state's history is left alone). Under ``vmap`` a
    ``while_loop``'s stop test becomes a batched predicate that selects the whole carry of
    every member at every iteration, and a write at a per-member epoch becomes a scatter.

    ``guard=False`` drops the non-finite checks: a run that goes non-finite keeps going.
    """
    full_batch = batch_size == n
    sign = 1.0 if early_stopping is None or early_stopping.mode == "min" else -1.0

    def batch_loss(params, xb, yb, mask):
        if batch_sharding is not None:
            # Data parallelism: split the batch across devices; params stay replicated and
            # XLA inserts the gradient all-reduce.
            xb, yb, mask = (jax.lax.with_sharding_constraint(a, batch_sharding) for a in (xb, yb, mask))
        per_example = loss_fn(params, xb, yb)
        return _masked_mean(per_example, mask)

    grad_fn = jax.value_and_grad(batch_loss)

    def train_step(carry, batch):
        params, opt_state, bad_step = carry
        xb, yb, mask, step = batch
        value, grads = grad_fn(params, xb, yb, mask)
        updates, new_opt_state = optimizer.update(grads, opt_state, params)
        new_params = optax.apply_updates(params, updates)
        weighted = value * jnp.sum(mask)
        if guard:
            # Only a scalar test per step: a non-finite gradient makes the params non-finite,
            # which the next step's loss (or the end-of-epoch check) reveals. No per-step
            # select over params and optimizer state, which would cost a pass over each.
            bad_step = jnp.where((bad_step < 0) & ~jnp.isfinite(value), step, bad_step)
        return (new_params, new_opt_state, bad_step), weighted

    def one_epoch(state: _State, key, x, y, xv, yv) -> tuple[_State, dict[str, Any]]:
        """One epoch: the new state (its history untouched) and this epoch's history entries."""
        epoch = state.epoch
        no_bad = jnp.asarray(-1, jnp.int32)
        if full_batch:
            # One batch of everything: no permutation or gather needed.
            last_step = 0
            (params, opt_state, bad_step), total = train_step(
                (state.params, state.opt_state, no_bad), (x, y, jnp.ones((n,), jnp.float32), 0)
            )
        else:
            idx, mask = epoch_batches(jax.random.fold_in(key, epoch), n, batch_size, shuffle)

            def step(carry, batch):
                ib, mb, i = batch
                return train_step(carry, (jnp.take(x, ib, axis=0), jnp.take(y, ib, axis=0), mb, i))

            steps = jnp.arange(idx.shape[0], dtype=jnp.int32)
            last_step = idx.shape[0] - 1
            (params, opt_state, bad_step), totals = jax.lax.scan(
                step, (state.params, state.opt_state, no_bad), (idx, mask, steps)
            )
            total = jnp.sum(totals)

        bad = False
        # A stopped run stays as it is; so does any run past ``epochs`` (a sweep's last chunk
        # may be padded).
        skip = (state.stopped | (epoch >= epochs)) if loop == "scan" else jnp.asarray(False)
        failed_step = state.nonfinite_step
        if guard:
            # Once per epoch: are the params still finite (a non-finite last update)? On a
            # failure, roll back to the epoch's starting params and state, the last ones known
            # finite; this epoch is then not counted and its history entries stay NaN.
            params_finite = _all_finite(params)
            failed_step = jnp.where(bad_step >= 0, bad_step, jnp.where(params_finite, -1, last_step))
            bad = (failed_step >= 0) & ~skip
        undo = bad | skip
        if guard or loop == "scan":
            rollback = lambda old, new: jnp.where(undo, old, new)
            params = jax.tree.map(rollback, state.params, params)
            opt_state = jax.tree.map(rollback, state.opt_state, opt_state)

        def entry(value):  # an epoch that did not count records NaN
            return jnp.where(undo, jnp.nan, value).astype(jnp.float32)

        records = {"train_loss": entry(total / n)}
        best = (state.best_params, state.best_value, state.best_epoch, state.wait, state.stopped)
        if has_val:
            vl = jnp.mean(loss_fn(params, xv, yv))
            measured = {name: fn(params, xv, yv) for name, fn in metrics.items()}
            records["val_loss"] = entry(vl)
            records["val_metrics"] = {name: entry(measured[name]) for name in metrics}
            if early_stopping is not None:
                monitored = vl if early_stopping.monitor == "val_loss" else measured[early_stopping.monitor[4:]]
                score = (sign * monitored).astype(jnp.float32)  # lower is better after the sign flip
                improved = ~bad & (score < state.best_value - early_stopping.min_delta)
                best_params = jax.tree.map(
                    lambda new, old: jnp.where(improved, new, old), params, state.best_params
                )
                wait = jnp.where(improved, 0, state.wait + 1)
                best = (
                    best_params,
                    jnp.where(improved, score, state.best_value),
                    jnp.where(improved, epoch, state.best_epoch),
                    wait,
                    wait >= early_stopping.patience,
                )
        new_state = _State(
            params=params,
            opt_state=opt_state,
            epoch=jnp.where(undo, epoch, epoch + 1),
            train_loss=state.train_loss,
            val_loss=state.val_loss,
            val_metrics=state.val_metrics,
            best_params=best[0],
            best_value=best[1],
            best_epoch=best[2],
            wait=best[3],
            stopped=best[4] | undo,
            nonfinite_epoch=jnp.where(bad, epoch, state.nonfinite_epoch),
            nonfinite_step=jnp.where(bad, failed_step, state.nonfinite_step),
        )
        return new_state, records

    def write(state: _State, records, at) -> _State:
        """``state`` with ``records`` (one entry per history, or ``[k]`` entries) put at ``at``."""
        put = lambda history, value: history.at[at].set(value, mode="drop")
        return state._replace(
            train_loss=put(state.train_loss, records["train_loss"]),
            val_loss=put(state.val_loss, records["val_loss"]) if has_val else state.val_loss,
            val_metrics={k: put(v, records["val_metrics"][k]) for k, v in state.val_metrics.items()}
            if has_val
            else state.val_metrics,
        )

    def run(state: _State, key, x, y, xv, yv, stop) -> _State:
        epoch_fn = lambda s: one_epoch(s, key, x, y, xv, yv)
        if loop == "scan":
            return jax.lax.scan(lambda s, _: epoch_fn(s), state, None, length=stop)

        def running(s):
            return (s.epoch < stop) & ~s.stopped

        def epochs_from(base):  # one epoch, recorded in history buffers that start at ``base``
            def body(s):
                new, records = epoch_fn(s)
                return write(new, records, s.epoch - base)

            return body

        if epochs <= _CHUNK:
            return jax.lax.while_loop(running, epochs_from(0), state)

        # Epochs run in chunks of _CHUNK, each recording into its own small history buffers,
        # which are written into the full ones once per chunk. XLA's CPU runtime runs the ops
        # of a loop body one after another, without a thread-pool hand-off per op, when no
        # buffer the body touches exceeds 512 bytes (or the body has at most 8 ops, or they
        # form a chain); a [epochs] history buffer in the body would cost a tiny model (XOR)
        # about 2 us per epoch, more than the step itself.
        def chunk(s: _State) -> _State:
            base = s.epoch
            local = s._replace(
                train_loss=_nan_history(_CHUNK),
                val_loss=_nan_history(_CHUNK),
                val_metrics={name: _nan_history(_CHUNK) for name in s.val_metrics},
            )
            t = jax.lax.while_loop(lambda t: running(t) & (t.epoch < base + _CHUNK), epochs_from(base), local)
            # Entries past the epochs run are NaN here and in the full buffers alike; those
            # past the end of the full buffers are dropped.
            records = {"train_loss": t.train_loss, "val_loss": t.val_loss, "val_metrics": t.val_metrics}
            return write(t._replace(train_loss=s.train_loss, val_loss=s.val_loss, val_metrics=s.val_metrics),
                         records, base + jnp.arange(_CHUNK))

        return jax.lax.while_loop(running, chunk, state)

    return run


_CHUNK = 128  # epochs per chunk of the while loop: 128 float32 history entries are 512 bytes


def _nan_history(epochs: int) -> jax.Array:
    return jnp.full((epochs,), jnp.nan, jnp.float32)


@functools.lru_cache(maxsize=64)
def _initial_state_fn(optimizer, epochs, metric_names, early_stopping, sharding=None):
    """A compiled ``(params, opt_state | None, initial_epoch) -> _State``, cached.

    One compiled call instead of a dozen small eager dispatches per ``fit``; its outputs are
    fresh buffers, so donating them to the training loop never touches the caller's arrays.
    """

    def build(params, opt_state, initial_epoch):
        fresh = jax.tree.map(jnp.copy, params)
        opt_state = optimizer.init(fresh) if opt_state is None else jax.tree.map(jnp.copy, opt_state)
        return _initial_state(fresh, opt_state, epochs, metric_names, early_stopping, initial_epoch)

    # With devices, the state is born replicated over the mesh (device_put of a state holding
    # NaN history would fail multi-process equality checks, since NaN != NaN).
    return jax.jit(build, out_shardings=sharding)


def _initial_state(params, opt_state, epochs, metric_names, early_stopping, initial_epoch) -> _State:
    def nan():  # a fresh buffer each: donated buffers must be distinct
        return _nan_history(epochs)

    keep_best = early_stopping is not None
    return _State(
        params=params,
        opt_state=opt_state,
        epoch=jnp.asarray(initial_epoch, jnp.int32),
        train_loss=nan(),
        val_loss=nan(),
        val_metrics={name: nan() for name in metric_names},
        # Only early stopping needs a second copy of the params.
        best_params=jax.tree.map(jnp.copy, params) if keep_best else (),
        best_value=jnp.asarray(jnp.inf, jnp.float32),
        best_epoch=jnp.asarray(-1, jnp.int32),
        wait=jnp.zeros((), jnp.int32),
        stopped=jnp.zeros((), bool),
        nonfinite_epoch=jnp.asarray(-1, jnp.int32),
        nonfinite_step=jnp.asarray(-1, jnp.int32),
    )


def _finish(state: _State, early_stopping: EarlyStopping | None) -> FitResult:
    restore = early_stopping is not None and early_stopping.restore_best
    params = state.best_params if restore else state.params
    best_epoch = state.best_epoch if early_stopping is not None else state.epoch - 1
    history = History(
        state.train_loss, state.val_loss, state.val_metrics, state.epoch, best_epoch,
        state.nonfinite_epoch, state.nonfinite_step,
    )
    return FitResult(params, state.opt_state, history)


def _validate(loss_fn, params, x, y, validation_data, batch_size, epochs, metrics, early_stopping):
    if not callable(loss_fn):
        raise TypeError("loss_fn must be callable as loss_fn(params, x, y) -> per-example losses [batch]")
    if not isinstance(epochs, (int, np.integer)) or epochs < 1:
        raise ValueError(f"epochs must be an int >= 1, got {epochs!r}")
    n = _check_data(x, y, "training")
    batch_size = _check_batch_size(batch_size, n)
    has_val = validation_data is not None
    if has_val:
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
            raise ValueError("validation_data must be a pair (x_val, y_val)")
        xv, yv = validation_data
        _check_data(xv, yv, "validation")
        if xv.shape[1:] != x.shape[1:] or yv.shape[1:] != y.shape[1:]:
            raise ValueError(
                f"validation data shapes {xv.shape}, {yv.shape} do not match the training data's "
                f"{x.shape}, {y.shape} after the sample axis"
            )
    metrics = dict(metrics or {})
    if metrics and not has_val:
        raise ValueError("metrics are measured on validation data: pass validation_data=(x_val, y_val)")
    _check_early_stopping(early_stopping, list(metrics), has_val)
    if isinstance(loss_fn, Supervised):
        _check_targets(loss_fn, params, x, y, "training")
        if has_val:
            _check_targets(loss_fn, params, validation_data[0], validation_data[1], "validation")
    # Trace the loss once, abstractly: shape errors surface here as ValueErrors, not from XLA.
    batch_of = lambda a: jax.ShapeDtypeStruct((batch_size, *a.shape[1:]), a.dtype)
    out = _eval_shape_cached(loss_fn, _spec(params), _spec(batch_of(x)), _spec(batch_of(y)))
    if out.shape != (batch_size,):
        raise ValueError(
            f"loss_fn must return per-example losses of shape [batch] = ({batch_size},), got {out.shape}; "
            "use reduction='none' (the default of jaxnn.losses)"
        )
    for name, fn in metrics.items():
        if not callable(fn):
            raise TypeError(f"metrics[{name!r}] must be callable as fn(params, x_val, y_val) -> scalar")
        out = _eval_shape_cached(fn, _spec(params), _spec(validation_data[0]), _spec(validation_data[1]))
        if getattr(out, "shape", None) != ():
            raise ValueError(
                f"metrics[{name!r}] must return a scalar, got {getattr(out, 'shape', type(out).__name__)}; "
                "reduce it over the batch (e.g. jnp.mean), or pass one metric per output"
            )
    return n, batch_size, has_val, metrics


def fit(
    params: Params,
    loss_fn: LossFn,
    x: ArrayLike,
    y: ArrayLike,
    *,
    optimizer: optax.GradientTransformation,
    key: jax.Array,
    epochs: int,
    batch_size: int | None = None,
    shuffle: bool = True,
    validation_data: tuple[ArrayLike, ArrayLike] | None = None,
    metrics: Mapping[str, MetricFn] | None = None,
    early_stopping: EarlyStopping | None = None,
    progress: bool = False,
    progress_chunk: int | None = None,
    on_nonfinite: str = "stop",
    opt_state: Any = None,
    initial_epoch: int = 0,
    devices: Sequence[jax.Device] | None = None,
) -> FitResult:
    """Trains ``params`` by minimizing the mean of ``loss_fn`` over ``(x, y)``, compiled whole.

    Args:
      params: initial parameters, any pytree of float arrays (left untouched: training
        works on a copy whose buffers are donated).
      loss_fn: ``loss_fn(params, x_batch, y_batch) -> [batch]`` per-example losses, e.g.
        ``Supervised(net.apply, heads.multiclass())``. The batch loss is their mean.
      x: inputs ``[N, ...]``.
      y: targets ``[N, ...]``.
      optimizer: an ``optax.GradientTransformation`` (``jaxnn.optim.adam(1e-3)``,
        ``optax.sgd(0.1)``, a chain, ...).
      key: PRNG key for the per-epoch shuffles (epoch ``e`` uses ``fold_in(key, e)``).
      epochs: maximum number of passes over the data.
      batch_size: ``None`` for full-batch GD, ``1`` for SGD, otherwise mini-batches. Must
        be between 1 and N; the last batch of an epoch is smaller when N is not a multiple.
      shuffle: reshuffle every epoch (default). ``False`` visits samples in order.
      validation_data: ``(x_val, y_val)``, evaluated after every epoch.
      metrics: ``{name: fn(params, x_val, y_val) -> scalar}``, recorded as ``val_<name>``.
      early_stopping: an :class:`EarlyStopping` rule on ``val_loss`` or a ``val_<metric>``.
      progress: show a tqdm progress bar (needs ``pip install jaxnn[progress]``). The
        compiled loop then runs in chunks of ``progress_chunk`` epochs.
      progress_chunk: epochs per chunk with ``progress`` (default: about 1/20 of ``epochs``).
      on_nonfinite: what to do when training produces NaN or Inf, checked inside the compiled
        loop (the loss at every step, and the params at the end of every epoch, so a
        non-finite gradient is caught by the next step's loss or by that check):
        ``"stop"`` (default) stops and returns the params and optimizer state from the start
        of the failing epoch (the last ones known finite), with
        ``history.nonfinite_epoch``/``nonfinite_step`` saying where; ``"raise"`` raises
        ``FloatingPointError`` with that report; ``"ignore"`` skips the checks and lets
        NaNs propagate.
      opt_state: resume from this optimizer state instead of ``optimizer.init(params)``.
      initial_epoch: resume at this epoch (history entries before it stay NaN). Training
        ``N`` epochs, then ``fit(result.params, ..., opt_state=result.opt_state,
        initial_epoch=N, epochs=N + M)`` gives bit-identical params to ``epochs=N + M`` at
        once (CPU): epoch ``e`` always shuffles with ``fold_in(key, e)``.
      devices: data-parallel training across these devices (e.g. ``jax.devices()``): each
        batch is split along its first axis over a one-axis ``Mesh`` (``"data"``), params
        and optimizer state are replicated, and XLA all-reduces the gradients. The batch
        size (``N`` for full batch) must be divisible by ``len(devices)``. ``None`` runs on
        the default device.

    Returns:
      A :class:`FitResult` ``(params, opt_state, history)``.

    Raises:
      ValueError: before compiling, for mismatched lengths, empty data, NaN/Inf in the
        data, a batch size outside [1, N], targets that do not fit the head of a
        :class:`Supervised` loss, a loss that is not per-example, an ``opt_state`` that
        does not fit the optimizer, or a batch size not divisible by the device count.
      FloatingPointError: with ``on_nonfinite="raise"``, when a loss or gradient is not finite.
    """
    if not isinstance(key, jax.Array):
        raise TypeError(f"key must be a jax.random key, got {type(key).__name__}; use jax.random.key(seed)")
    x, y = jnp.asarray(x), jnp.asarray(y)
    n, batch_size, has_val, metrics = _validate(
        loss_fn, params, x, y, validation_data, batch_size, epochs, metrics, early_stopping
    )
    if on_nonfinite not in _NONFINITE:
        raise ValueError(f"on_nonfinite must be one of {_NONFINITE}, got {on_nonfinite!r}")
    if not isinstance(initial_epoch, (int, np.integer)) or not 0 <= initial_epoch < epochs:
        raise ValueError(f"initial_epoch must be an int in [0, epochs={epochs}), got {initial_epoch!r}")
    if opt_state is not None:
        expected = jax.tree.structure(jax.eval_shape(optimizer.init, params))
        if jax.tree.structure(opt_state) != expected:
            raise ValueError(
                "opt_state does not fit this optimizer and params: expected the structure of "
                f"optimizer.init(params), {expected}, got {jax.tree.structure(opt_state)}"
            )
    xv, yv = (jnp.asarray(a) for a in validation_data) if has_val else (None, None)
    batch_sharding, replicated = _shardings(devices, batch_size)
    run = _compiled_run(
        loss_fn, optimizer, n, batch_size, int(epochs), shuffle, tuple(metrics.items()), has_val,
        early_stopping, on_nonfinite != "ignore", batch_sharding,
    )
    init_state = _initial_state_fn(optimizer, int(epochs), tuple(metrics), early_stopping, replicated)
    state = init_state(params, opt_state, initial_epoch)
    if replicated is not None:
        x, y, xv, yv = jax.device_put((x, y, xv, yv), replicated)
    if not progress:
        state = run(state, key, x, y, xv, yv, jnp.asarray(epochs, jnp.int32))
    else:
        state = _run_with_progress(
            run, state, key, x, y, xv, yv, int(epochs), progress_chunk, has_val, int(initial_epoch)
        )
    result = _finish(state, early_stopping)
    if on_nonfinite == "raise" and int(result.history.nonfinite_epoch) >= 0:
        raise FloatingPointError(
            f"non-finite loss or gradient at epoch {int(result.history.nonfinite_epoch)}, "
            f"step {int(result.history.nonfinite_step)}; lower the learning rate, check the data "
            "scale, or pass on_nonfinite='stop' to get the last finite params back"
        )
    return result


_NONFINITE = ("stop", "raise", "ignore")


def _shardings(devices, batch_size):
    """The batch sharding (split over a 'data' mesh axis) and the replicated sharding."""
    if devices is None:
        return None, None
    devices = list(devices)
    if not devices:
        raise ValueError("devices must be a non-empty sequence, e.g. jax.devices()")
    if batch_size % len(devices):
        raise ValueError(
            f"the batch size {batch_size} is not divisible by the {len(devices)} devices; choose "
            f"a batch_size that is a multiple of {len(devices)} (for full batch, N must be)"
        )
    mesh = Mesh(np.array(devices), ("data",))
    return NamedSharding(mesh, PartitionSpec("data")), NamedSharding(mesh, PartitionSpec())


@functools.lru_cache(maxsize=32)
def _compiled_run(*args):
    # The same loss, optimizer, sizes and options reuse one compiled program across fit calls.
    loss_fn, optimizer, n, batch_size, epochs, shuffle, metrics, *rest = args
    run = _make_run(loss_fn, optimizer, n, batch_size, epochs, shuffle, dict(metrics), *rest)
    return jax.jit(run, donate_argnums=0)


def _run_with_progress(run, state, key, x, y, xv, yv, epochs, chunk, has_val, start):
    try:
        from tqdm.auto import tqdm
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError("progress=True needs tqdm: pip install 'jaxnn[progress]'") from err
    # About 20 host round trips per run: each costs a sync and a transfer (~1 ms on CPU),
    # which is what makes a progress bar cost more than a few percent.
    chunk = max(1, (epochs - start) // 20) if chunk is None else int(chunk)
    if chunk < 1:
        raise ValueError(f"progress_chunk must be >= 1, got {chunk}")
    with tqdm(total=epochs, initial=start, unit="epoch") as bar:
        done = start
        while done < epochs:
            state = run(state, key, x, y, xv, yv, jnp.asarray(min(done + chunk, epochs), jnp.int32))
            # One transfer for everything the bar shows.
            now, stopped, train_loss, val_loss = jax.device_get(
                (state.epoch, state.stopped, state.train_loss, state.val_loss)
            )
            now = int(now)
            if now > 0:
                postfix = {"loss": f"{float(train_loss[now - 1]):.4g}"}
                if has_val:
                    postfix["val_loss"] = f"{float(val_loss[now - 1]):.4g}"
                bar.set_postfix(postfix, refresh=False)
            bar.update(now - done)
            if bool(stopped) or now == done:
                break
            done = now
    return state


def sweep(
    init_fn: Callable[[jax.Array], Params],
    loss_fn: LossFn,
    x: ArrayLike,
    y: ArrayLike,
    *,
    make_optimizer: Callable[..., optax.GradientTransformation],
    keys: jax.Array,
    hyperparams: Mapping[str, ArrayLike] | None = None,
    epochs: int,
    batch_size: int | None = None,
    shuffle: bool = True,
    validation_data: tuple[ArrayLike, ArrayLike] | None = None,
    metrics: Mapping[str, MetricFn] | None = None,
) -> FitResult:
    """Trains a batch of models in one compiled call (``vmap`` over seeds and hyperparameters).

    Member ``i`` splits ``keys[i]`` into ``(init_key, shuffle_key)``, initializes its params
    with ``init_fn(init_key)``, trains with
    ``make_optimizer(**{k: v[i] for k, v in hyperparams.items()})`` and shuffles with
    ``shuffle_key``; everything else is shared. Equivalent to calling :func:`fit` once per member
    (tested), but compiled once and run as one batched program.

    Each member has :func:`fit`'s non-finite guard (``on_nonfinite="stop"``): a member whose
    loss or params turn NaN/Inf (a learning rate past the stability limit) keeps the params
    from the start of the failing epoch, records NaN from there on and reports the epoch in
    ``history.nonfinite_epoch``; the other members are unaffected. The check adds almost
    nothing to the run time while no member fails: chunks of up to 128 epochs run
    unchecked, and a chunk at whose end some member has a non-finite loss or parameter is
    run again, from its start, with the check. The price is compile time (the loop body is
    compiled with and without the check) and memory (the members' params and optimizer
    state at the chunk's start are kept for the re-run).

    Args:
      init_fn: ``key -> params``, e.g. ``lambda k: net.init(k, (-1, 2))[1]``.
      loss_fn: per-example loss, as in :func:`fit`.
      x, y: the training data, shared by all members.
      make_optimizer: builds an optimizer from float hyperparameters, e.g.
        ``lambda learning_rate: jaxnn.optim.sgd(learning_rate)``. It is called with traced
        values, so it must not branch on them in Python.
      keys: ``[members]`` PRNG keys (``jax.random.split(key, members)``).
      hyperparams: ``{name: [members] array}``; ``None`` calls ``make_optimizer()``.
      epochs, batch_size, shuffle, validation_data, metrics: as in :func:`fit`.

    Returns:
      A :class:`FitResult` whose leaves have a leading ``[members]`` axis, one history per member.
    """
    if not isinstance(keys, jax.Array) or keys.ndim != 1:
        raise ValueError("keys must be a 1-D array of PRNG keys, e.g. jax.random.split(key, 64)")
    members = keys.shape[0]
    hyperparams = {k: jnp.asarray(v, jnp.float32) for k, v in (hyperparams or {}).items()}
    for name, v in hyperparams.items():
        if v.shape != (members,):
            raise ValueError(f"hyperparams[{name!r}] must have shape ({members},) to match keys, got {v.shape}")
    x, y = jnp.asarray(x), jnp.asarray(y)
    params0 = jax.eval_shape(init_fn, keys[0])
    probe = jax.tree.map(lambda s: jnp.zeros(s.shape, s.dtype), params0)
    n, batch_size, has_val, metrics = _validate(
        loss_fn, probe, x, y, validation_data, batch_size, epochs, metrics, None
    )
    # Validate the optimizer factory and hyperparameter names once, concretely.
    try:
        make_optimizer(**{k: v[0] for k, v in hyperparams.items()})
    except TypeError as err:
        raise ValueError(f"make_optimizer does not accept hyperparams {sorted(hyperparams)}: {err}") from None
    xv, yv = (jnp.asarray(a) for a in validation_data) if has_val else (None, None)
    run_all = _compiled_sweep(
        init_fn, loss_fn, make_optimizer, n, batch_size, int(epochs), shuffle, tuple(metrics.items()), has_val
    )
    return run_all(keys, hyperparams, x, y, xv, yv)


@functools.lru_cache(maxsize=32)
def _compiled_sweep(init_fn, loss_fn, make_optimizer, n, batch_size, epochs, shuffle, metrics, has_val):
    # Cached like fit's program: a repeated sweep with the same functions and sizes does not
    # trace or compile again.
    metrics = dict(metrics)
    members_axis = (0, 0, 0, None, None, None, None)

    def start(k, hp):
        init_key, shuffle_key = jax.random.split(k)
        params = init_fn(init_key)
        # No history buffers in the loop: each chunk returns its entries.
        return _initial_state(params, make_optimizer(**hp).init(params), 0, tuple(metrics), None, 0), shuffle_key

    def epochs_of(guard, length):
        def member(state, key, hp, x, y, xv, yv):
            optimizer = make_optimizer(**hp)
            run = _make_run(
                loss_fn, optimizer, n, batch_size, epochs, shuffle, metrics, has_val, None, guard=guard, loop="scan"
            )
            return run(state, key, x, y, xv, yv, length)

        return jax.vmap(member, in_axes=members_axis)

    def chunk(states, index, length, *args):
        # Optimistic: run the chunk without the non-finite guard's per-epoch test of every
        # parameter (about 10% of a small model's epoch under vmap). Non-finite params stay
        # non-finite under additive updates, so a member that the guard would have stopped
        # in this chunk shows a non-finite loss or non-finite params at its end. Only then,
        # and for the whole batch, the chunk is run again from its start with the guard;
        # the cond's predicate is not batched, so just one branch runs. (An epoch whose
        # summed loss overflows float32 without any step's loss doing so also triggers the
        # replay, which then changes nothing.)
        fast = epochs_of(False, length)(states, *args)
        params_finite = jax.vmap(_all_finite)(fast[0].params)
        in_range = index * length + jnp.arange(length) < epochs  # the padding records NaN
        losses_finite = jnp.all(jnp.isfinite(fast[1]["train_loss"]) | ~in_range, axis=1)
        failed = ~states.stopped & ~(params_finite & losses_finite)
        return jax.lax.cond(jnp.any(failed), lambda: epochs_of(True, length)(states, *args), lambda: fast)

    def run_all(keys, hyperparams, x, y, xv, yv):
        states, shuffle_keys = jax.vmap(start)(keys, hyperparams)
        args = (shuffle_keys, hyperparams, x, y, xv, yv)
        # Equal chunks of at most _CHUNK epochs, the last one padded by fewer epochs than
        # there are chunks: a shorter last chunk would compile the loop body twice more.
        chunks = -(-epochs // _CHUNK)
        size = -(-epochs // chunks)
        step = lambda s, index: chunk(s, index, size, *args)
        states, records = jax.lax.scan(step, states, jnp.arange(chunks))
        # [chunks, members, size] -> [members, epochs]
        records = jax.tree.map(lambda r: jnp.moveaxis(r, 0, 1).reshape(r.shape[1], -1)[:, :epochs], records)
        nan = jnp.full((keys.shape[0], epochs), jnp.nan, jnp.float32)
        states = states._replace(
            train_loss=records["train_loss"],
            val_loss=records["val_loss"] if has_val else nan,
            val_metrics=records["val_metrics"] if has_val else {},
        )
        return _finish(states, None)

    return jax.jit(run_all)


def _all_finite(tree: Any) -> jax.Array:
    """``True`` when every element of every leaf of ``tree`` is finite."""
    return jnp.all(jnp.stack([jnp.all(jnp.isfinite(leaf)) for leaf in jax.tree.leaves(tree)]))


def make_train_step(
    loss_fn: LossFn, optimizer: optax.GradientTransformation, *, donate: bool = True
) -> Callable[[Params, Any, jax.Array, jax.Array], tuple[Params, Any, jax.Array]]:
    """One compiled training step, for loops you write yourself.

    ``step(params, opt_state, x_batch, y_batch) -> (params, opt_state, loss)`` computes the
    mean of ``loss_fn`` over the batch, its gradient with ``jax.grad``, and one optimizer
    update, as one ``jax.jit``-compiled call. :func:`fit` runs the same computation inside
    its compiled loop; this is for when the loop itself must be Python (interleaving other
    work, streaming data from disk with :func:`jaxnn.data.iterate_batches`).

    Args:
      loss_fn: per-example loss ``loss_fn(params, x, y) -> [batch]``.
      optimizer: an ``optax.GradientTransformation``.
      donate: donate ``params`` and ``opt_state`` to the step (default), so their buffers
        are reused in place; the arrays passed in must not be used after the call.

    Returns:
      The compiled ``step`` function.

    >>> import optax
    >>> step = make_train_step(lambda p, x, y: (x * p - y) ** 2, optax.sgd(0.1))
    >>> p, s = jnp.array(0.0), optax.sgd(0.1).init(jnp.array(0.0))
    >>> p, s, loss = step(p, s, jnp.array([1.0, 2.0]), jnp.array([2.0, 4.0]))
    >>> float(loss), float(p)
    (10.0, 1.0)
    """
    if not callable(loss_fn):
        raise TypeError("loss_fn must be callable as loss_fn(params, x, y) -> per-example losses [batch]")

    def step(params, opt_state, xb, yb):
        value, grads = jax.value_and_grad(lambda p: jnp.mean(loss_fn(p, xb, yb)))(params)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, value

    return jax.jit(step, donate_argnums=(0, 1) if donate else ())
