import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxnn import losses as L

rng = np.random.default_rng(0)
F = rng.normal(size=16).astype(np.float32) * 2  # scores
Y = np.where(rng.random(16) < 0.5, -1.0, 1.0).astype(np.float32)  # labels in {-1, +1}
P = rng.normal(size=(16, 3)).astype(np.float32)  # regression predictions
T = rng.normal(size=(16, 3)).astype(np.float32)  # regression targets
Z = rng.normal(size=(16, 5)).astype(np.float32) * 3  # class logits
C = rng.integers(0, 5, size=16).astype(np.int32)  # integer classes


def np_softmax(z):
    z = z.astype(np.float64)
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def np_sigmoid(z):
    return 1 / (1 + np.exp(-z.astype(np.float64)))


MARGIN_CASES = {
    "zero_one": (L.zero_one_loss, lambda f, y: (np.where(f >= 0, 1, -1) != y).astype(float)),
    "perceptron": (L.perceptron_loss, lambda f, y: np.maximum(0, -y * f)),
    "hinge": (L.hinge_loss, lambda f, y: np.maximum(0, 1 - y * f)),
    "squared_hinge": (L.squared_hinge_loss, lambda f, y: np.maximum(0, 1 - y * f) ** 2),
}


@pytest.mark.parametrize("name", sorted(MARGIN_CASES))
def test_margin_losses_against_numpy(name, maybe_jit):
    fn, ref = MARGIN_CASES[name]
    np.testing.assert_allclose(maybe_jit(fn)(F, Y), ref(F, Y), rtol=1e-6, atol=1e-7)


def test_hinge_margin_argument():
    np.testing.assert_allclose(L.hinge_loss(F, Y, margin=2.5), np.maximum(0, 2.5 - Y * F), rtol=1e-6)
    np.testing.assert_allclose(L.hinge_loss(F, Y, margin=0.0), L.perceptron_loss(F, Y))


REGRESSION_CASES = {
    "mse": (L.mean_squared_error, lambda p, t: ((p - t) ** 2).mean(-1)),
    "mae": (L.mean_absolute_error, lambda p, t: np.abs(p - t).mean(-1)),
    "huber": (
        L.huber_loss,
        lambda p, t: np.where(np.abs(p - t) <= 1, 0.5 * (p - t) ** 2, np.abs(p - t) - 0.5).mean(-1),
    ),
    "log_cosh": (L.log_cosh, lambda p, t: np.log(np.cosh((p - t).astype(np.float64))).mean(-1)),
}


@pytest.mark.parametrize("name", sorted(REGRESSION_CASES))
def test_regression_losses_against_numpy(name, maybe_jit):
    fn, ref = REGRESSION_CASES[name]
    np.testing.assert_allclose(maybe_jit(fn)(P, T), ref(P, T), rtol=1e-5, atol=1e-6)
    # 1-D predictions: per-example values are the elementwise ones.
    np.testing.assert_allclose(fn(P[:, 0], T[:, 0]), ref(P[:, :1], T[:, :1]), rtol=1e-5, atol=1e-6)


def test_huber_delta():
    r = np.array([0.5, 3.0], np.float32)
    np.testing.assert_allclose(L.huber_loss(r, np.zeros(2, np.float32), delta=2.0), [0.125, 2 * (3 - 1)])
    with pytest.raises(ValueError, match="delta"):
        L.huber_loss(r, r, delta=0.0)


def test_log_cosh_large_errors_are_finite():
    v = L.log_cosh(jnp.array([1e4]), jnp.array([0.0]))
    np.testing.assert_allclose(v, [1e4 - np.log(2)], rtol=1e-6)


def test_binary_cross_entropy_against_numpy(maybe_jit):
    y = (rng.random(16) < 0.5).astype(np.float32)
    z = F
    p = np_sigmoid(z)
    ref = -(y * np.log(p) + (1 - y) * np.log(1 - p))
    np.testing.assert_allclose(maybe_jit(L.binary_cross_entropy_with_logits)(z, y), ref, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(maybe_jit(L.binary_cross_entropy)(p.astype(np.float32), y), ref, rtol=1e-4, atol=1e-5)


def test_categorical_cross_entropy_against_numpy(maybe_jit):
    p = np_softmax(Z)
    ref = -np.log(p[np.arange(16), C])
    onehot = np.eye(5, dtype=np.float32)[C]
    np.testing.assert_allclose(maybe_jit(L.categorical_cross_entropy_with_logits)(Z, C), ref, rtol=1e-5)
    np.testing.assert_allclose(maybe_jit(L.categorical_cross_entropy_with_logits)(Z, onehot), ref, rtol=1e-5)
    np.testing.assert_allclose(maybe_jit(L.categorical_cross_entropy)(p.astype(np.float32), C), ref, rtol=1e-4)
    np.testing.assert_allclose(L.categorical_cross_entropy(p.astype(np.float32), onehot), ref, rtol=1e-4)


def test_label_smoothing_against_numpy_and_optax():
    import optax

    a = 0.1
    onehot = np.eye(5)[C]
    smooth = (1 - a) * onehot + a / 5
    ref = -(smooth * np.log(np_softmax(Z))).sum(-1)
    got = L.categorical_cross_entropy_with_logits(Z, C, label_smoothing=a)
    np.testing.assert_allclose(got, ref, rtol=1e-5)
    np.testing.assert_allclose(
        got, optax.softmax_cross_entropy(Z, optax.smooth_labels(jnp.asarray(onehot, jnp.float32), a)), rtol=1e-5
    )
    with pytest.raises(ValueError, match="label_smoothing"):
        L.categorical_cross_entropy_with_logits(Z, C, label_smoothing=1.0)


def test_kl_divergence_against_numpy():
    p = np_softmax(Z)
    t = np_softmax(rng.normal(size=(16, 5)))
    ref = (t * (np.log(t) - np.log(p))).sum(-1)
    np.testing.assert_allclose(L.kl_divergence(p.astype(np.float32), t.astype(np.float32)), ref, rtol=1e-4, atol=1e-6)
    # Zero where a target probability is zero (0 log 0 = 0) and at p == t.
    t0 = np.array([[1.0, 0.0]], np.float32)
    np.testing.assert_allclose(L.kl_divergence(t0, t0), [0.0], atol=0)


@pytest.mark.parametrize("reduction,expect", [("none", None), ("mean", np.mean), ("sum", np.sum)])
def test_reductions(reduction, expect):
    per = np.maximum(0, 1 - Y * F)
    got = L.hinge_loss(F, Y, reduction=reduction)
    np.testing.assert_allclose(got, per if expect is None else expect(per), rtol=1e-6)
    with pytest.raises(ValueError, match="reduction"):
        L.reduce(per, "avg")


def test_zero_loss_at_perfect_prediction():
    y01 = jnp.array([0.0, 1.0, 1.0])
    yc = jnp.array([2, 0])
    onehot = jax.nn.one_hot(yc, 3)
    assert float(jnp.max(L.binary_cross_entropy(y01, y01))) == 0.0
    assert float(jnp.max(L.categorical_cross_entropy(onehot, yc))) == 0.0
    assert float(jnp.max(L.mean_squared_error(jnp.asarray(P), jnp.asarray(P)))) == 0.0
    assert float(jnp.max(L.mean_absolute_error(jnp.asarray(P), jnp.asarray(P)))) == 0.0
    assert float(jnp.max(L.huber_loss(jnp.asarray(P), jnp.asarray(P)))) == 0.0
    assert float(jnp.max(L.log_cosh(jnp.asarray(P), jnp.asarray(P)))) == 0.0
    big = jnp.array([5.0, -5.0, 3.0])
    pm = jnp.array([1.0, -1.0, 1.0])
    assert float(jnp.max(L.zero_one_loss(big, pm))) == 0.0
    assert float(jnp.max(L.perceptron_loss(big, pm))) == 0.0
    assert float(jnp.max(L.hinge_loss(big, pm))) == 0.0
    # Cross-entropy from logits reaches 0 only in the limit; at logits of 1e4 it is 0 in float32.
    assert float(jnp.max(L.categorical_cross_entropy_with_logits(1e4 * onehot, yc))) == 0.0
    assert float(jnp.max(L.binary_cross_entropy_with_logits(1e4 * (2 * y01 - 1), y01))) == 0.0


@pytest.mark.parametrize(
    "fn,pred,target",
    [
        (L.binary_cross_entropy_with_logits, jnp.array([1e4, -1e4, 1e4, -1e4]), jnp.array([1.0, 0.0, 0.0, 1.0])),
        (L.binary_cross_entropy, jnp.array([0.0, 1.0, 0.0, 1.0]), jnp.array([0.0, 1.0, 1.0, 0.0])),
        (L.categorical_cross_entropy_with_logits, jnp.array([[1e4, -1e4], [-1e4, 1e4]]), jnp.array([1, 1])),
        (L.categorical_cross_entropy, jnp.array([[1.0, 0.0], [0.0, 1.0]]), jnp.array([1, 1])),
        (L.kl_divergence, jnp.array([[1.0, 0.0]]), jnp.array([[0.0, 1.0]])),
    ],
)
def test_finite_values_and_gradients_at_extremes(fn, pred, target):
    v = fn(pred, target)
    g = jax.grad(lambda p: jnp.sum(fn(p, target)))(pred)
    assert np.all(np.isfinite(v)) and np.all(np.isfinite(g))


def test_logits_losses_exact_where_probabilities_saturate():
    # -log S(-1e4 * ...) is exactly 1e4; a sigmoid-then-log form would give inf or a clamp.
    np.testing.assert_allclose(L.binary_cross_entropy_with_logits(jnp.array([-1e4]), jnp.array([1.0])), [1e4])
    np.testing.assert_allclose(
        L.categorical_cross_entropy_with_logits(jnp.array([[1e4, 0.0]]), jnp.array([1])), [1e4]
    )


@pytest.mark.parametrize("name", sorted(REGRESSION_CASES))
def test_regression_gradients_against_finite_differences(name):
    fn = REGRESSION_CASES[name][0]
    with jax.enable_x64(True):
        p, t = jnp.asarray(P, jnp.float64), jnp.asarray(T, jnp.float64)
        total = lambda q: jnp.sum(fn(q, t))
        g = jax.grad(total)(p)
        eps = 1e-6
        e = jnp.zeros_like(p).at[3, 1].set(eps)
        fd = (total(p + e) - total(p - e)) / (2 * eps)
        np.testing.assert_allclose(g[3, 1], fd, rtol=1e-5)


def test_perceptron_loss_gradient_is_rosenblatt_update():
    w = jnp.array([0.5, -1.0])
    x = jnp.array([1.0, 1.0])  # <w, x> = -0.5: misclassified for y = +1
    g = jax.grad(lambda w: L.perceptron_loss(jnp.atleast_1d(w @ x), jnp.array([1.0]))[0])(w)
    np.testing.assert_allclose(g, -x)  # w - eta * g = w + eta * y * x


# ---- bad input -------------------------------------------------------------------


def test_shape_mismatch_names_both_shapes():
    with pytest.raises(ValueError, match=r"predictions\.shape=\(16, 3\).*targets\.shape=\(16,\)"):
        L.mean_squared_error(P, T[:, 0])
    with pytest.raises(ValueError, match=r"\(4,\).*\(4, 1\)"):
        L.binary_cross_entropy_with_logits(jnp.zeros(4), jnp.zeros((4, 1)))


def test_shape_mismatch_is_caught_under_jit():
    with pytest.raises(ValueError, match="same shape"):
        jax.jit(L.mean_squared_error)(P, T[:, :2])


def test_pm1_labels_checked_outside_jit():
    with pytest.raises(ValueError, match=r"\{-1, \+1\}.*labels_to_pm1"):
        L.hinge_loss(F[:3], jnp.array([0.0, 1.0, 1.0]))


def test_integer_class_labels_validated():
    with pytest.raises(ValueError, match=r"\[0, 5\)"):
        L.categorical_cross_entropy_with_logits(Z[:2], jnp.array([0, 5]))
    with pytest.raises(ValueError, match="integer labels must have shape"):
        L.categorical_cross_entropy_with_logits(Z, C[:3])
    with pytest.raises(ValueError, match="one-hot labels must have"):
        L.categorical_cross_entropy_with_logits(Z, np.eye(4, dtype=np.float32)[C % 4])
    with pytest.raises(ValueError, match=r"\[batch, classes\]"):
        L.categorical_cross_entropy_with_logits(Z[0], C[:1])


def test_non_float_predictions_rejected():
    with pytest.raises(TypeError, match="floating-point"):
        L.mean_squared_error(jnp.array([1, 2]), jnp.array([1.0, 2.0]))


def test_get_by_name():
    assert L.get("hinge") is L.hinge_loss
    with pytest.raises(ValueError, match="unknown loss 'msee'.*mse"):
        L.get("msee")


@pytest.mark.parametrize("fn", [L.binary_cross_entropy_with_logits, L.binary_cross_entropy])
@pytest.mark.parametrize("bad", [-1.0, 2.0, np.nan])
def test_binary_cross_entropy_labels_checked_outside_jit(fn, bad):
    preds = jnp.array([0.25, 0.5, 0.75])
    with pytest.raises(ValueError, match=r"\[0, 1\].*jaxnn\.data\.labels_to_01"):
        fn(preds, jnp.array([1.0, bad, 0.0]))


def test_binary_cross_entropy_pm1_labels_message_shows_the_bad_value():
    with pytest.raises(ValueError, match=r"found \[-1\.0\]"):
        L.binary_cross_entropy_with_logits(jnp.zeros(4), jnp.array([-1.0, 1.0, -1.0, 1.0]))


@pytest.mark.parametrize("fn", [L.binary_cross_entropy_with_logits, L.binary_cross_entropy])
def test_binary_cross_entropy_accepts_soft_targets_and_skips_the_check_under_jit(fn):
    preds = jnp.array([0.25, 0.5, 0.75])
    soft = jnp.array([0.0, 0.1, 1.0])
    np.testing.assert_array_equal(jax.jit(fn)(preds, soft), fn(preds, soft))
    # Under jit the labels are traced, so the (data-dependent) check cannot run; the
    # documented formula is applied as is: softplus(z) - y z with y = -1.
    z = jnp.array([0.5])
    np.testing.assert_allclose(
        jax.jit(L.binary_cross_entropy_with_logits)(z, jnp.array([-1.0])), np.logaddexp(0.0, 0.5) + 0.5, rtol=1e-6
    )
