r"""Backpropagation by hand: the course's worked example, then any dense network.

**The course's example.** One input pair :math:`(x_1, x_2)`, one ``tanh`` hidden unit and a
sigmoid output,

.. math:: \hat y = S\bigl(w_{gf0} + w_{gf1} \tanh(w_{xg0} + w_{xg1} x_1 + w_{xg2} x_2)\bigr),
          \qquad e = \tfrac12 (y - f)^2 ,

written as the chain :math:`z_g = w_{xg0} + w_{xg1} x_1 + w_{xg2} x_2`,
:math:`g = \tanh(z_g)`, :math:`z_f = w_{gf0} + w_{gf1} g`, :math:`f = S(z_f)`. Its five
partial derivatives (:func:`course_gradients`) are

.. math::
   \frac{\partial e}{\partial w_{gf0}} = -(y - f) S'(z_f), \qquad
   \frac{\partial e}{\partial w_{gf1}} = -(y - f) S'(z_f)\, g,

   \frac{\partial e}{\partial w_{xg0}} = -(y - f) S'(z_f)\, w_{gf1} \tanh'(z_g), \quad
   \frac{\partial e}{\partial w_{xg1}} = \ldots\, x_1, \quad
   \frac{\partial e}{\partial w_{xg2}} = \ldots\, x_2,

with :math:`S' = S(1 - S)` and :math:`\tanh' = 1 - \tanh^2`, and one gradient-descent step
is :func:`course_gd_step`.

**Any dense network** (:func:`backprop`), in :func:`jaxnn.nn.MLP`'s params format. With
:math:`h_0 = x`, :math:`z_l = h_{l-1} W_l + b_l`, :math:`h_l = \phi_l(z_l)`, the deltas
:math:`\delta_l = \partial L / \partial z_l` run backwards,

.. math:: \delta_L = \frac{\partial L}{\partial f} \odot \phi_L'(z_L), \qquad
          \delta_{l-1} = (\delta_l W_l^T) \odot \phi_{l-1}'(z_{l-1}),

          \frac{\partial L}{\partial W_l} = h_{l-1}^T \delta_l, \qquad
          \frac{\partial L}{\partial b_l} = \textstyle\sum_{\text{batch}} \delta_l ,

with the analytic derivatives of :func:`jaxnn.activations.derivative`. For the
cross-entropies from logits, :math:`\delta_L` is the familiar "prediction minus target".
Both are tested equal to ``jax.grad``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from jaxnn import activations as _act
from jaxnn import losses as _losses
from jaxnn._checks import check_float, check_same_shape
from jaxnn._typing import Params

__all__ = [
    "CourseWeights",
    "CourseForward",
    "course_forward",
    "course_error",
    "course_gradients",
    "course_gd_step",
    "course_weights_to_params",
    "backprop",
    "BACKPROP_LOSSES",
]


#: The losses :func:`backprop` differentiates (each the batch mean, as ``jax.grad`` of
#: :func:`jaxnn.losses` with ``reduction="mean"`` would see it).
BACKPROP_LOSSES = (
    "half_squared_error",
    "mse",
    "binary_cross_entropy_with_logits",
    "categorical_cross_entropy_with_logits",
)


class CourseWeights(NamedTuple):
    """The five weights of the course's network (a pytree: ``jax.grad`` returns one too).

    Attributes:
      w_gf0: output bias.
      w_gf1: hidden-to-output weight.
      w_xg0: hidden bias.
      w_xg1: weight of ``x_1``.
      w_xg2: weight of ``x_2``.
    """

    w_gf0: Any
    w_gf1: Any
    w_xg0: Any
    w_xg1: Any
    w_xg2: Any


class CourseForward(NamedTuple):
    """The intermediate values of the course's forward pass (scalars).

    Attributes:
      z_g: hidden pre-activation ``w_xg0 + w_xg1 x_1 + w_xg2 x_2``.
      g: hidden output ``tanh(z_g)``.
      z_f: output pre-activation ``w_gf0 + w_gf1 g``.
      f: the prediction ``S(z_f)``, in (0, 1).
    """

    z_g: Any
    g: Any
    z_f: Any
    f: Any


def _check_course(weights: Any, x: ArrayLike, y: ArrayLike | None = None):
    if not isinstance(weights, CourseWeights):
        raise TypeError(
            f"weights must be a CourseWeights(w_gf0, w_gf1, w_xg0, w_xg1, w_xg2), got {type(weights).__name__}"
        )
    for name, value in zip(CourseWeights._fields, weights):
        if jnp.ndim(check_float(value, name)) != 0:
            raise ValueError(f"weights.{name} must be a scalar, got shape {jnp.shape(value)}")
    x = check_float(x, "x")
    if x.shape != (2,):
        raise ValueError(f"x must be one input pair of shape (2,), got x.shape={x.shape}; use jax.vmap for a batch")
    if y is None:
        return x
    y = check_float(y, "y")
    if y.shape != ():
        raise ValueError(f"y must be a scalar target, got y.shape={y.shape}; use jax.vmap for a batch")
    return x, y


def course_forward(weights: CourseWeights, x: ArrayLike) -> CourseForward:
    r"""The course's forward pass, keeping every intermediate value.

    Args:
      weights: the five weights.
      x: one input ``(x_1, x_2)``, shape ``[2]``.

    Returns:
      :class:`CourseForward` with ``z_g, g, z_f, f`` (scalars).

    >>> w = CourseWeights(0.0, 1.0, 0.0, 0.0, 0.0)
    >>> float(course_forward(w, jnp.array([2.0, -1.0])).f)
    0.5
    """
    x = _check_course(weights, x)
    z_g = weights.w_xg0 + weights.w_xg1 * x[0] + weights.w_xg2 * x[1]
    g = _act.tanh(z_g)
    z_f = weights.w_gf0 + weights.w_gf1 * g
    return CourseForward(z_g, g, z_f, _act.sigmoid(z_f))


def course_error(weights: CourseWeights, x: ArrayLike, y: ArrayLike) -> jax.Array:
    r"""The course's error :math:`e = \frac12 (y - f)^2` of one example.

    Args:
      weights: the five weights.
      x: one input, shape ``[2]``.
      y: its target, a scalar.

    Returns:
      ``e``, a scalar.
    """
    x, y = _check_course(weights, x, y)
    return 0.5 * (y - course_forward(weights, x).f) ** 2


def course_gradients(weights: CourseWeights, x: ArrayLike, y: ArrayLike) -> CourseWeights:
    r"""The five hand-derived partial derivatives of :math:`e` (module docstring), as code.

    Args:
      weights: the five weights.
      x: one input, shape ``[2]``.
      y: its target, a scalar.

    Returns:
      :class:`CourseWeights` holding :math:`\partial e / \partial w` for each weight, the
      same as ``jax.grad(course_error)(weights, x, y)``.
    """
    x, y = _check_course(weights, x, y)
    z_g, g, z_f, f = course_forward(weights, x)
    out = -(y - f) * _act.sigmoid_derivative(z_f)  # de/dz_f
    hidden = out * weights.w_gf1 * _act.tanh_derivative(z_g)  # de/dz_g
    return CourseWeights(
        w_gf0=out,
        w_gf1=out * g,
        w_xg0=hidden,
        w_xg1=hidden * x[0],
        w_xg2=hidden * x[1],
    )


def course_gd_step(weights: CourseWeights, x: ArrayLike, y: ArrayLike, learning_rate: ArrayLike) -> CourseWeights:
    r"""One gradient-descent update of all five weights, :math:`w \leftarrow w - \eta\, \partial e / \partial w`.

    Args:
      weights: the five weights.
      x: one input, shape ``[2]``.
      y: its target, a scalar.
      learning_rate: :math:`\eta`.

    Returns:
      The updated :class:`CourseWeights`.

    >>> w = CourseWeights(0.0, 1.0, 0.0, 0.0, 0.0)
    >>> [round(float(v), 6) for v in course_gd_step(w, jnp.array([2.0, -1.0]), jnp.array(1.0), 0.1)]
    [0.0125, 1.0, 0.0125, 0.025, -0.0125]
    """
    grads = course_gradients(weights, x, y)
    return CourseWeights(*(w - learning_rate * g for w, g in zip(weights, grads)))


def course_weights_to_params(weights: CourseWeights) -> list[dict[str, jax.Array]]:
    """The course's network as :func:`jaxnn.nn.MLP` params.

    The network is ``MLP([1], 1, activation="tanh", output_activation="sigmoid")``; its
    params are ``[{"w": [[w_xg1], [w_xg2]], "b": [w_xg0]}, {"w": [[w_gf1]], "b": [w_gf0]}]``.

    Args:
      weights: the five weights.

    Returns:
      The params list, for :func:`backprop` or ``MLP.apply``.
    """
    if not isinstance(weights, CourseWeights):
        raise TypeError(f"weights must be a CourseWeights, got {type(weights).__name__}")
    w = [check_float(v, n) for n, v in zip(CourseWeights._fields, weights)]
    w_gf0, w_gf1, w_xg0, w_xg1, w_xg2 = (jnp.reshape(v, ()) for v in w)
    return [
        {"w": jnp.stack([w_xg1, w_xg2])[:, None], "b": w_xg0[None]},
        {"w": w_gf1[None, None], "b": w_gf0[None]},
    ]


# ----------------------------------------------------------------------------- general


def _names(activation: Any, n_hidden: int) -> list[str]:
    if isinstance(activation, str) or activation is None or callable(activation):
        activation = [activation] * n_hidden
    elif len(activation) != n_hidden:
        raise ValueError(
            f"got {len(activation)} activations for {n_hidden} hidden layers; give one name, or one per hidden layer"
        )
    names = []
    for a in activation:
        if a is None:
            a = "identity"
        if not isinstance(a, str):
            raise TypeError(
                f"backprop needs activation *names* (e.g. 'tanh') to look up their derivatives, got "
                f"{a!r}; see jaxnn.activations.names()"
            )
        names.append(a)
    return names


def _check_params(params: Any, n_in: int) -> list[tuple[jax.Array, jax.Array]]:
    if not isinstance(params, (list, tuple)) or not params:
        raise ValueError("params must be a non-empty list of {'w': [in, out], 'b': [out]} dicts (jaxnn.nn.MLP's)")
    layers = []
    fan_in = n_in
    for i, p in enumerate(params):
        if not isinstance(p, dict) or set(p) != {"w", "b"}:
            raise ValueError(f"params[{i}] must be a dict with keys 'w' and 'b', got {type(p).__name__}")
        w, b = check_float(p["w"], f"params[{i}]['w']"), check_float(p["b"], f"params[{i}]['b']")
        if w.ndim != 2 or b.shape != (w.shape[1],) or w.shape[0] != fan_in:
            raise ValueError(
                f"params[{i}] must hold w [{fan_in}, out] and b [out] to follow a layer with {fan_in} "
                f"outputs, got w.shape={w.shape} and b.shape={b.shape}"
            )
        layers.append((w, b))
        fan_in = w.shape[1]
    return layers


def backprop(
    params: Sequence[Params],
    x: ArrayLike,
    y: ArrayLike,
    *,
    activation: str | Sequence[str] = "tanh",
    output_activation: str | None = None,
    loss: str = "half_squared_error",
) -> tuple[jax.Array, list[dict[str, jax.Array]]]:
    r"""Loss and gradients of a dense network by manual backpropagation (no ``jax.grad``).

    The network is ``jaxnn.nn.MLP(hidden, out, activation=activation,
    output_activation=output_activation)`` with the given params. The loss, a batch mean,
    is one of :data:`BACKPROP_LOSSES`:

    * ``"half_squared_error"``: :math:`\frac1N \sum_n \sum_k \frac12 (y_{nk} - f_{nk})^2`,
      the course's :math:`e` (one output, one example); :math:`\partial L/\partial f = (f - y)/N`.
    * ``"mse"``: :func:`jaxnn.losses.mean_squared_error`, mean over examples and outputs of
      :math:`(f - y)^2`; :math:`\partial L/\partial f = 2 (f - y) / (N K)`.
    * ``"binary_cross_entropy_with_logits"``: :func:`jaxnn.losses.binary_cross_entropy_with_logits`
      on the logits :math:`z_L`, targets in [0, 1]; :math:`\delta_L = (S(z_L) - y)/(N K)`.
    * ``"categorical_cross_entropy_with_logits"``: the softmax cross-entropy, labels as class
      indices ``[N]`` or one-hot rows; :math:`\delta_L = (\mathrm{softmax}(z_L) - y)/N`.

    The cross-entropies need ``output_activation=None`` (the network outputs logits).

    Args:
      params: a list of ``{"w": [in, out], "b": [out]}`` dicts, as :func:`jaxnn.nn.MLP`'s.
      x: inputs ``[N, in]``.
      y: targets: ``[N, out]`` for the squared errors and the binary cross-entropy (exactly
        the output's shape, no broadcasting), class indices ``[N]`` or one-hot ``[N, out]``
        for the categorical one.
      activation: the hidden activation's name, or one name per hidden layer (names are
        needed to look up :func:`jaxnn.activations.derivative`).
      output_activation: the output activation's name, ``None`` for the identity.
      loss: one of :data:`BACKPROP_LOSSES`.

    Returns:
      ``(loss_value, grads)``: a scalar and gradients with the structure of ``params``.

    >>> params = [{"w": jnp.array([[2.0]]), "b": jnp.array([1.0])}]
    >>> backprop(params, jnp.array([[1.0]]), jnp.array([[0.0]]), activation=[])
    (Array(4.5, dtype=float32), [{'w': Array([[3.]], dtype=float32), 'b': Array([3.], dtype=float32)}])
    """
    if loss not in BACKPROP_LOSSES:
        raise ValueError(f"unknown loss {loss!r}; backprop supports: {', '.join(BACKPROP_LOSSES)}")
    x = check_float(x, "x")
    if x.ndim != 2:
        raise ValueError(f"x must have shape [N, in], got x.shape={x.shape}; for one example use x[None, :]")
    layers = _check_params(params, x.shape[1])
    names = _names(activation, len(layers) - 1)
    out_name = "identity" if output_activation is None else output_activation
    if not isinstance(out_name, str):
        raise TypeError(f"output_activation must be a name or None, got {output_activation!r}")
    names.append(out_name)
    logits_loss = loss.endswith("_with_logits")
    if logits_loss and out_name != "identity":
        raise ValueError(
            f"loss {loss!r} takes logits: use output_activation=None (got {out_name!r}); "
            "the sigmoid/softmax is inside the loss"
        )
    for n in names:
        if n in ("softmax", "log_softmax"):
            raise ValueError(
                f"{n!r} has no elementwise derivative for backprop; for classification use "
                "output_activation=None with loss='categorical_cross_entropy_with_logits'"
            )
    fns = [_act.get(n) for n in names]
    # Derivatives looked up before any work, so a name without one fails early.
    derivs = [None if (i == len(names) - 1 and logits_loss) else _act.derivative(n) for i, n in enumerate(names)]

    # Forward, keeping every pre-activation z_l and every layer output h_l (h_0 = x).
    hs, zs = [x], []
    for (w, b), fn in zip(layers, fns):
        zs.append(hs[-1] @ w + b)
        hs.append(fn(zs[-1]))
    f, z_out = hs[-1], zs[-1]
    n = x.shape[0]

    # The output delta dL/dz_L, and the loss value.
    if loss in ("half_squared_error", "mse"):
        y = check_float(y, "y")
        check_same_shape(f, y, "the network output", "y")
        if loss == "half_squared_error":
            value = jnp.sum((y - f) ** 2) / (2 * n)
            d_f = (f - y) / n
        else:
            value = _losses.mean_squared_error(f, y, reduction="mean")
            d_f = 2.0 * (f - y) / f.size
        delta = d_f * derivs[-1](z_out)
    elif loss == "binary_cross_entropy_with_logits":
        value = _losses.binary_cross_entropy_with_logits(z_out, y, reduction="mean")
        delta = (_act.sigmoid(z_out) - jnp.asarray(y, z_out.dtype)) / z_out.size
    else:
        value = _losses.categorical_cross_entropy_with_logits(z_out, y, reduction="mean")
        y = jnp.asarray(y)
        target = jax.nn.one_hot(y, z_out.shape[1], dtype=z_out.dtype) if jnp.issubdtype(y.dtype, jnp.integer) else y
        delta = (_act.softmax(z_out) - target) / n

    # Backward: each layer's gradients from its input and its delta, then the delta below.
    grads: list[dict[str, jax.Array]] = [{}] * len(layers)
    for l in reversed(range(len(layers))):
        w, _ = layers[l]
        grads[l] = {"w": hs[l].T @ delta, "b": jnp.sum(delta, axis=0)}
        if l > 0:
            delta = (delta @ w.T) * derivs[l - 1](zs[l - 1])
    return value, (tuple(grads) if isinstance(params, tuple) else grads)
