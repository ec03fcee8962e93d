"""The registries of named choices (optimizers, hidden activations): complete, tested, and the
one list every interface offers."""

from __future__ import annotations

import inspect

import jax
import jax.numpy as jnp
import pytest

import test_activations
import test_optim
from jaxnn import activations, optim


@pytest.mark.parametrize("name", list(optim.OPTIMIZERS))
def test_every_registered_optimizer_is_documented_and_checked_against_a_reference(name):
    info = optim.OPTIMIZERS[name]
    assert info.name == name and info.make is getattr(optim, name)
    assert len(inspect.getdoc(info.make) or "") > 100
    # tests/test_optim.py compares each optimizer with Optax over 500 steps, by this name
    assert name in test_optim.PAIRS


@pytest.mark.parametrize("name", list(optim.OPTIMIZERS))
def test_registered_hyperparameters_are_the_constructors_own(name):
    info = optim.OPTIMIZERS[name]
    params = inspect.signature(info.make).parameters
    assert info.learning_rate > 0
    for hp, (low, high, default) in info.hyperparameters.items():
        assert hp in params, f"{name} takes no argument {hp!r}"
        assert params[hp].default == default, (name, hp)
        assert low <= default <= high


def test_lookup_by_name_and_its_error():
    assert optim.get("adam").make is optim.adam
    with pytest.raises(ValueError, match="unknown optimizer 'adma'.*adam"):
        optim.get("adma")


def test_every_activation_has_a_numpy_reference_and_a_docstring():
    for name in activations.names():
        if name in ("softmax", "log_softmax"):  # row-wise: checked against NumPy in their own tests
            continue
        assert name in test_activations.NUMPY_REFERENCES, name
        assert inspect.getdoc(activations.get(name)), name


def test_hidden_activations_are_those_with_a_gradient():
    # A hidden layer trained by gradient descent needs an activation whose gradient is not zero
    # everywhere; the softmaxes act on rows and belong to output layers.
    x = jnp.linspace(-3.0, 3.0, 13) + 0.05
    for name in activations.names():
        if name in ("softmax", "log_softmax"):
            assert name not in activations.HIDDEN
            continue
        grads = jax.vmap(jax.grad(activations.get(name)))(x)
        assert (name in activations.HIDDEN) == bool(jnp.any(grads != 0)), name


def test_the_playground_offers_the_registries():
    config = pytest.importorskip("jaxnn.playground._config")
    assert list(config.OPTIMIZERS) == list(optim.OPTIMIZERS)
    for name, info in optim.OPTIMIZERS.items():
        assert config.OPTIMIZERS[name] == dict(info.hyperparameters)
    assert set(config.ACTIVATIONS) == set(activations.HIDDEN) | {"sign", "heaviside"}


def test_scikit_learn_solvers_are_the_registry():
    sk = pytest.importorskip("jaxnn.sklearn")
    # jaxnn's "momentum" is scikit-learn's "sgd" with its momentum parameter
    assert set(sk.SOLVERS) == set(optim.OPTIMIZERS) - {"momentum"}


def test_the_command_line_and_the_model_file_offer_the_registries():
    from jaxnn import _tabular
    from jaxnn.cli import _parser

    assert _parser.OPTIMIZERS == {name: info.learning_rate for name, info in optim.OPTIMIZERS.items()}
    assert _tabular.HIDDEN_ACTIVATIONS == activations.HIDDEN
    train = next(a for a in _parser.build()._actions if getattr(a, "choices", None) and "train" in a.choices)
    parser = train.choices["train"]
    choices = {a.dest: tuple(a.choices) for a in parser._actions if a.choices}
    assert choices["optimizer"] == tuple(optim.OPTIMIZERS) and choices["activation"] == activations.HIDDEN
