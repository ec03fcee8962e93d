"""Mini-batches of host or device arrays, shuffled by an explicit key."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from typing import Any

import jax
import numpy as np
from jax.typing import ArrayLike

from jaxnn._checks import check_int
from jaxnn.data._host import host_rng, take


def _open(a: Any, i: int) -> Any:
    if isinstance(a, (str, os.PathLike)):
        # Memory-mapped: only the rows of the current batch are read from disk.
        return np.load(a, mmap_mode="r", allow_pickle=False)
    if isinstance(a, (np.ndarray, jax.Array)):
        return a
    raise TypeError(
        f"arrays[{i}] must be a NumPy array, a JAX array or the path of a .npy file, "
        f"got {type(a).__name__}"
    )


def iterate_batches(
    key: ArrayLike | None,
    arrays: Sequence[Any],
    batch_size: int,
    *,
    drop_remainder: bool = False,
) -> Iterator[tuple[Any, ...]]:
    """Yields one epoch of mini-batches from arrays that need not fit in device memory.

    A Python generator for data too big to train on as one array (use ``fit`` for data
    that fit). Each entry of ``arrays`` is a NumPy array, a memory-mapped array
    (``np.load(path, mmap_mode="r")``), a JAX array, or the path of a ``.npy`` file, which
    is opened memory-mapped so that only the rows of the current batch are read. All
    entries share the first (sample) axis and are batched together, e.g. ``[x, y]``.

    * Order: with a ``key`` the samples are shuffled (a permutation drawn from ``key``);
      with ``key=None`` they come in stored order. Within a batch the rows are in stored
      order (the batch's membership is what is random): reading a memory-mapped file in
      increasing row order is much faster, and a mini-batch gradient does not depend on
      the order of its rows.
    * Remainder: every sample is yielded exactly once per epoch. When ``n`` is not a
      multiple of ``batch_size`` the last batch is smaller (``n % batch_size`` rows);
      ``drop_remainder=True`` drops it instead, so all batches have one shape (a jitted
      step then compiles once), and the dropped samples change from epoch to epoch when
      the key changes.
    * One call is one epoch: split a fresh key per epoch,
      ``for epoch_key in jax.random.split(key, epochs)``.

    Validation (lengths, empty data, ``batch_size``) runs when the generator is created,
    not at the first ``next``.

    Args:
      key: a PRNG key to shuffle with, or ``None`` for stored order.
      arrays: arrays or ``.npy`` paths with the same first dimension ``n``.
      batch_size: rows per batch, ``1 <= batch_size <= n``.
      drop_remainder: drop the last batch if it is smaller than ``batch_size``.

    Returns:
      An iterator of tuples, one entry per array, each of shape
      ``[batch_size, ...]`` (``[n % batch_size, ...]`` for the last one); NumPy arrays
      (JAX arrays for JAX inputs).

    Raises:
      ValueError: if ``arrays`` is empty, the lengths differ, ``n == 0``, or
        ``batch_size`` is not in ``[1, n]``.

    >>> x, y = np.arange(10.0).reshape(5, 2), np.arange(5)
    >>> [b[1].tolist() for b in iterate_batches(None, [x, y], 2)]
    [[0, 1], [2, 3], [4]]
    """
    if isinstance(arrays, (np.ndarray, jax.Array, str, os.PathLike)):
        raise TypeError("arrays must be a sequence of arrays, e.g. [x, y] (or [x] alone)")
    opened = [_open(a, i) for i, a in enumerate(arrays)]
    if not opened:
        raise ValueError("arrays is empty; pass at least one array, e.g. [x, y]")
    shapes = [tuple(a.shape) for a in opened]
    if any(len(s) == 0 for s in shapes):
        raise ValueError(f"every array needs a leading sample axis, got shapes {shapes}")
    n = shapes[0][0]
    if any(s[0] != n for s in shapes):
        raise ValueError(
            f"all arrays must have the same number of samples (first axis), got shapes {shapes}"
        )
    if n == 0:
        raise ValueError(f"the data set is empty (shapes {shapes}); there is nothing to batch")
    check_int(batch_size, "batch_size", maximum=n, why=f"use batch_size={n} for full-batch training")
    if key is None:
        order = np.arange(n)
    else:
        order = host_rng(key).permutation(n)
    return _batches(opened, order, int(batch_size), drop_remainder)


def _batches(
    arrays: list[Any], order: np.ndarray, batch_size: int, drop_remainder: bool
) -> Iterator[tuple[Any, ...]]:
    n = order.shape[0]
    stop = (n // batch_size) * batch_size if drop_remainder else n
    for start in range(0, stop, batch_size):
        idx = np.sort(order[start : start + batch_size])
        yield tuple(take(a, idx) for a in arrays)
