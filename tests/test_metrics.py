"""Tests for jaxnn.metrics against independent NumPy implementations written here."""

import doctest

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxnn.metrics as metrics
from jaxnn.metrics import (
    accuracy,
    confusion_matrix,
    f1_score,
    mean_absolute_error,
    mean_squared_error,
    precision,
    r2_score,
    recall,
)


@pytest.fixture(autouse=True)
def _no_rank_promotion():
    # Silent broadcasting between arrays of different rank is an error in these tests.
    with jax.numpy_rank_promotion("raise"):
        yield


# ----------------------------------------------------------------------------- references


def np_confusion(pred, true, c):
    cm = np.zeros((c, c), np.int64)
    for t, p in zip(true, pred):
        cm[t, p] += 1
    return cm


def np_macro(pred, true, c):
    """Per-class loops: precision, recall, F1, with 0 for undefined ratios."""
    ps, rs, fs = [], [], []
    for k in range(c):
        tp = sum(1 for t, p in zip(true, pred) if t == k and p == k)
        fp = sum(1 for t, p in zip(true, pred) if t != k and p == k)
        fn = sum(1 for t, p in zip(true, pred) if t == k and p != k)
        prec = tp / (tp + fp) if tp + fp else 0.0
        rec = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
        ps.append(prec)
        rs.append(rec)
        fs.append(f1)
    return np.mean(ps), np.mean(rs), np.mean(fs)


def np_r2(pred, true):
    pred = np.asarray(pred, np.float64).reshape(len(pred), -1)
    true = np.asarray(true, np.float64).reshape(len(true), -1)
    out = []
    for k in range(true.shape[1]):
        ss_res = np.sum((true[:, k] - pred[:, k]) ** 2)
        ss_tot = np.sum((true[:, k] - true[:, k].mean()) ** 2)
        if ss_tot == 0:
            out.append(1.0 if ss_res == 0 else 0.0)
        else:
            out.append(1.0 - ss_res / ss_tot)
    return float(np.mean(out))


def _maybe_jit(fn, use_jit, static=()):
    return jax.jit(fn, static_argnames=static) if use_jit else fn


# ----------------------------------------------------------------------------- classification


@pytest.mark.parametrize("use_jit", [False, True])
@pytest.mark.parametrize("seed,n,c", [(0, 50, 3), (1, 200, 10), (2, 7, 4), (3, 1, 2)])
def test_classification_metrics_match_numpy(use_jit, seed, n, c):
    rng = np.random.default_rng(seed)
    true = rng.integers(0, c, n)
    # Mostly right, some wrong, so that every branch is exercised.
    pred = np.where(rng.random(n) < 0.6, true, rng.integers(0, c, n))
    p, t = jnp.asarray(pred, jnp.int32), jnp.asarray(true, jnp.int32)

    acc = _maybe_jit(accuracy, use_jit)(p, t)
    np.testing.assert_allclose(acc, np.mean(pred == true), rtol=1e-6)

    cm = _maybe_jit(confusion_matrix, use_jit, "num_classes")(p, t, num_classes=c)
    assert cm.dtype == jnp.int32 and cm.shape == (c, c)
    np.testing.assert_array_equal(cm, np_confusion(pred, true, c))

    ref_p, ref_r, ref_f = np_macro(pred, true, c)
    for fn, ref in [(precision, ref_p), (recall, ref_r), (f1_score, ref_f)]:
        got = _maybe_jit(fn, use_jit, "num_classes")(p, t, num_classes=c)
        assert got.dtype == jnp.float32 and got.shape == ()
        np.testing.assert_allclose(got, ref, rtol=1e-6, atol=1e-7)


def test_hand_computed_example_with_unpredicted_and_absent_classes():
    # true:  0 0 1 1 2 ; pred: 0 1 1 1 1 ; class 2 never predicted, class 3 absent.
    pred = jnp.array([0, 1, 1, 1, 1])
    true = jnp.array([0, 0, 1, 1, 2])
    cm = confusion_matrix(pred, true, 4)
    np.testing.assert_array_equal(
        cm, [[1, 1, 0, 0], [0, 2, 0, 0], [0, 1, 0, 0], [0, 0, 0, 0]]
    )
    # precision: class0 1/1, class1 2/4, class2 0 (never predicted), class3 0 -> 1.5/4
    np.testing.assert_allclose(precision(pred, true, 4), 1.5 / 4, rtol=1e-6)
    # recall: class0 1/2, class1 2/2, class2 0/1, class3 0 (absent) -> 1.5/4
    np.testing.assert_allclose(recall(pred, true, 4), 1.5 / 4, rtol=1e-6)
    # F1 per class: 2/3, 2/3, 0, 0
    np.testing.assert_allclose(f1_score(pred, true, 4), (4 / 3) / 4, rtol=1e-6)
    np.testing.assert_allclose(accuracy(pred, true), 3 / 5, rtol=1e-6)


def test_perfect_and_all_wrong_predictions():
    y = jnp.array([0, 1, 2, 2, 1])
    for fn in (precision, recall, f1_score):
        np.testing.assert_allclose(fn(y, y, 3), 1.0)
        np.testing.assert_allclose(fn((y + 1) % 3, y, 3), 0.0)
    np.testing.assert_array_equal(confusion_matrix(y, y, 3), np.diag([1, 2, 2]))


def test_argument_order_rows_are_truth():
    # One sample of true class 0 predicted as class 1 -> cm[0, 1] == 1.
    cm = confusion_matrix(jnp.array([1]), jnp.array([0]), 2)
    np.testing.assert_array_equal(cm, [[0, 1], [0, 0]])
    # Precision and recall swap when the arguments swap.
    pred, true = jnp.array([0, 0, 0, 1]), jnp.array([0, 1, 1, 1])
    np.testing.assert_allclose(precision(pred, true, 2), recall(true, pred, 2), rtol=1e-6)


def test_accuracy_with_pm1_and_bool_labels():
    np.testing.assert_allclose(accuracy(jnp.array([-1, 1, 1]), jnp.array([-1, -1, 1])), 2 / 3)
    np.testing.assert_allclose(accuracy(jnp.array([True, False]), jnp.array([True, True])), 0.5)


def test_against_sklearn_if_installed():
    skm = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(7)
    true = rng.integers(0, 5, 300)
    pred = np.where(rng.random(300) < 0.5, true, rng.integers(0, 4, 300))  # class 4 rare
    labels = list(range(6))  # class 5 absent from both
    kw = dict(labels=labels, average="macro", zero_division=0)
    p, t = jnp.asarray(pred), jnp.asarray(true)
    np.testing.assert_allclose(precision(p, t, 6), skm.precision_score(true, pred, **kw), rtol=1e-5)
    np.testing.assert_allclose(recall(p, t, 6), skm.recall_score(true, pred, **kw), rtol=1e-5)
    np.testing.assert_allclose(f1_score(p, t, 6), skm.f1_score(true, pred, **kw), rtol=1e-5)
    np.testing.assert_array_equal(
        confusion_matrix(p, t, 6), skm.confusion_matrix(true, pred, labels=labels)
    )
    yt = rng.normal(size=(40, 3))
    yp = yt + rng.normal(size=(40, 3))
    np.testing.assert_allclose(
        r2_score(jnp.asarray(yp, jnp.float32), jnp.asarray(yt, jnp.float32)),
        skm.r2_score(yt, yp),
        rtol=1e-5,
    )


# ----------------------------------------------------------------------------- regression


@pytest.mark.parametrize("use_jit", [False, True])
@pytest.mark.parametrize("shape", [(30,), (30, 1), (25, 3)])
def test_regression_metrics_match_numpy(use_jit, shape):
    rng = np.random.default_rng(sum(shape))
    true = rng.normal(size=shape).astype(np.float32)
    pred = (true + 0.5 * rng.normal(size=shape)).astype(np.float32)
    p, t = jnp.asarray(pred), jnp.asarray(true)
    d = pred.astype(np.float64) - true
    mse = _maybe_jit(mean_squared_error, use_jit)(p, t)
    mae = _maybe_jit(mean_absolute_error, use_jit)(p, t)
    np.testing.assert_allclose(mse, np.mean(d**2), rtol=1e-5)
    np.testing.assert_allclose(mae, np.mean(np.abs(d)), rtol=1e-5)
    r2 = _maybe_jit(r2_score, use_jit)(p, t)
    assert r2.shape == () and r2.dtype == jnp.float32
    np.testing.assert_allclose(r2, np_r2(pred, true), rtol=1e-5)


def test_r2_reference_points():
    y = jnp.array([1.0, 2.0, 3.0, 4.0])
    np.testing.assert_allclose(r2_score(y, y), 1.0)
    np.testing.assert_allclose(r2_score(jnp.full(4, 2.5), y), 0.0, atol=1e-7)  # the mean
    # Worse than the mean: 1 - 20 / 5 = -3.
    np.testing.assert_allclose(r2_score(y[::-1] * 1.0 + 0.0, y), 1 - 20 / 5, rtol=1e-6)


def test_r2_constant_target_column_is_finite():
    t = jnp.array([[1.0, 0.0], [1.0, 1.0], [1.0, 2.0]])  # column 0 is constant
    exact = r2_score(t, t)
    np.testing.assert_allclose(exact, 1.0)
    off = t.at[0, 0].set(2.0)
    got = r2_score(off, t)
    assert np.isfinite(got)
    np.testing.assert_allclose(got, (0.0 + 1.0) / 2)  # column 0 -> 0, column 1 -> 1
    np.testing.assert_allclose(got, np_r2(off, t))


def test_doctests():
    assert doctest.testmod(metrics).failed == 0


# ----------------------------------------------------------------------------- bad input


def test_shape_mismatch_raises_naming_both_shapes():
    with pytest.raises(ValueError, match=r"\(4,\).*\(4, 1\)"):
        mean_squared_error(jnp.zeros(4), jnp.zeros((4, 1)))
    with pytest.raises(ValueError, match="same shape"):
        r2_score(jnp.zeros((4, 2)), jnp.zeros((4, 1)))
    with pytest.raises(ValueError, match="same shape"):
        accuracy(jnp.zeros(4, jnp.int32), jnp.zeros(5, jnp.int32))
    with pytest.raises(ValueError, match="same shape"):
        # Also at trace time under jit, not as an XLA error.
        jax.jit(f1_score, static_argnames="num_classes")(
            jnp.zeros(3, jnp.int32), jnp.zeros(4, jnp.int32), num_classes=2
        )


def test_probabilities_instead_of_labels_raise_type_error():
    probs = jnp.array([[0.9, 0.1], [0.2, 0.8]])
    with pytest.raises(TypeError, match="argmax"):
        accuracy(probs, jnp.array([[1, 0], [0, 1]]))
    with pytest.raises(TypeError, match="integer class labels"):
        confusion_matrix(jnp.array([0, 1]), jnp.array([0.0, 1.0]), 2)


def test_regression_metrics_reject_integers():
    with pytest.raises(TypeError, match="floating"):
        mean_squared_error(jnp.array([1, 2]), jnp.array([1.0, 2.0]))


def test_out_of_range_labels_raise_outside_jit():
    with pytest.raises(ValueError, match=r"\[0, 3\).*\[3\]"):
        precision(jnp.array([0, 3]), jnp.array([0, 1]), 3)
    with pytest.raises(ValueError, match=r"labels must lie in.*\[-1\]"):
        confusion_matrix(jnp.array([0, 1]), jnp.array([-1, 1]), 2)


def test_out_of_range_labels_under_jit_fall_in_no_cell():
    cm_fn = jax.jit(confusion_matrix, static_argnames="num_classes")
    cm = cm_fn(jnp.array([0, 1, 1, 0]), jnp.array([0, -1, 5, 1]), num_classes=2)
    # Only (0, 0) and (1, 0) are valid pairs; -1 must not wrap around to class 1.
    np.testing.assert_array_equal(cm, [[1, 0], [1, 0]])


@pytest.mark.parametrize("bad", [2.0, None, True, jnp.int32(2)])
def test_num_classes_must_be_python_int(bad):
    with pytest.raises(TypeError, match="num_classes"):
        recall(jnp.array([0, 1]), jnp.array([0, 1]), bad)


def test_num_classes_positive():
    with pytest.raises(ValueError, match="num_classes"):
        f1_score(jnp.array([0]), jnp.array([0]), 0)


def test_empty_and_2d_inputs():
    with pytest.raises(ValueError, match="empty"):
        accuracy(jnp.zeros(0, jnp.int32), jnp.zeros(0, jnp.int32))
    with pytest.raises(ValueError, match="at least one sample"):
        mean_absolute_error(jnp.zeros((0, 2)), jnp.zeros((0, 2)))
    with pytest.raises(ValueError, match=r"shape \[n\]"):
        confusion_matrix(jnp.zeros((2, 2), jnp.int32), jnp.zeros((2, 2), jnp.int32), 2)
