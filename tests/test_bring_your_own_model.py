"""Equinox and Flax NNX models trained by jaxnn's fit and sweep (examples/bring_your_own_model.py).

Each is checked against a hand-written gradient-descent loop on the same model, and the
promise that rebuilding an equal model and its loss compiles nothing new is counted with
``jax.monitoring``. Skipped when Equinox or Flax is not installed (``pip install -e ".[bench]"``).
"""

import importlib.util
import pathlib

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxnn import optim, train

# Its module-scoped fixture is built once: all its tests run on one pytest-xdist worker.
pytestmark = pytest.mark.xdist_group("test_bring_your_own_model")

EXAMPLE = pathlib.Path(__file__).resolve().parent.parent / "examples" / "bring_your_own_model.py"


@pytest.fixture(scope="module")
def example():
    pytest.importorskip("equinox")
    pytest.importorskip("flax")
    spec = importlib.util.spec_from_file_location("bring_your_own_model", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def gradient_descent(params, loss, x, y, lr, steps):
    """Full-batch gradient descent written out: the reference for fit(batch_size=None)."""
    total = lambda p: jnp.mean(loss(p, x, y))
    for _ in range(steps):
        params = jax.tree.map(lambda w, g: w - lr * g, params, jax.grad(total)(params))
    return params


def close(a, b):
    jax.tree.map(lambda u, v: np.testing.assert_allclose(u, v, rtol=1e-5, atol=1e-6), a, b)


@pytest.mark.parametrize("library", ["equinox", "flax"])
def test_fit_equals_hand_written_descent_and_an_equal_model_compiles_nothing(example, library, count_compiles):
    x, y = example.moons(0, 64)
    if library == "equinox":
        build = lambda key: example.equinox_model(key, width=8)
        make = lambda key: (lambda params, static: (params, example.equinox_loss(static)))(*build(key))
    else:
        build = lambda key: example.flax_model(key, width=8)
        make = lambda key: (lambda graphdef, params: (params, example.flax_loss(graphdef)))(*build(key))
    params, loss = make(jax.random.key(0))
    fitted = train.fit(params, loss, x, y, optimizer=optim.sgd(0.3), key=jax.random.key(1), epochs=5)
    close(fitted.params, gradient_descent(params, loss, x, y, 0.3, 5))

    # A new model of the same configuration, a new loss closure, another learning rate,
    # epoch count and key: the compiled program is reused.
    params2, loss2 = make(jax.random.key(7))
    with count_compiles() as compiles:
        refit = train.fit(params2, loss2, x, y, optimizer=optim.sgd(0.1), key=jax.random.key(2), epochs=8)
        jax.block_until_ready(refit.params)
    assert compiles == []
    close(refit.params, gradient_descent(params2, loss2, x, y, 0.1, 8))


def test_equinox_model_in_a_sweep_equals_its_own_fits(example):
    x, y = example.moons(1, 64)
    _, static = example.equinox_model(jax.random.key(0), width=8)
    loss = example.equinox_loss(static)
    init = lambda k: example.equinox_model(k, width=8)[0]
    keys = jax.random.split(jax.random.key(3), 3)
    lrs = jnp.array([0.05, 0.2, 0.5])
    swept = train.sweep(init, loss, x, y, make_optimizer=lambda learning_rate: optax.sgd(learning_rate), keys=keys,
                        hyperparams={"learning_rate": lrs}, epochs=6, batch_size=16)
    for i in range(3):
        init_key, shuffle_key = jax.random.split(keys[i])
        one = train.fit(init(init_key), loss, x, y, optimizer=optax.sgd(float(lrs[i])), key=shuffle_key, epochs=6,
                        batch_size=16)
        close(jax.tree.map(lambda leaf: leaf[i], swept.params), one.params)
