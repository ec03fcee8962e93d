"""Combining perceptrons: linear hidden layers collapse; nonlinear ones solve XOR."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import lax

from jaxnn import combining as C
from jaxnn import nn
from jaxnn import perceptron as P

# The four correct XOR points (the course's matrix repeats (-1, 1) with two labels).
XOR_X = np.array([[-1.0, -1.0], [-1.0, 1.0], [1.0, -1.0], [1.0, 1.0]], np.float32)
XOR_Y = np.array([-1.0, 1.0, 1.0, -1.0], np.float32)


def random_params(seed, sizes, scale=1.0):
    # NumPy draws: no eager jax.random compiles.
    rng = np.random.default_rng(seed)
    return [
        {
            "w": (scale * rng.normal(size=(m, n))).astype(np.float32),
            "b": (scale * rng.normal(size=n)).astype(np.float32),
        }
        for m, n in zip(sizes[:-1], sizes[1:])
    ]


def random_params_jax(key, sizes, scale=1.0):
    params = []
    for k, (m, n) in zip(jax.random.split(key, len(sizes) - 1), zip(sizes[:-1], sizes[1:])):
        kw, kb = jax.random.split(k)
        params.append({"w": scale * jax.random.normal(kw, (m, n)), "b": scale * jax.random.normal(kb, (n,))})
    return params


@pytest.mark.parametrize("sizes", [[2, 2, 1], [3, 5, 2], [4, 6, 3, 2], [2, 1]])
def test_collapse_equals_linear_network(sizes):
    params = random_params(len(sizes) * 10 + sizes[1], sizes)
    x = np.random.default_rng(1).normal(size=(16, sizes[0])).astype(np.float32)
    one = C.collapse_linear(params)  # under jit in test_no_linear_network_classifies_xor
    assert one["w"].shape == (sizes[0], sizes[-1]) and one["b"].shape == (sizes[-1],)
    net = nn.MLP(sizes[1:-1], sizes[-1], activation="identity")
    with jax.default_matmul_precision("float32"):
        np.testing.assert_allclose(x @ one["w"] + one["b"], net.apply(params, x), rtol=1e-5, atol=1e-5)
    # The same single map, by an independent float64 product.
    w_ref = np.eye(sizes[0])
    b_ref = np.zeros(sizes[0])
    for p in params:
        w64, b64 = np.asarray(p["w"], np.float64), np.asarray(p["b"], np.float64)
        w_ref, b_ref = w_ref @ w64, b_ref @ w64 + b64
    np.testing.assert_allclose(one["w"], w_ref, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(one["b"], b_ref, rtol=1e-5, atol=1e-5)


def test_the_courses_network_is_one_perceptron():
    # Two hidden neurons without activation, a sgn output: the same labels as one perceptron.
    net = nn.MLP([2], 1, activation="identity", output_activation="sign")
    x = np.random.default_rng(3).normal(size=(200, 2)).astype(np.float32)
    for seed in range(5):
        params = random_params(seed, [2, 2, 1])
        one = C.collapse_linear(params)
        w_aug = nn.to_augmented(one)[0]  # [b, w1, w2]
        with jax.default_matmul_precision("float32"):
            scores = np.asarray(x @ one["w"] + one["b"])[:, 0]
            clear = np.abs(scores) > 1e-4  # away from the boundary, where rounding cannot flip sgn
            np.testing.assert_array_equal(
                np.asarray(net.apply(params, x))[clear, 0], np.asarray(P.predict(w_aug, x))[clear]
            )


def test_labelled_sum_of_xor_points_is_zero():
    # The LP-free proof: sum_i y_i (1, x_i) = 0, so for any affine f, sum_i y_i f(x_i) = 0 and
    # the y_i f(x_i) cannot all be positive.
    X_aug = np.concatenate([np.ones((4, 1)), XOR_X], axis=1)
    np.testing.assert_array_equal(XOR_Y @ X_aug, np.zeros(3))
    assert C.certifies_not_separable(XOR_X, XOR_Y, np.ones(4))
    assert C.certifies_not_separable(XOR_X, XOR_Y, 2.5 * np.ones(4))
    # Not certificates: a separable labelling (AND, OR), negative or zero multipliers.
    assert not C.certifies_not_separable(XOR_X, np.array([-1.0, -1.0, -1.0, 1.0]), np.ones(4))
    assert not C.certifies_not_separable(XOR_X, np.array([-1.0, 1.0, 1.0, 1.0]), np.ones(4))
    assert not C.certifies_not_separable(XOR_X, XOR_Y, -np.ones(4))
    assert not C.certifies_not_separable(XOR_X, XOR_Y, np.zeros(4))
    assert not C.certifies_not_separable(XOR_X, XOR_Y, np.array([1.0, 1.0, 1.0, 0.0]))


def test_no_linear_network_classifies_xor():
    keys = jax.random.split(jax.random.key(4), 300)
    net = nn.MLP([2], 1, activation="identity", output_activation="sign")

    def correct(key):
        params = random_params_jax(key, [2, 2, 1], scale=3.0)
        one = C.collapse_linear(params)
        scores = (jnp.asarray(XOR_X) @ one["w"] + one["b"])[:, 0]
        return jnp.sum(net.apply(params, XOR_X)[:, 0] == XOR_Y), jnp.sum(XOR_Y * scores)

    with jax.default_matmul_precision("float32"):
        n_correct, labelled_sum = jax.jit(jax.vmap(correct))(keys)
    assert int(n_correct.max()) <= 3
    np.testing.assert_allclose(labelled_sum, 0.0, atol=1e-4)  # the certificate, network by network


def test_sign_network_solves_xor():
    net, params = C.xor_sign_network()
    np.testing.assert_array_equal(net.apply(params, XOR_X)[:, 0], XOR_Y)
    # No hidden or output pre-activation sits on 0, so sign(0) does not matter.
    hidden_pre = XOR_X @ np.asarray(params[0]["w"]) + np.asarray(params[0]["b"])
    assert np.all(np.abs(hidden_pre) >= 1)
    out_pre = np.sign(hidden_pre) @ np.asarray(params[1]["w"]) + np.asarray(params[1]["b"])
    assert np.all(np.abs(out_pre) >= 1)
    # Hidden unit 1 is OR, hidden unit 2 is AND (in {-1, +1} logic).
    np.testing.assert_array_equal(np.sign(hidden_pre[:, 0]), [-1, 1, 1, 1])
    np.testing.assert_array_equal(np.sign(hidden_pre[:, 1]), [-1, -1, -1, 1])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_trained_tanh_layer_solves_xor(seed):
    params, losses = C.train_xor_tanh(jax.random.key(seed), hidden_size=4, learning_rate=0.5, steps=500)
    net = nn.MLP([4], 1, activation="tanh")
    out = np.asarray(net.apply(params, XOR_X))[:, 0]
    np.testing.assert_array_equal(np.sign(out), XOR_Y)
    assert losses.shape == (500,)
    assert float(losses[-1]) < 1e-3 < float(losses[0])
    # The recorded loss is the course's mean (y - f)^2 / 2, recomputed here for the last step.
    last = C.train_xor_tanh(jax.random.key(seed), hidden_size=4, learning_rate=0.5, steps=499)[0]
    f = np.asarray(net.apply(last, XOR_X), np.float64)[:, 0]
    np.testing.assert_allclose(losses[-1], np.mean((XOR_Y - f) ** 2 / 2), rtol=1e-4, atol=1e-7)


def test_trained_linear_hidden_layer_does_not_solve_xor():
    # The same training with an identity hidden layer: the best affine fit to XOR is the
    # constant 0 (the labels are orthogonal to 1, x_1 and x_2), so the loss stays near 1/2.
    net = nn.MLP([4], 1, activation="identity")
    _, params = net.init(jax.random.key(0), (-1, 2))

    def loss(p):
        return jnp.mean((XOR_Y - net.apply(p, XOR_X)[:, 0]) ** 2 / 2)

    def step(p, _):
        return jax.tree.map(lambda a, g: a - 0.1 * g, p, jax.grad(loss)(p)), None

    params, _ = lax.scan(step, params, None, length=500)
    np.testing.assert_allclose(loss(params), 0.5, atol=1e-4)
    assert np.sum(np.sign(np.asarray(net.apply(params, XOR_X))[:, 0]) == XOR_Y) <= 3


def test_bad_input():
    p = {"w": jnp.ones((2, 3)), "b": jnp.ones(3)}
    with pytest.raises(ValueError, match=r"params\[1\]\['w'\] has 2 inputs but layer 0 has 3"):
        C.collapse_linear([p, {"w": jnp.ones((2, 1)), "b": jnp.ones(1)}])
    with pytest.raises(ValueError, match="non-empty list"):
        C.collapse_linear([])
    with pytest.raises(ValueError, match=r"b.shape=\(2,\)"):
        C.collapse_linear([{"w": jnp.ones((2, 3)), "b": jnp.ones(2)}])
    with pytest.raises(ValueError, match="labels_to_pm1"):
        C.certifies_not_separable(XOR_X, np.array([0.0, 1.0, 1.0, 0.0]), np.ones(4))
    with pytest.raises(ValueError, match=r"multipliers.shape=\(3,\)"):
        C.certifies_not_separable(XOR_X, XOR_Y, np.ones(3))
    with pytest.raises(ValueError, match="steps"):
        C.train_xor_tanh(jax.random.key(0), steps=0)
    with pytest.raises(ValueError, match="learning_rate"):
        C.train_xor_tanh(jax.random.key(0), learning_rate=-1.0)


def test_train_xor_tanh_vmaps_over_learning_rates_as_separate_calls():
    rates = [0.1, 0.5]
    keys = jax.random.split(jax.random.key(3), 2)
    _, batched = jax.vmap(lambda k, lr: C.train_xor_tanh(k, learning_rate=lr, steps=50))(keys, jnp.array(rates))
    for i, lr in enumerate(rates):
        _, alone = C.train_xor_tanh(keys[i], learning_rate=lr, steps=50)
        np.testing.assert_allclose(batched[i], alone, rtol=1e-5, atol=1e-7)


def test_train_xor_tanh_checks_hidden_size():
    with pytest.raises(ValueError, match="hidden_size"):
        C.train_xor_tanh(jax.random.key(0), hidden_size=0)
    with pytest.raises(TypeError, match="hidden_size"):
        C.train_xor_tanh(jax.random.key(0), hidden_size=2.0)
