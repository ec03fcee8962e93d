"""Preparing data for training: splits, standardization, label encodings and batches.

The splits, the checks and the batch iterator run on the host, once, before training
compiles anything, so the data-dependent problems (different lengths, empty data, label
values) raise a clear ``ValueError`` instead of surfacing as an XLA error later.

Conventions:

* Randomness always comes from an explicit ``key`` (``jax.random.key(seed)``); the same
  key and data give the same result.
* The splits and the batch iterator keep the kind of array they are given: NumPy in,
  NumPy out (the data stay on the host, which is what you want for data sets larger
  than device memory); ``jax.Array`` in, ``jax.Array`` out; Python lists become NumPy
  arrays. :class:`Standardizer`, :func:`one_hot` and the label conversions compute
  with ``jax.numpy`` and return ``jax.Array``.
* Nothing is converted silently. Labels in {0, 1} and labels in {-1, +1} are converted
  with :func:`labels_to_pm1` / :func:`labels_to_01`; class indices become one-hot rows
  with :func:`one_hot`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from jaxnn._checks import check_class_range, check_float, check_fraction, check_int, check_key, check_xy

__all__ = [
    "train_test_split",
    "train_val_test_split",
    "Standardizer",
    "one_hot",
    "labels_to_pm1",
    "labels_to_01",
    "iterate_batches",
]

# The ``(x, y)`` pair a split returns for each part.
_Pair = tuple[Any, Any]


# ----------------------------------------------------------------------------- helpers


def _is_traced(x: Any) -> bool:
    return isinstance(x, jax.core.Tracer)


def _as_array(x: Any, name: str) -> np.ndarray | jax.Array:
    """Keeps NumPy and JAX arrays as they are; turns anything else into a NumPy array."""
    if isinstance(x, (np.ndarray, jax.Array)):
        return x
    if x is None:
        raise ValueError(f"{name} is None; pass an array with a leading sample axis")
    return np.asarray(x)


def _host_rng(key: Any) -> np.random.Generator:
    """A NumPy generator seeded by the key's bits (checked to be a PRNG key).

    Shuffling indices is host work: seeding NumPy's PCG64 with the key's words
    (through ``SeedSequence``) is deterministic per key, gives independent streams for
    split keys, and avoids compiling a ``jax.random.permutation`` for every data size.
    """
    check_key(key)
    typed = jax.dtypes.issubdtype(key.dtype, jax.dtypes.prng_key)
    bits = jax.random.key_data(key) if typed else key
    return np.random.default_rng(np.asarray(bits, dtype=np.uint32).ravel().tolist())


def _class_ids(y: Any) -> np.ndarray:
    """Integer class ids ``0..k-1`` for stratification, from integer labels ``[n]``."""
    y_host = np.asarray(y)
    if y_host.ndim != 1 or not (
        np.issubdtype(y_host.dtype, np.integer) or np.issubdtype(y_host.dtype, np.bool_)
    ):
        raise ValueError(
            f"stratify=True needs integer class labels of shape [n], got y.shape={y_host.shape} "
            f"and dtype {y_host.dtype}; for one-hot y split the integer labels "
            "(jnp.argmax(y, axis=1)) and encode each part with one_hot afterwards; for "
            "regression targets pass stratify=False"
        )
    _, ids = np.unique(y_host, return_inverse=True)
    return ids.reshape(-1)


def _apportion(quotas: np.ndarray, caps: np.ndarray, total: int) -> np.ndarray:
    """Integer counts close to ``quotas`` with ``counts <= caps`` and ``sum == total``.

    Largest-remainder (Hamilton) rounding: floors first, then one more to the classes with
    the largest remaining quota (ties: lowest class id), never past a class's cap.
    """
    counts = np.minimum(np.floor(quotas).astype(np.int64), caps)
    for _ in range(total - int(counts.sum())):
        room = counts < caps
        gap = np.where(room, quotas - counts, -np.inf)
        counts[int(np.argmax(gap))] += 1
    return counts


def _split_indices(
    key: Any, n: int, fractions: Sequence[float], names: Sequence[str], class_ids: np.ndarray | None
) -> list[np.ndarray]:
    """Random disjoint index sets, one per fraction, the rest (first) for training."""
    sizes = [int(round(f * n)) for f in fractions]
    for size, f, name in zip(sizes, fractions, names):
        if size == 0:
            raise ValueError(
                f"{name}={f} of n={n} samples gives an empty {name.split('_')[0]} split; "
                f"use a larger {name} (at least {1 / n:.3g}) or more data"
            )
    n_train = n - sum(sizes)
    if n_train <= 0:
        raise ValueError(
            f"the split fractions {dict(zip(names, fractions))} of n={n} samples leave "
            f"{n_train} training samples; make the held-out fractions sum to well below 1"
        )

    perm = _host_rng(key).permutation(n)
    ids = np.zeros(n, np.int64) if class_ids is None else class_ids
    num_ids = int(ids.max()) + 1
    counts = np.bincount(ids, minlength=num_ids)
    parts = len(fractions) + 1
    if class_ids is not None and counts.min() < parts:
        small = int(np.argmin(counts))
        raise ValueError(
            f"stratify=True: a class has only {counts[small]} sample(s), fewer than the "
            f"{parts} parts of the split; drop or merge that class, or pass stratify=False"
        )

    # part[i] = 0 (train), 1, 2, ... for sample i. Within each class the samples are taken
    # in the random order ``perm``; the held-out parts take the first ones.
    remaining = counts.copy()
    per_part = []
    for f, size in zip(fractions, sizes):
        c = _apportion(f * counts, remaining, size)
        per_part.append(c)
        remaining -= c
    rank = np.empty(n, np.int64)  # position of each sample among its class, in perm order
    ids_perm = ids[perm]
    order = np.argsort(ids_perm, kind="stable")
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    rank_sorted = np.arange(n) - np.repeat(starts, counts)
    rank[perm[order]] = rank_sorted
    bounds = np.cumsum(np.stack(per_part), axis=0)  # [parts - 1, classes]
    part = np.zeros(n, np.int64)
    for p in range(len(fractions) - 1, -1, -1):
        part[rank < bounds[p][ids]] = p + 1

    # Each part comes out in the random order of perm, not grouped by class.
    part_perm = part[perm]
    return [perm[part_perm == p] for p in range(parts)]


def _take(a: Any, idx: np.ndarray) -> Any:
    return a[jnp.asarray(idx)] if isinstance(a, jax.Array) else a[idx]


# ----------------------------------------------------------------------------- splits


def train_test_split(
    key: ArrayLike,
    x: ArrayLike,
    y: ArrayLike,
    *,
    test_fraction: float = 0.2,
    stratify: bool = False,
) -> tuple[_Pair, _Pair]:
    """Splits ``(x, y)`` at random into a training and a test part.

    The samples are shuffled with ``key``; ``round(test_fraction * n)`` of them go to the
    test part and the rest to training. With ``stratify=True`` every class keeps (up to
    rounding) the same proportion in both parts: the per-class test counts are
    ``test_fraction * n_c`` rounded by largest remainders so that they add up to the test
    size exactly. Each part is returned in random order (not grouped by class).

    Args:
      key: a PRNG key, ``jax.random.key(seed)``.
      x: inputs, shape ``[n, ...]`` (NumPy or JAX array).
      y: targets, shape ``[n, ...]``; integer class labels ``[n]`` when ``stratify=True``.
      test_fraction: fraction of the samples held out for testing, in (0, 1).
      stratify: keep the class proportions of ``y`` in both parts.

    Returns:
      ``((x_train, y_train), (x_test, y_test))``, arrays of the same kind (NumPy or JAX) as
      the inputs. The two parts are disjoint and together hold every sample once.

    Raises:
      ValueError: if ``x`` and ``y`` have different lengths, the data are empty, the
        fraction gives an empty test or training part, or (with ``stratify``) a class has
        fewer than 2 samples.

    >>> (x_tr, y_tr), (x_te, y_te) = train_test_split(
    ...     jax.random.key(0), np.arange(10.0), np.arange(10) % 2, test_fraction=0.3)
    >>> len(x_tr), len(x_te)
    (7, 3)
    """
    x, y = _as_array(x, "x"), _as_array(y, "y")
    n = check_xy(x, y)
    f_test = check_fraction(test_fraction, "test_fraction")
    check_key(key)
    ids = _class_ids(y) if stratify else None
    train, test = _split_indices(key, n, [f_test], ["test_fraction"], ids)
    return (_take(x, train), _take(y, train)), (_take(x, test), _take(y, test))


def train_val_test_split(
    key: ArrayLike,
    x: ArrayLike,
    y: ArrayLike,
    *,
    val_fraction: float = 0.15,
    test_fraction: float = 0.15,
    stratify: bool = False,
) -> tuple[_Pair, _Pair, _Pair]:
    """Splits ``(x, y)`` at random into training, validation and test parts.

    As :func:`train_test_split`, with a third part: ``round(val_fraction * n)`` samples
    for validation (early stopping, model choice), ``round(test_fraction * n)`` for the
    final test, the rest for training.

    Args:
      key: a PRNG key, ``jax.random.key(seed)``.
      x: inputs, shape ``[n, ...]``.
      y: targets, shape ``[n, ...]``; integer class labels ``[n]`` when ``stratify=True``.
      val_fraction: fraction held out for validation, in (0, 1).
      test_fraction: fraction held out for testing, in (0, 1).
      stratify: keep the class proportions of ``y`` in all three parts.

    Returns:
      ``((x_train, y_train), (x_val, y_val), (x_test, y_test))``: disjoint parts that
      together hold every sample once.

    Raises:
      ValueError: if ``x`` and ``y`` have different lengths, the data are empty, a part
        would be empty (including ``val_fraction + test_fraction`` leaving no training
        data), or (with ``stratify``) a class has fewer than 3 samples.
    """
    x, y = _as_array(x, "x"), _as_array(y, "y")
    n = check_xy(x, y)
    f_val = check_fraction(val_fraction, "val_fraction")
    f_test = check_fraction(test_fraction, "test_fraction")
    check_key(key)
    ids = _class_ids(y) if stratify else None
    train, val, test = _split_indices(
        key, n, [f_val, f_test], ["val_fraction", "test_fraction"], ids
    )
    return (
        (_take(x, train), _take(y, train)),
        (_take(x, val), _take(y, val)),
        (_take(x, test), _take(y, test)),
    )


# ----------------------------------------------------------------------------- standardization


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
        if not _is_traced(x) and not bool(jnp.all(jnp.isfinite(x))):
            raise ValueError("Standardizer.fit: x contains NaN or Inf; clean or impute it first")
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
        mean, std = self._expand(x.ndim)
        return (x - mean) / std

    def inverse_transform(self, z: ArrayLike) -> jax.Array:
        """Undoes :meth:`transform`: ``z * std + mean``.

        Args:
          z: standardized values, shape ``[..., features...]``.

        Returns:
          Values on the original scale, same shape as ``z``.
        """
        z = self._check(z, "inverse_transform")
        mean, std = self._expand(z.ndim)
        return z * std + mean


# ----------------------------------------------------------------------------- labels


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
    if _is_traced(labels):
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


# ----------------------------------------------------------------------------- batches


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
        order = _host_rng(key).permutation(n)
    return _batches(opened, order, int(batch_size), drop_remainder)


def _batches(
    arrays: list[Any], order: np.ndarray, batch_size: int, drop_remainder: bool
) -> Iterator[tuple[Any, ...]]:
    n = order.shape[0]
    stop = (n // batch_size) * batch_size if drop_remainder else n
    for start in range(0, stop, batch_size):
        idx = np.sort(order[start : start + batch_size])
        yield tuple(_take(a, idx) for a in arrays)

