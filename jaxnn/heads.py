"""The course's four output heads, each paired with its loss.

A network built with :func:`jaxnn.nn.MLP` and ``output_activation=None`` outputs
*logits* (pre-activations). A :class:`Head` says what to do with them:

=============================  ===================  ===========================================  ========================
head                           output activation    training loss (from the logits)              targets
=============================  ===================  ===========================================  ========================
``regression()``               identity             mean squared error                           ``[batch, 1]`` floats
``multivariate_regression()``  identity             mean squared error (mean over outputs)       ``[batch, outputs]``
``binary()``                   sigmoid              binary cross-entropy from logits             ``[batch, 1]`` in {0, 1}
``multiclass()``               softmax              categorical cross-entropy from logits        ``[batch]`` int classes
=============================  ===================  ===========================================  ========================

The classification losses are computed from the logits rather than from
``sigmoid``/``softmax`` outputs: the same value, but exact where the activation
saturates (see :mod:`jaxnn.losses`).

Each head also owns its rules: :attr:`Head.check_targets` says which targets it
accepts (``jaxnn.train.fit`` calls it before compiling, with the network's output
shape), and :attr:`Head.score` is its default test metric (R^2 for the regressions,
accuracy for the classifications), named by :attr:`Head.score_name`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from jaxnn import activations as _act
from jaxnn import losses as _losses
from jaxnn import metrics as _metrics

__all__ = [
    "Head", "regression", "multivariate_regression", "binary", "multiclass", "get", "names",
    "check_value_targets", "check_binary_targets", "check_class_targets",
]


def _binary_predict(logits: ArrayLike) -> jax.Array:
    # S(z) >= 0.5 exactly when z >= 0: threshold the logits, no sigmoid needed.
    return (jnp.asarray(logits) >= 0).astype(jnp.int32)


def _multiclass_predict(logits: ArrayLike) -> jax.Array:
    return jnp.argmax(jnp.asarray(logits), axis=-1).astype(jnp.int32)


def check_value_targets(y: np.ndarray, out_shape: tuple[int, ...], what: str) -> None:
    """The rule of the regression heads: one target per network output.

    Args:
      y: the targets, on the host, ``[batch, outputs]`` (``[batch]`` for a network that
        outputs one scalar per sample).
      out_shape: the network's output shape for this ``y``'s inputs, ``[batch, outputs]``.
      what: names the data in messages, e.g. ``"training"``.

    Raises:
      ValueError: ``y``'s shape differs from ``out_shape``, naming both and the fix.
    """
    expected = tuple(out_shape)
    if y.shape != expected:
        raise ValueError(
            f"{what} y has shape {y.shape} but the network outputs {expected[1:] or 'scalars'} "
            f"per sample; y must have shape {expected}"
            + (" (reshape with y[:, None])" if y.shape == expected[:1] else "")
        )


def check_binary_targets(y: np.ndarray, out_shape: tuple[int, ...], what: str) -> None:
    """The rule of the binary head: one {0, 1} target per network output.

    Args:
      y: the targets, on the host, ``[batch, 1]``.
      out_shape: the network's output shape, ``[batch, 1]``.
      what: names the data in messages.

    Raises:
      ValueError: a shape that differs from ``out_shape``, or a label other than 0 and 1.
    """
    check_value_targets(y, out_shape, what)
    bad = np.setdiff1d(np.unique(y), [0, 1])
    if bad.size:
        raise ValueError(
            f"{what} y must be in {{0, 1}} for the binary head, found {bad[:5].tolist()}; "
            "convert {-1, +1} labels with jaxnn.data.labels_to_01"
        )


def check_class_targets(y: np.ndarray, out_shape: tuple[int, ...], what: str) -> None:
    """The rule of the multi-class head: class indices ``[batch]`` or one-hot rows.

    Args:
      y: the targets, on the host: integer class indices ``[batch]`` in
        ``0..classes-1``, or one-hot (or soft) rows ``[batch, classes]``.
      out_shape: the network's output shape, ``[batch, classes]``.
      what: names the data in messages.

    Raises:
      ValueError: a negative class, a class beyond the network's outputs, or a shape
        that fits neither form.
    """
    width = out_shape[-1] if len(out_shape) > 1 else 1
    if not np.issubdtype(y.dtype, np.integer):
        if y.shape != (out_shape[0], width):
            raise ValueError(
                f"{what} one-hot y must have shape {(out_shape[0], width)} for {width} outputs, got {y.shape}"
            )
        return
    if y.ndim != 1:
        raise ValueError(f"{what} y must be class indices of shape [N], got {y.shape}")
    lo, hi = int(y.min()), int(y.max())
    if lo < 0:
        raise ValueError(
            f"{what} y has class labels in [{lo}, {hi}]: multi-class labels are class indices "
            f"0..{width - 1} for the network's {width} outputs, never negative; map them first, "
            "e.g. classes, y = np.unique(labels, return_inverse=True)"
        )
    if hi >= width:
        raise ValueError(
            f"{what} y has class labels in [{lo}, {hi}] but the network has {width} outputs "
            f"(classes 0..{width - 1}); give the output layer {hi + 1} units"
        )


def _binary_accuracy(logits: jax.Array, y: jax.Array) -> jax.Array:
    return _metrics.accuracy(_binary_predict(logits), jnp.asarray(y).astype(jnp.int32))


def _class_accuracy(logits: jax.Array, y: jax.Array) -> jax.Array:
    y = jnp.asarray(y)
    labels = y if jnp.issubdtype(y.dtype, jnp.integer) else jnp.argmax(y, axis=-1)
    return _metrics.accuracy(_multiclass_predict(logits), labels.astype(jnp.int32))


class Head(NamedTuple):
    """An output head: how logits become outputs, predictions and a loss, and which targets fit.

    Attributes:
      name: ``"regression"``, ``"multivariate_regression"``, ``"binary"`` or ``"multiclass"``.
      output_activation: logits -> outputs (identity, sigmoid probabilities, softmax rows).
      loss: ``loss(logits, targets) -> [batch]`` per-example training loss.
      predict: logits -> predictions (values, {0, 1} labels, or class indices).
      check_targets: ``check_targets(y, out_shape, what)`` raises ``ValueError`` unless the
        host targets ``y`` suit a network whose outputs have shape ``out_shape``
        (default: one target per output, :func:`check_value_targets`).
      score: ``score(logits, targets) -> scalar``, the head's default test metric
        (default: R^2).
      score_name: the name of ``score``, e.g. ``"accuracy"``.
    """

    name: str
    output_activation: Callable[[jax.Array], jax.Array]
    loss: Callable[[jax.Array, jax.Array], jax.Array]
    predict: Callable[[jax.Array], jax.Array]
    check_targets: Callable[[np.ndarray, tuple[int, ...], str], None] = check_value_targets
    score: Callable[[jax.Array, jax.Array], jax.Array] = _metrics.r2_score
    score_name: str = "r2"


def regression() -> Head:
    """One real output; identity activation; mean squared error."""
    return Head("regression", _act.identity, _losses.mean_squared_error, _act.identity)


def multivariate_regression() -> Head:
    """Several real outputs; identity activation; squared error averaged over the outputs."""
    return Head("multivariate_regression", _act.identity, _losses.mean_squared_error, _act.identity)


def binary() -> Head:
    """One logit; sigmoid activation; binary cross-entropy from logits; predicts {0, 1}."""
    return Head("binary", _act.sigmoid, _losses.binary_cross_entropy_with_logits, _binary_predict,
                check_binary_targets, _binary_accuracy, "accuracy")


def multiclass() -> Head:
    """One logit per class; softmax activation; categorical cross-entropy from logits; predicts the argmax."""
    return Head(
        "multiclass", _act.softmax, _losses.categorical_cross_entropy_with_logits, _multiclass_predict,
        check_class_targets, _class_accuracy, "accuracy",
    )


_HEADS = {
    "regression": regression,
    "multivariate_regression": multivariate_regression,
    "binary": binary,
    "multiclass": multiclass,
}


def names() -> tuple[str, ...]:
    """The head names accepted by :func:`get`, sorted."""
    return tuple(sorted(_HEADS))


def get(name: str | Head) -> Head:
    """Returns the head called ``name``; a :class:`Head` passes through.

    Raises:
      ValueError: for an unknown name, listing the valid ones.
    """
    if isinstance(name, Head):
        return name
    try:
        return _HEADS[name]()
    except (KeyError, TypeError):
        raise ValueError(f"unknown head {name!r}; valid names are: {', '.join(names())}") from None
