"""Tests of jaxnn.testfunctions: values vs NumPy formulas, gradients vs hand derivatives,
the documented minima, and input checks."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxnn import testfunctions as tf


def _np_rosenbrock(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def _np_beale(p):
    x, y = p
    return (1.5 - x + x * y) ** 2 + (2.25 - x + x * y**2) ** 2 + (2.625 - x + x * y**3) ** 2


def _np_himmelblau_grad(p):
    x, y = p
    return np.array(
        [4 * x * (x * x + y - 11) + 2 * (x + y * y - 7), 2 * (x * x + y - 11) + 4 * y * (x + y * y - 7)]
    )


def _np_rosenbrock_grad(p):
    x, y = p
    return np.array([-400 * x * (y - x * x) - 2 * (1 - x), 200 * (y - x * x)])


POINTS = np.random.default_rng(0).uniform(-2.0, 2.0, size=(5, 2))


@pytest.mark.parametrize("use_jit", [False, True])
def test_values_match_numpy(use_jit):
    wrap = jax.jit if use_jit else (lambda fn: fn)
    for p in POINTS:
        x = jnp.asarray(p, jnp.float32)
        np.testing.assert_allclose(wrap(tf.rosenbrock)(x), _np_rosenbrock(p), rtol=1e-5)
        np.testing.assert_allclose(wrap(tf.beale)(x), _np_beale(p), rtol=1e-5)
        x_, y_ = p
        np.testing.assert_allclose(
            wrap(tf.himmelblau)(x), (x_**2 + y_ - 11) ** 2 + (x_ + y_**2 - 7) ** 2, rtol=1e-5
        )
        np.testing.assert_allclose(wrap(tf.double_well)(x[0]), x_**4 - 3 * x_**2 + x_, rtol=1e-5, atol=1e-6)
    x4 = np.array([0.3, -0.5, 1.2, 0.9])
    np.testing.assert_allclose(tf.rosenbrock(jnp.asarray(x4, jnp.float32)), _np_rosenbrock(x4), rtol=1e-5)


def test_gradients_match_hand_derivatives():
    for p in POINTS:
        x = jnp.asarray(p, jnp.float32)
        np.testing.assert_allclose(jax.grad(tf.rosenbrock)(x), _np_rosenbrock_grad(p), rtol=1e-4, atol=1e-3)
        np.testing.assert_allclose(jax.grad(tf.himmelblau)(x), _np_himmelblau_grad(p), rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(
            jax.grad(tf.double_well)(x[0]), 4 * p[0] ** 3 - 6 * p[0] + 1, rtol=1e-4, atol=1e-5
        )


def test_beale_gradient_matches_finite_differences():
    p = np.array([1.0, 0.3])
    h = 1e-6
    fd = [(_np_beale(p + h * e) - _np_beale(p - h * e)) / (2 * h) for e in np.eye(2)]
    np.testing.assert_allclose(jax.grad(tf.beale)(jnp.asarray(p, jnp.float32)), fd, rtol=1e-4)


def test_quadratic_bowl_has_the_stated_curvature():
    curvature = jnp.array([[1.0, 2.0], [3.0, 4.0]])
    x = jnp.array([[0.5, -1.0], [2.0, 0.1]])
    np.testing.assert_allclose(tf.quadratic_bowl(x, curvature), 0.5 * np.sum(curvature * x * x), rtol=1e-6)
    hessian = jax.hessian(tf.quadratic_bowl)(jnp.array([0.3, -0.2, 1.0]), jnp.array([1.0, 5.0, 2.0]))
    np.testing.assert_allclose(hessian, np.diag([1.0, 5.0, 2.0]), atol=1e-6)
    np.testing.assert_allclose(tf.quadratic_bowl(jnp.ones(3), 4.0), 6.0)


def test_documented_minima_are_minima():
    # Exact checks of the constants in float64 NumPy.
    assert _np_rosenbrock(tf.ROSENBROCK_MINIMUM) == 0.0
    assert _np_beale(tf.BEALE_MINIMUM) == 0.0
    for m in tf.HIMMELBLAU_MINIMA:
        assert np.all(np.abs(_np_himmelblau_grad(m)) < 1e-10)
        assert (m[0] ** 2 + m[1] - 11) ** 2 + (m[0] + m[1] ** 2 - 7) ** 2 < 1e-20
    d = lambda x: 4 * x**3 - 6 * x + 1
    dd = lambda x: 12 * x**2 - 6
    for x in (tf.DOUBLE_WELL_GLOBAL_MINIMUM, tf.DOUBLE_WELL_LOCAL_MINIMUM, tf.DOUBLE_WELL_LOCAL_MAXIMUM):
        assert abs(d(x)) < 1e-12
    assert dd(tf.DOUBLE_WELL_GLOBAL_MINIMUM) > 0 and dd(tf.DOUBLE_WELL_LOCAL_MINIMUM) > 0
    assert dd(tf.DOUBLE_WELL_LOCAL_MAXIMUM) < 0
    f = lambda x: x**4 - 3 * x**2 + x
    np.testing.assert_allclose(f(tf.DOUBLE_WELL_GLOBAL_MINIMUM), tf.DOUBLE_WELL_GLOBAL_VALUE, rtol=1e-14)
    np.testing.assert_allclose(f(tf.DOUBLE_WELL_LOCAL_MINIMUM), tf.DOUBLE_WELL_LOCAL_VALUE, rtol=1e-14)
    assert tf.DOUBLE_WELL_GLOBAL_VALUE < tf.DOUBLE_WELL_LOCAL_VALUE
    # And in float32 through the jax functions.
    np.testing.assert_allclose(tf.beale(jnp.asarray(tf.BEALE_MINIMUM, jnp.float32)), 0.0, atol=1e-6)
    np.testing.assert_allclose(jax.vmap(tf.himmelblau)(jnp.asarray(tf.HIMMELBLAU_MINIMA, jnp.float32)), 0.0, atol=1e-4)


def test_vmap_over_a_grid():
    xs = jnp.stack(jnp.meshgrid(jnp.linspace(-2, 2, 7), jnp.linspace(-1, 3, 5)), -1)
    grid = jax.vmap(jax.vmap(tf.rosenbrock))(xs)
    assert grid.shape == (5, 7)
    np.testing.assert_allclose(grid[2, 3], _np_rosenbrock(np.asarray(xs[2, 3])), rtol=1e-6)


@pytest.mark.parametrize(
    "fn,x,match",
    [
        (tf.rosenbrock, jnp.ones(1), "shape"),
        (tf.rosenbrock, jnp.ones((2, 2)), "vmap"),
        (tf.beale, jnp.ones(3), r"\(2,\)"),
        (tf.himmelblau, jnp.ones((4, 2)), "vmap"),
        (tf.double_well, jnp.ones(1), r"\(\)"),
    ],
)
def test_bad_points_raise(fn, x, match):
    with pytest.raises(ValueError, match=match):
        fn(x)


@pytest.mark.parametrize("fn, x", [(tf.double_well, 1), (tf.rosenbrock, jnp.array([1, 2]))])
def test_integer_points_raise_type_error(fn, x):
    with pytest.raises(TypeError, match=r"x must be a floating-point array, got dtype int"):
        fn(x)


def test_quadratic_bowl_rejects_broadcasting_curvature():
    with pytest.raises(ValueError, match="curvature"):
        tf.quadratic_bowl(jnp.ones(3), jnp.ones(2))


@pytest.mark.parametrize("name", [n for n in tf.__all__ if not n.isupper()])
def test_public_functions_are_documented(name):
    doc = getattr(tf, name).__doc__ or ""
    assert "Args:" in doc and "Returns:" in doc
