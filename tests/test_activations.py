import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxnn import activations as A

X = np.linspace(-6.0, 6.0, 49, dtype=np.float32)


def _np_sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x.astype(np.float64)))


NUMPY_REFERENCES = {
    "sign": lambda x: np.where(x >= 0, 1.0, -1.0),
    "heaviside": lambda x: np.where(x >= 0, 1.0, 0.0),
    "identity": lambda x: x,
    "tanh": np.tanh,
    "sigmoid": _np_sigmoid,
    "relu": lambda x: np.maximum(x, 0),
    "leaky_relu": lambda x: np.where(x >= 0, x, 0.01 * x),
    "elu": lambda x: np.where(x > 0, x, np.exp(x) - 1),
    "selu": lambda x: 1.0507009873554805 * np.where(x > 0, x, 1.6732632423543772 * (np.exp(x) - 1)),
    "gelu": lambda x: np.array([0.5 * v * (1 + math.erf(v / math.sqrt(2))) for v in x.astype(np.float64)]),
    "gelu_tanh": lambda x: 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3))),
    "silu": lambda x: x * _np_sigmoid(x),
    "swish": lambda x: x * _np_sigmoid(x),
    "softplus": lambda x: np.log1p(np.exp(x.astype(np.float64))),
    "softsign": lambda x: x / (1 + np.abs(x)),
    "hard_sigmoid": lambda x: np.clip(x / 6 + 0.5, 0, 1),
}

ELEMENTWISE = sorted(NUMPY_REFERENCES)


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_values_match_numpy(name, maybe_jit):
    got = maybe_jit(A.get(name))(jnp.asarray(X))
    np.testing.assert_allclose(got, NUMPY_REFERENCES[name](X), rtol=1e-5, atol=1e-6)
    assert got.dtype == jnp.float32 and got.shape == X.shape


def test_sign_at_zero_is_plus_one():
    assert float(A.sign(jnp.array(0.0))) == 1.0
    assert float(A.sign(jnp.array(-0.0))) == 1.0


@pytest.mark.parametrize("name", [n for n in ELEMENTWISE if n not in ("sign", "heaviside")])
def test_analytic_derivative_equals_grad(name, maybe_jit):
    fn, dfn = A.get(name), A.derivative(name)
    # Keep away from kinks (0 for relu-like, +-3 for hard_sigmoid) where derivatives are one-sided.
    x = jnp.asarray(X[(np.abs(X) > 1e-3) & (np.abs(np.abs(X) - 3) > 1e-3)])
    auto = jax.vmap(jax.grad(lambda v: fn(v)))(x)
    # atol: in the saturated tails both sides are float32 differences of numbers near 1.
    np.testing.assert_allclose(maybe_jit(dfn)(x), auto, rtol=1e-5, atol=5e-6)


@pytest.mark.parametrize("name", ["sign", "heaviside"])
def test_step_derivatives_are_zero(name):
    np.testing.assert_array_equal(A.derivative(name)(jnp.asarray(X)), np.zeros_like(X))


def test_course_derivative_formulas_by_hand():
    x = 0.7
    t = math.tanh(x)
    s = 1 / (1 + math.exp(-x))
    assert float(A.tanh_derivative(jnp.array(x))) == pytest.approx(1 - t * t, rel=1e-6)
    assert float(A.sigmoid_derivative(jnp.array(x))) == pytest.approx(s * (1 - s), rel=1e-6)


def test_sigmoid_stable_for_large_inputs():
    x = jnp.array([-1e4, -1000.0, 1000.0, 1e4])
    y = A.sigmoid(x)
    np.testing.assert_array_equal(y, [0.0, 0.0, 1.0, 1.0])
    g = jax.vmap(jax.grad(A.sigmoid))(x)
    assert np.all(np.isfinite(g))


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_softmax_and_log_softmax_against_numpy(axis, maybe_jit):
    z = np.asarray(jax.random.normal(jax.random.key(3), (4, 5)) * 10, dtype=np.float64)
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    ref = e / e.sum(axis=axis, keepdims=True)
    np.testing.assert_allclose(maybe_jit(A.softmax, static_argnames="axis")(jnp.asarray(z, jnp.float32), axis=axis), ref, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(
        maybe_jit(A.log_softmax, static_argnames="axis")(jnp.asarray(z, jnp.float32), axis=axis), np.log(ref), rtol=1e-5, atol=1e-5
    )


def test_softmax_stable_for_huge_logits():
    z = jnp.array([[1e4, 0.0, -1e4]])
    np.testing.assert_allclose(A.softmax(z), [[1.0, 0.0, 0.0]])
    ls = A.log_softmax(z)
    assert np.all(np.isfinite(ls))
    np.testing.assert_allclose(ls, [[0.0, -1e4, -2e4]], rtol=1e-6)


def test_softmax_jacobian_equals_jax_jacobian(maybe_jit):
    z = jax.random.normal(jax.random.key(1), (3, 4))
    auto = jax.vmap(jax.jacobian(A.softmax))(z)
    np.testing.assert_allclose(maybe_jit(A.softmax_jacobian)(z), auto, rtol=1e-5, atol=1e-6)
    # And the hand formula diag(s) - s s^T for one row.
    s = np.asarray(A.softmax(z[0]), np.float64)
    np.testing.assert_allclose(A.softmax_jacobian(z[0]), np.diag(s) - np.outer(s, s), atol=1e-6)


def test_gelu_default_is_exact():
    x = jnp.array([1.5])
    assert float(A.gelu(x)[0]) == pytest.approx(0.5 * 1.5 * (1 + math.erf(1.5 / math.sqrt(2))), rel=1e-6)
    assert float(A.gelu(x)[0]) != float(A.gelu(x, approximate=True)[0])


def test_swish_beta():
    x = jnp.array([1.3])
    assert float(A.swish(x, beta=2.0)[0]) == pytest.approx(1.3 / (1 + math.exp(-2.6)), rel=1e-6)


def test_get_unknown_name_lists_valid_ones():
    with pytest.raises(ValueError, match="unknown activation 'tanhh'.*tanh"):
        A.get("tanhh")
    with pytest.raises(ValueError, match="unknown activation derivative 'softmax'"):
        A.derivative("softmax")


def test_get_passes_callables_and_none():
    assert A.get(A.relu) is A.relu
    assert A.get(None) is A.identity
    assert A.get("tanh") is A.tanh
    assert "tanh" in A.names()


@pytest.mark.parametrize("name", ["tanh", "relu", "sigmoid", "sign"])
def test_integer_input_rejected(name):
    with pytest.raises(TypeError, match="floating-point"):
        A.get(name)(jnp.array([1, 2]))


def test_vmap_and_dtype_preserved():
    x = jnp.ones((3, 2), jnp.bfloat16)
    assert A.tanh(x).dtype == jnp.bfloat16
    assert A.sign(x).dtype == jnp.bfloat16
    np.testing.assert_allclose(jax.vmap(A.relu)(jnp.asarray(X).reshape(7, 7)), np.maximum(X, 0).reshape(7, 7))


# At each kink: the value PyTorch's backward gives there, written by hand (torch.nn.functional's
# relu/leaky_relu/elu/selu/hardsigmoid backward formulas; sign's gradient is 0 everywhere).
_SELU_SCALE_ALPHA = 1.0507009873554805 * 1.6732632423543772
KINKS = [
    ("sign", 0.0, 0.0),
    ("heaviside", 0.0, 0.0),
    ("relu", 0.0, 0.0),
    ("leaky_relu", 0.0, 0.01),
    ("elu", 0.0, 1.0),
    ("selu", 0.0, _SELU_SCALE_ALPHA),
    ("hard_sigmoid", -3.0, 0.0),
    ("hard_sigmoid", 3.0, 0.0),
    ("softsign", 0.0, 1.0),
]


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.bfloat16])
@pytest.mark.parametrize(("name", "x", "expected"), KINKS, ids=[f"{n}@{x:g}" for n, x, _ in KINKS])
def test_derivative_at_kink_is_the_stated_convention(name, x, expected, dtype, maybe_jit):
    """The analytic derivative, jax.grad and PyTorch's convention agree exactly at every kink."""
    fn, dfn = A.get(name), A.derivative(name)
    point = jnp.asarray(x, dtype)
    analytic = maybe_jit(dfn)(point)
    auto = maybe_jit(jax.grad(fn))(point)
    assert analytic.dtype == dtype and auto.dtype == dtype
    # Exactly equal to each other; equal to the hand value up to rounding the constants to
    # `dtype` (selu's scale * alpha is a product of two rounded constants in bfloat16).
    np.testing.assert_array_equal(np.asarray(analytic), np.asarray(auto))
    tol = float(jnp.finfo(dtype).eps)
    np.testing.assert_allclose(np.asarray(analytic, np.float64), expected, rtol=tol, atol=0)


@pytest.mark.parametrize(("slope", "alpha"), [(0.2, 0.5), (0.0, 2.0)])
def test_kink_conventions_follow_the_parameters(slope, alpha):
    zero = jnp.float32(0.0)
    assert float(jax.grad(A.leaky_relu)(zero, slope)) == np.float32(slope)
    assert float(A.leaky_relu_derivative(zero, slope)) == np.float32(slope)
    assert float(jax.grad(A.elu)(zero, alpha)) == np.float32(alpha)
    assert float(A.elu_derivative(zero, alpha)) == np.float32(alpha)


def test_derivatives_just_beside_the_kinks():
    """One step either side of a kink each function is on its own piece (no off-by-one in < vs <=)."""
    eps = np.float32(1e-3)
    cases = [
        ("relu", 0.0, 0.0, 1.0),
        ("leaky_relu", 0.0, 0.01, 1.0),
        ("hard_sigmoid", -3.0, 0.0, 1 / 6),
        ("hard_sigmoid", 3.0, 1 / 6, 0.0),
    ]
    for name, kink, left, right in cases:
        fn, dfn = A.get(name), A.derivative(name)
        for x, want in ((kink - eps, left), (kink + eps, right)):
            x = jnp.float32(x)
            assert float(dfn(x)) == pytest.approx(want, rel=1e-6), (name, float(x))
            assert float(jax.grad(fn)(x)) == pytest.approx(want, rel=1e-6), (name, float(x))


def test_hard_sigmoid_values_at_and_beyond_the_kinks():
    x = jnp.array([-1e30, -3.0, -2.0, 0.0, 3.0, 1e30, np.nan], jnp.float32)
    np.testing.assert_allclose(A.hard_sigmoid(x), [0, 0, 1 / 6, 0.5, 1, 1, np.nan], rtol=1e-6, atol=0)
