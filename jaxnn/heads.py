"""The course's four output heads, each paired with its loss.

A network built with :func:`jaxnn.nn.MLP` and ``output_activation=None`` outputs
*logits* (pre-activations). A :class:`Head` says what to do with them:

==========================  ===================  ===========================================  =======================
head                        output activation    training loss (from the logits)              targets
==========================  ===================  ===========================================  =======================
``regression()``            identity             mean squared error                           ``[batch, 1]`` floats
``multivariate_regression`` identity             mean squared error (mean over outputs)       ``[batch, outputs]``
``binary()``                sigmoid              binary cross-entropy from logits             ``[batch, 1]`` in {0, 1}
``multiclass()``            softmax              categorical cross-entropy from logits        ``[batch]`` int classes
==========================  ===================  ===========================================  =======================

The classification losses are computed from the logits rather than from
``sigmoid``/``softmax`` outputs: the same value, but exact where the activation
saturates (see :mod:`jaxnn.losses`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from jaxnn import activations as _act
from jaxnn import losses as _losses

__all__ = ["Head", "regression", "multivariate_regression", "binary", "multiclass", "get", "names"]


class Head(NamedTuple):
    """An output head: how logits become outputs, predictions and a loss.

    Attributes:
      name: ``"regression"``, ``"multivariate_regression"``, ``"binary"`` or ``"multiclass"``.
      output_activation: logits -> outputs (identity, sigmoid probabilities, softmax rows).
      loss: ``loss(logits, targets) -> [batch]`` per-example training loss.
      predict: logits -> predictions (values, {0, 1} labels, or class indices).
    """

    name: str
    output_activation: Callable[[jax.Array], jax.Array]
    loss: Callable[[jax.Array, jax.Array], jax.Array]
    predict: Callable[[jax.Array], jax.Array]


def regression() -> Head:
    """One real output; identity activation; mean squared error."""
    return Head("regression", _act.identity, _losses.mean_squared_error, _act.identity)


def multivariate_regression() -> Head:
    """Several real outputs; identity activation; squared error averaged over the outputs."""
    return Head("multivariate_regression", _act.identity, _losses.mean_squared_error, _act.identity)


def _binary_predict(logits: ArrayLike) -> jax.Array:
    # S(z) >= 0.5 exactly when z >= 0: threshold the logits, no sigmoid needed.
    return (jnp.asarray(logits) >= 0).astype(jnp.int32)


def binary() -> Head:
    """One logit; sigmoid activation; binary cross-entropy from logits; predicts {0, 1}."""
    return Head("binary", _act.sigmoid, _losses.binary_cross_entropy_with_logits, _binary_predict)


def _multiclass_predict(logits: ArrayLike) -> jax.Array:
    return jnp.argmax(jnp.asarray(logits), axis=-1).astype(jnp.int32)


def multiclass() -> Head:
    """One logit per class; softmax activation; categorical cross-entropy from logits; predicts the argmax."""
    return Head(
        "multiclass", _act.softmax, _losses.categorical_cross_entropy_with_logits, _multiclass_predict
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
