"""Where a sweep's members run: a mesh with a ``"models"`` axis and, optionally, a ``"data"`` axis.

The members are split along their leading axis over ``"models"`` (``NamedSharding`` with
``PartitionSpec("models")``); with a ``"data"`` axis, each member's batch is split over it
as :func:`jaxnn.train.fit` splits one model's. Everything here is checked and built before
anything compiles.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import jax
import numpy as np
from jax.sharding import AxisType, Mesh, NamedSharding, PartitionSpec

from jaxnn.train._programs import cached_program
from jaxnn.train._types import FitResult, History

MODELS, DATA = "models", "data"


class Layout(NamedTuple):
    """A sweep's placement on a mesh (hashable: part of the compiled programs' keys)."""

    mesh: Mesh
    members: NamedSharding  # leading (members) axis split over "models"
    replicated: NamedSharding  # the shared data, and results that cannot be split evenly
    batch: NamedSharding | None  # a member's batch over "data"; None without that axis

    @property
    def size(self) -> int:
        """The number of groups the members are split into (the "models" axis' size)."""
        return self.mesh.shape[MODELS]

    def padded(self, members: int) -> int:
        """The member count rounded up to a multiple of :attr:`size`."""
        return -(-members // self.size) * self.size

    def result(self, members: int) -> NamedSharding:
        """The sharding of ``members`` results: split over "models" when the count divides evenly.

        A ``jax.Array`` cannot be split unevenly, so a count that needed padding comes back
        replicated over the mesh once the padding is dropped.
        """
        return self.members if members % self.size == 0 else self.replicated


def _from_mesh(mesh: Mesh) -> Layout:
    batch = NamedSharding(mesh, PartitionSpec(DATA)) if DATA in mesh.axis_names else None
    return Layout(mesh, NamedSharding(mesh, PartitionSpec(MODELS)), NamedSharding(mesh, PartitionSpec()), batch)


def _check_devices(given: Any) -> list[jax.Device]:
    try:
        devices = [] if isinstance(given, (str, bytes)) else list(given)
    except TypeError:
        devices = []
    if not devices:
        raise ValueError(f"devices must be a non-empty sequence of devices, e.g. jax.devices(); got {given!r}")
    for d in devices:
        if not isinstance(d, jax.Device):
            raise TypeError(f"devices must hold jax devices (from jax.devices()), got {type(d).__name__} {d!r}")
    seen: set = set()
    for d in devices:
        if d in seen:
            raise ValueError(f"devices must be distinct: {d} appears more than once")
        seen.add(d)
    return devices


def _check_mesh(mesh: Any, batch_size: int) -> Mesh:
    if not isinstance(mesh, Mesh):
        raise TypeError(f"mesh must be a jax.sharding.Mesh with the axes ('models', 'data'), got {type(mesh).__name__}")
    if sorted(mesh.axis_names) != sorted((MODELS, DATA)):
        raise ValueError(
            f"mesh must have exactly the axes ('models', 'data'), got {tuple(mesh.axis_names)}; build it as "
            "Mesh(np.array(jax.devices()).reshape(m, d), ('models', 'data')), or pass devices= to split "
            "the members alone"
        )
    if any(t != AxisType.Auto for t in mesh.axis_types):
        raise ValueError(f"mesh axes must be of type AxisType.Auto (Mesh's default), got {mesh.axis_types}")
    data = mesh.shape[DATA]
    if batch_size % data:
        raise ValueError(
            f"the batch size {batch_size} is not divisible by the mesh's 'data' axis of size {data}; choose a "
            f"batch_size that is a multiple of {data} (for full batch, N must be), or a smaller 'data' axis"
        )
    return mesh


def sweep_layout(devices: Any, mesh: Any, batch_size: int) -> Layout | None:
    """The layout for ``sweep(devices=..., mesh=...)``: ``None`` for the default device.

    Raises:
      ValueError: for both arguments at once, an empty or repeated device list, a mesh
        without exactly the axes ``("models", "data")``, or a ``"data"`` axis that does
        not divide the batch size.
      TypeError: for a device list holding something else, or a mesh that is not a ``Mesh``.
    """
    if devices is not None and mesh is not None:
        raise ValueError("pass devices= (members split over them) or mesh= (a ('models', 'data') mesh), not both")
    if devices is not None:
        return _from_mesh(Mesh(np.array(_check_devices(devices)), (MODELS,)))
    if mesh is not None:
        return _from_mesh(_check_mesh(mesh, batch_size))
    return None


def sharded_result(states: Any, plan: Any, has_val: bool, metric_names: Sequence[str], members: int,
                   layout: Layout) -> FitResult:
    """A sharded sweep's :class:`FitResult`: the padding dropped, every leaf left on the mesh.

    ``plan`` holds the dispatches' ``[padded members, epochs per dispatch]`` records. The
    histories are joined per device shard on the host of that shard (each process only
    touches its own devices' members, and nothing is compiled per epoch count).
    """
    out = layout.result(members)
    finish = cached_program(("sweep-finish", members, out), lambda: jax.jit(_finish(members), out_shardings=out))
    states, best_epoch, records = finish(states, plan.records)
    shape = (members, plan.epochs)
    join = lambda get: _join([get(r) for r in records], plan.sizes, shape, out)
    train_loss = join(lambda r: r["train_loss"])
    if has_val:
        val_loss = join(lambda r: r["val_loss"])
        val_metrics = {name: join(lambda r, name=name: r["val_metrics"][name]) for name in metric_names}
    else:
        nan = np.full(shape, np.nan, np.float32)
        val_loss, val_metrics = jax.make_array_from_callback(shape, out, lambda index: nan[index]), {}
    history = History(train_loss, val_loss, val_metrics, states.epoch, best_epoch, states.nonfinite_epoch,
                      states.nonfinite_step)
    return FitResult(states.params, states.opt_state, history)


def _finish(members: int):
    """``finish(states, records) -> (states, best epoch, records)``, the first ``members`` of each."""

    def finish(states, records):
        states, records = jax.tree.map(lambda a: a[:members], (states, records))
        return states, states.epoch - 1, records

    return finish


def _join(records: list[jax.Array], sizes: list[int], shape: tuple[int, int], sharding: NamedSharding) -> jax.Array:
    """One quantity's ``[members, epochs]`` history from the dispatches' records, as ``sharding`` places it."""
    rows = shape[0]
    span = lambda index: index[0].indices(rows)[:2]  # the members a shard holds, as (start, stop)
    # One fetch of each distinct shard (replicated shards repeat the same members).
    shards = [{span(s.index): s.data for s in r.addressable_shards} for r in records]
    host = jax.device_get(shards)
    pieces: dict = {}
    at = 0
    for size, dispatch in zip(sizes, host):
        for where, values in dispatch.items():
            piece = pieces.setdefault(where, np.full((where[1] - where[0], shape[1]), np.nan, np.float32))
            piece[:, at:at + size] = np.asarray(values)[:, :size]
        at += size
    return jax.make_array_from_callback(shape, sharding, lambda index: pieces[span(index)])
