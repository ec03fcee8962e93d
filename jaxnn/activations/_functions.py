"""The activation functions of the course (see :mod:`jaxnn.activations`)."""

from __future__ import annotations


import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from jaxnn._checks import check_float

# SELU constants from Klambauer et al. (2017), as in jax.nn.selu.
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def sign(x: ArrayLike) -> jax.Array:
    """The perceptron's sgn: ``+1`` for ``x >= 0`` and ``-1`` for ``x < 0``.

    The value at 0 is ``+1`` (not NumPy's 0), so a prediction is always a valid
    label in {-1, +1}. The perceptron *learning rule* does not depend on this
    choice: it updates whenever ``y <w, x> <= 0``, a point on the boundary included.

    Args:
      x: floating-point array of any shape.

    Returns:
      An array of the same shape and dtype with values in {-1, +1}.

    >>> sign(jnp.array([-2.0, 0.0, 3.0]))
    Array([-1.,  1.,  1.], dtype=float32)
    """
    x = check_float(x, "x")
    return jnp.where(x >= 0, 1.0, -1.0).astype(x.dtype)


def heaviside(x: ArrayLike) -> jax.Array:
    """The Heaviside step: ``1`` for ``x >= 0`` and ``0`` for ``x < 0`` (``H(0) = 1``).

    >>> heaviside(jnp.array([-1.0, 0.0, 2.0]))
    Array([0., 1., 1.], dtype=float32)
    """
    x = check_float(x, "x")
    return (x >= 0).astype(x.dtype)


def identity(x: ArrayLike) -> jax.Array:
    """The identity, the output activation of regression heads.

    >>> identity(jnp.array([-1.0, 2.0]))
    Array([-1.,  2.], dtype=float32)
    """
    return check_float(x, "x")


def tanh(x: ArrayLike) -> jax.Array:
    r"""Hyperbolic tangent, :math:`\tanh(x) = (e^{2x} - 1)/(e^{2x} + 1) \in (-1, 1)`.

    >>> tanh(jnp.array([0.0]))
    Array([0.], dtype=float32)
    """
    return jnp.tanh(check_float(x, "x"))


def sigmoid(x: ArrayLike) -> jax.Array:
    r"""Logistic sigmoid, :math:`S(x) = 1 / (1 + e^{-x}) \in (0, 1)`.

    Computed as ``jax.nn.sigmoid`` (a stable logistic), so ``S(-1000) == 0`` and
    ``S(1000) == 1`` without overflow warnings or NaNs.

    >>> sigmoid(jnp.array([0.0]))
    Array([0.5], dtype=float32)
    """
    return jax.nn.sigmoid(check_float(x, "x"))


def softmax(x: ArrayLike, axis: int = -1) -> jax.Array:
    r"""Softmax along ``axis``: :math:`e^{x_j} / \sum_i e^{x_i}`.

    The maximum is subtracted first, so logits of 1e4 do not overflow.

    Args:
      x: floating-point array, e.g. logits of shape ``[batch, classes]``.
      axis: the axis that sums to one.

    >>> softmax(jnp.array([0.0, 0.0]))
    Array([0.5, 0.5], dtype=float32)
    """
    return jax.nn.softmax(check_float(x, "x"), axis=axis)


def log_softmax(x: ArrayLike, axis: int = -1) -> jax.Array:
    r"""Log of the softmax along ``axis``: :math:`x_j - \log \sum_i e^{x_i}`.

    Computed with a max-shifted log-sum-exp, so it stays finite for any finite
    logits (``softmax`` then ``log`` would give ``-inf`` for a large gap).

    >>> log_softmax(jnp.array([0.0, 0.0]))
    Array([-0.6931472, -0.6931472], dtype=float32)
    """
    return jax.nn.log_softmax(check_float(x, "x"), axis=axis)


def relu(x: ArrayLike) -> jax.Array:
    """Rectified linear unit, ``max(x, 0)``; its derivative at 0 is taken as 0.

    >>> relu(jnp.array([-1.0, 2.0]))
    Array([0., 2.], dtype=float32)
    """
    # jax.nn.relu pins the derivative at 0 to 0 (jnp.maximum would split the tie as 0.5).
    return jax.nn.relu(check_float(x, "x"))


def leaky_relu(x: ArrayLike, negative_slope: float = 0.01) -> jax.Array:
    """Leaky ReLU: ``x`` for ``x > 0`` and ``negative_slope * x`` otherwise.

    Its derivative at the kink 0 is ``negative_slope`` (PyTorch's convention), and
    ``jax.grad`` gives that value too.

    >>> leaky_relu(jnp.array([-1.0, 2.0]))
    Array([-0.01,  2.  ], dtype=float32)
    """
    x = check_float(x, "x")
    # `x > 0`, not `x >= 0`: jnp.where differentiates the branch it picks, so at 0 this makes
    # jax.grad give negative_slope, as leaky_relu_derivative and PyTorch do.
    return jnp.where(x > 0, x, negative_slope * x)


def elu(x: ArrayLike, alpha: float = 1.0) -> jax.Array:
    """Exponential linear unit: ``x`` for ``x > 0`` and ``alpha (e^x - 1)`` otherwise.

    Its derivative at the kink 0 is ``alpha`` (the left-hand limit; PyTorch's convention), and
    ``jax.grad`` gives that value too. With ``alpha = 1`` both sides agree.

    >>> elu(jnp.array([0.0, 1.0]))
    Array([0., 1.], dtype=float32)
    """
    x = check_float(x, "x")
    # expm1 is exact near 0; feeding it 0 on the positive side keeps the unused branch from
    # overflowing, and (unlike minimum(x, 0)) does not halve the gradient at x = 0.
    return jnp.where(x > 0, x, alpha * jnp.expm1(jnp.where(x > 0, 0.0, x)))


def selu(x: ArrayLike) -> jax.Array:
    """Scaled ELU (Klambauer et al., 2017): ``scale * elu(x, alpha)`` with the paper's constants.

    Its derivative at 0 is ``scale * alpha`` (the left-hand limit, as in PyTorch).

    >>> selu(jnp.array([0.0]))
    Array([0.], dtype=float32)
    """
    return SELU_SCALE * elu(x, SELU_ALPHA)


def gelu(x: ArrayLike, approximate: bool = False) -> jax.Array:
    r"""Gaussian error linear unit, :math:`x \Phi(x)`.

    The default is the **exact** form with the Gaussian CDF (``erf``), as in
    PyTorch and Keras. ``approximate=True`` gives the tanh approximation
    :math:`0.5 x (1 + \tanh(\sqrt{2/\pi}(x + 0.044715 x^3)))`, which is
    ``jax.nn.gelu``'s default.

    >>> gelu(jnp.array([0.0]))
    Array([0.], dtype=float32)
    """
    return jax.nn.gelu(check_float(x, "x"), approximate=approximate)


def silu(x: ArrayLike) -> jax.Array:
    """Sigmoid linear unit (swish with beta = 1): ``x * S(x)``.

    >>> silu(jnp.array([0.0]))
    Array([0.], dtype=float32)
    """
    x = check_float(x, "x")
    return x * jax.nn.sigmoid(x)


def swish(x: ArrayLike, beta: float = 1.0) -> jax.Array:
    """Swish, ``x * S(beta x)``; ``swish(x)`` with the default ``beta = 1`` is :func:`silu`.

    >>> swish(jnp.array([0.0]))
    Array([0.], dtype=float32)
    """
    x = check_float(x, "x")
    return x * jax.nn.sigmoid(beta * x)


def softplus(x: ArrayLike) -> jax.Array:
    """Softplus, ``log(1 + e^x)``, computed as ``logaddexp(x, 0)`` so it never overflows.

    >>> softplus(jnp.array([0.0]))
    Array([0.6931472], dtype=float32)
    """
    x = check_float(x, "x")
    return jnp.logaddexp(x, 0.0)


def softsign(x: ArrayLike) -> jax.Array:
    """Softsign, ``x / (1 + |x|)``, in (-1, 1).

    >>> softsign(jnp.array([1.0]))
    Array([0.5], dtype=float32)
    """
    x = check_float(x, "x")
    return x / (1.0 + jnp.abs(x))


def hard_sigmoid(x: ArrayLike) -> jax.Array:
    """Hard sigmoid, ``clip(x / 6 + 1/2, 0, 1)`` (``relu6(x + 3) / 6``, as in PyTorch and jax.nn).

    Keras 2 used ``clip(0.2 x + 0.5, 0, 1)``; Keras 3 uses this form. Its derivative is 1/6
    strictly inside (-3, 3) and 0 elsewhere, the kinks -3 and +3 included (PyTorch's
    convention); ``jax.grad`` gives the same values.

    >>> hard_sigmoid(jnp.array([0.0]))
    Array([0.5], dtype=float32)
    """
    x = check_float(x, "x")
    # Not jnp.clip: its gradient at a tie is 1/2 of the inner slope (1/12 at x = +-3). The
    # closed comparisons put both kinks on the flat pieces, so jax.grad gives 0 there.
    return jnp.where(x <= -3.0, 0.0, jnp.where(x >= 3.0, 1.0, x / 6.0 + 0.5))
