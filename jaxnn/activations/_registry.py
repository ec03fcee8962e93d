"""Activations by name: the table :func:`jaxnn.activations.get` and ``derivative`` read."""

from __future__ import annotations

import jax.numpy as jnp  # noqa: F401 - the doctests' namespace

from collections.abc import Callable

import jax

from jaxnn.activations._derivatives import (
    sign_derivative,
    heaviside_derivative,
    identity_derivative,
    tanh_derivative,
    sigmoid_derivative,
    relu_derivative,
    leaky_relu_derivative,
    elu_derivative,
    selu_derivative,
    gelu_derivative,
    silu_derivative,
    softplus_derivative,
    softsign_derivative,
    hard_sigmoid_derivative,
)
from jaxnn.activations._functions import (
    sign,
    heaviside,
    identity,
    tanh,
    sigmoid,
    softmax,
    log_softmax,
    relu,
    leaky_relu,
    elu,
    selu,
    gelu,
    silu,
    swish,
    softplus,
    softsign,
    hard_sigmoid,
)

Activation = Callable[[jax.Array], jax.Array]

def _gelu_tanh(x: jax.Array) -> jax.Array:
    """GELU in its tanh approximation: ``gelu(x, approximate=True)``."""
    return gelu(x, approximate=True)


_ACTIVATIONS: dict[str, Activation] = {
    "sign": sign,
    "heaviside": heaviside,
    "identity": identity,
    "tanh": tanh,
    "sigmoid": sigmoid,
    "softmax": softmax,
    "log_softmax": log_softmax,
    "relu": relu,
    "leaky_relu": leaky_relu,
    "elu": elu,
    "selu": selu,
    "gelu": gelu,
    "gelu_tanh": _gelu_tanh,
    "silu": silu,
    "swish": swish,
    "softplus": softplus,
    "softsign": softsign,
    "hard_sigmoid": hard_sigmoid,
}

_DERIVATIVES: dict[str, Activation] = {
    "sign": sign_derivative,
    "heaviside": heaviside_derivative,
    "identity": identity_derivative,
    "tanh": tanh_derivative,
    "sigmoid": sigmoid_derivative,
    "relu": relu_derivative,
    "leaky_relu": leaky_relu_derivative,
    "elu": elu_derivative,
    "selu": selu_derivative,
    "gelu": gelu_derivative,
    "gelu_tanh": lambda x: gelu_derivative(x, approximate=True),
    "silu": silu_derivative,
    "swish": silu_derivative,
    "softplus": softplus_derivative,
    "softsign": softsign_derivative,
    "hard_sigmoid": hard_sigmoid_derivative,
}


# The activations that suit a hidden layer trained by gradient descent (see the package).
HIDDEN = tuple(n for n in _ACTIVATIONS if n not in ("sign", "heaviside", "softmax", "log_softmax"))


def names() -> tuple[str, ...]:
    """The activation names accepted by :func:`get`, sorted."""
    return tuple(sorted(_ACTIVATIONS))


def _lookup(table: dict[str, Activation], name: str, what: str) -> Activation:
    if not isinstance(name, str):
        raise TypeError(f"{what} name must be a string, got {type(name).__name__}")
    try:
        return table[name]
    except KeyError:
        valid = ", ".join(sorted(table))
        raise ValueError(f"unknown {what} {name!r}; valid names are: {valid}") from None


def get(name: str | Activation | None) -> Activation:
    """Returns the activation called ``name`` (a callable or ``None`` passes through / means identity).

    Names: ``sign, heaviside, identity, tanh, sigmoid, softmax,
    log_softmax, relu, leaky_relu, elu, selu, gelu`` (exact), ``gelu_tanh``
    (tanh-approximate), ``silu, swish, softplus, softsign, hard_sigmoid``.

    Raises:
      ValueError: for an unknown name, listing the valid ones.

    >>> get("tanh") is tanh
    True
    """
    if name is None:
        return identity
    if callable(name):
        return name
    return _lookup(_ACTIVATIONS, name, "activation")


def derivative(name: str) -> Activation:
    """Returns the analytic elementwise derivative of the activation called ``name``.

    ``softmax`` has a Jacobian rather than an elementwise derivative: use
    :func:`softmax_jacobian`.

    Raises:
      ValueError: for an unknown name or one without an elementwise derivative.

    >>> float(derivative("tanh")(jnp.array(0.0)))
    1.0
    """
    return _lookup(_DERIVATIVES, name, "activation derivative")
