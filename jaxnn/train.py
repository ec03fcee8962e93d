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

import collections
import dataclasses
import functools
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.sharding import Mesh, NamedSharding, PartitionSpec
from jax.typing import ArrayLike

from jaxnn import _structure
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
    return treedef, tuple((tuple(np.shape(a)), getattr(a, "dtype", None) or jnp.result_type(a)) for a in leaves)


def _check_targets(loss_fn: Supervised, params: Params, x: Any, y: Any, what: str) -> None:
    """Host-side checks of the targets against a Supervised loss's head (before compiling)."""
    _, out = _probe(loss_fn.apply, _call, _spec(params), _spec(x))
    width = out.shape[-1] if out.ndim > 1 else 1
    name = loss_fn.head.name
    y_host = np.asarray(y)
    if name == "multiclass":
        if np.issubdtype(y_host.dtype, np.integer):
            if y_host.ndim != 1:
                raise ValueError(f"{what} y must be class indices of shape [N], got {y_host.shape}")
            lo, hi = int(y_host.min()), int(y_host.max())
            if lo < 0:
                raise ValueError(
                    f"{what} y has class labels in [{lo}, {hi}]: multi-class labels are class indices "
                    f"0..{width - 1} for the network's {width} outputs, never negative; map them first, "
                    "e.g. classes, y = np.unique(labels, return_inverse=True)"
                )
            if hi >= width:
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
    if isinstance(es.patience, bool) or not isinstance(es.patience, (int, np.integer)) or es.patience < 1:
        raise ValueError(f"early_stopping.patience must be a whole number of epochs >= 1, got {es.patience!r}")
    if isinstance(es.min_delta, bool) or not isinstance(es.min_delta, (int, float, np.integer, np.floating)) \
            or not 0 <= es.min_delta < np.inf:
        raise ValueError(f"early_stopping.min_delta must be a finite number >= 0, got {es.min_delta!r}")
    if not isinstance(es.restore_best, (bool, np.bool_)):
        raise ValueError(f"early_stopping.restore_best must be True or False, got {es.restore_best!r}")


# ----------------------------------------------------------------------------------------
# Compiled programs, cached on what they compute.
#
# A program is fixed by the *structure* of the loss, optimizer and metrics (the code and
# every captured value that is not a float or an array), the static options and the data
# shapes. Floats and arrays captured in them (learning rates, betas, a schedule's decay
# rate, a margin), the epoch count, the early-stopping patience and min_delta, and the keys
# are arguments of the program, so changing them reuses it. See :mod:`jaxnn._structure`.

_CHUNK = 128  # epochs per inner loop: 128 float32 history entries are 512 bytes
_DISPATCH_MAX = 16 * _CHUNK  # epochs per compiled dispatch, at most
_MAX_EPOCHS = 10_000_000  # the history is kept on the host, 40 MB per recorded quantity
_DISPATCH_SECONDS = 0.25  # aim for dispatches this long: how soon fit notices Ctrl-C
_PROGRAMS: collections.OrderedDict = collections.OrderedDict()
_PROGRAMS_MAX = 64
_PROBES: dict = {}


def _program(key: Any, build: Callable[[], Callable]) -> Callable:
    """The compiled program for ``key`` (built once; least recently used ones dropped)."""
    if key in _PROGRAMS:
        _PROGRAMS.move_to_end(key)
        return _PROGRAMS[key]
    program = _PROGRAMS[key] = build()
    if len(_PROGRAMS) > _PROGRAMS_MAX:
        _PROGRAMS.popitem(last=False)
    return program


def _call(fn, *args):
    return fn(*args)


def _one_update(optimizer, params):
    return optimizer.update(params, optimizer.init(params), params)


def _probe(obj: Any, use: Callable, *specs: tuple) -> tuple[_structure.Lifted, Any]:
    """``obj`` lifted (its floats and arrays as arguments) and ``use(obj, *args)``'s shape.

    ``use`` is traced abstractly with the lifted values traced. Where that fails (code that
    branches in Python on a captured float, say), ``obj`` is kept whole: its floats are
    then part of the program's key and a new value compiles a new program, as ``jax.jit``
    would. Errors of the user's code surface here, from the untouched object, before any
    compiling. Results are cached on the program key and the argument shapes.
    """
    lifted = _structure.lift(obj)
    cache_key = (lifted.key, use, specs)
    hit = _PROBES.get(cache_key)
    if hit is None:
        args = [jax.tree.unflatten(treedef, [jax.ShapeDtypeStruct(s, d) for s, d in leaves]) for treedef, leaves in specs]
        mode = "frozen"
        if lifted.values:
            try:
                out = jax.eval_shape(lambda values, *a: use(lifted.rebuild(values), *a), lifted.values, *args)
                mode = "lifted"
            except Exception:  # noqa: BLE001 - any failure: fall back to the object as it is
                pass
        if mode == "frozen":
            out = jax.eval_shape(functools.partial(use, obj), *args)
        if len(_PROBES) > 1024:
            _PROBES.clear()
        hit = _PROBES[cache_key] = (mode, out)
    mode, out = hit
    return (lifted if mode == "lifted" else _structure.frozen(obj)), out


class _Engine(NamedTuple):
    """The static configuration of one compiled training program (hashable)."""

    loss: Any
    optimizer: Any
    metrics: tuple
    n: int
    batch_size: int
    shuffle: bool
    has_val: bool
    monitor: str | None  # early stopping's quantity, None without early stopping
    mode: str
    guard: bool
    batch_sharding: Any = None


class _Parts(NamedTuple):
    """The lifted loss, optimizer and metrics of a run; rebuilt inside the program."""

    loss: _structure.Lifted
    optimizer: _structure.Lifted
    metrics: dict[str, _structure.Lifted]

    def values(self) -> dict[str, Any]:
        return {
            "loss": self.loss.values,
            "optimizer": self.optimizer.values,
            "metrics": {name: m.values for name, m in self.metrics.items()},
        }

    def rebuild(self, values: dict[str, Any]) -> tuple[LossFn, optax.GradientTransformation, dict[str, MetricFn]]:
        return (
            self.loss.rebuild(values["loss"]),
            self.optimizer.rebuild(values["optimizer"]),
            {name: m.rebuild(values["metrics"][name]) for name, m in self.metrics.items()},
        )


def _nan_records(metric_names: Sequence[str], has_val: bool, length: int) -> dict[str, Any]:
    nan = lambda: jnp.full((length,), jnp.nan, jnp.float32)
    records = {"train_loss": nan()}
    if has_val:
        records["val_loss"] = nan()
        records["val_metrics"] = {name: nan() for name in metric_names}
    return records


def _epoch_fn(engine: _Engine, loss_fn, optimizer, metrics, patience, min_delta, freeze: bool):
    """One epoch: ``one_epoch(state, key, x, y, xv, yv, limit) -> (state, records)``.

    ``records`` holds this epoch's history entries. With ``freeze`` (sweep, where every
    member runs the same number of epochs) a stopped run, or one past ``limit``, stays as it
    is and records NaN; without it the caller's loop stops instead.
    """
    n, batch_size = engine.n, engine.batch_size
    full_batch = batch_size == n
    sign = -1.0 if engine.mode == "max" else 1.0  # lower is better after the sign flip

    def batch_loss(params, xb, yb, mask):
        if engine.batch_sharding is not None:
            # Data parallelism: split the batch across devices; params stay replicated and
            # XLA inserts the gradient all-reduce.
            xb, yb, mask = (jax.lax.with_sharding_constraint(a, engine.batch_sharding) for a in (xb, yb, mask))
        return _masked_mean(loss_fn(params, xb, yb), mask)

    grad_fn = jax.value_and_grad(batch_loss)

    def train_step(carry, batch):
        params, opt_state, bad_step = carry
        xb, yb, mask, step = batch
        value, grads = grad_fn(params, xb, yb, mask)
        updates, new_opt_state = optimizer.update(grads, opt_state, params)
        new_params = optax.apply_updates(params, updates)
        if engine.guard:
            # Only a scalar test per step: a non-finite gradient makes the params non-finite,
            # which the next step's loss (or the end-of-epoch check) reveals. No per-step
            # select over params and optimizer state, which would cost a pass over each.
            bad_step = jnp.where((bad_step < 0) & ~jnp.isfinite(value), step, bad_step)
        return (new_params, new_opt_state, bad_step), value * jnp.sum(mask)

    def run_batches(state: _State, key, x, y):
        no_bad = jnp.asarray(-1, jnp.int32)
        if full_batch:  # one batch of everything: no permutation or gather
            carry, total = train_step((state.params, state.opt_state, no_bad), (x, y, jnp.ones((n,), jnp.float32), 0))
            return carry, total, 0
        idx, mask = epoch_batches(jax.random.fold_in(key, state.epoch), n, batch_size, engine.shuffle)

        def step(carry, batch):
            ib, mb, i = batch
            return train_step(carry, (jnp.take(x, ib, axis=0), jnp.take(y, ib, axis=0), mb, i))

        steps = jnp.arange(idx.shape[0], dtype=jnp.int32)
        carry, totals = jax.lax.scan(step, (state.params, state.opt_state, no_bad), (idx, mask, steps))
        return carry, jnp.sum(totals), idx.shape[0] - 1

    def one_epoch(state: _State, key, x, y, xv, yv, limit) -> tuple[_State, dict[str, Any]]:
        epoch = state.epoch
        (params, opt_state, bad_step), total, last_step = run_batches(state, key, x, y)
        skip = (state.stopped | (epoch >= limit)) if freeze else jnp.asarray(False)
        bad = jnp.asarray(False)
        failed_step = state.nonfinite_step
        if engine.guard:
            # Once per epoch: are the params still finite (a non-finite last update)? On a
            # failure, roll back to the epoch's starting params and state, the last ones known
            # finite; this epoch is then not counted and its history entries stay NaN.
            failed_step = jnp.where(bad_step >= 0, bad_step, jnp.where(_all_finite(params), -1, last_step))
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
            if engine.monitor is not None:
                monitored = val_loss if engine.monitor == "val_loss" else measured[engine.monitor[4:]]
                state = _early_stopping_update(state, (sign * monitored).astype(jnp.float32), ~undo, epoch,
                                               patience, min_delta)
        return state, records

    return one_epoch


def _early_stopping_update(state: _State, score, counted, epoch, patience, min_delta) -> _State:
    """Keeps the best params so far (lowest ``score``) and stops after ``patience`` epochs without."""
    improved = counted & (score < state.best_value - min_delta)
    wait = jnp.where(improved, 0, state.wait + 1)
    return state._replace(
        best_params=jax.tree.map(lambda new, old: jnp.where(improved, new, old), state.params, state.best_params),
        best_value=jnp.where(improved, score, state.best_value),
        best_epoch=jnp.where(improved, epoch, state.best_epoch),
        wait=wait,
        stopped=state.stopped | (wait >= patience),
    )


def _put(records, entries, at):
    """``records`` with one epoch's ``entries`` written at index ``at`` (within bounds)."""
    return jax.tree.map(lambda r, e: jax.lax.dynamic_update_slice(r, e[None], (at,)), records, entries)


def _fit_program(engine: _Engine, parts: _Parts) -> Callable:
    """``run(state, key, x, y, xv, yv, stop, hp) -> (state, records, (epoch, stopped))``, compiled.

    Runs the epochs from ``state.epoch`` up to ``stop`` (at most ``_DISPATCH_MAX`` of them),
    ending early when training stops, and returns their history entries in
    ``[_DISPATCH_MAX]`` buffers. Inside, epochs run in chunks of ``_CHUNK``, each recording
    into its own ``[_CHUNK]`` buffers: XLA's CPU runtime runs the ops of a loop body one
    after another, without a thread-pool hand-off per op, when no buffer the body touches
    exceeds 512 bytes, and a tiny model (XOR) would pay about 2 us per epoch for a longer
    buffer in the epoch loop.
    """
    metric_names = tuple(parts.metrics)

    def run(state: _State, key, x, y, xv, yv, stop, hp):
        loss_fn, optimizer, metrics = parts.rebuild(hp)
        one_epoch = _epoch_fn(engine, loss_fn, optimizer, metrics, hp["patience"], hp["min_delta"], freeze=False)
        base = state.epoch
        running = lambda s: (s.epoch < stop) & ~s.stopped

        def chunk(carry):
            s, records = carry
            start = s.epoch  # base + a multiple of _CHUNK

            def body(inner):
                t, local = inner
                new, entries = one_epoch(t, key, x, y, xv, yv, None)
                return new, _put(local, entries, t.epoch - start)

            s, local = jax.lax.while_loop(
                lambda inner: running(inner[0]) & (inner[0].epoch < start + _CHUNK), body,
                (s, _nan_records(metric_names, engine.has_val, _CHUNK)),
            )
            at = (start - base,)
            return s, jax.tree.map(lambda r, entries: jax.lax.dynamic_update_slice(r, entries, at), records, local)

        records = _nan_records(metric_names, engine.has_val, _DISPATCH_MAX)
        state, records = jax.lax.while_loop(lambda carry: running(carry[0]), chunk, (state, records))
        # The state is donated to the next dispatch before the host reads this one's
        # progress, so the progress is returned apart.
        return state, records, (state.epoch, state.stopped)

    return jax.jit(run, donate_argnums=0)


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


def _setup_program(optimizer: _structure.Lifted, keep_best: bool, sharding: Any) -> Callable:
    """A compiled ``(params, opt_state | None, initial_epoch, values) -> _State``.

    One compiled call instead of a dozen small eager dispatches per ``fit``; its outputs are
    fresh buffers, so donating them to the training loop never touches the caller's arrays.
    With devices, the state is born replicated over the mesh (device_put of a state holding
    NaN would fail multi-process equality checks, since NaN != NaN).
    """

    def build(params, opt_state, initial_epoch, values):
        fresh = jax.tree.map(jnp.copy, params)
        tx = optimizer.rebuild(values)
        opt_state = tx.init(fresh) if opt_state is None else jax.tree.map(jnp.copy, opt_state)
        return _initial_state(fresh, opt_state, keep_best, initial_epoch)

    return jax.jit(build, out_shardings=sharding)


class _Dispatches:
    """The host side of a run: dispatch sizes, the collected history."""

    def __init__(self, start: int, epochs: int, chunk_cap: int | None, seconds_per_epoch: float | None = None) -> None:
        self.start, self.epochs, self.cap = start, epochs, chunk_cap
        self.sizes: list[int] = []
        self.records: list[Any] = []
        self.seconds_per_epoch = seconds_per_epoch

    def next_size(self, epoch: int) -> int:
        # Until the speed is known (the first dispatch of a new program includes compiling
        # it) dispatches run one epoch each; then each runs about _DISPATCH_SECONDS worth of
        # epochs, at most _DISPATCH_MAX.
        size = 1
        if self.seconds_per_epoch is not None:
            size = max(1, min(_DISPATCH_MAX, int(_DISPATCH_SECONDS / max(self.seconds_per_epoch, 1e-9))))
        if self.cap is not None:
            size = min(size, self.cap)
        return min(size, self.epochs - epoch)

    def history(self, metric_names: Sequence[str], has_val: bool, members: int | None = None) -> tuple:
        """``(train_loss, val_loss, val_metrics)`` over all epochs, NaN where not run."""
        host = jax.device_get(self.records)
        shape = (self.epochs,) if members is None else (members, self.epochs)

        def join(get):
            out = np.full(shape, np.nan, np.float32)
            at = self.start
            for size, records in zip(self.sizes, host):
                out[..., at:at + size] = np.asarray(get(records))[..., :size]
                at += size
            return jax.device_put(out)  # (jnp.asarray of a host array compiles a copy per shape)

        train_loss = join(lambda r: r["train_loss"])
        if not has_val:
            return train_loss, jax.device_put(np.full(shape, np.nan, np.float32)), {}
        return (train_loss, join(lambda r: r["val_loss"]),
                {name: join(lambda r, name=name: r["val_metrics"][name]) for name in metric_names})


_SPEEDS: dict = {}  # seconds per epoch last measured for a program and its shapes


def _run_fit(run, state: _State, args: tuple, hp: dict, plan: _Dispatches, fresh: bool, bar) -> _State:
    """Dispatches ``run`` until ``plan.epochs`` or a stop, two dispatches in flight.

    The next dispatch is queued before the previous one is waited for, so the host's work
    (dispatching, reading two scalars) overlaps the device's. A dispatch queued after
    training stopped finds ``state.stopped`` set and does nothing. On Ctrl-C the interrupt is
    re-raised with ``fit_state`` set to the last state dispatched (training stops within
    about two dispatches, ``2 * _DISPATCH_SECONDS``).
    """
    planned, stopped = plan.start, False
    in_flight: collections.deque = collections.deque()
    last_done = None
    try:
        while True:
            while not stopped and planned < plan.epochs and len(in_flight) < 2:
                size = plan.next_size(planned)
                began = time.perf_counter()
                state, records, progress = run(state, *args, planned + size, hp)
                plan.sizes.append(size)
                plan.records.append(records)
                in_flight.append((planned, size, progress, records, began, fresh))
                fresh, planned = False, planned + size
            if not in_flight:
                return state
            start, size, progress, records, began, compiled = in_flight.popleft()
            now, stopped_now = (int(v) for v in jax.device_get(progress))
            finished = time.perf_counter()
            if not compiled:  # a program's first call includes compiling it
                busy_since = began if last_done is None else max(began, last_done)
                plan.seconds_per_epoch = (finished - busy_since) / max(now - start, 1)
            last_done = finished
            if bar is not None:
                bar.show(now, records, now - start)
            stopped = stopped or bool(stopped_now) or now < start + size
    except KeyboardInterrupt as interrupt:
        interrupt.fit_state = state
        raise
    except jax.errors.JaxRuntimeError as err:
        raise (_out_of_memory(err, "training") or err) from None


class _Bar:
    """A tqdm progress bar fed once per dispatch (one transfer for what it shows)."""

    def __init__(self, epochs: int, start: int, has_val: bool) -> None:
        try:
            from tqdm.auto import tqdm
        except ImportError as err:  # pragma: no cover - depends on the environment
            raise ImportError("progress=True needs tqdm: pip install 'jaxnn[progress]'") from err
        self.bar = tqdm(total=epochs, initial=start, unit="epoch")
        self.has_val = has_val

    def show(self, now: int, records: dict, ran: int) -> None:
        if ran > 0:
            shown = jax.device_get({k: records[k][ran - 1] for k in ("train_loss", "val_loss") if k in records})
            postfix = {"loss": f"{float(shown['train_loss']):.4g}"}
            if self.has_val:
                postfix["val_loss"] = f"{float(shown['val_loss']):.4g}"
            self.bar.set_postfix(postfix, refresh=False)
        self.bar.update(ran)

    def close(self) -> None:
        self.bar.close()


def _result(state: _State, plan: _Dispatches, engine: _Engine, restore_best: bool,
            metric_names: Sequence[str], members: int | None = None) -> FitResult:
    train_loss, val_loss, val_metrics = plan.history(metric_names, engine.has_val, members)
    early = engine.monitor is not None
    params = state.best_params if early and restore_best else state.params
    best_epoch = state.best_epoch if early else jax.device_put(np.asarray(jax.device_get(state.epoch)) - 1)
    history = History(train_loss, val_loss, val_metrics, state.epoch, best_epoch,
                      state.nonfinite_epoch, state.nonfinite_step)
    return FitResult(params, state.opt_state, history)


def _check_epochs(epochs: Any, name: str = "epochs") -> int:
    if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or not 1 <= epochs <= _MAX_EPOCHS:
        raise ValueError(f"{name} must be an int in [1, {_MAX_EPOCHS:_}], got {epochs!r}")
    return int(epochs)


def _validate(loss_fn, params, x, y, validation_data, batch_size, epochs, metrics, early_stopping):
    """Checks everything before compiling; returns the sizes and the lifted loss and metrics."""
    if not callable(loss_fn):
        raise TypeError("loss_fn must be callable as loss_fn(params, x, y) -> per-example losses [batch]")
    _check_epochs(epochs)
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
    loss, out = _probe(loss_fn, _call, _spec(params), _spec(batch_of(x)), _spec(batch_of(y)))
    if out.shape != (batch_size,):
        raise ValueError(
            f"loss_fn must return per-example losses of shape [batch] = ({batch_size},), got {out.shape}; "
            "use reduction='none' (the default of jaxnn.losses)"
        )
    lifted_metrics = {}
    for name, fn in metrics.items():
        if not callable(fn):
            raise TypeError(f"metrics[{name!r}] must be callable as fn(params, x_val, y_val) -> scalar")
        lifted_metrics[name], out = _probe(fn, _call, _spec(params), _spec(validation_data[0]), _spec(validation_data[1]))
        if getattr(out, "shape", None) != ():
            raise ValueError(
                f"metrics[{name!r}] must return a scalar, got {getattr(out, 'shape', type(out).__name__)}; "
                "reduce it over the batch (e.g. jnp.mean), or pass one metric per output"
            )
    return n, batch_size, has_val, loss, lifted_metrics


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

    Compiling happens once per *configuration*, not once per call. A later call reuses the
    compiled program when its loss, optimizer and metrics compute the same thing (the same
    code, capturing equal values other than floats and arrays, reading equal globals), the
    data and params have the same shapes and dtypes, and the batch size, shuffling,
    validation and early-stopping quantity are the same. So a fresh ``nn.MLP``,
    ``Supervised`` and ``optim.adam(lr)`` per call, or a fresh lambda per notebook cell,
    compile nothing new. Floats and arrays captured in them (learning rates, betas, eps,
    momentum, weight decay, a schedule's parameters, a loss's margin), ``epochs``,
    ``initial_epoch``, the key and the early-stopping ``patience``/``min_delta`` are
    arguments of the compiled program: changing them compiles nothing. Code that branches
    in Python on a captured float (``if lr > 0.1:``) is the exception: it is compiled once
    per value, as ``jax.jit`` would. A new layer size, activation, optimizer family or data
    shape compiles once. With the persistent cache (:func:`jaxnn.enable_compilation_cache`)
    a fresh process reuses programs compiled by earlier ones.

    Epochs run in compiled dispatches of at most 2048 epochs, each sized to take about a
    quarter of a second, so Ctrl-C stops training promptly: the ``KeyboardInterrupt`` then
    carries ``fit_result``, a :class:`FitResult` of the epochs finished so far (when the
    interrupt arrived while a dispatch was being handed over, it may be absent).

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
      epochs: maximum number of passes over the data, at most 10,000,000 (the history is
        kept, one float32 per epoch and quantity).
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
      TypeError: for text or object data (encode labels as integers first).
      FloatingPointError: with ``on_nonfinite="raise"``, when a loss or gradient is not finite.
      KeyboardInterrupt: on Ctrl-C, with ``fit_result`` set as described above.
    """
    if not isinstance(key, jax.Array):
        raise TypeError(f"key must be a jax.random key, got {type(key).__name__}; use jax.random.key(seed)")
    x, y = _as_data(x, "x"), _as_data(y, "y")
    if validation_data is not None and isinstance(validation_data, (tuple, list)) and len(validation_data) == 2:
        validation_data = (_as_data(validation_data[0], "x_val"), _as_data(validation_data[1], "y_val"))
    n, batch_size, has_val, loss, lifted_metrics = _validate(
        loss_fn, params, x, y, validation_data, batch_size, epochs, metrics, early_stopping
    )
    epochs = int(epochs)
    if on_nonfinite not in _NONFINITE:
        raise ValueError(f"on_nonfinite must be one of {_NONFINITE}, got {on_nonfinite!r}")
    if isinstance(initial_epoch, bool) or not isinstance(initial_epoch, (int, np.integer)) or not 0 <= initial_epoch < epochs:
        raise ValueError(f"initial_epoch must be an int in [0, epochs={epochs}), got {initial_epoch!r}")
    if progress_chunk is not None and (isinstance(progress_chunk, bool) or not isinstance(progress_chunk, (int, np.integer)) or progress_chunk < 1):
        raise ValueError(f"progress_chunk must be an int >= 1, got {progress_chunk!r}")
    _check_ready(params, opt_state)
    lifted_optimizer, opt_shapes = _probe(optimizer, _one_update, _spec(params))
    if opt_state is not None:
        _check_opt_state(opt_state, opt_shapes[1])
    parts = _Parts(loss, lifted_optimizer, lifted_metrics)
    xv, yv = validation_data if has_val else (None, None)
    batch_sharding, replicated = _shardings(devices, batch_size)
    engine = _Engine(
        loss.key, lifted_optimizer.key, tuple((k, m.key) for k, m in lifted_metrics.items()), n, batch_size,
        bool(shuffle), has_val, None if early_stopping is None else early_stopping.monitor,
        "min" if early_stopping is None else early_stopping.mode, on_nonfinite != "ignore", batch_sharding,
    )
    fresh = ("fit", engine) not in _PROGRAMS
    run = _program(("fit", engine), lambda: _fit_program(engine, parts))
    setup = _program(("setup", lifted_optimizer.key, early_stopping is not None, replicated),
                     lambda: _setup_program(lifted_optimizer, early_stopping is not None, replicated))
    values = parts.values()
    values["patience"] = 0 if early_stopping is None else int(early_stopping.patience)
    values["min_delta"] = 0.0 if early_stopping is None else float(early_stopping.min_delta)
    state = setup(params, opt_state, int(initial_epoch), values["optimizer"])
    if replicated is not None:
        x, y, xv, yv = jax.device_put((x, y, xv, yv), replicated)
    speed_key = (engine, _spec(params), x.shape, None if xv is None else xv.shape)
    plan = _Dispatches(int(initial_epoch), epochs, progress_chunk or max(1, (epochs - initial_epoch) // 20)
                       if progress else None, _SPEEDS.get(speed_key))
    bar = _Bar(epochs, int(initial_epoch), has_val) if progress else None
    restore = early_stopping is not None and early_stopping.restore_best
    try:
        state = _run_fit(run, state, (key, x, y, xv, yv), values, plan, fresh, bar)
    except KeyboardInterrupt as interrupt:
        last = getattr(interrupt, "fit_state", None)
        if last is not None and not any(a.is_deleted() for a in jax.tree.leaves(last)):
            interrupt.fit_result = _result(last, plan, engine, restore, tuple(lifted_metrics))
        raise
    finally:
        if bar is not None:
            bar.close()
    if plan.seconds_per_epoch is not None:
        _SPEEDS[speed_key] = plan.seconds_per_epoch
        if len(_SPEEDS) > 256:
            _SPEEDS.pop(next(iter(_SPEEDS)))
    result = _result(state, plan, engine, restore, tuple(lifted_metrics))
    if on_nonfinite == "raise" and int(result.history.nonfinite_epoch) >= 0:
        raise FloatingPointError(
            f"non-finite loss or gradient at epoch {int(result.history.nonfinite_epoch)}, "
            f"step {int(result.history.nonfinite_step)}; lower the learning rate, check the data "
            "scale, or pass on_nonfinite='stop' to get the last finite params back"
        )
    return result


def _out_of_memory(err: Exception, what: str) -> MemoryError | None:
    """A ``MemoryError`` naming ``what`` for XLA's out-of-memory errors, else ``None``."""
    text = str(err)
    if "RESOURCE_EXHAUSTED" not in text and "Out of memory" not in text:
        return None
    detail = text.split("\n")[0].split(": ", 1)[-1]
    return MemoryError(f"{what} did not fit in memory ({detail}); use a smaller network, batch or data set")


def _check_ready(params: Params, opt_state: Any) -> None:
    """Waits for the params: a failed computation (an out-of-memory init) surfaces here.

    (Training on a buffer whose computation failed would otherwise wait for ever inside
    XLA, rather than fail.)
    """
    try:
        jax.block_until_ready((params, opt_state))
    except jax.errors.JaxRuntimeError as err:
        raise (_out_of_memory(err, "the params (or opt_state) passed to fit") or err) from None


def _as_data(a: Any, name: str) -> jax.Array:
    """``a`` as a jax array; text or object arrays are a ``TypeError`` naming the fix."""
    if not isinstance(a, jax.Array):
        kind = np.asarray(a).dtype.kind if not hasattr(a, "dtype") else np.dtype(a.dtype).kind
        if kind in "USOV":
            raise TypeError(
                f"{name} holds {'text' if kind in 'US' else 'Python objects'}; jaxnn trains on numbers: "
                "encode class labels as integers first, e.g. classes, y = np.unique(labels, return_inverse=True)"
            )
    return jnp.asarray(a)


def _check_opt_state(opt_state: Any, expected: Any) -> None:
    """Raises ``ValueError`` unless ``opt_state`` has the structure, shapes and dtypes of ``expected``."""
    if jax.tree.structure(opt_state) != jax.tree.structure(expected):
        raise ValueError(
            "opt_state does not fit this optimizer and params (its tree structure differs from "
            "optimizer.init(params)); if it was loaded with jaxnn.checkpoint.load, pass "
            "template={'params': params, 'opt_state': optimizer.init(params)}"
        )
    for (path, want), got in zip(jax.tree.leaves_with_path(expected), jax.tree.leaves(opt_state)):
        shape, dtype = np.shape(got), getattr(got, "dtype", None) or jnp.result_type(got)
        if shape != want.shape or jnp.dtype(dtype) != jnp.dtype(want.dtype):
            raise ValueError(
                f"opt_state{jax.tree_util.keystr(path)} has shape {shape} and dtype {dtype}, but optimizer.init(params) "
                f"gives {want.shape} {want.dtype}: this opt_state belongs to other params; resume with the params "
                "it was saved with, or leave opt_state=None to start afresh"
            )


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
    ``history.nonfinite_epoch``; the other members are unaffected.

    Like :func:`fit`, a sweep compiles once per configuration: a later sweep whose
    ``init_fn``, loss, ``make_optimizer`` and metrics compute the same thing (fresh lambdas
    and networks included), with other keys, hyperparameter values or epoch count, reuses
    the compiled programs. Epochs run in compiled chunks of 128. The non-finite check adds
    almost nothing to the run time while no member fails: chunks of up to 128 epochs run
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
    x, y = _as_data(x, "x"), _as_data(y, "y")
    if validation_data is not None and isinstance(validation_data, (tuple, list)) and len(validation_data) == 2:
        validation_data = (_as_data(validation_data[0], "x_val"), _as_data(validation_data[1], "y_val"))
    init, params0 = _probe(init_fn, _call, _spec(keys[0]))
    probe = jax.tree.map(lambda s: jnp.zeros(s.shape, s.dtype), params0)
    n, batch_size, has_val, loss, lifted_metrics = _validate(
        loss_fn, probe, x, y, validation_data, batch_size, epochs, metrics, None
    )
    epochs = int(epochs)
    # Validate the optimizer factory and hyperparameter names once, concretely.
    try:
        make_optimizer(**{k: v[0] for k, v in hyperparams.items()})
    except TypeError as err:
        raise ValueError(f"make_optimizer does not accept hyperparams {sorted(hyperparams)}: {err}") from None
    factory, _ = _probe(make_optimizer, _build_and_update, _spec({k: v[0] for k, v in hyperparams.items()}), _spec(params0))
    parts = _Parts(loss, factory, lifted_metrics)
    engine = _Engine(loss.key, factory.key, tuple((k, m.key) for k, m in lifted_metrics.items()), n, batch_size,
                     bool(shuffle), has_val, None, "min", True)
    values = parts.values()
    values["init"] = init.values
    start = _program(("sweep-start", init.key, factory.key, tuple(hyperparams)),
                     lambda: _sweep_start_program(init, factory))
    chunk = _program(("sweep", engine, tuple(hyperparams)), lambda: _sweep_program(engine, parts))
    states, shuffle_keys = start(keys, hyperparams, values["init"], values["optimizer"])
    plan = _Dispatches(0, epochs, None)
    xv, yv = validation_data if has_val else (None, None)
    for base in range(0, epochs, _CHUNK):
        states, records = chunk(states, shuffle_keys, hyperparams, x, y, xv, yv, base, epochs, values)
        plan.sizes.append(min(_CHUNK, epochs - base))
        plan.records.append(records)
    return _result(states, plan, engine, False, tuple(lifted_metrics), members)


def _build_and_update(make_optimizer, hyperparams, params):
    return _one_update(make_optimizer(**hyperparams), params)


def _sweep_start_program(init: _structure.Lifted, factory: _structure.Lifted) -> Callable:
    """``start(keys, hyperparams, init values, factory values) -> (states, shuffle keys)``, compiled."""

    def start(keys, hyperparams, init_values, factory_values):
        init_fn, make_optimizer = init.rebuild(init_values), factory.rebuild(factory_values)

        def member(k, hp):
            init_key, shuffle_key = jax.random.split(k)
            params = init_fn(init_key)
            return _initial_state(params, make_optimizer(**hp).init(params), False, 0), shuffle_key

        return jax.vmap(member)(keys, hyperparams)

    return jax.jit(start)


def _sweep_program(engine: _Engine, parts: _Parts) -> Callable:
    """``chunk(states, keys, hp, x, y, xv, yv, base, limit, values) -> (states, records)``, compiled.

    Runs epochs ``base .. base + _CHUNK`` of every member (those past ``limit`` are skipped,
    by a condition all members share), returning ``[members, _CHUNK]`` history entries.
    """
    metric_names = tuple(parts.metrics)

    def chunk(states, keys, hyperparams, x, y, xv, yv, base, limit, values):
        loss_fn, make_optimizer, metrics = parts.rebuild(values)

        def all_members(guard: bool):
            def member(state, key, hp):
                one = _epoch_fn(engine._replace(guard=guard), loss_fn, make_optimizer(**hp), metrics, 0, 0.0, freeze=True)
                return one(state, key, x, y, xv, yv, limit)

            def body(s, i):
                skipped = lambda s: (s, _nan_records(metric_names, engine.has_val, keys.shape[0]))
                return jax.lax.cond(base + i < limit, lambda s: jax.vmap(member)(s, keys, hyperparams), skipped, s)

            def run(s):
                s, records = jax.lax.scan(body, s, jnp.arange(_CHUNK))
                return s, jax.tree.map(lambda r: r.T, records)  # [epochs, members] -> [members, epochs]

            return run

        # Optimistic: run the chunk without the non-finite guard's per-epoch test of every
        # parameter (about 10% of a small model's epoch under vmap). Non-finite params stay
        # non-finite under additive updates, so a member that the guard would have stopped
        # in this chunk shows a non-finite loss or non-finite params at its end. Only then,
        # and for the whole batch, the chunk is run again from its start with the guard;
        # the cond's predicate is not batched, so just one branch runs. (An epoch whose
        # summed loss overflows float32 without any step's loss doing so also triggers the
        # replay, which then changes nothing.)
        fast = all_members(False)(states)
        params_finite = jax.vmap(_all_finite)(fast[0].params)
        in_range = base + jnp.arange(_CHUNK) < limit  # epochs past the limit record NaN
        losses_finite = jnp.all(jnp.isfinite(fast[1]["train_loss"]) | ~in_range, axis=1)
        failed = ~states.stopped & ~(params_finite & losses_finite)
        return jax.lax.cond(jnp.any(failed), lambda: all_members(True)(states), lambda: fast)

    return jax.jit(chunk)


def _all_finite(tree: Any) -> jax.Array:
    """``True`` when every element of every leaf of ``tree`` is finite."""
    # x * 0 is 0 for every finite x and NaN for NaN and +-Inf, so one sum of zeros per leaf
    # tells without overflowing (a sum of the values themselves could reach Inf).
    return jnp.isfinite(sum(jnp.sum(leaf * 0, dtype=jnp.float32) for leaf in jax.tree.leaves(tree)))


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
