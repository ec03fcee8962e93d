"""The package's one vocabulary of argument checks.

Shapes, dtypes and Python arguments are checked at trace time (they are static under
``jit``); data-dependent checks (:func:`check_finite_host`, :func:`check_class_range`) run
on the host, once, before anything compiles. Every check raises ``TypeError`` for a value
of the wrong kind and ``ValueError`` for one out of range, with a message that names the
argument and the fix.
"""

from __future__ import annotations

import math
from typing import Any

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


def check_key(key: Any, name: str = "key") -> None:
    """Raises ``TypeError`` unless ``key`` is a JAX PRNG key.

    Accepted: a typed key (``jax.random.key(seed)``, also traced under ``jit``/``vmap``)
    or a raw ``uint32[2]`` key (``jax.random.PRNGKey(seed)``), as a JAX or NumPy array.
    """
    if isinstance(key, jax.Array) and jax.dtypes.issubdtype(key.dtype, jax.dtypes.prng_key):
        return
    if isinstance(key, (jax.Array, np.ndarray)) and key.shape == (2,) and key.dtype == np.uint32:
        return
    raise TypeError(
        f"{name} must be a JAX PRNG key, got {type(key).__name__}"
        f"{getattr(key, 'shape', '')}; create one with jax.random.key(seed)"
    )


def check_int(value: Any, name: str, *, minimum: int = 1, maximum: int | None = None, why: str = "") -> int:
    """Returns ``value`` as a Python int in ``[minimum, maximum]``.

    Args:
      value: a Python or NumPy integer; ``bool`` is refused (``True`` is not a count).
      name: the argument's name, for the messages.
      minimum: the smallest value allowed.
      maximum: the largest value allowed, or ``None`` for no bound.
      why: a note appended to the messages, e.g. what the value sizes or how to fix it.

    Raises:
      TypeError: ``value`` is not an integer.
      ValueError: ``value`` lies outside the range.
    """
    bound = f">= {minimum}" if maximum is None else f"in [{minimum}, {maximum:_}]"
    note = f" ({why})" if why else ""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int {bound}{note}, got {value!r}")
    if value < minimum or (maximum is not None and value > maximum):
        raise ValueError(f"{name} must be an int {bound}{note}, got {value!r}")
    return int(value)


def _real(value: Any) -> bool:
    return not isinstance(value, (bool, np.bool_)) and isinstance(value, (int, float, np.integer, np.floating))


def check_fraction(value: Any, name: str) -> float:
    """Returns ``value`` as a float strictly between 0 and 1.

    Raises:
      TypeError: ``value`` is not a real number.
      ValueError: ``value`` is not in the open interval (0, 1).
    """
    if not _real(value):
        raise TypeError(f"{name} must be a float in (0, 1), got {value!r}")
    if not 0.0 < float(value) < 1.0:
        raise ValueError(f"{name} must be strictly between 0 and 1, got {value!r}")
    return float(value)


def check_nonnegative(value: Any, name: str) -> float:
    """Returns ``value`` as a float, finite and ``>= 0``.

    Raises:
      TypeError: ``value`` is not a real number.
      ValueError: ``value`` is negative, NaN or infinite.
    """
    if not _real(value):
        raise TypeError(f"{name} must be a finite number >= 0, got {value!r}")
    if not (value >= 0 and math.isfinite(value)):
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)


def check_xy(x: Any, y: Any, what: str = "") -> int:
    """Returns the number of samples of a pair of arrays ``x`` ``[N, ...]`` and ``y`` ``[N, ...]``.

    Args:
      x: the inputs, an array with a leading sample axis.
      y: the targets, an array with the same leading size.
      what: names the data in messages, e.g. ``"training"``.

    Raises:
      TypeError: ``x`` or ``y`` is not an array.
      ValueError: no leading axis, different numbers of samples, or no samples at all.
    """
    who = f"{what} x and y" if what else "x and y"
    if not hasattr(x, "shape") or not hasattr(y, "shape"):
        raise TypeError(f"{who} must be arrays, got {type(x).__name__} and {type(y).__name__}")
    shapes = f"x.shape={tuple(x.shape)} and y.shape={tuple(y.shape)}"
    if len(x.shape) < 1 or len(y.shape) < 1:
        raise ValueError(f"{who} need a leading sample axis, got {shapes}")
    if x.shape[0] != y.shape[0]:
        raise ValueError(
            f"{who} must have the same number of samples (first axis), got {shapes}; "
            "pair every sample with one target"
        )
    if x.shape[0] == 0:
        raise ValueError(f"{who} hold no samples ({shapes}); the data set is empty")
    return int(x.shape[0])
