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

from jaxnn.activations import _registry
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

from jaxnn.activations._registry import derivative, get, names

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


#: The activations that suit a hidden layer trained by gradient descent. These are every
#: name of :func:`names` but ``sign`` and ``heaviside`` (their gradient is zero) and the
#: softmaxes (row-wise, for output layers). The command line's ``--activation`` choices, the model
#: file's check and the playground's menu (which adds ``sign`` and ``heaviside`` to show why)
#: all read it.
HIDDEN = _registry.HIDDEN
