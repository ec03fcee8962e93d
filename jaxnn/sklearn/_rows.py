"""Rows, weights and seeds: how the estimators hand scikit-learn's data to :func:`jaxnn.train.fit`.

A compiled training program is fixed by the shapes of its data, so data sets that differ by
a few rows (the folds of a cross-validation) would each compile their own. The estimators
therefore pad the training rows to a *bucket* with rows of sample weight 0, whose losses and
gradients are exactly 0, and pass the weights to the loss as the last column of the targets.
Folds whose sizes fall in one bucket share one program.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.utils import check_random_state

_MIN_ROWS = 64
_MIN_COLUMNS = 16


def bucket(n: int, least: int = _MIN_ROWS) -> int:
    """The padded size for ``n`` rows (or columns): the smallest ``m * 2**k >= n`` with ``8 < m <= 16``.

    Padding costs at most 1/8 of the size beyond ``least`` (64 rows and 16 columns: small data
    sets share programs, at the price of a few microseconds per epoch), and sizes that differ
    by less than 1/16 mostly share a bucket: 1437 and 1438 rows both pad to 1536.

    Args:
      n: the size, >= 1.
      least: the smallest bucket.

    Returns:
      The bucket, an int >= ``n``.
    """
    if n <= least:
        return least
    step = 1 << max((n - 1).bit_length() - 4, 0)
    return -(-n // step) * step


def plan_rows(n: int, batch_size: int) -> tuple[int, int]:
    """``(rows, batch)``: the padded row count and the batch size that ``fit`` is given.

    Full batch (``batch_size >= n``) pads to :func:`bucket` and takes every row in one batch.
    Mini-batches pad to a multiple of the batch size, so an epoch has ``ceil(n / batch_size)``
    steps, as in scikit-learn, and every batch is full (the padding rows, shuffled with the
    others, carry weight 0).

    Args:
      n: the number of real rows.
      batch_size: the batch size, already clipped to ``[1, n]``.

    Returns:
      ``(rows, batch)``.
    """
    if batch_size >= n:
        rows = bucket(n)
        return rows, rows
    return -(-n // batch_size) * batch_size, batch_size


def pad_rows(a: np.ndarray, rows: int, columns: int | None = None) -> np.ndarray:
    """``a`` ``[n, ...]`` followed by ``rows - n`` rows of zeros (and, for a matrix, by zero
    columns up to ``columns``), as float32."""
    shape = a.shape[1:] if columns is None else (columns,)
    out = np.zeros((rows, *shape), np.float32)
    if columns is None:
        out[: a.shape[0]] = a
    else:
        out[: a.shape[0], : a.shape[1]] = a
    return out


def pack(x: np.ndarray, targets: np.ndarray, weights: np.ndarray, rows: int) -> tuple[np.ndarray, np.ndarray]:
    """``(x, y)`` for ``fit``: padded to ``rows`` and :func:`columns`, the weights as ``y``'s last column.

    The padding columns of ``x`` are 0, so the first layer's weights for them get no gradient
    from the data: starting at 0 they stay 0 (an L2 penalty keeps them there, Adam's and
    momentum's steps are 0 for a gradient that has always been 0), and data sets whose
    widths share a bucket share a program.

    Args:
      x: inputs ``[n, features]``.
      targets: float targets ``[n, outputs]``.
      weights: sample weights ``[n]``.
      rows: the padded row count (:func:`plan_rows`).

    Returns:
      ``x`` ``[rows, columns(features)]`` and ``y`` ``[rows, outputs + 1]``, both float32;
      padding rows are all zeros, so their weight is 0.
    """
    y = np.concatenate([targets.astype(np.float32), weights.astype(np.float32)[:, None]], axis=1)
    return pad_rows(x, rows, columns(x.shape[1])), pad_rows(y, rows)


def columns(features: int) -> int:
    """The padded width of the inputs for ``features`` columns (:func:`bucket`, at least 16)."""
    return bucket(features, _MIN_COLUMNS)


def seed_of(random_state: Any) -> int:
    """A non-negative int seed for ``jax.random.key`` from scikit-learn's ``random_state``.

    An int is the seed itself; ``None`` or a ``numpy.random.RandomState`` draws one from it
    (scikit-learn's meaning: ``None`` is NumPy's global generator, so every fit differs).

    Args:
      random_state: ``None``, an int, or a ``numpy.random.RandomState``.

    Returns:
      An int in ``[0, 2**31 - 1)``.
    """
    if isinstance(random_state, (int, np.integer)) and not isinstance(random_state, bool):
        return int(random_state)
    return int(check_random_state(random_state).randint(np.iinfo(np.int32).max))
