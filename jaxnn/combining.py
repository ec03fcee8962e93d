r"""Combining perceptrons: why a hidden layer needs a nonlinearity, shown on XOR.

The course's network of perceptrons has two hidden neurons *without* activation and a
``sgn`` output:

.. math:: y_2 = \mathrm{sgn}\bigl(w^{(2)}_0 + w^{(2)}_1 y_0 + w^{(2)}_2 y_1\bigr),\qquad
          y_k = w^{(k)}_0 + w^{(k)}_1 x_1 + w^{(k)}_2 x_2 .

A composition of affine maps is affine, so this network is one perceptron in disguise
(:func:`collapse_linear` computes the single equivalent layer) and can separate no more than
one perceptron can: not XOR, whatever its weights (:func:`certifies_not_separable` checks a
proof of that). With a nonlinear hidden layer XOR is solved: by hand-set ``sign`` units
(:func:`xor_sign_network`) or by a ``tanh`` layer trained with gradient descent
(:func:`train_xor_tanh`).

XOR here is the four points of {-1, +1}^2, label +1 exactly when the inputs differ
(``y = -x_1 x_2``):

====  ====  ===
x_1   x_2   y
====  ====  ===
 -1    -1   -1
 -1    +1   +1
 +1    -1   +1
 +1    +1   -1
====  ====  ===

Erratum: the course's XOR matrix lists the row ``(-1, 1)`` twice, once with label -1 and
once with +1 (no function gives one input two labels), and omits ``(-1, -1)``. The four
correct points above are used instead.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.typing import ArrayLike

from jaxnn import datasets as _datasets
from jaxnn import nn as _nn
from jaxnn._checks import check_float, check_int
from jaxnn._typing import Params

__all__ = [
    "collapse_linear",
    "certifies_not_separable",
    "xor_sign_network",
    "train_xor_tanh",
]



def _dense(p: Any, i: int) -> tuple[jax.Array, jax.Array]:
    if not isinstance(p, dict) or set(p) != {"w", "b"}:
        raise ValueError(f"params[{i}] must be a dict with keys 'w' and 'b' (jaxnn.nn.MLP's format), got {p!r:.80}")
    w, b = check_float(p["w"], f"params[{i}]['w']"), check_float(p["b"], f"params[{i}]['b']")
    if w.ndim != 2 or b.shape != (w.shape[1],):
        raise ValueError(f"params[{i}] needs w [in, out] and b [out], got w.shape={w.shape} and b.shape={b.shape}")
    return w, b


def collapse_linear(params: Sequence[Params]) -> dict[str, jax.Array]:
    r"""The one dense layer equal to a stack of dense layers with no activation between them.

    For layers :math:`h_l = h_{l-1} W_l + b_l` the composition is :math:`x W + b` with

    .. math:: W = W_1 W_2 \cdots W_L, \qquad
              b = (\cdots((b_1 W_2 + b_2) W_3 + b_3) \cdots) W_L + b_L .

    So ``MLP(hidden, out, activation="identity", output_activation=phi).apply(params, x)``
    equals ``phi(x @ W + b)``: with ``phi = sign`` that is a single perceptron, whose
    augmented weights are :func:`jaxnn.nn.to_augmented` of the result.

    Args:
      params: a list of ``{"w": [in_l, out_l], "b": [out_l]}`` dicts (:func:`jaxnn.nn.MLP`'s
        params), consecutive shapes matching.

    Returns:
      ``{"w": [in_1, out_L], "b": [out_L]}``.

    >>> params = [{"w": jnp.array([[1.0, 2.0]]), "b": jnp.array([0.0, 1.0])},
    ...           {"w": jnp.array([[3.0], [4.0]]), "b": jnp.array([5.0])}]
    >>> collapse_linear(params)
    {'w': Array([[11.]], dtype=float32), 'b': Array([9.], dtype=float32)}
    """
    if not isinstance(params, (list, tuple)) or not params:
        raise ValueError("params must be a non-empty list of {'w', 'b'} dicts, one per dense layer")
    w, b = _dense(params[0], 0)
    for i, p in enumerate(params[1:], start=1):
        wi, bi = _dense(p, i)
        if wi.shape[0] != w.shape[1]:
            raise ValueError(
                f"params[{i}]['w'] has {wi.shape[0]} inputs but layer {i - 1} has {w.shape[1]} "
                f"outputs (w.shape={wi.shape}); consecutive layers must chain"
            )
        hi = lax.Precision.HIGHEST  # exact-as-possible products: the result is compared to the network
        w, b = jnp.matmul(w, wi, precision=hi), jnp.matmul(b, wi, precision=hi) + bi
    return {"w": w, "b": b}


def certifies_not_separable(X: ArrayLike, y: ArrayLike, multipliers: ArrayLike, *, atol: float = 1e-6) -> bool:
    r"""Checks a proof that no perceptron (no affine map and sign) classifies all of ``(X, y)``.

    Gordan's theorem of the alternative: for augmented points :math:`\bar x_i = (1, x_i)`,
    either some :math:`w` has :math:`y_i \langle w, \bar x_i\rangle > 0` for every ``i``, or
    there are multipliers :math:`\lambda_i \ge 0`, not all zero, with
    :math:`\sum_i \lambda_i y_i \bar x_i = 0`; never both, since the second makes
    :math:`\sum_i \lambda_i\, y_i \langle w, \bar x_i\rangle = 0` a sum of positive terms.
    (Classifying a finite set correctly with ``sign(0) = +1`` is the same as separating it
    strictly: nudge the bias.) For XOR, :math:`\lambda = (1, 1, 1, 1)` works: the four
    points' labelled sum :math:`\sum_i y_i \bar x_i` is the zero vector. No linear program
    is needed to *check* such a certificate, only this sum.

    Args:
      X: points ``[N, d]``.
      y: labels ``[N]`` in {-1, +1}.
      multipliers: candidate ``lambda`` ``[N]``.
      atol: tolerance on each component of the sum, relative to ``max(lambda)``.

    Returns:
      ``True`` when ``multipliers`` is a valid certificate (then ``(X, y)`` is not linearly
      separable); ``False`` when it is not one (which proves nothing either way).

    >>> X = jnp.array([[-1.0, -1.0], [-1.0, 1.0], [1.0, -1.0], [1.0, 1.0]])
    >>> certifies_not_separable(X, jnp.array([-1.0, 1.0, 1.0, -1.0]), jnp.ones(4))
    True
    >>> certifies_not_separable(X, jnp.array([-1.0, -1.0, -1.0, 1.0]), jnp.ones(4))  # AND
    False
    """
    X = np.asarray(check_float(X, "X"), np.float64)
    y = np.asarray(y, np.float64)
    lam = np.asarray(multipliers, np.float64)
    if X.ndim != 2 or y.shape != (X.shape[0],) or lam.shape != (X.shape[0],):
        raise ValueError(
            f"need X [N, d], y [N] and multipliers [N], got X.shape={X.shape}, y.shape={y.shape} "
            f"and multipliers.shape={lam.shape}"
        )
    if not (np.all(np.isfinite(X)) and np.all(np.isfinite(y)) and np.all(np.isfinite(lam))):
        raise ValueError("X, y and multipliers must be finite (no NaN or Inf)")
    if np.any((y != -1) & (y != 1)):
        raise ValueError("labels must be -1 or +1; convert {0, 1} labels with jaxnn.data.labels_to_pm1")
    if np.any(lam < 0) or not np.any(lam > 0):
        return False
    X_aug = np.concatenate([np.ones((X.shape[0], 1)), X], axis=1)
    total = (lam * y) @ X_aug
    return bool(np.all(np.abs(total) <= atol * lam.max()))


def xor_sign_network() -> tuple[_nn.Layer, list[dict[str, jax.Array]]]:
    r"""Hand-set weights for a 2-2-1 network of ``sign`` units that computes XOR.

    Hidden unit 1 is OR, :math:`\mathrm{sgn}(1 + x_1 + x_2)`; hidden unit 2 is AND,
    :math:`\mathrm{sgn}(-1 + x_1 + x_2)`; the output is "OR and not AND",
    :math:`\mathrm{sgn}(-1 + h_1 - h_2)`. No pre-activation is ever 0 on the four points
    (they are -3, -1, 1 or 3), so the convention for ``sign(0)`` does not matter.

    Returns:
      ``(net, params)``: ``net`` is ``jaxnn.nn.MLP([2], 1, activation="sign",
      output_activation="sign")`` and ``params`` its weights, so
      ``net.apply(params, x)`` is ``[N, 1]`` in {-1, +1}.

    >>> net, params = xor_sign_network()
    >>> net.apply(params, jnp.array([[-1.0, -1.0], [-1.0, 1.0], [1.0, -1.0], [1.0, 1.0]]))[:, 0]
    Array([-1.,  1.,  1., -1.], dtype=float32)
    """
    net = _nn.MLP([2], 1, activation="sign", output_activation="sign")
    params = [
        {"w": jnp.array([[1.0, 1.0], [1.0, 1.0]]), "b": jnp.array([1.0, -1.0])},
        {"w": jnp.array([[1.0], [-1.0]]), "b": jnp.array([-1.0])},
    ]
    return net, params


@functools.partial(jax.jit, static_argnames=("hidden_size", "steps"))
def _descend_xor(params: Params, learning_rate: jax.Array, *, hidden_size: int, steps: int):
    """``steps`` full-batch gradient steps on XOR, one compiled program per (width, steps)."""
    net = _nn.MLP([hidden_size], 1, activation="tanh")
    x, labels = _datasets.xor()
    y = labels.astype(x.dtype)

    def loss(p):
        return jnp.mean((y - net.apply(p, x)[:, 0]) ** 2 / 2)

    def step(p, _):
        value, grads = jax.value_and_grad(loss)(p)
        return jax.tree.map(lambda a, g: a - learning_rate * g, p, grads), value

    return lax.scan(step, params, None, length=steps)


def train_xor_tanh(
    key: jax.Array, *, hidden_size: int = 4, learning_rate: float = 0.5, steps: int = 500
) -> tuple[list[dict[str, jax.Array]], jax.Array]:
    r"""Trains a ``tanh`` hidden layer on the four XOR points with plain gradient descent.

    The network is ``jaxnn.nn.MLP([hidden_size], 1, activation="tanh")`` (linear output),
    initialized from ``key``; the loss is the course's :math:`\frac{1}{4}\sum_i (y_i - f(x_i))^2 / 2`
    on labels in {-1, +1}; each of ``steps`` full-batch steps is
    :math:`\theta \leftarrow \theta - \eta \nabla L(\theta)`, compiled as one ``lax.scan``.
    Classify with ``sign(net.apply(params, x))``. The program is compiled once per
    ``(hidden_size, steps)``; it can be vmapped over keys and over learning rates (pass
    them as an array).

    With two hidden units gradient descent can stall in a poor local minimum for some
    initializations; a few more units make success the rule.

    Args:
      key: a ``jax.random.key`` for the initialization.
      hidden_size: number of tanh units (>= 2 are needed to solve XOR).
      learning_rate: the gradient-descent step size > 0.
      steps: number of gradient-descent steps >= 1.

    Returns:
      ``(params, losses)``: the trained params (a list of ``{"w", "b"}`` dicts) and the loss
      before each step, ``[steps]``.
    """
    check_int(steps, "steps")
    check_int(hidden_size, "hidden_size")
    # A Python number is checked here; an array (a traced one too: vmap over learning rates)
    # is the caller's to keep positive.
    if not isinstance(learning_rate, jax.Array) and not (
        isinstance(learning_rate, (int, float)) and np.isfinite(learning_rate) and learning_rate > 0
    ):
        raise ValueError(f"learning_rate must be a finite number > 0, got {learning_rate!r}")
    _, params = _nn.MLP([hidden_size], 1, activation="tanh").init(key, (-1, 2))
    params, losses = _descend_xor(params, jnp.asarray(learning_rate, jnp.float32), hidden_size=hidden_size, steps=steps)
    return params, losses
