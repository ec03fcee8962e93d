"""Backpropagation by hand, checked against jax.grad, finite differences and hand arithmetic."""

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxnn import backprop as B
from jaxnn import nn

# Float32 matmuls in full precision, so GPUs (TF32 by default) compare like CPUs.
pytestmark = pytest.mark.usefixtures("full_precision")


@pytest.fixture
def full_precision():
    with jax.default_matmul_precision("float32"):
        yield


def random_course(seed):
    rng = np.random.default_rng(seed)
    w = B.CourseWeights(*rng.normal(size=5).astype(np.float32))
    return w, rng.normal(size=2).astype(np.float32), np.float32(rng.uniform())


# ----------------------------------------------------------------------------- the course's network


def test_course_partials_equal_jax_grad():
    grad_auto = jax.jit(jax.grad(B.course_error))
    grad_hand = jax.jit(B.course_gradients)  # eager use is covered by the tests below
    for seed in range(20):
        w, x, y = random_course(seed)
        hand, auto = grad_hand(w, x, y), grad_auto(w, x, y)
        assert isinstance(hand, B.CourseWeights)
        for name in B.CourseWeights._fields:
            np.testing.assert_allclose(getattr(hand, name), getattr(auto, name), rtol=1e-5, atol=1e-7, err_msg=name)


def course_error_f64(w, x, y):
    """The course's error in float64 Python arithmetic, from its definition only."""
    w_gf0, w_gf1, w_xg0, w_xg1, w_xg2 = w
    g = math.tanh(w_xg0 + w_xg1 * x[0] + w_xg2 * x[1])
    f = 1.0 / (1.0 + math.exp(-(w_gf0 + w_gf1 * g)))
    return 0.5 * (y - f) ** 2


def test_course_partials_equal_finite_differences():
    w, x, y = random_course(100)
    w64, x64, y64 = [float(v) for v in w], [float(v) for v in x], float(y)
    hand = B.course_gradients(w, x, y)
    np.testing.assert_allclose(B.course_error(w, x, y), course_error_f64(w64, x64, y64), rtol=1e-5)
    h = 1e-6
    for i, name in enumerate(B.CourseWeights._fields):
        up, down = list(w64), list(w64)
        up[i] += h
        down[i] -= h
        fd = (course_error_f64(up, x64, y64) - course_error_f64(down, x64, y64)) / (2 * h)
        np.testing.assert_allclose(getattr(hand, name), fd, rtol=1e-4, atol=1e-7, err_msg=name)


def test_one_gradient_descent_step_by_hand():
    # w_xg = 0: z_g = 0, g = tanh(0) = 0, tanh'(0) = 1.  w_gf = (0, 1): z_f = 0 + 1 * 0 = 0,
    # f = S(0) = 1/2, S'(0) = 1/4.  With y = 1: -(y - f) S'(z_f) = -(1/2)(1/4) = -1/8.
    #   de/dw_gf0 = -1/8            de/dw_gf1 = -1/8 * g = 0
    #   de/dw_xg0 = -1/8 * w_gf1 * tanh'(0) = -1/8
    #   de/dw_xg1 = -1/8 * x_1 = -1/8 * 2 = -1/4      de/dw_xg2 = -1/8 * (-1) = 1/8
    # eta = 0.1: w - eta grad = (0.0125, 1, 0.0125, 0.025, -0.0125).
    w = B.CourseWeights(w_gf0=0.0, w_gf1=1.0, w_xg0=0.0, w_xg1=0.0, w_xg2=0.0)
    x, y = jnp.array([2.0, -1.0]), jnp.array(1.0)
    grads = B.course_gradients(w, x, y)
    np.testing.assert_allclose(list(grads), [-0.125, 0.0, -0.125, -0.25, 0.125], atol=1e-7)
    new = B.course_gd_step(w, x, y, 0.1)
    np.testing.assert_allclose(list(new), [0.0125, 1.0, 0.0125, 0.025, -0.0125], rtol=1e-6)
    assert float(B.course_error(new, x, y)) < float(B.course_error(w, x, y)) == 0.125


def test_course_network_is_an_mlp():
    w, x, y = random_course(101)
    params = B.course_weights_to_params(w)
    net = nn.MLP([1], 1, activation="tanh", output_activation="sigmoid")
    np.testing.assert_allclose(net.apply(params, x[None])[0, 0], B.course_forward(w, x).f, rtol=1e-6)
    value, grads = B.backprop(params, x[None], y[None, None], activation="tanh", output_activation="sigmoid")
    np.testing.assert_allclose(value, B.course_error(w, x, y), rtol=1e-6)
    hand = B.course_gradients(w, x, y)
    np.testing.assert_allclose(grads[0]["w"][:, 0], [hand.w_xg1, hand.w_xg2], rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(grads[0]["b"], [hand.w_xg0], rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(grads[1]["w"], [[hand.w_gf1]], rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(grads[1]["b"], [hand.w_gf0], rtol=1e-5, atol=1e-7)


def test_course_bad_input():
    w = B.CourseWeights(0.0, 1.0, 0.0, 0.0, 0.0)
    with pytest.raises(ValueError, match=r"x.shape=\(3,\)"):
        B.course_gradients(w, jnp.ones(3), jnp.array(1.0))
    with pytest.raises(ValueError, match=r"y.shape=\(2,\)"):
        B.course_gradients(w, jnp.ones(2), jnp.ones(2))
    with pytest.raises(TypeError, match="CourseWeights"):
        B.course_gradients((0.0, 1.0, 0.0, 0.0, 0.0), jnp.ones(2), jnp.array(1.0))


# ----------------------------------------------------------------------------- any dense network


def reference_loss(name, out, y):
    """Independent losses (optax / plain formulas), batch means."""
    if name == "half_squared_error":
        return jnp.sum((y - out) ** 2) / (2 * out.shape[0])
    if name == "mse":
        return jnp.mean((out - y) ** 2)
    if name == "binary_cross_entropy_with_logits":
        return jnp.mean(optax.sigmoid_binary_cross_entropy(out, y))
    return jnp.mean(optax.softmax_cross_entropy_with_integer_labels(out, y))


CASES = [
    # hidden sizes, hidden activation(s), output activation, loss, outputs
    ([], [], None, "half_squared_error", 1),
    ([5], "tanh", "sigmoid", "half_squared_error", 1),
    ([8, 3], "sigmoid", None, "mse", 2),
    ([6, 6, 4], "relu", "tanh", "mse", 3),
    ([7], "identity", "identity", "half_squared_error", 2),
    ([4, 5], ["tanh", "relu"], "sigmoid", "mse", 1),
    ([3, 9, 2], ["elu", "softplus", "leaky_relu"], None, "half_squared_error", 2),
    ([6], "gelu", None, "mse", 2),
    ([5, 5], ["silu", "selu"], "softsign", "mse", 2),
    ([10], "tanh", None, "binary_cross_entropy_with_logits", 1),
    ([4, 4], "sigmoid", None, "binary_cross_entropy_with_logits", 3),
    ([8], "relu", None, "categorical_cross_entropy_with_logits", 4),
    ([], [], None, "categorical_cross_entropy_with_logits", 3),
]


def numpy_problem(seed, n_in, hidden, n_out, loss, batch=11):
    """Random params (biases included: zeros would hide bias mistakes), inputs and targets.

    NumPy draws rather than eager jax.random calls keep the test to two compiles per case.
    """
    rng = np.random.default_rng(seed)
    sizes = [n_in, *hidden, n_out]
    params = [
        {"w": (rng.normal(size=(m, k)) / np.sqrt(m)).astype(np.float32), "b": rng.normal(size=k).astype(np.float32)}
        for m, k in zip(sizes[:-1], sizes[1:])
    ]
    x = rng.normal(size=(batch, n_in)).astype(np.float32)
    if loss == "categorical_cross_entropy_with_logits":
        y = rng.integers(0, n_out, size=batch).astype(np.int32)
    elif loss == "binary_cross_entropy_with_logits":
        y = rng.integers(0, 2, size=(batch, n_out)).astype(np.float32)
    else:
        y = rng.normal(size=(batch, n_out)).astype(np.float32)
    return params, x, y


def _case_id(case):
    hidden, act, out_act, loss, n_out = case
    acts = act if isinstance(act, list) else [act] * len(hidden)
    return "-".join([*(f"{h}{a}" for h, a in zip(hidden, acts)), f"{n_out}{out_act or 'identity'}", loss])


@pytest.mark.parametrize("case", range(len(CASES)), ids=[_case_id(c) for c in CASES])
def test_backprop_equals_jax_grad(case):
    hidden, act, out_act, loss, n_out = CASES[case]
    params, x, y = numpy_problem(case, 3, hidden, n_out, loss)
    net = nn.MLP(hidden, n_out, activation=act or "identity", output_activation=out_act)
    # Both sides jitted: one compile each instead of one per eager op.
    ours = jax.jit(functools.partial(B.backprop, activation=act, output_activation=out_act, loss=loss))
    value, grads = ours(params, x, y)
    ref = jax.jit(jax.value_and_grad(lambda p, x, y: reference_loss(loss, net.apply(p, x), y)))
    ref_value, ref_grads = ref(params, x, y)
    np.testing.assert_allclose(value, ref_value, rtol=1e-5, atol=1e-6)
    assert jax.tree.structure(grads) == jax.tree.structure(params)
    for g, r in zip(jax.tree.leaves(grads), jax.tree.leaves(ref_grads)):
        assert g.shape == r.shape and g.dtype == r.dtype
        np.testing.assert_allclose(g, r, rtol=1e-4, atol=1e-6)


def test_backprop_under_jit_and_with_tuple_params():
    params, x, y = numpy_problem(50, 3, [4, 3], 2, "mse", batch=5)
    run = jax.jit(functools.partial(B.backprop, activation="tanh", loss="mse"))
    value, grads = run(params, x, y)
    value2, grads2 = run(tuple(params), x, y)
    assert isinstance(grads2, tuple) and isinstance(grads, list)
    np.testing.assert_allclose(value, value2, rtol=1e-6)
    for a, b in zip(jax.tree.leaves(grads), jax.tree.leaves(grads2)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)


def test_backprop_equals_float64_finite_differences():
    # A NumPy float64 forward pass, differentiated numerically: no JAX in the reference.
    params, x, _ = numpy_problem(51, 2, [3], 2, "mse", batch=4)
    x, y = x.astype(np.float64), np.array([[0.1, 0.9]] * 4)

    def loss64(flat):
        w1, b1, w2, b2 = flat[:6].reshape(2, 3), flat[6:9], flat[9:15].reshape(3, 2), flat[15:]
        f = 1 / (1 + np.exp(-(np.tanh(x @ w1 + b1) @ w2 + b2)))
        return np.sum((y - f) ** 2) / (2 * len(x))

    flat = np.concatenate([np.asarray(a, np.float64).ravel() for p in params for a in (p["w"], p["b"])])
    h = 1e-6
    fd = np.array([(loss64(flat + h * e) - loss64(flat - h * e)) / (2 * h) for e in np.eye(flat.size)])
    _, grads = B.backprop(
        params, x.astype(np.float32), y.astype(np.float32), activation="tanh", output_activation="sigmoid"
    )
    ours = np.concatenate([np.asarray(a).ravel() for p in grads for a in (p["w"], p["b"])])
    np.testing.assert_allclose(ours, fd, rtol=1e-4, atol=1e-7)


def test_backprop_bad_input():
    params, _, _ = numpy_problem(52, 2, [4], 1, "mse")
    x, y = np.ones((3, 2), np.float32), np.ones((3, 1), np.float32)
    with pytest.raises(ValueError, match="unknown loss 'hinge'"):
        B.backprop(params, x, y, loss="hinge")
    with pytest.raises(ValueError, match="output_activation=None"):
        B.backprop(params, x, y, output_activation="sigmoid", loss="binary_cross_entropy_with_logits")
    with pytest.raises(TypeError, match="activation \\*names\\*"):
        B.backprop(params, x, y, activation=jnp.tanh)
    with pytest.raises(ValueError, match=r"\(3,\)"):
        B.backprop(params, x, np.ones(3, np.float32))  # [N] targets for [N, 1] outputs: no silent broadcast
    with pytest.raises(ValueError, match=r"w \[3, out\]"):
        B.backprop(params, np.ones((3, 3), np.float32), y)
    with pytest.raises(ValueError, match="got 2 activations for 1 hidden layers"):
        B.backprop(params, x, y, activation=["tanh", "relu"])
    with pytest.raises(ValueError, match="softmax"):
        B.backprop(params, x, y, output_activation="softmax")
    with pytest.raises(ValueError, match=r"x must have shape \[N, in\]"):
        B.backprop(params, np.ones(2, np.float32), y)
