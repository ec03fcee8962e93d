"""Standardization: the mean and standard deviation of the training inputs, applied to any split."""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from jaxnn._checks import check_float
from jaxnn.data._host import is_traced


@jax.jit
def _statistics(x: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
    """``(mean, std, all finite)`` of ``x`` over its first axis: one compiled program per
    shape, instead of the two dozen small ones its operations would compile one by one."""
    mean = jnp.mean(x, axis=0)
    # The spread is taken on values scaled by their largest magnitude: squares of
    # values past about 1.8e19 overflow float32, and those of values below about 1e-19
    # underflow to zero, although the std itself is representable. So is the mean where
    # the plain sum overflowed.
    magnitude = jnp.max(jnp.abs(x), axis=0, keepdims=True)
    scale = jnp.where(magnitude > 0, magnitude, jnp.ones_like(magnitude))
    scaled_mean = scale * jnp.mean(x / scale, axis=0, keepdims=True)
    spread = jnp.max(jnp.abs(x - scaled_mean), axis=0, keepdims=True)
    spread = jnp.where(spread > 0, spread, jnp.ones_like(spread))
    scaled_std = spread * jnp.sqrt(jnp.mean(((x - scaled_mean) / spread) ** 2, axis=0, keepdims=True))
    mean = jnp.where(jnp.isfinite(mean), mean, scaled_mean[0])
    std = scaled_std[0]
    # A constant column has std 0 in exact arithmetic but may come out as round-off
    # (~eps * its magnitude) in floating point; dividing by that would blow noise up to
    # O(1). (Relative to the column's own magnitude, so that a column of tiny values is
    # not taken for a constant.)
    tol = 10 * jnp.finfo(x.dtype).eps * jnp.abs(magnitude[0])
    std = jnp.where(std <= tol, jnp.ones_like(std), std)
    return mean, std, jnp.all(jnp.isfinite(x))


@jax.jit
def _standardize(x: jax.Array, mean: jax.Array, std: jax.Array) -> jax.Array:
    return (x - mean) / std


@jax.jit
def _unstandardize(z: jax.Array, mean: jax.Array, std: jax.Array) -> jax.Array:
    return z * std + mean


class Standardizer(NamedTuple):
    """Per-feature standardization ``z = (x - mean) / std``, a pytree of two arrays.

    Fit it on the **training split only** (:meth:`fit`) and apply the same parameters to
    the validation and test splits; fitting on all data leaks test statistics into
    training. The object is an immutable ``NamedTuple`` of arrays, so it can be passed
    through ``jit`` and saved like any other params pytree; :meth:`transform` and
    :meth:`inverse_transform` are pure functions of it.

    Zero-variance columns: a feature that is constant in the training data (its standard
    deviation is at most ``10 * eps * max(1, |mean|)``, i.e. zero up to round-off) gets
    ``std = 1``. Such a column is only centred, becoming 0 on the training data, instead
    of being divided by zero (inf/NaN) or by round-off noise. :attr:`std` holds the value
    actually used, so ``inverse_transform`` undoes ``transform`` exactly for every column.

    Attributes:
      mean: per-feature mean of the training data, shape ``x.shape[1:]``.
      std: per-feature population standard deviation (``ddof=0``), with constant
        columns set to 1; shape ``x.shape[1:]``.

    >>> s = Standardizer.fit(jnp.array([[0.0, 5.0], [2.0, 5.0]]))
    >>> s.transform(jnp.array([[0.0, 5.0], [2.0, 5.0]]))
    Array([[-1.,  0.],
           [ 1.,  0.]], dtype=float32)
    """

    mean: jax.Array
    std: jax.Array

    @classmethod
    def fit(cls, x: ArrayLike) -> Standardizer:
        """Computes the per-feature mean and standard deviation of ``x``.

        Args:
          x: training inputs, floating point, shape ``[n, features...]``; statistics are
            taken over the first (sample) axis.

        Returns:
          A :class:`Standardizer` with ``mean`` and ``std`` of shape ``x.shape[1:]``.

        Raises:
          TypeError: if ``x`` is not floating point.
          ValueError: if ``x`` has no sample axis, no samples, or (outside ``jit``)
            contains NaN or Inf.
        """
        x = check_float(x, "x")
        if x.ndim < 1 or x.shape[0] == 0:
            raise ValueError(
                f"Standardizer.fit needs at least one sample along axis 0, got x.shape={x.shape}"
            )
        mean, std, finite = _statistics(x)
        if not is_traced(x) and not bool(finite):
            raise ValueError("Standardizer.fit: x contains NaN or Inf; clean or impute it first")
        return cls(mean=mean, std=std)

    def _check(self, x: ArrayLike, what: str) -> jax.Array:
        x = check_float(x, "x")
        feat = tuple(self.mean.shape)
        if tuple(x.shape[x.ndim - len(feat) :]) != feat or x.ndim < len(feat):
            raise ValueError(
                f"Standardizer.{what}: x.shape={x.shape} does not end in the fitted feature "
                f"shape {feat}; pass data with the same features as the training split"
            )
        return x

    def _expand(self, ndim: int) -> tuple[jax.Array, jax.Array]:
        # Explicit leading axes, so this also runs with jax_numpy_rank_promotion="raise".
        lead = (1,) * (ndim - self.mean.ndim)
        return self.mean.reshape(lead + self.mean.shape), self.std.reshape(lead + self.std.shape)

    def transform(self, x: ArrayLike) -> jax.Array:
        """Standardizes ``x``: ``(x - mean) / std``.

        Args:
          x: inputs, shape ``[..., features...]`` ending in the fitted feature shape.

        Returns:
          The standardized inputs, same shape as ``x``.
        """
        x = self._check(x, "transform")
        return _standardize(x, *self._expand(x.ndim))

    def inverse_transform(self, z: ArrayLike) -> jax.Array:
        """Undoes :meth:`transform`: ``z * std + mean``.

        Args:
          z: standardized values, shape ``[..., features...]``.

        Returns:
          Values on the original scale, same shape as ``z``.
        """
        z = self._check(z, "inverse_transform")
        return _unstandardize(z, *self._expand(z.ndim))
