"""Tests of jaxnn.descent, written as facts of the course's gradient-descent lectures."""

from __future__ import annotations

import importlib

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxnn import optim
from jaxnn import testfunctions as tf
from jaxnn.descent import MinimizeResult, minimize, sweep_learning_rates


def _assert_all_finite(result: MinimizeResult) -> None:
    for leaf in jax.tree.leaves(result):
        assert np.all(np.isfinite(np.asarray(leaf, dtype=float))), "minimize returned NaN/Inf"


# ------------------------------------------------------------ the course's formula


@pytest.mark.parametrize("use_jit", [False, True])
def test_trajectory_is_the_course_update_rule(use_jit):
    # f(x) = (x - 3)^2 + sin(x), f'(x) = 2 (x - 3) + cos(x); x_{n+1} = x_n - eta f'(x_n).
    f = lambda x: (x - 3.0) ** 2 + jnp.sin(x)
    eta = 0.1
    run = lambda x0: minimize(f, x0, optim.sgd(eta), steps=5)
    result = (jax.jit(run) if use_jit else run)(jnp.float32(0.5))
    xs = [0.5]
    for _ in range(5):
        xs.append(xs[-1] - eta * (2 * (xs[-1] - 3.0) + np.cos(xs[-1])))
    np.testing.assert_allclose(result.xs, xs, rtol=1e-5)
    np.testing.assert_allclose(result.values, [(x - 3) ** 2 + np.sin(x) for x in xs], rtol=1e-5)
    np.testing.assert_allclose(result.x, xs[-1], rtol=1e-5)
    assert result.xs.shape == (6,) and result.values.shape == (6,)
    assert not bool(result.diverged) and int(result.diverged_at) == -1


def test_nd_form_and_optax_drop_in():
    # The n-D rule x <- x - eta grad f(x), and an Optax optimizer in place of ours.
    f = lambda x: tf.quadratic_bowl(x, jnp.array([1.0, 2.0, 5.0]))
    x0 = jnp.array([1.0, -1.0, 0.5])
    ours = minimize(f, x0, optim.sgd(0.1), steps=30)
    theirs = minimize(f, x0, optax.sgd(0.1), steps=30)
    expected = np.asarray(x0)[None] * (1 - 0.1 * np.array([1.0, 2.0, 5.0])) ** np.arange(31)[:, None]
    np.testing.assert_allclose(ours.xs, expected, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(theirs.xs, ours.xs, rtol=1e-6, atol=1e-7)


# ----------------------------------------------------- learning rate vs curvature


def test_gd_converges_below_2_over_L_and_diverges_above():
    # f(x) = 1/2 (1 x_1^2 + 4 x_2^2): L = 4, so the threshold is eta = 2 / L = 0.5.
    curvature = jnp.array([1.0, 4.0])
    f = lambda x: tf.quadratic_bowl(x, curvature)
    threshold = 2.0 / 4.0
    factors = np.array([0.1, 0.5, 0.9, 0.99, 1.01, 1.1, 1.5, 3.0])
    etas = (factors * threshold).astype(np.float32)
    x0 = jnp.array([1.0, 1.0])
    result = sweep_learning_rates(f, x0, optim.sgd, etas, steps=1500)

    below = factors < 1
    np.testing.assert_array_equal(np.asarray(result.diverged), ~below)
    # Below 2/L: converged to the minimum at 0, loss never increased.
    final = np.abs(np.asarray(result.x))
    assert np.all(final[below] < 1e-5), final[below]
    assert np.all(np.diff(np.asarray(result.values)[below], axis=1) <= 1e-7)
    # Above 2/L: the divergence is reported as data, with a step index, and no NaN.
    diverged_at = np.asarray(result.diverged_at)
    assert np.all(diverged_at[~below] >= 1) and np.all(diverged_at[~below] <= 1500)
    assert np.all(diverged_at[below] == -1)
    _assert_all_finite(result)
    # Larger steps blow up sooner.
    assert np.all(np.diff(diverged_at[~below]) < 0)


def test_divergence_step_matches_closed_form():
    # x_t = (1 - eta L)^t x0 exactly; f(x_t) = L/2 x_t^2. minimize rejects the first t with
    # |f(x_t)| > max_growth * (1 + |f(x0)|).
    L, eta, x0, growth = 2.0, 1.3, 1.0, 1e6  # |1 - eta L| = 1.6
    f0 = L / 2 * x0**2
    t = np.arange(1, 200)
    values = L / 2 * ((1 - eta * L) ** t * x0) ** 2
    expected = int(t[np.argmax(values > growth * (1 + f0))])
    result = minimize(lambda x: tf.quadratic_bowl(x, L), jnp.float32(x0), optim.sgd(eta), 200)
    assert bool(result.diverged)
    assert int(result.diverged_at) == expected
    # From there on, the trajectory holds the last accepted point.
    xs = np.asarray(result.xs)
    np.testing.assert_allclose(xs[expected:], xs[expected - 1])
    np.testing.assert_allclose(xs[:expected], (1 - eta * L) ** np.arange(expected) * x0, rtol=1e-5)


def test_overflow_is_reported_not_returned_as_nan():
    # A huge step overflows float32 in a few steps: non-finite values are caught too.
    f = lambda x: jnp.sum(x**4)
    result = minimize(f, jnp.array([3.0, -2.0]), optim.sgd(10.0), steps=50, max_growth=jnp.inf)
    assert bool(result.diverged)
    _assert_all_finite(result)


# ------------------------------------------------------------ local minima


def test_gd_started_on_the_wrong_side_stops_in_the_local_minimum():
    # Right of the barrier (x ~ 0.17) gradient descent rolls into the local well at ~1.131.
    result = minimize(tf.double_well, jnp.float32(0.5), optim.sgd(0.01), steps=2000)
    np.testing.assert_allclose(result.x, tf.DOUBLE_WELL_LOCAL_MINIMUM, atol=1e-4)
    np.testing.assert_allclose(result.values[-1], tf.DOUBLE_WELL_LOCAL_VALUE, atol=1e-5)
    assert float(result.values[-1]) > float(tf.DOUBLE_WELL_GLOBAL_VALUE) + 2.0
    # Left of the barrier it finds the global minimum.
    result = minimize(tf.double_well, jnp.float32(-0.1), optim.sgd(0.01), steps=2000)
    np.testing.assert_allclose(result.x, tf.DOUBLE_WELL_GLOBAL_MINIMUM, atol=1e-4)


def test_adagrad_effective_learning_rate_decreases_monotonically():
    # Read the effective rate off the trajectory: eta_eff_t = -(x_{t+1} - x_t) / f'(x_t).
    # On f = x^2 / 2 from x0 = 10 the gradient x stays near 10, far from zero.
    lr, acc0, eps = 0.1, 0.1, 1e-7
    result = minimize(lambda x: 0.5 * x**2, jnp.float32(10.0), optim.adagrad(lr, acc0, eps), 60)
    xs = np.asarray(result.xs, dtype=np.float64)
    grads = xs[:-1]
    effective = -(xs[1:] - xs[:-1]) / grads
    assert np.all(np.diff(effective) < 0)
    # ... and it is lr / sqrt(G_t + eps) with G_t = acc0 + sum_{s <= t} g_s^2.
    expected = lr / np.sqrt(acc0 + np.cumsum(grads**2) + eps)
    np.testing.assert_allclose(effective, expected, rtol=1e-3)
    # The course's complaint: after 60 steps the rate is ~8x smaller than at the start.
    assert effective[-1] < effective[0] / 7


# ------------------------------------------------------------ Rosenbrock


ROSENBROCK_START = jnp.array([-1.2, 1.0])


def test_momentum_reaches_rosenbrock_minimum():
    # Budget 2000 steps, tolerance 1e-3 (Euclidean); plain GD at the same eta does not.
    result = minimize(tf.rosenbrock, ROSENBROCK_START, optim.momentum(1e-3, 0.9), steps=2000)
    assert np.linalg.norm(np.asarray(result.x) - tf.ROSENBROCK_MINIMUM) < 1e-3
    plain = minimize(tf.rosenbrock, ROSENBROCK_START, optim.sgd(1e-3), steps=2000)
    assert np.linalg.norm(np.asarray(plain.x) - tf.ROSENBROCK_MINIMUM) > 0.1


def test_adam_reaches_rosenbrock_minimum():
    # Budget 4000 steps, tolerance 1e-3 (Euclidean).
    result = minimize(tf.rosenbrock, ROSENBROCK_START, optim.adam(0.02), steps=4000)
    assert np.linalg.norm(np.asarray(result.x) - tf.ROSENBROCK_MINIMUM) < 1e-3
    assert float(result.values[-1]) < 1e-5


# ------------------------------------------------------------ many runs at once


def test_sweep_over_learning_rates_matches_separate_calls():
    lrs = np.array([1e-4, 5e-4, 1e-3, 2e-3], np.float32)
    make = lambda lr: optim.momentum(lr, 0.9)
    swept = sweep_learning_rates(tf.rosenbrock, ROSENBROCK_START, make, lrs, steps=300)
    assert swept.values.shape == (4, 301) and swept.xs.shape == (4, 301, 2)
    for i, lr in enumerate(lrs):
        single = minimize(tf.rosenbrock, ROSENBROCK_START, make(float(lr)), steps=300)
        np.testing.assert_allclose(swept.xs[i], single.xs, rtol=1e-5, atol=1e-6)
        # Rosenbrock's 100 (y - x^2)^2 amplifies float32 rounding (batched code fuses
        # differently), hence the looser tolerance on values.
        np.testing.assert_allclose(swept.values[i], single.values, rtol=1e-4, atol=1e-4)
        assert bool(swept.diverged[i]) == bool(single.diverged)


def test_vmap_over_starting_points_matches_separate_calls():
    starts = jnp.array([[0.0, 0.0], [-4.0, 4.0], [-4.0, -4.0], [4.0, -4.0]])
    run = lambda x0: minimize(tf.himmelblau, x0, optim.adam(0.05), steps=1500)
    batched = jax.jit(jax.vmap(run))(starts)
    for i in range(len(starts)):
        np.testing.assert_allclose(batched.xs[i], run(starts[i]).xs, rtol=1e-5, atol=1e-5)
    # Each start finds a minimum of Himmelblau's function (the start decides which one).
    found = np.asarray(batched.x)
    distances = np.linalg.norm(found[:, None, :] - tf.HIMMELBLAU_MINIMA[None], axis=-1)
    assert np.all(distances.min(axis=1) < 1e-2)
    assert len(set(distances.argmin(axis=1))) >= 3


# ------------------------------------------------------------ pytrees


def test_pytree_x0():
    target = {"w": jnp.array([1.0, -2.0]), "b": jnp.array(0.5)}
    f = lambda p: jnp.sum((p["w"] - target["w"]) ** 2) + (p["b"] - target["b"]) ** 2
    x0 = {"w": jnp.zeros(2), "b": jnp.array(0.0)}
    result = minimize(f, x0, optim.sgd(0.1), steps=100)
    assert result.xs["w"].shape == (101, 2) and result.xs["b"].shape == (101,)
    np.testing.assert_allclose(result.x["w"], target["w"], atol=1e-6)
    np.testing.assert_allclose(result.x["b"], target["b"], atol=1e-6)
    # Same as running on the flat vector.
    flat = minimize(
        lambda v: jnp.sum((v - jnp.array([1.0, -2.0, 0.5])) ** 2), jnp.zeros(3), optim.sgd(0.1), 100
    )
    np.testing.assert_allclose(result.xs["w"], flat.xs[:, :2], rtol=1e-6)
    np.testing.assert_allclose(result.values, flat.values, rtol=1e-5, atol=1e-7)


def test_python_float_x0_and_adamw_gets_params():
    result = minimize(lambda x: (x - 1.0) ** 2, 0.0, optim.adamw(0.05, weight_decay=0.1), 300)
    assert 0.8 < float(result.x) < 1.0  # decoupled decay pulls the fixed point toward 0


# ------------------------------------------------------------ validation


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(steps=0), "steps"),
        (dict(steps=-5), "steps"),
        (dict(x0=1), "x0"),
        (dict(x0=jnp.array([1, 2])), "x0"),
        (dict(x0={"a": jnp.ones(2), "b": np.array([1, 2])}), r"x0\['b'\]"),
        (dict(x0={}), "x0"),
        (dict(x0=jnp.array([1.0, jnp.nan])), "NaN"),
        (dict(f=lambda x: x), "scalar"),
        (dict(f=lambda x: (jnp.sum(x), x)), "scalar"),
        (dict(f=lambda x: jnp.sum(x).astype(jnp.int32)), "floating"),
        (dict(max_growth=0.0), "max_growth"),
    ],
)
def test_bad_input_raises_value_error(kwargs, match):
    args = dict(f=lambda x: jnp.sum(x**2), x0=jnp.ones(2), optimizer=optim.sgd(0.1), steps=10)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        minimize(**args)


@pytest.mark.parametrize("steps", [2.0, True, "10"])
def test_steps_of_the_wrong_kind_raise_type_error(steps):
    with pytest.raises(TypeError, match=r"steps must be an int >= 1"):
        minimize(lambda x: jnp.sum(x**2), jnp.ones(2), optimizer=optim.sgd(0.1), steps=steps)


def test_bad_types_raise_type_error():
    with pytest.raises(TypeError, match="f must be"):
        minimize("x**2", jnp.ones(2), optim.sgd(0.1), 10)
    with pytest.raises(TypeError, match="optimizer"):
        minimize(lambda x: jnp.sum(x**2), jnp.ones(2), 0.1, 10)


@pytest.mark.parametrize(
    "lrs,match",
    [
        (np.array([[0.1, 0.2]]), "shape"),
        (np.array([]), "shape"),
        (np.array([1, 2]), "floating"),
        (np.array([0.1, -0.2]), "> 0"),
        (np.array([0.1, np.nan]), "finite"),
    ],
)
def test_sweep_rejects_bad_learning_rates(lrs, match):
    with pytest.raises(ValueError, match=match):
        sweep_learning_rates(lambda x: x**2, 1.0, optim.sgd, lrs, 10)


@pytest.mark.parametrize("name", ["minimize", "sweep_learning_rates", "MinimizeResult"])
def test_public_api_is_documented(name):
    module = importlib.import_module("jaxnn.descent")

    assert name in module.__all__
    doc = getattr(module, name).__doc__ or ""
    assert ("Attributes:" if name == "MinimizeResult" else "Args:") in doc
