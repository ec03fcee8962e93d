"""``fit``: the compiled epoch loop, driven from the host in dispatches."""

from __future__ import annotations

import collections
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.sharding import Mesh, NamedSharding, PartitionSpec
from jax.typing import ArrayLike

from jaxnn import _effort, _structure
from jaxnn._checks import check_int, check_key
from jaxnn.train._epoch import CHUNK, epoch_fn, nan_records, put
from jaxnn.train._programs import (
    PROGRAMS,
    Engine,
    one_update,
    Parts,
    lift_and_probe,
    cached_program,
)
from jaxnn.train._state import initial_state, TrainState
from jaxnn._stored import stored_jit
from jaxnn.train._types import (
    EarlyStopping,
    FitResult,
    History,
    LossFn,
    MetricFn,
    Params,
)
from jaxnn.train._validate import (
    as_data,
    check_opt_state,
    check_ready,
    out_of_memory,
    spec,
    validate,
)

DISPATCH_MAX = 16 * CHUNK  # epochs per compiled dispatch, at most
_DISPATCH_SECONDS = 0.25  # aim for dispatches this long: how soon fit notices Ctrl-C


def _fit_program(engine: Engine, parts: Parts, small: bool) -> Callable:
    """``run(state, key, x, y, xv, yv, stop, hp) -> (state, records, (epoch, stopped))``, compiled.

    Runs the epochs from ``state.epoch`` up to ``stop`` (at most ``DISPATCH_MAX`` of them),
    ending early when training stops, and returns their history entries in
    ``[DISPATCH_MAX]`` buffers. Inside, epochs run in chunks of ``CHUNK``, each recording
    into its own ``[CHUNK]`` buffers: XLA's CPU runtime runs the ops of a loop body one
    after another, without a thread-pool hand-off per op, when no buffer the body touches
    exceeds 512 bytes, and a tiny model (XOR) would pay about 2 us per epoch for a longer
    buffer in the epoch loop. A ``small`` network's program is compiled with less effort
    (see :mod:`jaxnn._effort`).
    """
    metric_names = tuple(parts.metrics)

    def run(state: TrainState, key, x, y, xv, yv, stop, hp):
        loss_fn, optimizer, metrics = parts.rebuild(hp)
        one_epoch = epoch_fn(engine, loss_fn, optimizer, metrics, hp["patience"], hp["min_delta"], freeze=False)
        base = state.epoch
        running = lambda s: (s.epoch < stop) & ~s.stopped

        def chunk(carry):
            s, records = carry
            start = s.epoch  # base + a multiple of CHUNK

            def body(inner):
                t, local = inner
                new, entries = one_epoch(t, key, x, y, xv, yv, None)
                return new, put(local, entries, t.epoch - start)

            s, local = jax.lax.while_loop(
                lambda inner: running(inner[0]) & (inner[0].epoch < start + CHUNK), body,
                (s, nan_records(metric_names, engine.has_val, CHUNK)),
            )
            at = (start - base,)
            return s, jax.tree.map(lambda r, entries: jax.lax.dynamic_update_slice(r, entries, at), records, local)

        records = nan_records(metric_names, engine.has_val, DISPATCH_MAX)
        state, records = jax.lax.while_loop(lambda carry: running(carry[0]), chunk, (state, records))
        # The state is donated to the next dispatch before the host reads this one's
        # progress, so the progress is returned apart.
        return state, records, (state.epoch, state.stopped)

    return stored_jit(run, name="fit", key=engine, donate_argnums=0, **(_effort.short_run() if small else {}))


def _setup_program(optimizer: _structure.Lifted, keep_best: bool, sharding: Any) -> Callable:
    """A compiled ``(params, opt_state | None, initial_epoch, values) -> TrainState``.

    One compiled call instead of a dozen small eager dispatches per ``fit``; its outputs are
    fresh buffers, so donating them to the training loop never touches the caller's arrays.
    With devices, the state is born replicated over the mesh (device_put of a state holding
    NaN would fail multi-process equality checks, since NaN != NaN).
    """

    def build(params, opt_state, initial_epoch, values):
        fresh = jax.tree.map(jnp.copy, params)
        tx = optimizer.rebuild(values)
        opt_state = tx.init(fresh) if opt_state is None else jax.tree.map(jnp.copy, opt_state)
        return initial_state(fresh, opt_state, keep_best, initial_epoch)

    if sharding is not None:
        return jax.jit(build, out_shardings=sharding)
    return stored_jit(build, name="setup", key=(optimizer.key, keep_best), **_effort.short_run())


class DispatchPlan:
    """The host side of a run: dispatch sizes, the collected history."""

    def __init__(self, start: int, epochs: int, chunk_cap: int | None, seconds_per_epoch: float | None = None) -> None:
        self.start, self.epochs, self.cap = start, epochs, chunk_cap
        self.sizes: list[int] = []
        self.records: list[Any] = []
        self.seconds_per_epoch = seconds_per_epoch

    def next_size(self, epoch: int) -> int:
        # Until the speed is known (the first dispatch of a new program includes compiling
        # it) dispatches run one epoch each; then each runs about _DISPATCH_SECONDS worth of
        # epochs, at most DISPATCH_MAX.
        size = 1
        if self.seconds_per_epoch is not None:
            size = max(1, min(DISPATCH_MAX, int(_DISPATCH_SECONDS / max(self.seconds_per_epoch, 1e-9))))
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


def _run_fit(run, state: TrainState, args: tuple, hp: dict, plan: DispatchPlan, fresh: bool, bar) -> TrainState:
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
        raise (out_of_memory(err, "training") or err) from None


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


def fit_result(state: TrainState, plan: DispatchPlan, engine: Engine, restore_best: bool,
            metric_names: Sequence[str], members: int | None = None) -> FitResult:
    train_loss, val_loss, val_metrics = plan.history(metric_names, engine.has_val, members)
    early = engine.monitor is not None
    params = state.best_params if early and restore_best else state.params
    best_epoch = state.best_epoch if early else jax.device_put(np.asarray(jax.device_get(state.epoch)) - 1)
    history = History(train_loss, val_loss, val_metrics, state.epoch, best_epoch,
                      state.nonfinite_epoch, state.nonfinite_step)
    return FitResult(params, state.opt_state, history)


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
    compile nothing new (a lambda is its code, and code remembers the line it was written
    on: the same lambda typed again on another line is new code and compiles once). Floats and arrays captured in them (learning rates, betas, eps,
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
      early_stopping: an :class:`EarlyStopping` rule on ``val_loss``, a ``val_<metric>`` or
        ``train_loss``.
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
        once (CPU): epoch ``e`` always shuffles with ``fold_in(key, e)``. With early
        stopping the resumed run starts a fresh patience count and best value (the result
        does not carry them), so there it is not the same as one run.
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
    check_key(key)
    x, y = as_data(x, "x"), as_data(y, "y")
    if validation_data is not None and isinstance(validation_data, (tuple, list)) and len(validation_data) == 2:
        validation_data = (as_data(validation_data[0], "x_val"), as_data(validation_data[1], "y_val"))
    n, batch_size, has_val, loss, lifted_metrics = validate(
        loss_fn, params, x, y, validation_data, batch_size, epochs, metrics, early_stopping
    )
    epochs = int(epochs)
    if on_nonfinite not in _NONFINITE:
        raise ValueError(f"on_nonfinite must be one of {_NONFINITE}, got {on_nonfinite!r}")
    check_int(initial_epoch, "initial_epoch", minimum=0, maximum=epochs - 1, why=f"below epochs={epochs}")
    if progress_chunk is not None:
        check_int(progress_chunk, "progress_chunk")
    check_ready(params, opt_state)
    lifted_optimizer, opt_shapes = lift_and_probe(optimizer, one_update, spec(params))
    if opt_state is not None:
        check_opt_state(opt_state, opt_shapes[1])
    parts = Parts(loss, lifted_optimizer, lifted_metrics)
    xv, yv = validation_data if has_val else (None, None)
    batch_sharding, replicated = _shardings(devices, batch_size)
    engine = Engine(
        loss.key, lifted_optimizer.key, tuple((k, m.key) for k, m in lifted_metrics.items()), n, batch_size,
        bool(shuffle), has_val, None if early_stopping is None else early_stopping.monitor,
        "min" if early_stopping is None else early_stopping.mode, on_nonfinite != "ignore", batch_sharding,
        "improvement" if early_stopping is None else early_stopping.reference,
    )
    small = _effort.small_network(params)
    fresh = ("fit", engine, small) not in PROGRAMS
    run = cached_program(("fit", engine, small), lambda: _fit_program(engine, parts, small))
    setup = cached_program(("setup", lifted_optimizer.key, early_stopping is not None, replicated),
                           lambda: _setup_program(lifted_optimizer, early_stopping is not None, replicated))
    values = parts.values()
    values["patience"] = 0 if early_stopping is None else int(early_stopping.patience)
    values["min_delta"] = 0.0 if early_stopping is None else float(early_stopping.min_delta)
    state = setup(params, opt_state, int(initial_epoch), values["optimizer"])
    if replicated is not None:
        x, y, xv, yv = jax.device_put((x, y, xv, yv), replicated)
    speed_key = (engine, spec(params), x.shape, None if xv is None else xv.shape)
    plan = DispatchPlan(int(initial_epoch), epochs, progress_chunk or max(1, (epochs - initial_epoch) // 20)
                       if progress else None, _SPEEDS.get(speed_key))
    bar = _Bar(epochs, int(initial_epoch), has_val) if progress else None
    restore = early_stopping is not None and early_stopping.restore_best
    try:
        state = _run_fit(run, state, (key, x, y, xv, yv), values, plan, fresh, bar)
    except KeyboardInterrupt as interrupt:
        last = getattr(interrupt, "fit_state", None)
        if last is not None and not any(a.is_deleted() for a in jax.tree.leaves(last)):
            interrupt.fit_result = fit_result(last, plan, engine, restore, tuple(lifted_metrics))
        raise
    finally:
        if bar is not None:
            bar.close()
    if plan.seconds_per_epoch is not None:
        _SPEEDS[speed_key] = plan.seconds_per_epoch
        if len(_SPEEDS) > 256:
            _SPEEDS.pop(next(iter(_SPEEDS.copy())), None)  # copy: another thread may be adding one
    result = fit_result(state, plan, engine, restore, tuple(lifted_metrics))
    if on_nonfinite == "raise" and int(result.history.nonfinite_epoch) >= 0:
        raise FloatingPointError(
            f"non-finite loss or gradient at epoch {int(result.history.nonfinite_epoch)}, "
            f"step {int(result.history.nonfinite_step)}; lower the learning rate, check the data "
            "scale, or pass on_nonfinite='stop' to get the last finite params back"
        )
    return result
