"""``sweep``: many models in one compiled, vmapped call."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.sharding import Mesh
from jax.typing import ArrayLike

from jaxnn import _structure
from jaxnn.train._epoch import CHUNK, epoch_fn, nan_records
from jaxnn.train._fit import DISPATCH_MAX, DispatchPlan, fit_result
from jaxnn.train._layout import MODELS, Layout, sharded_result, sweep_layout
from jaxnn.train._programs import call_with, Engine, one_update, Parts, lift_and_probe, cached_program
from jaxnn.train._state import all_finite, initial_state
from jaxnn.train._types import EarlyStopping, FitResult, LossFn, MetricFn, Params
from jaxnn.train._validate import as_data, check_rows, spec, stack_losses, validate


def sweep(
    init_fn: Callable[[jax.Array], Params] | None,
    loss_fn: LossFn | Sequence[LossFn],
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
    early_stopping: EarlyStopping | None = None,
    rows: ArrayLike | None = None,
    params: Params | None = None,
    devices: Sequence[jax.Device] | None = None,
    mesh: Mesh | None = None,
) -> FitResult:
    """Trains a batch of models in one compiled call (``vmap`` over seeds and hyperparameters).

    Member ``i`` splits ``keys[i]`` into ``(init_key, shuffle_key)``, initializes its params
    with ``init_fn(init_key)``, trains with
    ``make_optimizer(**{k: v[i] for k, v in hyperparams.items()})`` and shuffles with
    ``shuffle_key``; everything else is shared. Equivalent to calling :func:`fit` once per member
    up to float rounding (batched matrix products may round differently; tested), but compiled
    once and run as one batched program.

    Members can also differ in what :func:`fit` would be given: their own training rows
    (``rows``, e.g. the folds of a cross-validation), their own initial params (``params``),
    and their own loss values (a list of losses, e.g. each with its own L2 penalty). Member
    ``i`` then equals ``fit(params[i], loss_fn[i], x[rows[i]], y[rows[i]], key=keys[i], ...)``
    up to float rounding, with one compiled program for all of them.

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

    Across devices and hosts, ``devices=jax.devices()`` splits the members over a one-axis
    ``Mesh`` named ``"models"`` (a ``NamedSharding`` of their leading axis): each device
    trains its share, and the result's leaves come back split the same way.
    ``mesh=Mesh(np.array(jax.devices()).reshape(m, d), ("models", "data"))`` also splits
    each member's batch over ``"data"``, as :func:`fit` does with ``devices``. A member
    count that is not a multiple of the ``"models"`` axis is padded with copies of the last
    member, dropped from the result; such a result comes back replicated over the mesh
    (a ``jax.Array`` cannot be split unevenly). To bring a result to the host:
    ``jax.device_get(result)`` in one process;
    ``jax.experimental.multihost_utils.process_allgather(result, tiled=True)`` in every
    process of a multi-host run (after ``jax.distributed.initialize``, each process calling
    ``sweep`` with the same arguments), which gives each of them every member's NumPy
    params and history. Each device runs the one-device program on its share of the
    members, so results equal the one-device sweep's to float32 rounding, and bit for bit
    on CPU where XLA compiles a member's step alike for both member counts (tested: SGD on
    mini-batches over a ``"models"`` axis). XLA picks fusions and loop orders by array
    shape, so even two one-device sweeps of 16 and of 8 members can differ in the last bit
    of the same member (full-batch steps, Adam). With a ``"data"`` axis each batch's loss
    and gradient sums are also reduced across devices, in another order, as in :func:`fit`.
    Several processes give the same bits as one process with the same total device count
    (tested).

    Args:
      init_fn: ``key -> params``, e.g. ``lambda k: net.init(k, (-1, 2))[1]``; ``None`` with ``params``.
      loss_fn: per-example loss, as in :func:`fit`; or a sequence of one loss per member,
        all computing the same thing up to the floats and arrays they capture (fresh
        closures over another ``alpha``, say), each member training on its own.
      x, y: the training data, shared by all members (see ``rows``).
      make_optimizer: builds an optimizer from float hyperparameters, e.g.
        ``lambda learning_rate: jaxnn.optim.sgd(learning_rate)``. It is called with traced
        values, so it must not branch on them in Python.
      keys: ``[members]`` PRNG keys (``jax.random.split(key, members)``).
      hyperparams: ``{name: [members] array}``; ``None`` calls ``make_optimizer()``.
      epochs, batch_size, shuffle, validation_data, metrics: as in :func:`fit`; with ``rows``
        the batch size is at most ``R``.
      early_stopping: an :class:`EarlyStopping` rule, as in :func:`fit`, applied to each
        member on its own: a member that stops keeps its params (or its best ones, with
        ``restore_best``) while the others train on.
      rows: ``[members, R]`` integer indices into ``x`` and ``y``: member ``i`` trains on
        ``x[rows[i]]``, ``y[rows[i]]``, shuffled and batched as :func:`fit` does ``R`` rows.
        Members with fewer rows repeat an index of a row that adds nothing to the loss
        (a row of sample weight 0, say). ``None``: every member trains on all of ``x``.
      params: initial params whose leaves have a leading ``[members]`` axis, instead of
        ``init_fn``; each ``keys[i]`` is then member ``i``'s shuffle key as it is (as
        :func:`fit`'s ``key``), not split.
      devices: split the members over these devices (e.g. ``jax.devices()``, all devices of
        all processes); ``None`` runs on the default device.
      mesh: a ``jax.sharding.Mesh`` with exactly the axes ``("models", "data")``: members
        split over ``"models"`` and each member's batch over ``"data"``, whose size must
        divide the batch size (``N`` for full batch). Not together with ``devices``.

    Returns:
      A :class:`FitResult` whose leaves have a leading ``[members]`` axis, one history per member.
      With ``devices`` or ``mesh`` they are ``jax.Array`` s on that mesh, as described above.

    Raises:
      ValueError: for keys that are not a 1-D key array, hyperparams of the wrong shape or
        names, the checks of :func:`fit`, ``rows`` that are not ``[members, R]`` indices of
        ``x``, ``params`` without a ``[members]`` axis or together with ``init_fn``, losses
        that differ in more than captured floats and arrays, ``rows``, ``params``, a list of
        losses or ``early_stopping`` together with ``devices`` or ``mesh``, both ``devices``
        and ``mesh``, an empty or repeated device list, a mesh without exactly the axes
        ``("models", "data")``, or a ``"data"`` axis that does not divide the batch size.
      TypeError: for a device list holding something other than devices, or a ``mesh``
        that is not a ``Mesh``.
    """
    if not isinstance(keys, jax.Array) or keys.ndim != 1:
        raise ValueError("keys must be a 1-D array of PRNG keys, e.g. jax.random.split(key, 64)")
    members = keys.shape[0]
    hyperparams = {k: jnp.asarray(v, jnp.float32) for k, v in (hyperparams or {}).items()}
    for name, v in hyperparams.items():
        if v.shape != (members,):
            raise ValueError(f"hyperparams[{name!r}] must have shape ({members},) to match keys, got {v.shape}")
    x, y = as_data(x, "x"), as_data(y, "y")
    if validation_data is not None and isinstance(validation_data, (tuple, list)) and len(validation_data) == 2:
        validation_data = (as_data(validation_data[0], "x_val"), as_data(validation_data[1], "y_val"))
    if (devices is not None or mesh is not None) and (
            rows is not None or params is not None or early_stopping is not None or not callable(loss_fn)):
        raise ValueError("rows, params, a list of losses and early_stopping are not supported together with "
                         "devices or mesh; run such a sweep on one device (devices=None, mesh=None)")
    if rows is not None:
        rows = check_rows(rows, members, x.shape[0])
    losses = None if callable(loss_fn) else list(loss_fn)
    if losses is not None and len(losses) != members:
        raise ValueError(f"loss_fn holds {len(losses)} losses but there are {members} keys; pass one loss per member")
    init, params, params0 = _initial(init_fn, params, keys)
    probe = jax.tree.map(lambda s: jnp.zeros(s.shape, s.dtype), params0)
    n, batch_size, has_val, loss, lifted_metrics = validate(
        loss_fn if losses is None else losses[0], probe, x, y, validation_data, batch_size, epochs, metrics,
        early_stopping, None if rows is None else rows.shape[1]
    )
    loss_values = None if losses is None else stack_losses(loss, losses, probe, batch_size, x, y)
    epochs = int(epochs)
    # Validate the optimizer factory and hyperparameter names once, concretely.
    try:
        make_optimizer(**{k: float(v) for k, v in jax.device_get({k: v[0] for k, v in hyperparams.items()}).items()})
    except TypeError as err:
        raise ValueError(f"make_optimizer does not accept hyperparams {sorted(hyperparams)}: {err}") from None
    factory, _ = lift_and_probe(make_optimizer, _build_and_update, spec({k: jax.ShapeDtypeStruct((), v.dtype) for k, v in hyperparams.items()}), spec(params0))
    layout = sweep_layout(devices, mesh, batch_size)
    parts = Parts(loss, factory, lifted_metrics)
    es = early_stopping
    engine = Engine(loss.key, factory.key, tuple((k, m.key) for k, m in lifted_metrics.items()), n, batch_size,
                     bool(shuffle), has_val, None if es is None else es.monitor, "min" if es is None else es.mode,
                     True, None if layout is None else layout.batch, "improvement" if es is None else es.reference)
    values = parts.values()
    values["init"] = () if init is None else init.values
    values["patience"] = 0 if es is None else int(es.patience)
    values["min_delta"] = 0.0 if es is None else float(es.min_delta)
    # What differs between members beyond the optimizer's hyperparameters: their rows and
    # loss values (vmapped with them); None where all members share it.
    own = {"rows": rows, "loss": loss_values}
    impl = jax.random.key_impl(keys)
    start = cached_program(("sweep-start", None if init is None else init.key, factory.key, tuple(hyperparams), layout,
                      impl, es is not None),
                     lambda: _sweep_start_program(init, factory, layout, impl, es is not None))
    chunk = cached_program(("sweep", engine, tuple(hyperparams), layout, rows is not None, loss_values is not None),
                     lambda: _sweep_program(engine, parts, layout))
    xv, yv = validation_data if has_val else (None, None)
    if layout is not None:
        # Every process passes the same arguments (JAX's SPMD model), placed once, here (the
        # keys as their raw bits: device_put takes arrays, not key arrays, across processes).
        keys = jax.random.key_data(keys)
        keys, hyperparams, x, y, xv, yv, values = jax.device_put((keys, hyperparams, x, y, xv, yv, values),
                                                                 layout.replicated)
    states, shuffle_keys, hyperparams = start(keys, hyperparams, values["init"], values["optimizer"], params)
    plan = DispatchPlan(0, epochs, None)
    for base in range(0, epochs, DISPATCH_MAX):
        states, records = chunk(states, shuffle_keys, hyperparams, own, x, y, xv, yv, base, epochs, values)
        plan.sizes.append(min(DISPATCH_MAX, epochs - base))
        plan.records.append(records)
    if layout is not None:
        return sharded_result(states, plan, has_val, tuple(lifted_metrics), members, layout)
    return fit_result(states, plan, engine, es is not None and es.restore_best, tuple(lifted_metrics), members)


def _initial(init_fn: Callable | None, params: Params | None, keys: jax.Array) -> tuple:
    """``(lifted init_fn or None, the members' params or None, one member's params' shapes)``."""
    members = keys.shape[0]
    if params is None:
        if init_fn is None:
            raise ValueError("init_fn is None: pass init_fn, or the members' initial params as params=")
        one_key = jax.ShapeDtypeStruct(keys.shape[1:], keys.dtype)  # (indexing would dispatch a computation)
        init, params0 = lift_and_probe(init_fn, call_with, spec(one_key))
        return init, None, params0
    if init_fn is not None:
        raise ValueError("pass either init_fn or params (the members' initial params), not both")
    leading = {np.shape(leaf)[:1] for leaf in jax.tree.leaves(params)}
    if leading != {(members,)}:
        raise ValueError(f"every leaf of params must have a leading axis of {members} members (one per key), "
                         f"got leading axes {sorted(leading)}")
    params = jax.tree.map(jnp.asarray, params)
    return None, params, jax.tree.map(lambda a: jax.ShapeDtypeStruct(a.shape[1:], a.dtype), params)


def _build_and_update(make_optimizer, hyperparams, params):
    return one_update(make_optimizer(**hyperparams), params)


def _sweep_start_program(init: _structure.Lifted | None, factory: _structure.Lifted, layout: Layout | None,
                         impl: Any, keep_best: bool) -> Callable:
    """``start(keys, hyperparams, init values, factory values, params) -> (states, shuffle keys, hyperparams)``, compiled.

    Without ``init`` the members start from ``params`` (a leading members axis) and each
    key is the member's shuffle key as it is. ``keep_best``: early stopping's copy of the params.

    With a layout, ``keys`` are the keys' raw bits (of PRNG implementation ``impl``), and
    the members are first padded to a multiple of the "models" axis by repeating the last
    one (a copy trains exactly as its original, so it neither fails where the others would
    not nor triggers a replay they would not); everything returned is split over that axis.
    """

    def start(keys, hyperparams, init_values, factory_values, params):
        make_optimizer = factory.rebuild(factory_values)
        if layout is not None:
            keys = jax.random.wrap_key_data(keys, impl=impl)
            members = keys.shape[0]
            take = jnp.minimum(jnp.arange(layout.padded(members)), members - 1)
            keys, hyperparams = jax.tree.map(lambda a: a[take], (keys, hyperparams))

        def member(k, hp, p):
            if init is None:
                shuffle_key = k
            else:
                init_key, shuffle_key = jax.random.split(k)
                p = init.rebuild(init_values)(init_key)
            return initial_state(p, make_optimizer(**hp).init(p), keep_best, 0), shuffle_key

        states, shuffle_keys = jax.vmap(member, spmd_axis_name=_axis(layout))(keys, hyperparams, params)
        return states, shuffle_keys, hyperparams

    return jax.jit(start, out_shardings=None if layout is None else layout.members)


def _axis(layout: Layout | None) -> str | None:
    """The mesh axis a vmap over members is split over (``spmd_axis_name``), if any.

    Inside a member, fit's batch constraint ``PartitionSpec("data")`` then becomes
    ``PartitionSpec("models", "data")`` for the batched array, instead of gathering
    the members onto every device.
    """
    return None if layout is None else MODELS


_BLOCK = 16  # epochs per scan inside a sweep chunk: the most a sweep computes past its epochs


def _sweep_program(engine: Engine, parts: Parts, layout: Layout | None) -> Callable:
    """``chunk(states, keys, hp, own, x, y, xv, yv, base, limit, values) -> (states, records)``, compiled.

    ``own`` holds what members have of their own besides ``hp``: ``"rows"`` ``[members, R]``
    (member ``i`` trains on ``x[rows[i]]``) and ``"loss"`` (its loss values), each ``None``
    where the members share ``x`` or the loss.

    Runs epochs ``base .. base + DISPATCH_MAX`` of every member (stopping at ``limit``),
    returning ``[members, DISPATCH_MAX]`` history entries. They run in chunks of ``CHUNK``
    epochs (each checked as described below), and a chunk in blocks of ``_BLOCK`` (a scan),
    as many blocks as the epochs below ``limit`` need (a while loop): a member's epochs past
    ``limit`` in the last block are computed and discarded (``freeze``), at most
    ``_BLOCK - 1`` of them.

    With a layout, the members' states and records stay split over the "models" axis; the
    only exchange between devices is the one-boolean "did any member fail" of each chunk.
    """
    metric_names = tuple(parts.metrics)
    axis = _axis(layout)
    placed = (lambda tree: tree) if layout is None else (
        lambda tree: jax.lax.with_sharding_constraint(tree, layout.members))

    def chunk(states, keys, hyperparams, own, x, y, xv, yv, base, limit, values):
        # With a loss per member, values["loss"] (the first member's) is not used: each
        # member rebuilds the loss from its own values.
        shared_loss = own["loss"] is None
        shared_loss_fn, make_optimizer, metrics = parts.rebuild(values)

        def all_members(guard: bool, base):
            def member(state, key, hp, mine):
                loss_fn = shared_loss_fn if shared_loss else parts.loss.rebuild(mine["loss"])
                one = epoch_fn(engine._replace(guard=guard), loss_fn, make_optimizer(**hp), metrics,
                                values["patience"], values["min_delta"], freeze=True)
                return one(state, key, x, y, xv, yv, limit, mine["rows"])

            def block(carry):
                s, records, b = carry
                s, entries = jax.lax.scan(lambda s, _: jax.vmap(member, spmd_axis_name=axis)(s, keys, hyperparams, own), s, None,
                                            length=_BLOCK)
                # [epochs, members] -> [members, epochs], written at the block's place.
                put = lambda r, e: jax.lax.dynamic_update_slice(r, e.T, (0, b * _BLOCK))
                return s, jax.tree.map(put, records, entries), b + 1

            def run(s):
                blocks = (jnp.clip(limit - base, 0, CHUNK) + _BLOCK - 1) // _BLOCK
                records = placed(jax.tree.map(lambda r: jnp.broadcast_to(r, (keys.shape[0], CHUNK)),
                                              nan_records(metric_names, engine.has_val, CHUNK)))
                s, records, _ = jax.lax.while_loop(lambda c: c[2] < blocks, block, (s, records, 0))
                return s, records

            return run

        # Optimistic: run the chunk without the non-finite guard's per-epoch test of every
        # parameter (about 10% of a small model's epoch under vmap). Non-finite params stay
        # non-finite under additive updates, so a member that the guard would have stopped
        # in this chunk shows a non-finite loss or non-finite params at its end. Only then,
        # and for the whole batch, the chunk is run again from its start with the guard;
        # the cond's predicate is not batched, so just one branch runs. (An epoch whose
        # summed loss overflows float32 without any step's loss doing so also triggers the
        # replay, which then changes nothing.)
        def guarded(states, base):
            fast = all_members(False, base)(states)
            params_finite = jax.vmap(all_finite)(fast[0].params)
            in_range = base + jnp.arange(CHUNK) < limit  # epochs past the limit record NaN
            losses_finite = jnp.all(jnp.isfinite(fast[1]["train_loss"]) | ~in_range, axis=1)
            failed = ~states.stopped & ~(params_finite & losses_finite)
            return jax.lax.cond(jnp.any(failed), lambda: all_members(True, base)(states), lambda: fast)

        def one_chunk(carry):
            s, records, c = carry
            s, entries = guarded(s, base + c * CHUNK)
            put = lambda r, e: jax.lax.dynamic_update_slice(r, e, (0, c * CHUNK))
            return s, jax.tree.map(put, records, entries), c + 1

        chunks = (jnp.clip(limit - base, 0, DISPATCH_MAX) + CHUNK - 1) // CHUNK
        records = placed(jax.tree.map(lambda r: jnp.broadcast_to(r, (keys.shape[0], DISPATCH_MAX)),
                                      nan_records(metric_names, engine.has_val, DISPATCH_MAX)))
        states, records, _ = jax.lax.while_loop(lambda c: c[2] < chunks, one_chunk, (states, records, 0))
        return states, records

    return jax.jit(chunk, donate_argnums=0, out_shardings=None if layout is None else layout.members)
