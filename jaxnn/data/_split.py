"""Train/test and train/validation/test splits, stratified or not, on the host."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from jax.typing import ArrayLike

from jaxnn._checks import check_fraction, check_key, check_xy
from jaxnn.data._host import as_array, host_rng, take


# The ``(x, y)`` pair a split returns for each part.
_Pair = tuple[Any, Any]


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

    perm = host_rng(key).permutation(n)
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
    x, y = as_array(x, "x"), as_array(y, "y")
    n = check_xy(x, y)
    f_test = check_fraction(test_fraction, "test_fraction")
    check_key(key)
    ids = _class_ids(y) if stratify else None
    train, test = _split_indices(key, n, [f_test], ["test_fraction"], ids)
    return (take(x, train), take(y, train)), (take(x, test), take(y, test))


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
    x, y = as_array(x, "x"), as_array(y, "y")
    n = check_xy(x, y)
    f_val = check_fraction(val_fraction, "val_fraction")
    f_test = check_fraction(test_fraction, "test_fraction")
    check_key(key)
    ids = _class_ids(y) if stratify else None
    train, val, test = _split_indices(
        key, n, [f_val, f_test], ["val_fraction", "test_fraction"], ids
    )
    return (
        (take(x, train), take(y, train)),
        (take(x, val), take(y, val)),
        (take(x, test), take(y, test)),
    )
