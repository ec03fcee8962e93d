"""Property tests (hypothesis) for activations and losses over generated shapes and values.

What is checked, for every input hypothesis generates:

* activations keep their ranges (sigmoid in [0, 1] and (0, 1) for moderate inputs, tanh in
  [-1, 1] and odd, softmax rows non-negative and summing to 1, log_softmax <= 0, relu >= 0,
  softplus >= relu, sign in {-1, +1}, ...), keep shape and dtype, and the monotone ones are
  non-decreasing;
* losses are non-negative on their domains and zero at a perfect prediction where the math
  says so (the ``*_with_logits`` losses only reach 0 in the limit, checked as a bound);
* every activation gradient (``jax.grad`` and the hand-written ``derivative(name)``) and every
  loss gradient agrees with central finite differences in float64, away from kinks;
* ``jax.jit`` and eager execution agree.

Shapes are drawn from a few small sizes so ``jit`` compiles a bounded number of programs.
The profile below is deterministic (``derandomize=True``, no example database), so CI runs
the same examples every time and a failure found once is found again.
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from jaxnn import activations as A
from jaxnn import losses as L

settings.register_profile(
    "jaxnn-properties",
    max_examples=20,
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=False,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
# Applied per test as a decorator (not loaded globally) so other test files keep their own.
PROFILE = settings.get_profile("jaxnn-properties")
FEW = settings(PROFILE, max_examples=10)

# A few small shapes, shared by the tests: each new shape compiles every primitive again.
ELEMENTWISE_SHAPES = [(5,), (2, 3)]
ROW_SHAPES = [(2, 3), (1, 4)]


def arrays(shapes, lo, hi, *, dtype=np.float32, exclude=(), gap=1e-3):
    """Float arrays of one of ``shapes`` with elements in [lo, hi], at least ``gap`` from ``exclude``."""
    width = 32 if dtype == np.float32 else 64
    lo, hi = (float(np.dtype(dtype).type(b)) for b in (lo, hi))  # hypothesis needs exact bounds
    elements = st.floats(lo, hi, allow_nan=False, allow_infinity=False, allow_subnormal=False, width=width)
    if exclude:
        elements = elements.filter(lambda v: all(abs(v - k) > gap for k in exclude))
    return hnp.arrays(dtype, st.sampled_from(shapes), elements=elements)


def pm1_like(shape_or_array):
    """Labels in {-1, +1} with the given array's shape."""
    shape = np.shape(shape_or_array)
    return hnp.arrays(np.float32, shape, elements=st.sampled_from([-1.0, 1.0]))


F32_MAX = float(np.finfo(np.float32).max)

# ---- activations: ranges ----------------------------------------------------------------

# Name -> (lower bound, upper bound) that holds for every finite float32 input.
BOUNDS = {
    "sigmoid": (0.0, 1.0),
    "tanh": (-1.0, 1.0),
    "relu": (0.0, math.inf),
    "softplus": (0.0, math.inf),
    "hard_sigmoid": (0.0, 1.0),
    "softsign": (-1.0, 1.0),
    "heaviside": (0.0, 1.0),
    "sign": (-1.0, 1.0),
    "elu": (-1.0, math.inf),  # alpha = 1
    "selu": (-1.0507009873554805 * 1.6732632423543772, math.inf),
    "silu": (-0.27846454276107377, math.inf),  # min of x S(x), at x = -1.27846...
    "swish": (-0.27846454276107377, math.inf),
    "gelu": (-0.16997120747990958, math.inf),  # min of x Phi(x), at x = -0.75179...
    "gelu_tanh": (-0.17004, math.inf),
}

MONOTONE = [
    "identity", "sign", "heaviside", "tanh", "sigmoid", "relu", "leaky_relu", "elu",
    "selu", "softplus", "softsign", "hard_sigmoid",
]  # fmt: skip


@pytest.mark.parametrize("name", sorted(BOUNDS))
@PROFILE
@given(x=arrays(ELEMENTWISE_SHAPES, -F32_MAX, F32_MAX))
def test_activation_bounds_for_any_finite_input(name, x):
    y = A.get(name)(jnp.asarray(x))
    assert y.shape == x.shape and y.dtype == jnp.float32
    lo, hi = BOUNDS[name]
    y = np.asarray(y, np.float64)
    assert not np.any(np.isnan(y)), f"{name} gave NaN for {x}"
    # The lower bounds of silu/gelu are irrational minima: allow float32 rounding there.
    assert np.all(y >= lo - 1e-6) and np.all(y <= hi), f"{name}({x}) = {y} left [{lo}, {hi}]"


@PROFILE
@given(x=arrays(ELEMENTWISE_SHAPES, -15.0, 15.0))
def test_sigmoid_strictly_inside_unit_interval_for_moderate_inputs(x):
    # 1 - S(15) = 3e-7 > float32's half-ulp below 1 (3e-8), so the open interval is kept.
    y = np.asarray(A.sigmoid(jnp.asarray(x)))
    assert np.all(y > 0.0) and np.all(y < 1.0)


@PROFILE
@given(x=arrays(ELEMENTWISE_SHAPES, -F32_MAX, F32_MAX))
def test_tanh_is_odd_and_sigmoid_is_symmetric(x):
    x = jnp.asarray(x)
    # Exact: tanh is evaluated as an odd function of x.
    np.testing.assert_array_equal(A.tanh(-x), -A.tanh(x))
    # S(-x) = 1 - S(x), to float32 rounding of the subtraction.
    np.testing.assert_allclose(A.sigmoid(-x), 1.0 - A.sigmoid(x), rtol=0, atol=1e-7)


@PROFILE
@given(x=arrays(ELEMENTWISE_SHAPES, -F32_MAX, F32_MAX))
def test_relu_softplus_sign_heaviside(x):
    xj = jnp.asarray(x)
    r, s = np.asarray(A.relu(xj)), np.asarray(A.softplus(xj))
    np.testing.assert_array_equal(r, np.maximum(x, 0.0))
    # log(1 + e^x) - max(x, 0) = log(1 + e^-|x|) is in [0, log 2].
    assert np.all(s >= r)
    assert np.all(s.astype(np.float64) - r <= math.log(2.0) * (1 + 1e-6))
    sg = np.asarray(A.sign(xj))
    assert set(np.unique(sg)) <= {-1.0, 1.0}
    assert np.all(sg * x >= 0)
    np.testing.assert_array_equal(np.asarray(A.heaviside(xj)), (sg + 1) / 2)


@pytest.mark.parametrize("name", MONOTONE)
@PROFILE
@given(x=arrays([(7,)], -1e4, 1e4))
def test_monotone_activations_are_non_decreasing(name, x):
    x = np.sort(x)
    y = np.asarray(A.get(name)(jnp.asarray(x)))
    assert np.all(np.diff(y) >= 0), f"{name} decreased on sorted input {x}: {y}"


@pytest.mark.parametrize("axis", [-1, 0])
@PROFILE
@given(x=arrays(ROW_SHAPES, -1e30, 1e30))
def test_softmax_rows_are_distributions_and_log_softmax_nonpositive(axis, x):
    xj = jnp.asarray(x)
    s = np.asarray(A.softmax(xj, axis=axis), np.float64)
    ls = np.asarray(A.log_softmax(xj, axis=axis), np.float64)
    assert s.shape == x.shape and ls.shape == x.shape
    assert np.all(s >= 0) and np.all(s <= 1)
    np.testing.assert_allclose(s.sum(axis=axis), 1.0, rtol=0, atol=1e-6 * x.shape[axis])
    assert np.all(np.isfinite(ls)) and np.all(ls <= 0)
    # The largest entry of each row has the largest log-probability, at least -log(n).
    assert np.all(ls.max(axis=axis) >= -math.log(x.shape[axis]) - 1e-6)


@PROFILE
@given(x=arrays(ROW_SHAPES, -30.0, 30.0), shift=st.floats(-1e3, 1e3, width=32))
def test_softmax_is_shift_invariant_and_log_softmax_is_its_log(x, shift):
    xj = jnp.asarray(x)
    s = A.softmax(xj)
    np.testing.assert_allclose(A.softmax(xj + np.float32(shift)), s, rtol=1e-3, atol=1e-6)
    np.testing.assert_allclose(np.exp(np.asarray(A.log_softmax(xj), np.float64)), s, rtol=1e-5, atol=1e-7)


# ---- activations: gradients against finite differences (float64) -------------------------

# Name -> points where the derivative jumps (inputs are kept 1e-3 away from them).
KINKS = {
    "identity": (),
    "tanh": (),
    "sigmoid": (),
    "gelu": (),
    "gelu_tanh": (),
    "silu": (),
    "swish": (),
    "softplus": (),
    "softsign": (0.0,),  # smooth first derivative, but |x| makes the FD error O(h) there
    "elu": (0.0,),
    "selu": (0.0,),
    "relu": (0.0,),
    "leaky_relu": (0.0,),
    "hard_sigmoid": (-3.0, 3.0),
    "sign": (0.0,),
    "heaviside": (0.0,),
}
ALL_KINKS = tuple(sorted({k for ks in KINKS.values() for k in ks}))

H = 1e-6  # central differences in float64: truncation ~H^2, rounding ~1e-16 / H


def grad_and_fd(total, x, *args):
    """``jax.grad`` and central differences of scalar ``total(x, *args)`` (call it under ``jit``).

    The finite differences perturb one coordinate of ``x`` at a time (a ``vmap`` over the basis).
    """
    f = lambda v: total(v, *args)
    basis = jnp.eye(x.size, dtype=x.dtype).reshape((x.size, *x.shape))
    fd = (jax.vmap(f)(x + H * basis) - jax.vmap(f)(x - H * basis)) / (2 * H)
    return jax.grad(f)(x), fd.reshape(x.shape)


def _weights(shape):
    # A fixed, non-uniform cotangent: checks the whole vector-Jacobian product, not just a sum.
    return 0.5 + np.arange(int(np.prod(shape)), dtype=np.float64).reshape(shape) / 7.0


@jax.jit
def _activation_grads(x, w):
    """For every differentiable activation: jax.grad, central differences, w * derivative(name)."""
    out = {}
    for name in KINKS:
        fn = A.get(name)
        auto, fd = grad_and_fd(lambda v: jnp.sum(w * fn(v)), x)
        out[name] = (auto, fd, w * A.derivative(name)(x))
    for name in ("softmax", "log_softmax"):  # along the last axis of a [1, n] row
        fn = A.get(name)
        out[name] = (*grad_and_fd(lambda v: jnp.sum(w * fn(v[None, :])), x), None)
    return out


# All activations in one compiled function, on one shape (elementwise code does not depend on it).
@FEW
@given(x=arrays([(6,)], -6.0, 6.0, dtype=np.float64, exclude=ALL_KINKS))
def test_activation_gradients_match_finite_differences(x):
    w = _weights(x.shape)
    with jax.enable_x64(True):
        results = _activation_grads(x, w)
    for name, (auto, fd, analytic) in results.items():
        assert auto.dtype == jnp.float64, name
        np.testing.assert_allclose(auto, fd, rtol=1e-6, atol=1e-8, err_msg=f"jax.grad of {name}")
        if analytic is not None:
            np.testing.assert_allclose(analytic, fd, rtol=1e-6, atol=1e-8, err_msg=f"derivative({name!r})")


@jax.jit
def _softmax_grads(x, w):
    return grad_and_fd(lambda v: jnp.sum(w * A.softmax(v)), x)


@FEW
@given(x=arrays([(2, 4)], -6.0, 6.0, dtype=np.float64))
def test_softmax_jacobian_matches_finite_differences(x):
    w = _weights(x.shape)
    with jax.enable_x64(True):
        auto, fd = _softmax_grads(x, w)
        # The course's diag(s) - s s^T, contracted with the cotangent w, row by row.
        jac = np.asarray(A.softmax_jacobian(jnp.asarray(x)))
    np.testing.assert_allclose(auto, fd, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(np.einsum("bi,bij->bj", w, jac), fd, rtol=1e-6, atol=1e-8)


# ---- losses ---------------------------------------------------------------------------------

MARGIN = {
    "zero_one": L.zero_one_loss,
    "perceptron": L.perceptron_loss,
    "hinge": L.hinge_loss,
    "squared_hinge": L.squared_hinge_loss,
}
REGRESSION = {
    "mse": L.mean_squared_error,
    "mae": L.mean_absolute_error,
    "huber": L.huber_loss,
    "log_cosh": L.log_cosh,
}
MARGIN_SHAPES = [(5,), (2, 1)]
REGRESSION_SHAPES = [(5,), (2, 3)]
CLASS_SHAPES = ROW_SHAPES


def class_labels(batch, classes):
    return hnp.arrays(np.int32, (batch,), elements=st.integers(0, classes - 1))


def normalized(x):
    return x / x.sum(axis=-1, keepdims=True)


@pytest.mark.parametrize("name", sorted(MARGIN))
@PROFILE
@given(data=st.data())
def test_margin_losses_nonnegative(name, data):
    f = data.draw(arrays(MARGIN_SHAPES, -1e6, 1e6))
    y = data.draw(pm1_like(f))
    v = np.asarray(MARGIN[name](f, y))
    assert v.shape == (f.shape[0],) and np.all(v >= 0)


@pytest.mark.parametrize("name", sorted(MARGIN))
@PROFILE
@given(data=st.data())
def test_margin_losses_zero_when_margin_is_met(name, data):
    u = data.draw(arrays(MARGIN_SHAPES, 0.0, 1e6))
    y = data.draw(pm1_like(u))
    # y f >= 1 meets every margin here (hinge's m = 1; the others need y f >= 0, f != -0).
    f = y * (1.0 + u)
    np.testing.assert_array_equal(MARGIN[name](f, y), 0.0)


@pytest.mark.parametrize("name", ["mse", "mae", "huber"])
@PROFILE
@given(data=st.data())
def test_regression_losses_nonnegative(name, data):
    p = data.draw(arrays(REGRESSION_SHAPES, -1e6, 1e6))
    t = data.draw(arrays([p.shape], -1e6, 1e6))
    v = np.asarray(REGRESSION[name](p, t))
    assert v.shape == (p.shape[0],) and np.all(v >= 0)


@example(p=np.array([2.5e-4, -2.5e-4, 1.029208e-06, 1.0e-4], np.float32), t=np.zeros(4, np.float32))
@PROFILE
@given(p=arrays([(4,)], -1.0, 1.0), t=st.just(np.zeros(4, np.float32)))
def test_log_cosh_nonnegative(p, t):
    assert np.all(np.asarray(L.log_cosh(p, t)) >= 0)


@pytest.mark.parametrize("name", sorted(REGRESSION))
@PROFILE
@given(t=arrays(REGRESSION_SHAPES, -1e6, 1e6))
def test_regression_losses_zero_at_perfect_prediction(name, t):
    np.testing.assert_array_equal(REGRESSION[name](t, t), 0.0)


@PROFILE
@given(data=st.data())
def test_binary_cross_entropies_nonnegative_and_zero_or_vanishing_when_perfect(data):
    # Probabilities include exact 0 and 1 (the clamped logs), soft labels in [0, 1].
    p = data.draw(arrays(MARGIN_SHAPES, 0.0, 1.0))
    y = data.draw(arrays([p.shape], 0.0, 1.0))
    z = data.draw(arrays([p.shape], -1e4, 1e4))
    assert np.all(np.asarray(L.binary_cross_entropy(p, y)) >= 0)
    assert np.all(np.asarray(L.binary_cross_entropy_with_logits(z, y)) >= 0)
    y01 = (y > 0.5).astype(np.float32)
    np.testing.assert_array_equal(L.binary_cross_entropy(y01, y01), 0.0)
    # From logits the loss is log(1 + e^-|z|) at the right sign: zero only in the limit.
    big = data.draw(st.floats(20.0, 80.0, width=32))
    z_right = (2 * y01 - 1) * np.float32(big)
    got = np.asarray(L.binary_cross_entropy_with_logits(z_right, y01), np.float64)
    assert np.all(got >= 0) and np.all(got <= 1.0001 * math.exp(-big))


@pytest.mark.parametrize("smoothing", [0.0, 0.1])
@PROFILE
@given(data=st.data())
def test_categorical_cross_entropies_nonnegative(smoothing, data):
    p = data.draw(arrays(CLASS_SHAPES, 0.0, 1.0))  # any values in [0, 1], zeros included
    z = data.draw(arrays([p.shape], -1e4, 1e4))
    labels = data.draw(class_labels(*p.shape))
    soft = data.draw(arrays([p.shape], 1e-3, 1.0))
    for targets in (labels, normalized(soft)):
        assert np.all(np.asarray(L.categorical_cross_entropy(p, targets, label_smoothing=smoothing)) >= 0)
        got = L.categorical_cross_entropy_with_logits(z, targets, label_smoothing=smoothing)
        assert np.all(np.asarray(got) >= 0)


@PROFILE
@given(data=st.data())
def test_categorical_cross_entropies_zero_or_vanishing_when_perfect(data):
    batch, classes = data.draw(st.sampled_from(CLASS_SHAPES))
    labels = data.draw(class_labels(batch, classes))
    onehot = np.eye(classes, dtype=np.float32)[labels]
    np.testing.assert_array_equal(L.categorical_cross_entropy(onehot, labels), 0.0)
    np.testing.assert_array_equal(L.categorical_cross_entropy(onehot, onehot), 0.0)
    big = data.draw(st.floats(20.0, 80.0, width=32))
    got = np.asarray(L.categorical_cross_entropy_with_logits(np.float32(big) * onehot, labels), np.float64)
    # -log softmax = log(1 + (K - 1) e^-big) <= (K - 1) e^-big.
    assert np.all(got >= 0) and np.all(got <= 1.0001 * (classes - 1) * math.exp(-big))


@PROFILE
@given(data=st.data())
def test_kl_divergence_nonnegative_and_zero_at_equal_distributions(data):
    p = normalized(data.draw(arrays(CLASS_SHAPES, 1e-6, 1.0)))
    t = normalized(data.draw(arrays([p.shape], 0.0, 1.0).filter(lambda a: np.all(a.sum(-1) > 0))))
    # Gibbs' inequality; the sum of terms of both signs rounds, so allow float32 rounding.
    assert np.all(np.asarray(L.kl_divergence(p, t)) >= -1e-6)
    np.testing.assert_allclose(L.kl_divergence(t, t), 0.0, atol=1e-7)


# ---- losses: gradients against finite differences (float64) ------------------------------


def _loss_grads(loss, args, argnum):
    """jax.grad and central differences of ``sum(w * loss(*args))`` with respect to ``args[argnum]``."""
    w = _weights((args[0].shape[0],))

    def total(v):
        call = list(args)
        call[argnum] = v
        return jnp.sum(w * loss(*call))

    return grad_and_fd(total, args[argnum])


def _assert_grads_match(results):
    for name, (auto, fd) in results.items():
        assert auto.dtype == jnp.float64, name
        np.testing.assert_allclose(auto, fd, rtol=1e-6, atol=1e-8, err_msg=name)


FD_MARGIN_SHAPES = MARGIN_SHAPES
FD_REGRESSION_SHAPES = REGRESSION_SHAPES


@jax.jit
def _margin_grads(f, y):
    return {name: _loss_grads(loss, (f, y), 0) for name, loss in MARGIN.items()}


@FEW
@given(data=st.data())
def test_margin_loss_gradients_match_finite_differences(data):
    # Kinks at y f = m (m = 0 or 1), i.e. f in {-1, 0, 1} for y = +-1: keep f away from them.
    f = data.draw(arrays(FD_MARGIN_SHAPES, -4.0, 4.0, dtype=np.float64, exclude=(-1.0, 0.0, 1.0)))
    y = data.draw(pm1_like(f)).astype(np.float64)
    with jax.enable_x64(True):
        _assert_grads_match(_margin_grads(f, y))


@jax.jit
def _regression_grads(p, t):
    return {
        f"{name} wrt {which}": _loss_grads(loss, (p, t), argnum)
        for name, loss in REGRESSION.items()
        for argnum, which in enumerate(("predictions", "targets"))
    }


@FEW
@given(data=st.data())
def test_regression_loss_gradients_match_finite_differences(data):
    t = data.draw(arrays(FD_REGRESSION_SHAPES, -5.0, 5.0, dtype=np.float64))
    # Draw the residual, so the kinks (r = 0 for mae, |r| = delta = 1 for huber) can be avoided.
    r = data.draw(arrays([t.shape], -4.0, 4.0, dtype=np.float64, exclude=(-1.0, 0.0, 1.0), gap=1e-2))
    with jax.enable_x64(True):
        _assert_grads_match(_regression_grads(t + r, t))


@jax.jit
def _binary_grads(p, z, y):
    out = {}
    for argnum, which in enumerate(("predictions", "labels")):
        out[f"bce wrt {which}"] = _loss_grads(L.binary_cross_entropy, (p, y), argnum)
        out[f"bce_with_logits wrt {which}"] = _loss_grads(L.binary_cross_entropy_with_logits, (z, y), argnum)
    return out


@FEW
@given(data=st.data())
def test_binary_cross_entropy_gradients_match_finite_differences(data):
    p = data.draw(arrays(FD_MARGIN_SHAPES, 0.01, 0.99, dtype=np.float64))
    y = data.draw(arrays([p.shape], 0.0, 1.0, dtype=np.float64))
    # z == 0 exactly is excluded here and tested on its own below (a known bug).
    z = data.draw(arrays([p.shape], -20.0, 20.0, dtype=np.float64, exclude=(0.0,), gap=1e-9))
    with jax.enable_x64(True):
        _assert_grads_match(_binary_grads(p, z, y))


# Functions that are differentiable at a point where their *formula* has a kink (max, min, |x|,
# where): jax.grad takes one branch, or half of each (max/min ties), so these need care.
SMOOTH_AT_FORMULA_KINKS = {
    "elu at 0": (A.elu, 0.0, 1.0),
    "softsign at 0": (A.softsign, 0.0, 1.0),
    "softplus at 0": (A.softplus, 0.0, 0.5),
    "silu at 0": (A.silu, 0.0, 0.5),
    "gelu at 0": (A.gelu, 0.0, 0.5),
    "huber at 0": (lambda p: L.huber_loss(p, jnp.zeros_like(p)), 0.0, 0.0),
    "huber at delta": (lambda p: L.huber_loss(p, jnp.zeros_like(p)), 1.0, 1.0),
    "log_cosh at 0": (lambda p: L.log_cosh(p, jnp.zeros_like(p)), 0.0, 0.0),
    "squared_hinge at the margin": (lambda f: L.squared_hinge_loss(f, jnp.ones_like(f)), 1.0, 0.0),
}


@pytest.mark.parametrize(
    "case",
    list(SMOOTH_AT_FORMULA_KINKS),
)
def test_gradient_where_the_formula_has_a_kink_but_the_function_is_smooth(case):
    fn, x0, expected = SMOOTH_AT_FORMULA_KINKS[case]
    with jax.enable_x64(True):
        x = jnp.array([x0])
        grad = float(jax.grad(lambda v: jnp.sum(fn(v)))(x)[0])
        fd = float((jnp.sum(fn(x + H)) - jnp.sum(fn(x - H))) / (2 * H))
    assert abs(fd - expected) < 1e-6, (fd, expected)  # the reference itself
    assert abs(grad - expected) < 1e-12, f"jax.grad of {case} is {grad}, expected {expected}"


@pytest.mark.parametrize("label", [0.0, 0.3, 1.0])
def test_binary_cross_entropy_with_logits_gradient_at_zero_logit(label):
    with jax.enable_x64(True):
        y = jnp.array([label])
        grad = jax.grad(lambda z: L.binary_cross_entropy_with_logits(z, y)[0])(jnp.zeros(1))
        np.testing.assert_allclose(grad, [0.5 - label], rtol=1e-12)


@functools.partial(jax.jit, static_argnums=0)
def _class_grads(smoothing, p, z, labels, soft):
    ce = lambda q, t: L.categorical_cross_entropy(q, t, label_smoothing=smoothing)
    ce_logits = lambda q, t: L.categorical_cross_entropy_with_logits(q, t, label_smoothing=smoothing)
    out = {}
    for kind, targets in (("int labels", labels), ("soft labels", soft)):
        out[f"cce {kind}"] = _loss_grads(ce, (p, targets), 0)
        out[f"cce_with_logits {kind}"] = _loss_grads(ce_logits, (z, targets), 0)
    out["cce_with_logits wrt soft labels"] = _loss_grads(ce_logits, (z, soft), 1)
    out["kl wrt predictions"] = _loss_grads(L.kl_divergence, (p, soft), 0)
    out["kl wrt targets"] = _loss_grads(L.kl_divergence, (p, soft), 1)
    return out


@pytest.mark.parametrize("smoothing", [0.0, 0.2])
@FEW
@given(data=st.data())
def test_class_loss_gradients_match_finite_differences(smoothing, data):
    p = normalized(data.draw(arrays([(2, 3)], 0.05, 1.0, dtype=np.float64)))
    z = data.draw(arrays([p.shape], -10.0, 10.0, dtype=np.float64))
    labels = data.draw(class_labels(*p.shape))
    soft = normalized(data.draw(arrays([p.shape], 0.05, 1.0, dtype=np.float64)))
    with jax.enable_x64(True):
        _assert_grads_match(_class_grads(smoothing, p, z, labels, soft))


# ---- jit and eager agree ------------------------------------------------------------------

JIT_LOSSES = {name: jax.jit(L.get(name)) for name in L.names()}
# Every activation in one compiled function: one compilation per input shape, not eighteen.
_jit_all_activations = jax.jit(lambda x: {name: A.get(name)(x) for name in A.names()})


@PROFILE
@given(x=arrays(ELEMENTWISE_SHAPES + ROW_SHAPES[1:], -50.0, 50.0))
def test_activations_jit_agrees_with_eager(x):
    jitted = _jit_all_activations(jnp.asarray(x))
    for name in A.names():
        eager = A.get(name)(jnp.asarray(x))
        assert jitted[name].dtype == eager.dtype and jitted[name].shape == eager.shape, name
        # XLA may fuse differently under jit: a few float32 ulps, absolute where a result cancels
        # (gelu_tanh's 1 + tanh(u) for x < -3 differs by 2e-7 on a value of -1e-3).
        np.testing.assert_allclose(jitted[name], eager, rtol=2e-6, atol=1e-6, err_msg=name)


def _loss_inputs(name, data):
    """Valid (predictions, targets) for loss ``name``, in two shapes per kind (bounded compilations)."""
    if name in MARGIN:
        f = data.draw(arrays(FD_MARGIN_SHAPES, -10.0, 10.0))
        return f, data.draw(pm1_like(f))
    if name in REGRESSION:
        p = data.draw(arrays(FD_REGRESSION_SHAPES, -10.0, 10.0))
        return p, data.draw(arrays([p.shape], -10.0, 10.0))
    if name.startswith("binary"):
        lo, hi = (-10.0, 10.0) if name.endswith("logits") else (0.0, 1.0)
        p = data.draw(arrays(FD_MARGIN_SHAPES, lo, hi))
        return p, data.draw(arrays([p.shape], 0.0, 1.0))
    if name.startswith("categorical"):
        lo, hi = (-10.0, 10.0) if name.endswith("logits") else (0.0, 1.0)
        p = data.draw(arrays(CLASS_SHAPES, lo, hi))
        return p, data.draw(class_labels(*p.shape))
    assert name == "kl_divergence", name
    p = normalized(data.draw(arrays(CLASS_SHAPES, 1e-3, 1.0)))
    return p, normalized(data.draw(arrays([p.shape], 1e-3, 1.0)))


@pytest.mark.parametrize("name", L.names())
@FEW
@given(data=st.data())
def test_losses_jit_agrees_with_eager(name, data):
    pred, target = _loss_inputs(name, data)
    eager = L.get(name)(pred, target)
    jitted = JIT_LOSSES[name](pred, target)
    assert jitted.dtype == eager.dtype == jnp.float32 and jitted.shape == eager.shape == (pred.shape[0],)
    np.testing.assert_allclose(jitted, eager, rtol=2e-6, atol=1e-6)
