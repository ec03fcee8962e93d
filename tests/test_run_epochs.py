"""``train.run_epochs``: the engine's epochs as a pure, resumable, vmappable chunk."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxnn import train


def _linear_loss(w, x, y):
    return (x @ w - y) ** 2


def _data(n=10, d=3):
    kx, kw = jax.random.split(jax.random.key(3))
    x = jax.random.normal(kx, (n, d))
    y = x @ jax.random.normal(kw, (d,)) + 0.1
    return x, y


def test_full_batch_chunk_is_gradient_descent_by_hand():
    # Independent reference: full-batch gradient descent on the mean squared error, in NumPy.
    x, y = _data()
    w = np.zeros(3)
    xs, ys = np.asarray(x, np.float64), np.asarray(y, np.float64)
    losses = []
    for _ in range(4):
        r = xs @ w - ys
        losses.append(np.mean(r**2))
        w = w - 0.05 * (2 / len(ys)) * xs.T @ r
    state = train.init_state(jnp.zeros(3), optax.sgd(0.05))
    state, history = train.run_epochs(_linear_loss, optax.sgd(0.05), state, x, y, key=jax.random.key(0), epochs=4)
    np.testing.assert_allclose(state.params, w, rtol=1e-5)
    np.testing.assert_allclose(history["train_loss"], losses, rtol=1e-5)
    assert int(state.epoch) == 4 and not bool(state.stopped)


def test_chunks_resume_as_one_fit_call():
    x, y = _data(n=11)
    opt = optax.adam(0.03)
    key = jax.random.key(7)
    ref = train.fit(jnp.zeros(3), _linear_loss, x, y, optimizer=opt, key=key, epochs=9, batch_size=4,
                    validation_data=(x[:5], y[:5]))
    chunk = jax.jit(lambda s: train.run_epochs(_linear_loss, opt, s, x, y, key=key, epochs=3, batch_size=4,
                                               validation_data=(x[:5], y[:5])))
    state, train_losses, val_losses = train.init_state(jnp.zeros(3), opt), [], []
    for _ in range(3):
        state, history = chunk(state)
        train_losses.append(history["train_loss"])
        val_losses.append(history["val_loss"])
    np.testing.assert_allclose(state.params, ref.params, rtol=1e-5, atol=1e-6)  # float32 rounding
    np.testing.assert_allclose(np.concatenate(train_losses), ref.history.train_loss, rtol=1e-5)
    np.testing.assert_allclose(np.concatenate(val_losses), ref.history.val_loss, rtol=1e-5)


def test_vmapped_over_learning_rates_each_as_its_own_run():
    x, y = _data()
    lrs = jnp.array([0.01, 0.05, 0.1])
    key = jax.random.key(1)

    def run(lr):
        state = train.init_state(jnp.zeros(3), optax.sgd(lr))
        return train.run_epochs(_linear_loss, optax.sgd(lr), state, x, y, key=key, epochs=5, batch_size=3)

    batched, _ = jax.jit(jax.vmap(run))(lrs)
    for i, lr in enumerate(lrs):
        alone, _ = run(lr)
        np.testing.assert_allclose(batched.params[i], alone.params, rtol=1e-5, atol=1e-7)


def test_a_diverging_run_stops_and_keeps_its_last_finite_params():
    x, y = _data()
    opt = optax.sgd(50.0)  # far past the stability limit of this quadratic
    state = train.init_state(jnp.zeros(3), opt)
    state, history = train.run_epochs(_linear_loss, opt, state, x, y, key=jax.random.key(0), epochs=40)
    failed = int(state.nonfinite_epoch)
    assert bool(state.stopped) and 0 < failed < 40
    assert np.all(np.isfinite(history["train_loss"][:failed])) and np.all(np.isnan(history["train_loss"][failed:]))
    assert np.all(np.isfinite(state.params)) and int(state.epoch) == failed
    # and a further chunk changes nothing
    again, more = train.run_epochs(_linear_loss, opt, state, x, y, key=jax.random.key(0), epochs=2)
    np.testing.assert_array_equal(again.params, state.params)
    assert np.all(np.isnan(more["train_loss"]))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"batch_size": 50}, "batch_size"),
        ({"epochs": 0}, "epochs"),
        ({"metrics": {"mse": lambda p, x, y: jnp.mean(_linear_loss(p, x, y))}}, "validation_data"),
    ],
)
def test_bad_arguments_are_named(kwargs, match):
    x, y = _data()
    args = {"key": jax.random.key(0), "epochs": 2, **kwargs}
    with pytest.raises(ValueError, match=match):
        train.run_epochs(_linear_loss, optax.sgd(0.1), train.init_state(jnp.zeros(3), optax.sgd(0.1)), x, y, **args)
