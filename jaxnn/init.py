"""Parameter initializers.

Every name here is a *factory*: call it (with its hyperparameters, or none) to get an
initializer ``init(key, shape, dtype=jnp.float32) -> Array``. One calling convention for
all of them, so a config can say ``"he_normal"`` and :func:`get` returns ``he_normal()``.

For a weight matrix of shape ``[fan_in, fan_out]`` (the layout of
:func:`jaxnn.nn.Dense`), the variance-scaling families draw with variance

==================  =======================  ==================================
family              variance                 uniform bound ``a`` (var = a^2/3)
==================  =======================  ==================================
Glorot / Xavier     2 / (fan_in + fan_out)    sqrt(6 / (fan_in + fan_out))
He / Kaiming        2 / fan_in               sqrt(6 / fan_in)
LeCun               1 / fan_in               sqrt(3 / fan_in)
==================  =======================  ==================================

The ``*_normal`` initializers take ``distribution="normal"`` (PyTorch's
``kaiming_normal_``/``xavier_normal_``) or ``"truncated_normal"`` (Keras and
``jax.nn.initializers``; truncated at two standard deviations and rescaled so the
variance is still the one in the table). The sampling itself is
``jax.nn.initializers.variance_scaling``.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
from jax.typing import DTypeLike

from jaxnn._checks import check_key

__all__ = [
    "Initializer",
    "zeros",
    "ones",
    "constant",
    "normal",
    "uniform",
    "glorot_uniform",
    "glorot_normal",
    "he_uniform",
    "he_normal",
    "lecun_uniform",
    "lecun_normal",
    "get",
    "names",
]

Initializer = Callable[..., jax.Array]
"""``init(key, shape, dtype=jnp.float32) -> Array``."""

_NORMALS = ("normal", "truncated_normal")


def _check_call(key: jax.Array, shape, dtype) -> tuple[int, ...]:
    check_key(key)
    if not jnp.issubdtype(dtype, jnp.floating):
        raise TypeError(f"dtype must be a floating dtype, got {dtype}")
    shape = tuple(int(s) for s in shape)
    if any(s < 0 for s in shape):
        raise ValueError(f"shape must have non-negative sizes, got {shape}")
    return shape


def zeros() -> Initializer:
    """All zeros (the usual bias initializer).

    >>> zeros()(jax.random.key(0), (2,))
    Array([0., 0.], dtype=float32)
    """

    def init(key: jax.Array, shape, dtype: DTypeLike = jnp.float32) -> jax.Array:
        return jnp.zeros(_check_call(key, shape, dtype), dtype)

    return init


def ones() -> Initializer:
    """All ones.

    >>> ones()(jax.random.key(0), (2,))
    Array([1., 1.], dtype=float32)
    """
    return constant(1.0)


def constant(value: float) -> Initializer:
    """Every entry equal to ``value``.

    >>> constant(0.5)(jax.random.key(0), (2,))
    Array([0.5, 0.5], dtype=float32)
    """

    def init(key: jax.Array, shape, dtype: DTypeLike = jnp.float32) -> jax.Array:
        return jnp.full(_check_call(key, shape, dtype), value, dtype)

    return init


def normal(stddev: float = 1e-2, mean: float = 0.0) -> Initializer:
    """Independent ``N(mean, stddev^2)`` entries.

    Args:
      stddev: standard deviation, > 0 (default 0.01, as ``jax.nn.initializers.normal``).
      mean: the mean.
    """
    if stddev <= 0:
        raise ValueError(f"stddev must be > 0, got {stddev}")

    def init(key: jax.Array, shape, dtype: DTypeLike = jnp.float32) -> jax.Array:
        shape = _check_call(key, shape, dtype)
        return mean + stddev * jax.random.normal(key, shape, dtype)

    return init


def uniform(low: float = -0.05, high: float = 0.05) -> Initializer:
    """Independent ``U(low, high)`` entries (default ``U(-0.05, 0.05)``, as Keras)."""
    if not high > low:
        raise ValueError(f"need low < high, got low={low}, high={high}")

    def init(key: jax.Array, shape, dtype: DTypeLike = jnp.float32) -> jax.Array:
        shape = _check_call(key, shape, dtype)
        return jax.random.uniform(key, shape, dtype, minval=low, maxval=high)

    return init


def _variance_scaling(scale: float, mode: str, distribution: str) -> Initializer:
    base = jax.nn.initializers.variance_scaling(scale, mode, distribution)

    def init(key: jax.Array, shape, dtype: DTypeLike = jnp.float32) -> jax.Array:
        shape = _check_call(key, shape, dtype)
        if len(shape) < 2:
            raise ValueError(
                f"fan-based initializers need a weight shape [fan_in, fan_out], got {shape}; "
                "use zeros() or normal() for biases"
            )
        return base(key, shape, dtype)

    return init


def _check_distribution(distribution: str) -> str:
    if distribution not in _NORMALS:
        raise ValueError(f"distribution must be one of {_NORMALS}, got {distribution!r}")
    return distribution


def glorot_uniform() -> Initializer:
    """Glorot/Xavier uniform: ``U(-a, a)``, ``a = sqrt(6 / (fan_in + fan_out))`` (Keras's default)."""
    return _variance_scaling(1.0, "fan_avg", "uniform")


def glorot_normal(distribution: str = "truncated_normal") -> Initializer:
    """Glorot/Xavier normal: variance ``2 / (fan_in + fan_out)``.

    Args:
      distribution: ``"truncated_normal"`` (Keras, JAX) or ``"normal"`` (PyTorch).
    """
    return _variance_scaling(1.0, "fan_avg", _check_distribution(distribution))


def he_uniform() -> Initializer:
    """He/Kaiming uniform: ``U(-a, a)``, ``a = sqrt(6 / fan_in)``, for ReLU layers."""
    return _variance_scaling(2.0, "fan_in", "uniform")


def he_normal(distribution: str = "truncated_normal") -> Initializer:
    """He/Kaiming normal: variance ``2 / fan_in``, for ReLU layers.

    Args:
      distribution: ``"truncated_normal"`` (Keras, JAX) or ``"normal"`` (PyTorch).
    """
    return _variance_scaling(2.0, "fan_in", _check_distribution(distribution))


def lecun_uniform() -> Initializer:
    """LeCun uniform: ``U(-a, a)``, ``a = sqrt(3 / fan_in)``."""
    return _variance_scaling(1.0, "fan_in", "uniform")


def lecun_normal(distribution: str = "truncated_normal") -> Initializer:
    """LeCun normal: variance ``1 / fan_in`` (the initializer SELU networks assume).

    Args:
      distribution: ``"truncated_normal"`` (Keras, JAX) or ``"normal"`` (PyTorch).
    """
    return _variance_scaling(1.0, "fan_in", _check_distribution(distribution))


_FACTORIES: dict[str, Callable[[], Initializer]] = {
    "zeros": zeros,
    "ones": ones,
    "normal": normal,
    "uniform": uniform,
    "glorot_uniform": glorot_uniform,
    "glorot_normal": glorot_normal,
    "he_uniform": he_uniform,
    "he_normal": he_normal,
    "lecun_uniform": lecun_uniform,
    "lecun_normal": lecun_normal,
}


def names() -> tuple[str, ...]:
    """The initializer names accepted by :func:`get`, sorted."""
    return tuple(sorted(_FACTORIES))


def get(name: str | Initializer) -> Initializer:
    """Returns the initializer called ``name`` with its default hyperparameters.

    A callable passes through unchanged, so layer arguments accept either.

    Raises:
      ValueError: for an unknown name, listing the valid ones.
    """
    if callable(name):
        return name
    try:
        return _FACTORIES[name]()
    except (KeyError, TypeError):
        raise ValueError(f"unknown initializer {name!r}; valid names are: {', '.join(names())}") from None
