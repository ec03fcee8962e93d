"""Trace-time input checks shared by the package (shapes and dtypes are static under jit)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike


def check_float(x: ArrayLike, name: str) -> jax.Array:
    """Returns ``x`` as a jax array, raising ``TypeError`` unless its dtype is floating.

    Python floats become float32 arrays (JAX's default). Integers and booleans are
    rejected instead of silently converted: the caller casts, e.g. ``x.astype(jnp.float32)``.
    """
    if isinstance(x, float):
        return jnp.asarray(x)
    dtype = getattr(x, "dtype", None)
    if dtype is None:
        dtype = np.asarray(x).dtype
    if not jnp.issubdtype(dtype, jnp.floating):
        raise TypeError(
            f"{name} must be a floating-point array, got dtype {dtype}; "
            f"cast it first, e.g. {name}.astype(jnp.float32)"
        )
    return jnp.asarray(x)


def check_same_shape(a: jax.Array, b: jax.Array, a_name: str, b_name: str) -> None:
    """Raises ``ValueError`` naming both shapes unless ``a`` and ``b`` have the same shape."""
    if a.shape != b.shape:
        raise ValueError(
            f"{a_name} and {b_name} must have the same shape, got {a_name}.shape={a.shape} "
            f"and {b_name}.shape={b.shape}; reshape one of them (silent broadcasting is not done)"
        )


def check_finite_host(name: str, *arrays: ArrayLike) -> None:
    """Raises ``ValueError`` if any array holds NaN or Inf. Runs on the host, before compiling."""
    for i, a in enumerate(arrays):
        a = np.asarray(a)
        if np.issubdtype(a.dtype, np.floating) and not np.all(np.isfinite(a)):
            bad = int(np.size(a) - np.count_nonzero(np.isfinite(a)))
            label = name if len(arrays) == 1 else f"{name}[{i}]"
            raise ValueError(f"{label} contains {bad} NaN or Inf value(s); clean or impute them first")


def check_class_range(x: jax.Array, name: str, num_classes: int) -> None:
    """Raises ``ValueError`` if a class index in ``x`` lies outside ``[0, num_classes)``.

    Data-dependent, so it runs only on concrete values: under ``jit`` it checks nothing.
    """
    if isinstance(x, jax.core.Tracer):
        return
    host = np.asarray(x)
    bad = np.unique(host[(host < 0) | (host >= num_classes)])
    if bad.size:
        raise ValueError(
            f"{name} must lie in [0, {num_classes}) for num_classes={num_classes}, found "
            f"{bad[:5].tolist()}; pass the right num_classes or re-index the classes to 0..C-1 "
            "({-1, +1} labels: jaxnn.data.labels_to_01)"
        )
