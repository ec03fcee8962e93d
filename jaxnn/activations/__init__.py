"""Activation functions, their analytic derivatives, and look-up by name.

Every activation is an elementwise (or, for softmax, row-wise) pure function of a
floating-point array. The course's hand-derived derivatives live next to them
(``tanh_derivative`` is ``1 - tanh^2``, ``sigmoid_derivative`` is ``S (1 - S)``,
``softmax_jacobian`` is ``diag(s) - s s^T``); each is tested equal to ``jax.grad``
or ``jax.jacobian``.

Names are looked up with :func:`get` (``get("tanh")``) and :func:`derivative`
(``derivative("tanh")``), for configs and the command line.

Kinks. Where a piecewise activation has no derivative, one value is chosen, PyTorch's, and
``jax.grad`` of the activation and its ``*_derivative`` both give exactly that value:

=================  ======================  =======================================
activation         kink                    derivative used there
=================  ======================  =======================================
``sign``           0                       0 (as everywhere)
``heaviside``      0                       0 (as everywhere)
``relu``           0                       0
``leaky_relu``     0                       ``negative_slope``
``elu``            0                       ``alpha`` (the left-hand limit)
``selu``           0                       ``scale * alpha`` (the left-hand limit)
``hard_sigmoid``   -3 and +3               0 (the flat side)
=================  ======================  =======================================

So at a kink the derivative is the one of the piece below it, except at hard_sigmoid's upper
kink, where it is the flat piece above. ``softsign`` has a kink in ``|x|`` but is differentiable
at 0 (derivative 1).
"""

from __future__ import annotations

from collections.abc import Callable

import jax

from jaxnn.activations._derivatives import (
    sign_derivative,
    heaviside_derivative,
    identity_derivative,
    tanh_derivative,
    sigmoid_derivative,
    softmax_jacobian,
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

__all__ = [
    "sign",
    "heaviside",
    "identity",
    "tanh",
    "sigmoid",
    "softmax",
    "log_softmax",
    "relu",
    "leaky_relu",
    "elu",
    "selu",
    "gelu",
    "silu",
    "swish",
    "softplus",
    "softsign",
    "hard_sigmoid",
    "sign_derivative",
    "heaviside_derivative",
    "identity_derivative",
    "tanh_derivative",
    "sigmoid_derivative",
    "softmax_jacobian",
    "relu_derivative",
    "leaky_relu_derivative",
    "elu_derivative",
    "selu_derivative",
    "gelu_derivative",
    "silu_derivative",
    "softplus_derivative",
    "softsign_derivative",
    "hard_sigmoid_derivative",
    "get",
    "derivative",
    "names",
    "HIDDEN",
]

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


#: The activations that suit a hidden layer trained by gradient descent. These are every
#: name of :func:`names` but ``sign`` and ``heaviside`` (their gradient is zero) and the
#: softmaxes (row-wise, for output layers). The command line's ``--activation`` choices, the model
#: file's check and the playground's menu (which adds ``sign`` and ``heaviside`` to show why)
#: all read it.
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
