import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxnn import activations as A
from jaxnn import heads, losses, nn


def np_mlp(params, x, hidden, out=lambda v: v):
    """An independent NumPy forward pass of the same weights."""
    h = np.asarray(x, np.float64)
    for i, p in enumerate(params):
        h = h @ np.asarray(p["w"], np.float64) + np.asarray(p["b"], np.float64)
        h = hidden(h) if i < len(params) - 1 else out(h)
    return h


@pytest.mark.parametrize("sizes", [[], [8], [16, 8, 4]])
def test_mlp_matches_numpy_forward(sizes, maybe_jit, key):
    net = nn.MLP(sizes, 3, activation="tanh")
    out_shape, params = net.init(key, (-1, 5))
    assert out_shape == (-1, 3)
    assert [p["w"].shape for p in params] == list(zip([5, *sizes], [*sizes, 3]))
    x = jax.random.normal(jax.random.key(1), (10, 5))
    np.testing.assert_allclose(maybe_jit(net.apply)(params, x), np_mlp(params, x, np.tanh), rtol=1e-5, atol=1e-5)


def test_per_layer_activations_and_output_activation(key):
    net = nn.MLP([4, 4], 2, activation=["relu", A.tanh], output_activation="sigmoid")
    _, params = net.init(key, (-1, 3))
    x = jax.random.normal(jax.random.key(1), (6, 3))
    ref = np.asarray(x, np.float64)
    for fn, p in zip([lambda v: np.maximum(v, 0), np.tanh, lambda v: 1 / (1 + np.exp(-v))], params):
        ref = fn(ref @ np.asarray(p["w"], np.float64) + np.asarray(p["b"]))
    np.testing.assert_allclose(net.apply(params, x), ref, rtol=1e-5, atol=1e-6)


def test_serial_equals_mlp_on_same_weights(key):
    mlp = nn.MLP([7], 2, activation="relu")
    ser = nn.serial(nn.Dense(7), nn.Activation("relu"), nn.Dense(2))
    shape, sparams = ser.init(key, (-1, 4))
    assert shape == (-1, 2) and sparams[1] == ()
    mparams = [sparams[0], sparams[2]]
    x = jax.random.normal(jax.random.key(2), (5, 4))
    np.testing.assert_allclose(ser.apply(sparams, x), mlp.apply(mparams, x), rtol=1e-6)


def test_dense_value_and_init_defaults(key):
    layer = nn.Dense(3)
    shape, p = layer.init(key, (2, 4))
    assert shape == (2, 3)
    np.testing.assert_array_equal(p["b"], np.zeros(3))
    x = jnp.arange(8.0).reshape(2, 4)
    np.testing.assert_allclose(layer.apply(p, x), np.asarray(x) @ np.asarray(p["w"]), rtol=1e-6)
    # Custom initializers by name and by function.
    _, p2 = nn.Dense(3, w_init="zeros", b_init=lambda k, s, d=jnp.float32: jnp.full(s, 2.0, d)).init(key, (-1, 4))
    np.testing.assert_array_equal(layer.apply(p2, x), np.full((2, 3), 2.0))


def test_same_key_same_params_and_different_layers_differ(key):
    net = nn.MLP([4, 4], 1)
    _, a = net.init(key, (-1, 4))
    _, b = net.init(key, (-1, 4))
    chex.assert_trees_all_equal(a, b)
    assert not np.allclose(a[0]["w"], a[1]["w"])


def test_grad_vmap_jit_through_mlp(key):
    net = nn.MLP([6], 1, activation="tanh")
    _, params = net.init(key, (-1, 2))
    x = jax.random.normal(jax.random.key(1), (8, 2))
    y = jax.random.normal(jax.random.key(2), (8, 1))
    loss = lambda p: losses.mean_squared_error(net.apply(p, x), y, reduction="mean")
    g = jax.jit(jax.grad(loss))(params)
    # Central finite difference on one weight, in float64.
    with jax.enable_x64(True):
        p64 = jax.tree.map(lambda a: jnp.asarray(a, jnp.float64), params)
        x64, y64 = jnp.asarray(x, jnp.float64), jnp.asarray(y, jnp.float64)
        l64 = lambda p: losses.mean_squared_error(net.apply(p, x64), y64, reduction="mean")
        eps = 1e-6
        bump = lambda s: [{"w": p64[0]["w"].at[1, 3].add(s), "b": p64[0]["b"]}, p64[1]]
        fd = (l64(bump(eps)) - l64(bump(-eps))) / (2 * eps)
    np.testing.assert_allclose(g[0]["w"][1, 3], fd, rtol=1e-4)
    # vmap over a batch of parameter sets.
    stacked = jax.tree.map(lambda a: jnp.stack([a, 2 * a]), params)
    out = jax.vmap(net.apply, in_axes=(0, None))(stacked, x)
    np.testing.assert_allclose(out[0], net.apply(params, x), rtol=1e-6)


def test_course_matrix_form_shapes_and_equality(key):
    # The course's example: 3 features, 5 hidden, 4 outputs; X is N x 4 with the ones column.
    net = nn.MLP([5], 4, activation="tanh", output_activation="sigmoid")
    _, params = net.init(key, (-1, 3))
    W1, W2 = (nn.to_augmented(p) for p in params)
    assert W1.shape == (5, 4) and W2.shape == (4, 6)
    x = jax.random.normal(jax.random.key(1), (11, 3))
    X = nn.add_bias_column(x)
    assert X.shape == (11, 4) and np.all(X[:, 0] == 1)
    o = nn.forward_matrix_form(x, [W1, W2], ["tanh", "sigmoid"])
    # By hand, in NumPy, following the slide: h = Phi1(X W1^T); h_bar = [1, h]; O = Phi2(h_bar W2^T).
    Xn = np.asarray(X, np.float64)
    h = np.tanh(Xn @ np.asarray(W1, np.float64).T)
    hbar = np.hstack([np.ones((11, 1)), h])
    assert h.shape == (11, 5) and hbar.shape == (11, 6)
    ref = 1 / (1 + np.exp(-(hbar @ np.asarray(W2, np.float64).T)))
    np.testing.assert_allclose(o, ref, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(o, net.apply(params, x), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(jax.jit(nn.forward_matrix_form, static_argnums=2)(x, [W1, W2], ("tanh", "sigmoid")), o, rtol=1e-6)


@pytest.mark.parametrize(
    "head,out,targets",
    [
        ("regression", 1, lambda k: jax.random.normal(k, (6, 1))),
        ("multivariate_regression", 3, lambda k: jax.random.normal(k, (6, 3))),
        ("binary", 1, lambda k: jax.random.bernoulli(k, 0.5, (6, 1)).astype(jnp.float32)),
        ("multiclass", 4, lambda k: jax.random.randint(k, (6,), 0, 4)),
    ],
)
def test_heads_pair_activation_and_loss(head, out, targets, key):
    h = heads.get(head)
    z = jax.random.normal(key, (6, out)) * 3
    t = targets(jax.random.key(5))
    out_values = np.asarray(h.output_activation(z), np.float64)
    loss = np.asarray(h.loss(z, t))
    zt, tt = np.asarray(z, np.float64), np.asarray(t)
    if head in ("regression", "multivariate_regression"):
        np.testing.assert_allclose(out_values, zt, rtol=1e-6)
        np.testing.assert_allclose(loss, ((zt - tt) ** 2).mean(-1), rtol=1e-5)
        np.testing.assert_allclose(h.predict(z), z)
    elif head == "binary":
        s = 1 / (1 + np.exp(-zt))
        np.testing.assert_allclose(out_values, s, rtol=1e-5)
        np.testing.assert_allclose(loss, -(tt * np.log(s) + (1 - tt) * np.log(1 - s)).mean(-1), rtol=1e-5)
        np.testing.assert_array_equal(h.predict(z), (s >= 0.5).astype(np.int32))
    else:
        e = np.exp(zt - zt.max(-1, keepdims=True))
        s = e / e.sum(-1, keepdims=True)
        np.testing.assert_allclose(out_values, s, rtol=1e-5)
        np.testing.assert_allclose(loss, -np.log(s[np.arange(6), tt]), rtol=1e-5)
        np.testing.assert_array_equal(h.predict(z), s.argmax(-1))


# ---- bad input -------------------------------------------------------------------


def test_input_width_mismatch_names_both(key):
    net = nn.MLP([4], 1)
    _, params = net.init(key, (-1, 3))
    with pytest.raises(ValueError, match=r"3 features.*x\.shape=\(5, 2\)"):
        net.apply(params, jnp.ones((5, 2)))
    with pytest.raises(ValueError, match=r"3 features"):
        jax.jit(net.apply)(params, jnp.ones((5, 2)))


def test_params_that_do_not_fit(key):
    net = nn.MLP([4], 1)
    _, params = net.init(key, (-1, 3))
    with pytest.raises(ValueError, match="needs a list of 2"):
        net.apply(params[:1], jnp.ones((5, 3)))
    with pytest.raises(ValueError, match="keys 'w' and 'b'"):
        net.apply([{"w": params[0]["w"]}, params[1]], jnp.ones((5, 3)))
    bad = [params[0], {"w": params[1]["w"], "b": jnp.zeros(3)}]
    with pytest.raises(ValueError, match=r"w\.shape=\(4, 1\) and b\.shape=\(3,\)"):
        net.apply(bad, jnp.ones((5, 3)))
    # Params of another architecture: the second layer expects 4 inputs, gets 7.
    _, other = nn.MLP([7], 1).init(key, (-1, 3))
    with pytest.raises(ValueError, match="MLP layer 1"):
        net.apply([params[0], other[1]], jnp.ones((5, 3)))
    with pytest.raises(ValueError, match="serial of 3 layers"):
        nn.serial(nn.Dense(2), nn.Activation("relu"), nn.Dense(1)).apply((), jnp.ones((1, 2)))


def test_non_float_input_and_bad_config(key):
    net = nn.MLP([4], 1)
    _, params = net.init(key, (-1, 3))
    with pytest.raises(TypeError, match="floating-point"):
        net.apply(params, jnp.ones((5, 3), jnp.int32))
    with pytest.raises(ValueError, match="unknown activation 'tanhh'"):
        nn.MLP([4], 1, activation="tanhh")
    with pytest.raises(ValueError, match="unknown initializer"):
        nn.Dense(3, w_init="xavier")
    with pytest.raises(ValueError, match="2 activations for 1 hidden layers"):
        nn.MLP([4], 1, activation=["relu", "tanh"])
    with pytest.raises(ValueError, match="hidden size must be an int >= 1, got 0"):
        nn.MLP([0], 1)
    with pytest.raises(ValueError, match="unknown head"):
        heads.get("ordinal")
    with pytest.raises(TypeError, match="jax.random.key"):
        net.init(0, (-1, 3))
    with pytest.raises(ValueError, match=r"shape \[out, 4\]"):
        nn.forward_matrix_form(jnp.ones((2, 3)), [jnp.ones((5, 3))], ["tanh"])


@pytest.mark.parametrize("dtype", [jnp.bfloat16, jnp.float32])
def test_param_dtype(dtype, key):
    net = nn.MLP([4], 2, dtype=dtype)
    _, params = net.init(key, (-1, 3))
    assert all(leaf.dtype == dtype for leaf in jax.tree.leaves(params))
    assert net.apply(params, jnp.ones((2, 3), dtype)).dtype == dtype
    with pytest.raises(TypeError, match="floating dtype"):
        nn.Dense(3, dtype=jnp.int32)


def test_float64_params_under_x64(key):
    with jax.enable_x64(True):
        _, params = nn.MLP([4], 1, dtype=jnp.float64).init(key, (-1, 2))
        assert all(leaf.dtype == jnp.float64 for leaf in jax.tree.leaves(params))
