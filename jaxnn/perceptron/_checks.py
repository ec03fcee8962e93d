"""The perceptron's input checks: shapes and dtypes at trace time, values on the host, once."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from jaxnn._checks import check_finite_host, check_float, check_int


def _is_concrete(*arrays: Any) -> bool:
    return not any(isinstance(a, jax.core.Tracer) for a in arrays)


def check_max_epochs(max_epochs: Any) -> int:
    return check_int(max_epochs, "max_epochs", why="static: it sizes the `mistakes` array")


def _host_view(a: Any, dtype: Any) -> np.ndarray:
    """The values the compiled run will see, as a NumPy array, without an eager device op.

    A concrete jax array is viewed as is (zero-copy on CPU; on an accelerator jax fetches it
    once and caches the host copy on the array). Anything else is read in ``dtype``, the
    dtype it is converted to, so that e.g. float64 overflowing float32 is seen as Inf.
    """
    if isinstance(a, jax.Array):
        return np.asarray(a)
    # The conversion to a jax array has already warned about an overflowing cast.
    with np.errstate(over="ignore"):
        return np.asarray(a, dtype=dtype)


def check_data(X: ArrayLike, y: ArrayLike, eta: ArrayLike, where: str) -> tuple[Any, Any, Any]:
    """Shape, dtype and (outside tracing) value checks; returns ``(X, y, eta)`` for the compiled core.

    Nothing here runs on the device: the column of ones and the casts of ``y`` and ``eta`` to
    ``X``'s dtype are done inside the compiled program (:func:`_prepare`), and the
    data-dependent checks read NumPy views. ``X`` is returned as a jax array (a NumPy input
    is transferred once, as the compiled call would do anyway), ``y`` and ``eta`` as given
    (or as NumPy arrays for sequences and scalars).
    """
    X_in = X
    if not isinstance(X, jax.Array):
        X = check_float(X, "X")  # one transfer, the one the compiled call would make
    elif not jnp.issubdtype(X.dtype, jnp.floating):
        check_float(X, "X")  # raises the package's TypeError
    if X.ndim != 2:
        raise ValueError(
            f"{where}: X must have shape [N, d] (one sample per row), got X.shape={X.shape}; "
            "for several data sets at once use jax.vmap"
        )
    if X.shape[0] == 0:
        raise ValueError(f"{where}: X is empty (X.shape={X.shape}); there is nothing to learn")
    y_dtype = getattr(y, "dtype", None)
    if y_dtype is None:
        y = np.asarray(y)
        y_dtype = y.dtype
    if not (jnp.issubdtype(y_dtype, jnp.floating) or jnp.issubdtype(y_dtype, jnp.signedinteger)):
        raise TypeError(
            f"{where}: y must hold labels -1 and +1 as floats or signed integers, got dtype {y_dtype}; "
            "convert {0, 1} or boolean labels with jaxnn.data.labels_to_pm1"
        )
    if np.ndim(y) != 1:
        raise ValueError(
            f"{where}: y must have shape [N] (one label per sample), got y.shape={np.shape(y)}; "
            "flatten a column of labels with y.reshape(-1)"
        )
    if np.shape(y)[0] != X.shape[0]:
        raise ValueError(
            f"{where}: X and y must have the same number of samples, got X.shape={X.shape} and "
            f"y.shape={np.shape(y)}; pair every row of X with one label"
        )
    if isinstance(eta, bool) or np.issubdtype(getattr(eta, "dtype", np.float32), np.bool_):
        raise TypeError(f"{where}: eta must be a number > 0, got {eta!r}")
    if np.ndim(eta) != 0:
        raise ValueError(
            f"{where}: eta must be a scalar, got shape {np.shape(eta)}; to train with several "
            "learning rates at once use jax.vmap over eta"
        )
    # Data-dependent checks, on the host and once, before anything compiles (skipped for
    # values traced by an outer jit/vmap, which have no value yet).
    if _is_concrete(X):
        check_finite_host("X", _host_view(X_in, X.dtype))
    if _is_concrete(y):
        y_host = np.asarray(y)
        # One vectorized pass; labels of +-1 are finite, so NaN/Inf and bad labels are
        # only looked for (and reported) when this fails.
        if not np.all((y_host == 1) | (y_host == -1)):
            check_finite_host("y", y_host)
            labels = np.unique(y_host)
            bad = labels[(labels != -1) & (labels != 1)]
            raise ValueError(
                f"{where}: labels must be -1 or +1, found {bad[:5].tolist()}; convert {{0, 1}} "
                "labels with jaxnn.data.labels_to_pm1(y)"
            )
    if _is_concrete(eta):
        eta_host = np.asarray(eta)
        if not np.isfinite(eta_host) or eta_host <= 0:
            raise ValueError(f"{where}: eta must be a finite number > 0, got {eta_host.item()!r}")
        # A NumPy scalar of X's dtype: one jit signature whatever eta's Python type.
        eta = eta_host.astype(X.dtype)
    return X, y, eta
