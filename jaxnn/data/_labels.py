"""Label encodings: class indices to one-hot rows, and {0, 1} <-> {-1, +1}."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from jaxnn._checks import check_class_range, check_int
from jaxnn.data._host import is_traced


def _check_integer_labels(labels: Any, name: str) -> None:
    dtype = labels.dtype
    if not jnp.issubdtype(dtype, jnp.integer):
        raise TypeError(
            f"{name} must be integer class indices, got dtype {dtype}; "
            f"cast with {name}.astype(jnp.int32) if they are whole numbers"
        )


def one_hot(labels: ArrayLike, num_classes: int, *, dtype: Any = jnp.float32) -> jax.Array:
    """Encodes integer class indices as one-hot rows.

    ``one_hot(y, C)[i, c] = 1`` if ``y[i] == c`` else 0.

    Outside ``jit`` every label is checked to lie in ``[0, num_classes)`` and a label
    outside raises ``ValueError`` (``jax.nn.one_hot`` would silently give an all-zero row).
    Under ``jit`` the labels are not known, the check cannot run, and an out-of-range
    label gives an all-zero row; check the labels once before compiling.

    Args:
      labels: integer class indices, shape ``[...]`` (usually ``[n]``).
      num_classes: number of classes ``C`` (a Python int; static under ``jit``).
      dtype: dtype of the result.

    Returns:
      Shape ``labels.shape + (num_classes,)``, zeros with a single 1 per row.

    >>> one_hot(jnp.array([0, 2]), 3)
    Array([[1., 0., 0.],
           [0., 0., 1.]], dtype=float32)
    """
    check_int(num_classes, "num_classes")
    labels = jnp.asarray(labels) if not isinstance(labels, jax.Array) else labels
    _check_integer_labels(labels, "labels")
    check_class_range(labels, "labels", int(num_classes))
    return jax.nn.one_hot(labels, int(num_classes), dtype=dtype)


def _check_binary(labels: Any, allowed: tuple[int, int], fix: str) -> None:
    if is_traced(labels):
        return
    host = np.asarray(labels)
    if host.dtype == np.bool_ or not (
        np.issubdtype(host.dtype, np.integer) or np.issubdtype(host.dtype, np.floating)
    ):
        raise TypeError(f"labels must be an integer or float array, got dtype {host.dtype}")
    values = np.unique(host)
    bad = values[~np.isin(values, allowed)]
    if bad.size:
        raise ValueError(
            f"labels must be in {{{allowed[0]}, {allowed[1]}}}, found {bad[:5].tolist()}; {fix}"
        )


def labels_to_pm1(labels: ArrayLike) -> jax.Array:
    """Converts binary labels from {0, 1} to {-1, +1}: ``2 y - 1``.

    The margin losses and the perceptron use {-1, +1}; the binary cross-entropies use
    {0, 1}. Outside ``jit`` any value other than 0 or 1 raises ``ValueError`` (labels
    that are already {-1, +1} are *not* passed through: converting them twice is a bug).
    The dtype is kept.

    Args:
      labels: labels in {0, 1}, integer or float, any shape.

    Returns:
      Labels in {-1, +1}, same shape and dtype.

    >>> labels_to_pm1(jnp.array([0, 1, 1]))
    Array([-1,  1,  1], dtype=int32)
    """
    labels = labels if isinstance(labels, jax.Array) else jnp.asarray(labels)
    _check_binary(labels, (0, 1), "labels_to_pm1 converts {0, 1} labels only")
    return (2 * labels - 1).astype(labels.dtype)


def labels_to_01(labels: ArrayLike) -> jax.Array:
    """Converts binary labels from {-1, +1} to {0, 1}: ``(y + 1) / 2``.

    The inverse of :func:`labels_to_pm1`. Outside ``jit`` any value other than -1 or +1
    raises ``ValueError``. The dtype is kept.

    Args:
      labels: labels in {-1, +1}, integer or float, any shape.

    Returns:
      Labels in {0, 1}, same shape and dtype.

    >>> labels_to_01(jnp.array([-1, 1, 1]))
    Array([0, 1, 1], dtype=int32)
    """
    labels = labels if isinstance(labels, jax.Array) else jnp.asarray(labels)
    _check_binary(labels, (-1, 1), "labels_to_01 converts {-1, +1} labels only")
    # (y + 1) // 2 is exact for integers and for the floats -1.0 / 1.0.
    return ((labels + 1) // 2).astype(labels.dtype)
