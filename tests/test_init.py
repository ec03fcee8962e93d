import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxnn import init as I

FAN_IN, FAN_OUT = 400, 300
SHAPE = (FAN_IN, FAN_OUT)

# Variance formulas written out independently of the library.
EXPECTED_VARIANCE = {
    "glorot_uniform": 2 / (FAN_IN + FAN_OUT),
    "glorot_normal": 2 / (FAN_IN + FAN_OUT),
    "he_uniform": 2 / FAN_IN,
    "he_normal": 2 / FAN_IN,
    "lecun_uniform": 1 / FAN_IN,
    "lecun_normal": 1 / FAN_IN,
}


@pytest.mark.parametrize("name", sorted(EXPECTED_VARIANCE))
def test_empirical_variance_matches_formula(name):
    w = np.asarray(I.get(name)(jax.random.key(1), SHAPE), np.float64)
    assert w.shape == SHAPE
    # 120,000 samples: the sample variance is within ~1% of the truth.
    assert w.var() == pytest.approx(EXPECTED_VARIANCE[name], rel=0.03)
    assert abs(w.mean()) < 0.02 * np.sqrt(EXPECTED_VARIANCE[name])


@pytest.mark.parametrize("name", ["glorot_normal", "he_normal", "lecun_normal"])
def test_plain_normal_option(name):
    w = np.asarray(getattr(I, name)(distribution="normal")(jax.random.key(2), SHAPE))
    assert w.var() == pytest.approx(EXPECTED_VARIANCE[name], rel=0.03)
    # A plain normal has values beyond 2 sigma; the truncated default does not.
    sd = np.sqrt(EXPECTED_VARIANCE[name])
    assert np.abs(w).max() > 2.5 * sd
    t = np.asarray(getattr(I, name)()(jax.random.key(2), SHAPE))
    assert np.abs(t).max() <= 2.0 * sd / 0.87962566103423978 + 1e-6  # truncation at 2 sd before rescale


@pytest.mark.parametrize("name,bound", [("glorot_uniform", np.sqrt(6 / (FAN_IN + FAN_OUT))), ("he_uniform", np.sqrt(6 / FAN_IN)), ("lecun_uniform", np.sqrt(3 / FAN_IN))])
def test_uniform_bounds(name, bound):
    w = np.asarray(I.get(name)(jax.random.key(3), SHAPE))
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.99 * bound


def test_simple_initializers():
    k = jax.random.key(0)
    np.testing.assert_array_equal(I.zeros()(k, (2, 3)), np.zeros((2, 3)))
    np.testing.assert_array_equal(I.ones()(k, (2,)), np.ones(2))
    np.testing.assert_array_equal(I.constant(0.25)(k, (3,)), np.full(3, 0.25))
    n = np.asarray(I.normal(stddev=2.0, mean=1.0)(k, (100_000,)))
    assert n.mean() == pytest.approx(1.0, abs=0.03) and n.std() == pytest.approx(2.0, rel=0.02)
    u = np.asarray(I.uniform(-1.0, 3.0)(k, (100_000,)))
    assert u.min() >= -1 and u.max() < 3 and u.var() == pytest.approx(16 / 12, rel=0.02)


def test_same_key_same_values_and_dtype():
    a = I.he_normal()(jax.random.key(7), (5, 4), jnp.bfloat16)
    b = I.he_normal()(jax.random.key(7), (5, 4), jnp.bfloat16)
    assert a.dtype == jnp.bfloat16
    np.testing.assert_array_equal(np.asarray(a, np.float32), np.asarray(b, np.float32))
    assert not np.array_equal(I.he_normal()(jax.random.key(8), (5, 4)), I.he_normal()(jax.random.key(7), (5, 4)))


def test_bad_input():
    with pytest.raises(ValueError, match="unknown initializer 'glorot'.*glorot_uniform"):
        I.get("glorot")
    with pytest.raises(TypeError, match="jax.random.key"):
        I.zeros()(0, (2,))
    with pytest.raises(TypeError, match="floating"):
        I.zeros()(jax.random.key(0), (2,), jnp.int32)
    with pytest.raises(ValueError, match=r"\[fan_in, fan_out\]"):
        I.he_normal()(jax.random.key(0), (5,))
    with pytest.raises(ValueError, match="distribution"):
        I.he_normal(distribution="uniform")
    with pytest.raises(ValueError, match="stddev"):
        I.normal(stddev=0.0)
    with pytest.raises(ValueError, match="low < high"):
        I.uniform(1.0, 1.0)
