"""Tests for jaxnn.data: splits, Standardizer, label encodings and the batch iterator."""

import doctest

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxnn.data as data
from jaxnn.data import (
    Standardizer,
    iterate_batches,
    labels_to_01,
    labels_to_pm1,
    one_hot,
    train_test_split,
    train_val_test_split,
)

KEY = jax.random.key(0)


@pytest.fixture(autouse=True)
def _no_rank_promotion():
    with jax.numpy_rank_promotion("raise"):
        yield


def _data(n, classes=(0, 1, 2), counts=None, seed=0):
    """x rows carry their sample id (column 0) so that splits can be traced back."""
    rng = np.random.default_rng(seed)
    if counts is None:
        y = np.arange(n) % len(classes)
    else:
        y = np.repeat(np.arange(len(counts)), counts)
        n = len(y)
        classes = range(len(counts))
    x = np.stack([np.arange(n, dtype=np.float32), rng.normal(size=n).astype(np.float32)], 1)
    return x, np.asarray(classes)[y].astype(np.int32)


def _ids(x):
    return np.asarray(x)[:, 0].astype(int)


# ----------------------------------------------------------------------------- splits


@pytest.mark.parametrize("n,frac", [(10, 0.3), (101, 0.2), (5, 0.5), (1000, 0.01)])
def test_train_test_split_partitions_the_data(n, frac):
    x, y = _data(n)
    (xtr, ytr), (xte, yte) = train_test_split(KEY, x, y, test_fraction=frac)
    assert len(xte) == round(frac * n) and len(xtr) == n - round(frac * n)
    ids_tr, ids_te = _ids(xtr), _ids(xte)
    assert not set(ids_tr) & set(ids_te)
    np.testing.assert_array_equal(np.sort(np.concatenate([ids_tr, ids_te])), np.arange(n))
    # Pairs stay aligned: each y is the y of its x.
    np.testing.assert_array_equal(ytr, y[ids_tr])
    np.testing.assert_array_equal(yte, y[ids_te])


def test_split_is_deterministic_and_key_dependent():
    x, y = _data(50)
    a = train_test_split(KEY, x, y)
    b = train_test_split(KEY, x, y)
    c = train_test_split(jax.random.key(1), x, y)
    np.testing.assert_array_equal(a[1][0], b[1][0])
    assert not np.array_equal(_ids(a[1][0]), _ids(c[1][0]))
    # A raw uint32 key works the same way as a typed key.
    d = train_test_split(jax.random.PRNGKey(0), x, y)
    np.testing.assert_array_equal(_ids(d[1][0]), _ids(a[1][0]))


def test_split_keeps_array_kind():
    x, y = _data(20)
    (xtr, ytr), (xte, _) = train_test_split(KEY, x, y)
    assert isinstance(xtr, np.ndarray) and isinstance(ytr, np.ndarray)
    (jxtr, jytr), (jxte, _) = train_test_split(KEY, jnp.asarray(x), jnp.asarray(y))
    assert isinstance(jxtr, jax.Array) and isinstance(jytr, jax.Array)
    np.testing.assert_array_equal(jxtr, xtr)
    np.testing.assert_array_equal(jxte, xte)


def test_parts_are_shuffled_not_grouped_by_class():
    x, y = _data(0, counts=[50, 50, 50])  # sorted by class, like Iris
    (_, ytr), (_, yte) = train_test_split(KEY, x, y, stratify=True)
    assert not np.all(np.diff(ytr) >= 0)
    assert not np.all(np.diff(yte) >= 0)


@pytest.mark.parametrize("counts", [[50, 50, 50], [10, 30, 60], [7, 100, 13, 5]])
@pytest.mark.parametrize("frac", [0.2, 0.33])
def test_stratified_split_keeps_class_proportions(counts, frac):
    x, y = _data(0, counts=counts)
    n = len(y)
    (xtr, ytr), (xte, yte) = train_test_split(KEY, x, y, test_fraction=frac, stratify=True)
    assert len(yte) == round(frac * n)
    te_counts = np.bincount(yte, minlength=len(counts))
    tr_counts = np.bincount(ytr, minlength=len(counts))
    np.testing.assert_array_equal(te_counts + tr_counts, counts)
    # Each class's test count is its quota rounded down or up.
    quota = frac * np.asarray(counts)
    assert np.all(te_counts >= np.floor(quota)) and np.all(te_counts <= np.ceil(quota))
    ids = np.concatenate([_ids(xtr), _ids(xte)])
    np.testing.assert_array_equal(np.sort(ids), np.arange(n))


def test_stratified_beats_chance_on_a_small_imbalanced_set():
    # 10 % minority class; stratification guarantees it appears in the test part.
    x, y = _data(0, counts=[90, 10])
    for seed in range(5):
        (_, _), (_, yte) = train_test_split(
            jax.random.key(seed), x, y, test_fraction=0.2, stratify=True
        )
        np.testing.assert_array_equal(np.bincount(yte, minlength=2), [18, 2])


def test_stratify_works_with_pm1_labels():
    x, y = _data(40, classes=(-1, 1))
    (_, ytr), (_, yte) = train_test_split(KEY, x, y, test_fraction=0.25, stratify=True)
    assert np.sum(yte == -1) == 5 and np.sum(yte == 1) == 5


@pytest.mark.parametrize("stratify", [False, True])
def test_three_way_split(stratify):
    x, y = _data(0, counts=[40, 60, 50])
    n = len(y)
    train, val, test = train_val_test_split(
        KEY, x, y, val_fraction=0.2, test_fraction=0.1, stratify=stratify
    )
    assert [len(p[0]) for p in (train, val, test)] == [n - 30 - 15, 30, 15]
    sets = [set(_ids(p[0])) for p in (train, val, test)]
    assert not (sets[0] & sets[1] or sets[0] & sets[2] or sets[1] & sets[2])
    assert set.union(*sets) == set(range(n))
    for part in (train, val, test):
        np.testing.assert_array_equal(part[1], y[_ids(part[0])])
    if stratify:
        np.testing.assert_array_equal(np.bincount(val[1]), [8, 12, 10])
        np.testing.assert_array_equal(np.bincount(test[1]), [4, 6, 5])


def test_split_with_multidimensional_targets():
    x = np.arange(20.0, dtype=np.float32).reshape(10, 2)
    y = np.arange(30.0, dtype=np.float32).reshape(10, 3)
    (xtr, ytr), (xte, yte) = train_test_split(KEY, x, y, test_fraction=0.3)
    assert xtr.shape == (7, 2) and ytr.shape == (7, 3) and yte.shape == (3, 3)
    np.testing.assert_array_equal(ytr[:, 0], xtr[:, 0] * 1.5)


def test_split_bad_input():
    x, y = _data(10)
    with pytest.raises(ValueError, match=r"same number of samples.*\(10, 2\).*\(9,\)"):
        train_test_split(KEY, x, y[:9])
    with pytest.raises(ValueError, match="empty"):
        train_test_split(KEY, x[:0], y[:0])
    for bad in (0.0, 1.0, -0.1, 1.5):
        with pytest.raises(ValueError, match="test_fraction"):
            train_test_split(KEY, x, y, test_fraction=bad)
    with pytest.raises(ValueError, match="empty test split"):
        train_test_split(KEY, x, y, test_fraction=0.01)
    with pytest.raises(ValueError, match="leave .* training samples"):
        train_val_test_split(KEY, x, y, val_fraction=0.5, test_fraction=0.5)
    with pytest.raises(ValueError, match="leave .* training samples"):
        train_val_test_split(KEY, x, y, val_fraction=0.6, test_fraction=0.4)
    with pytest.raises(ValueError, match="val_fraction"):
        train_val_test_split(KEY, x, y, val_fraction=0.0)
    with pytest.raises(TypeError, match="key"):
        train_test_split(0, x, y)


def test_stratify_bad_input():
    x, y = _data(10)
    with pytest.raises(ValueError, match="integer class labels"):
        train_test_split(KEY, x, y.astype(np.float32), stratify=True)
    x1, y1 = _data(0, counts=[9, 1])
    with pytest.raises(ValueError, match="only 1 sample"):
        train_test_split(KEY, x1, y1, stratify=True)


# ----------------------------------------------------------------------------- Standardizer


def test_standardizer_matches_numpy_and_round_trips():
    rng = np.random.default_rng(0)
    x = (rng.normal(size=(100, 4)) * [1.0, 10.0, 0.1, 3.0] + [0.0, 5.0, -2.0, 100.0]).astype(
        np.float32
    )
    s = Standardizer.fit(x)
    np.testing.assert_allclose(s.mean, x.astype(np.float64).mean(0), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(s.std, x.astype(np.float64).std(0), rtol=1e-5)
    z = s.transform(x)
    np.testing.assert_allclose(np.mean(z, 0), 0.0, atol=1e-5)
    np.testing.assert_allclose(np.std(z, 0), 1.0, rtol=1e-5)
    np.testing.assert_allclose(s.inverse_transform(z), x, rtol=1e-5, atol=1e-4)


def test_standardizer_uses_training_statistics_on_other_splits():
    x_train = np.array([[0.0], [2.0], [4.0]], np.float32)  # mean 2, std sqrt(8/3)
    x_test = np.array([[10.0]], np.float32)
    s = Standardizer.fit(x_train)
    np.testing.assert_allclose(s.transform(x_test), [[8.0 / np.sqrt(8.0 / 3.0)]], rtol=1e-6)


def test_standardizer_zero_variance_columns():
    x = np.array([[1.0, 7.0, 0.1], [2.0, 7.0, 0.1], [3.0, 7.0, 0.1]], np.float32)
    s = Standardizer.fit(x)
    # Column 1 is exactly constant; column 2 is constant but 0.1 is inexact in float32.
    np.testing.assert_array_equal(s.std[1:], [1.0, 1.0])
    z = s.transform(x)
    assert np.all(np.isfinite(z))
    np.testing.assert_allclose(z[:, 1:], 0.0, atol=1e-6)
    np.testing.assert_allclose(s.inverse_transform(z), x, rtol=1e-6)
    # A new value in a constant column is only shifted: 8 - 7 = 1.
    np.testing.assert_allclose(s.transform(np.array([[2.0, 8.0, 0.1]], np.float32))[0, 1], 1.0)


def test_standardizer_is_a_pytree_usable_under_jit():
    x = jnp.arange(12.0).reshape(6, 2)
    s = Standardizer.fit(x)
    leaves = jax.tree_util.tree_leaves(s)
    assert len(leaves) == 2
    z = jax.jit(lambda p, v: p.transform(v))(s, x)
    np.testing.assert_allclose(z, s.transform(x), rtol=1e-6)
    s2 = jax.jit(Standardizer.fit)(x)  # fit traces too (the NaN check is skipped)
    np.testing.assert_allclose(s2.mean, s.mean)


def test_standardizer_images_and_batched_leading_axes():
    x = np.random.default_rng(1).normal(size=(20, 3, 4)).astype(np.float32)
    s = Standardizer.fit(x)
    assert s.mean.shape == (3, 4)
    z = s.transform(x[None])  # extra leading axis
    assert z.shape == (1, 20, 3, 4)


def test_standardizer_bad_input():
    with pytest.raises(TypeError, match="floating"):
        Standardizer.fit(np.arange(6).reshape(3, 2))
    with pytest.raises(ValueError, match="NaN or Inf"):
        Standardizer.fit(np.array([[1.0], [np.nan]], np.float32))
    with pytest.raises(ValueError, match="at least one sample"):
        Standardizer.fit(np.zeros((0, 3), np.float32))
    s = Standardizer.fit(np.ones((4, 3), np.float32))
    with pytest.raises(ValueError, match=r"x.shape=\(4, 2\).*\(3,\)"):
        s.transform(np.ones((4, 2), np.float32))


# ----------------------------------------------------------------------------- labels


@pytest.mark.parametrize("use_jit", [False, True])
def test_one_hot_values(use_jit):
    labels = jnp.array([2, 0, 1, 2], jnp.int32)
    fn = jax.jit(one_hot, static_argnums=1) if use_jit else one_hot
    got = fn(labels, 4)
    np.testing.assert_array_equal(got, np.eye(4, dtype=np.float32)[[2, 0, 1, 2]])
    assert got.dtype == jnp.float32
    assert one_hot(labels, 3, dtype=jnp.int32).dtype == jnp.int32


def test_one_hot_rejects_out_of_range_and_non_integer():
    with pytest.raises(ValueError, match=r"\[0, 3\).*\[3\]"):
        one_hot(jnp.array([0, 3]), 3)
    with pytest.raises(ValueError, match=r"\[-1\]"):
        one_hot(np.array([0, -1]), 3)
    with pytest.raises(TypeError, match="integer class indices"):
        one_hot(jnp.array([0.0, 1.0]), 2)
    with pytest.raises(ValueError, match="num_classes"):
        one_hot(jnp.array([0]), 0)


@pytest.mark.parametrize("dtype", [jnp.int32, jnp.float32])
def test_label_conversions(dtype):
    y01 = jnp.array([0, 1, 1, 0], dtype)
    ypm = labels_to_pm1(y01)
    assert ypm.dtype == dtype
    np.testing.assert_array_equal(ypm, [-1, 1, 1, -1])
    back = labels_to_01(ypm)
    assert back.dtype == dtype
    np.testing.assert_array_equal(back, y01)
    np.testing.assert_array_equal(labels_to_pm1(np.array([1, 0])), [1, -1])


def test_label_conversions_raise_on_wrong_encoding():
    with pytest.raises(ValueError, match=r"\{0, 1\}.*\[-1\]"):
        labels_to_pm1(jnp.array([-1, 1]))  # already {-1, +1}: not passed through
    with pytest.raises(ValueError, match=r"\{-1, 1\}.*\[0\]"):
        labels_to_01(jnp.array([0, 1]))
    with pytest.raises(ValueError, match=r"\[2\]"):
        labels_to_pm1(jnp.array([0, 2]))
    with pytest.raises(ValueError, match=r"\[0.5\]"):
        labels_to_01(jnp.array([-1.0, 0.5]))


def test_doctests():
    assert doctest.testmod(data).failed == 0


# ----------------------------------------------------------------------------- batches


@pytest.mark.parametrize("n,bs", [(10, 3), (10, 5), (7, 7), (5, 1)])
def test_iterate_batches_covers_every_sample_once(n, bs):
    x = np.arange(n * 2, dtype=np.float32).reshape(n, 2)
    y = np.arange(n)
    batches = list(iterate_batches(KEY, [x, y], bs))
    sizes = [len(b[1]) for b in batches]
    assert sizes == [bs] * (n // bs) + ([n % bs] if n % bs else [])
    seen = np.concatenate([b[1] for b in batches])
    np.testing.assert_array_equal(np.sort(seen), np.arange(n))
    for bx, by in batches:
        np.testing.assert_array_equal(bx[:, 0], 2 * by)  # rows stay aligned
        assert np.all(np.diff(by) > 0)  # stored order within a batch


def test_iterate_batches_shuffles_from_key():
    y = np.arange(100)
    a = [b[0] for b in iterate_batches(KEY, [y], 10)]
    b = [b[0] for b in iterate_batches(KEY, [y], 10)]
    c = [b[0] for b in iterate_batches(jax.random.key(3), [y], 10)]
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)
    assert any(not np.array_equal(u, v) for u, v in zip(a, c))
    assert not np.array_equal(a[0], np.arange(10))  # shuffled across batches
    ordered = [b[0] for b in iterate_batches(None, [y], 10)]
    np.testing.assert_array_equal(np.concatenate(ordered), y)


def test_iterate_batches_drop_remainder():
    y = np.arange(10)
    batches = list(iterate_batches(KEY, [y], 4, drop_remainder=True))
    assert [len(b[0]) for b in batches] == [4, 4]


def test_iterate_batches_memory_mapped_files(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(23, 3)).astype(np.float32)
    y = np.arange(23, dtype=np.int32)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y)
    from_paths = list(iterate_batches(KEY, [tmp_path / "x.npy", str(tmp_path / "y.npy")], 5))
    from_memory = list(iterate_batches(KEY, [x, y], 5))
    assert len(from_paths) == 5 and len(from_paths[-1][0]) == 3
    for (px, py), (mx, my) in zip(from_paths, from_memory):
        assert isinstance(px, np.ndarray)
        np.testing.assert_array_equal(px, mx)
        np.testing.assert_array_equal(py, my)
    mm = np.load(tmp_path / "x.npy", mmap_mode="r")
    first = next(iterate_batches(None, [mm], 4))[0]
    np.testing.assert_array_equal(first, x[:4])


def test_iterate_batches_jax_arrays_stay_jax():
    x = jnp.arange(6.0)
    (b,) = next(iterate_batches(None, [x], 6))
    assert isinstance(b, jax.Array)


def test_iterate_batches_bad_input_raises_at_creation():
    x, y = np.zeros((10, 2)), np.zeros(10)
    # Errors come from the call itself, before the first next().
    with pytest.raises(ValueError, match=r"same number of samples.*\(10, 2\).*\(9,\)"):
        iterate_batches(KEY, [x, y[:9]], 2)
    with pytest.raises(ValueError, match=r"batch_size must be an int in \[1, 10\]"):
        iterate_batches(KEY, [x, y], 0)
    with pytest.raises(ValueError, match=r"batch_size must be an int in \[1, 10\]"):
        iterate_batches(KEY, [x, y], 11)
    with pytest.raises(ValueError, match="empty"):
        iterate_batches(KEY, [x[:0]], 1)
    with pytest.raises(ValueError, match="arrays is empty"):
        iterate_batches(KEY, [], 1)
    with pytest.raises(TypeError, match="sequence of arrays"):
        iterate_batches(KEY, x, 2)
    with pytest.raises(TypeError, match="batch_size"):
        iterate_batches(KEY, [x], 2.0)
    with pytest.raises(TypeError, match="arrays\\[1\\]"):
        iterate_batches(KEY, [x, [1, 2]], 2)


def test_standardizer_handles_values_whose_squares_overflow_float32():
    # Columns near 1e20 and 1e-20: their squares leave float32's range, their mean and std do not.
    rng = np.random.default_rng(0)
    big = rng.normal(5.0, 2.0, size=(50, 1)) * 1e20
    small = rng.normal(-3.0, 0.5, size=(50, 1)) * 1e-20
    x = np.concatenate([big, small], axis=1)
    s = Standardizer.fit(jnp.asarray(x, jnp.float32))
    np.testing.assert_allclose(s.mean, x.mean(axis=0), rtol=1e-5)
    np.testing.assert_allclose(s.std, x.std(axis=0), rtol=1e-4)
    z = np.asarray(s.transform(jnp.asarray(x, jnp.float32)))
    assert np.all(np.isfinite(z))
    np.testing.assert_allclose(z.std(axis=0), [1.0, 1.0], rtol=1e-4)
