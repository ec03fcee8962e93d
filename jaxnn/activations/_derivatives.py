"""The course's hand-derived derivatives of the activations, each equal to ``jax.grad``
(see :mod:`jaxnn.activations` for the values chosen at the kinks)."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from jaxnn._checks import check_float
from jaxnn.activations._functions import SELU_ALPHA, SELU_SCALE, sigmoid, softmax, tanh


def sign_derivative(x: ArrayLike) -> jax.Array:
    """Derivative of :func:`sign`: 0 everywhere it exists, and 0 at 0 (PyTorch's value, and ``jax.grad``'s).

    This flatness is why the perceptron's 0/1 loss cannot be trained by gradient descent.
    """
    return jnp.zeros_like(check_float(x, "x"))


def heaviside_derivative(x: ArrayLike) -> jax.Array:
    """Derivative of :func:`heaviside`: 0 everywhere it exists, and 0 at 0 (as ``jax.grad`` gives)."""
    return jnp.zeros_like(check_float(x, "x"))


def identity_derivative(x: ArrayLike) -> jax.Array:
    """Derivative of :func:`identity`: 1."""
    return jnp.ones_like(check_float(x, "x"))


def tanh_derivative(x: ArrayLike) -> jax.Array:
    r"""The course's :math:`\tanh'(x) = 1 - \tanh^2(x)`."""
    t = tanh(x)
    return 1.0 - t * t


def sigmoid_derivative(x: ArrayLike) -> jax.Array:
    r"""The course's :math:`S'(x) = S(x)(1 - S(x))`."""
    s = sigmoid(x)
    return s * (1.0 - s)


def softmax_jacobian(x: ArrayLike) -> jax.Array:
    r"""Jacobian of :func:`softmax` over the last axis: :math:`J = \mathrm{diag}(s) - s s^T`.

    Args:
      x: logits of shape ``[..., n]``.

    Returns:
      ``J`` of shape ``[..., n, n]`` with ``J[..., i, j] = d s_i / d x_j = s_i (delta_ij - s_j)``.
    """
    s = softmax(x, axis=-1)
    return jnp.einsum("...i,ij->...ij", s, jnp.eye(s.shape[-1], dtype=s.dtype)) - (
        s[..., :, None] * s[..., None, :]
    )


def relu_derivative(x: ArrayLike) -> jax.Array:
    """Derivative of :func:`relu`: 1 for ``x > 0``, 0 otherwise (0 at 0, as PyTorch and ``jax.grad``)."""
    x = check_float(x, "x")
    return (x > 0).astype(x.dtype)


def leaky_relu_derivative(x: ArrayLike, negative_slope: float = 0.01) -> jax.Array:
    """Derivative of :func:`leaky_relu`: 1 for ``x > 0``, ``negative_slope`` otherwise.

    At 0 it is ``negative_slope`` (PyTorch's convention, and what ``jax.grad`` gives).
    """
    x = check_float(x, "x")
    return jnp.where(x > 0, 1.0, negative_slope).astype(x.dtype)


def elu_derivative(x: ArrayLike, alpha: float = 1.0) -> jax.Array:
    """Derivative of :func:`elu`: 1 for ``x > 0``, ``alpha e^x`` otherwise (``alpha`` at 0, as PyTorch and ``jax.grad``)."""
    x = check_float(x, "x")
    return jnp.where(x > 0, 1.0, alpha * jnp.exp(jnp.minimum(x, 0.0))).astype(x.dtype)


def selu_derivative(x: ArrayLike) -> jax.Array:
    """Derivative of :func:`selu`: ``scale`` for ``x > 0``, ``scale alpha e^x`` otherwise."""
    return SELU_SCALE * elu_derivative(x, SELU_ALPHA)


def gelu_derivative(x: ArrayLike, approximate: bool = False) -> jax.Array:
    r"""Derivative of :func:`gelu`.

    Exact form: :math:`\Phi(x) + x \varphi(x)`. Tanh form: with
    :math:`u = \sqrt{2/\pi}(x + 0.044715 x^3)`,
    :math:`0.5(1 + \tanh u) + 0.5 x (1 - \tanh^2 u) \sqrt{2/\pi}(1 + 3 \cdot 0.044715 x^2)`.
    """
    x = check_float(x, "x")
    if approximate:
        c = math.sqrt(2.0 / math.pi)
        t = jnp.tanh(c * (x + 0.044715 * x**3))
        return 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * c * (1.0 + 3 * 0.044715 * x * x)
    cdf = 0.5 * (1.0 + jax.lax.erf(x / math.sqrt(2.0)))
    pdf = jnp.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)
    return cdf + x * pdf


def silu_derivative(x: ArrayLike) -> jax.Array:
    """Derivative of :func:`silu`: ``S(x) (1 + x (1 - S(x)))``."""
    x = check_float(x, "x")
    s = jax.nn.sigmoid(x)
    return s * (1.0 + x * (1.0 - s))


def softplus_derivative(x: ArrayLike) -> jax.Array:
    """Derivative of :func:`softplus`: the sigmoid ``S(x)``."""
    return sigmoid(x)


def softsign_derivative(x: ArrayLike) -> jax.Array:
    """Derivative of :func:`softsign`: ``1 / (1 + |x|)^2``."""
    x = check_float(x, "x")
    return 1.0 / (1.0 + jnp.abs(x)) ** 2


def hard_sigmoid_derivative(x: ArrayLike) -> jax.Array:
    """Derivative of :func:`hard_sigmoid`: ``1/6`` strictly inside (-3, 3), 0 elsewhere.

    0 at the kinks -3 and +3 (PyTorch's convention, and what ``jax.grad`` gives).
    """
    x = check_float(x, "x")
    return jnp.where((x > -3.0) & (x < 3.0), 1.0 / 6.0, 0.0).astype(x.dtype)
