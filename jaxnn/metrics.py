"""Evaluation metrics: classification (accuracy, macro precision/recall/F1, confusion
matrix) and regression (MSE, MAE, R^2).

Conventions:

* The argument order is ``metric(predictions, targets)``, the same as the losses in
  :mod:`jaxnn.losses` (and Optax). scikit-learn uses the opposite order,
  ``metric(y_true, y_pred)``; the order matters for precision, recall, R^2 and the
  confusion matrix.
* Classification metrics take **integer class labels** for both arguments, e.g.
  ``jnp.argmax(probabilities, axis=-1)`` against ``labels``; probabilities, logits or
  one-hot rows are rejected with a ``TypeError`` instead of being converted silently.
  Macro metrics and the confusion matrix take classes ``0..num_classes-1``; convert
  {-1, +1} labels with :func:`jaxnn.data.labels_to_01`.
* Every function is jit-able; ``num_classes`` is a Python int (mark it static:
  ``jax.jit(f, static_argnames="num_classes")``). Shapes and dtypes are checked at trace
  time; shapes must match exactly (no silent broadcasting of ``[n]`` against ``[n, 1]``).
  Outside ``jit`` labels outside ``[0, num_classes)`` raise ``ValueError``; under
  ``jit`` they cannot be checked and fall in no cell of the confusion matrix.
* Every metric returns a float32 (or input float dtype) scalar; the confusion matrix
  is int32.
"""

from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from jaxnn._checks import check_class_range, check_float, check_int, check_same_shape

__all__ = [
    "accuracy",
    "confusion_matrix",
    "precision",
    "recall",
    "f1_score",
    "mean_squared_error",
    "mean_absolute_error",
    "r2_score",
]


# ----------------------------------------------------------------------------- checks


def _labels(x: ArrayLike, name: str) -> jax.Array:
    x = x if isinstance(x, jax.Array) else jnp.asarray(x)
    if not (jnp.issubdtype(x.dtype, jnp.integer) or x.dtype == jnp.bool_):
        raise TypeError(
            f"{name} must be integer class labels, got dtype {x.dtype}; for scores or "
            f"probabilities of shape [n, classes] pass jnp.argmax({name}, axis=-1), for "
            f"whole-number floats {name}.astype(jnp.int32)"
        )
    return x


def _label_pair(predictions: ArrayLike, labels: ArrayLike) -> tuple[jax.Array, jax.Array]:
    p = _labels(predictions, "predictions")
    t = _labels(labels, "labels")
    check_same_shape(p, t, "predictions", "labels")
    if p.size == 0:
        raise ValueError(f"predictions and labels are empty (shape {p.shape}); nothing to score")
    return p, t


def _check_num_classes(num_classes: Any) -> int:
    return check_int(num_classes, "num_classes",
                     why="static under jit: use jax.jit(f, static_argnames='num_classes')")


def _float_pair(predictions: ArrayLike, targets: ArrayLike) -> tuple[jax.Array, jax.Array]:
    p = check_float(predictions, "predictions")
    t = check_float(targets, "targets")
    check_same_shape(p, t, "predictions", "targets")
    if p.ndim == 0 or p.size == 0:
        raise ValueError(
            f"predictions and targets need at least one sample along axis 0, got shape {p.shape}"
        )
    return p, t


# The public functions validate (at trace time, and value ranges on the host when
# possible), then call a jitted core: called eagerly that is one compiled program per
# shape instead of one dispatch per operation; under an outer jit the core is inlined.


@jax.jit
def _accuracy(p: jax.Array, t: jax.Array) -> jax.Array:
    return jnp.mean((p == t).astype(jnp.float32))


@functools.partial(jax.jit, static_argnames="num_classes")
def _confusion(p: jax.Array, t: jax.Array, num_classes: int) -> jax.Array:
    c = num_classes
    # Scatter-add of ones: exact integer counts. Out-of-range labels (possible only under
    # jit, where they cannot be checked) are sent to index C and dropped; negative ones
    # too, which JAX indexing would otherwise wrap around to C - 1.
    t = jnp.where((t >= 0) & (t < c), t, c)
    p = jnp.where((p >= 0) & (p < c), p, c)
    return jnp.zeros((c, c), jnp.int32).at[t, p].add(1, mode="drop")


def _safe_ratio(num: jax.Array, den: jax.Array) -> jax.Array:
    # 0 where the denominator is 0 (the class never predicted / never present), without
    # evaluating 0/0 (whose NaN would also poison gradients of a jnp.where).
    return jnp.where(den > 0, num / jnp.where(den > 0, den, 1.0), 0.0)


@functools.partial(jax.jit, static_argnames="kind")
def _macro(cm: jax.Array, kind: str) -> jax.Array:
    cm = cm.astype(jnp.float32)
    tp = jnp.diagonal(cm)
    predicted, actual = jnp.sum(cm, axis=0), jnp.sum(cm, axis=1)
    if kind == "precision":
        return jnp.mean(_safe_ratio(tp, predicted))
    if kind == "recall":
        return jnp.mean(_safe_ratio(tp, actual))
    return jnp.mean(_safe_ratio(2 * tp, predicted + actual))  # F1


@functools.partial(jax.jit, static_argnames="kind")
def _regression(p: jax.Array, t: jax.Array, kind: str) -> jax.Array:
    dtype = jnp.result_type(p.dtype, t.dtype)
    p, t = p.astype(dtype), t.astype(dtype)
    if kind == "mse":
        return jnp.mean(jnp.square(p - t))
    if kind == "mae":
        return jnp.mean(jnp.abs(p - t))
    p2 = p.reshape(p.shape[0], -1)
    t2 = t.reshape(t.shape[0], -1)
    ss_res = jnp.sum(jnp.square(t2 - p2), axis=0)
    ss_tot = jnp.sum(jnp.square(t2 - jnp.mean(t2, axis=0, keepdims=True)), axis=0)
    ratio = ss_res / jnp.where(ss_tot > 0, ss_tot, 1.0)
    r2 = jnp.where(ss_tot > 0, 1.0 - ratio, jnp.where(ss_res > 0, 0.0, 1.0))
    return jnp.mean(r2).astype(dtype)


# ----------------------------------------------------------------------------- classification


def accuracy(predictions: ArrayLike, labels: ArrayLike) -> jax.Array:
    """Fraction of correct predictions: ``mean(predictions == labels)``.

    Works for any integer encoding used consistently by both arguments (class indices,
    {0, 1} or {-1, +1}).

    Args:
      predictions: predicted class labels, integer, shape ``[n]`` (or any shape).
      labels: true class labels, integer, the same shape.

    Returns:
      A float32 scalar in [0, 1].

    >>> accuracy(jnp.array([0, 1, 2, 2]), jnp.array([0, 1, 1, 2]))
    Array(0.75, dtype=float32)
    """
    p, t = _label_pair(predictions, labels)
    return _accuracy(p, t)


def confusion_matrix(predictions: ArrayLike, labels: ArrayLike, num_classes: int) -> jax.Array:
    """Counts of (true class, predicted class) pairs.

    ``cm[i, j]`` is the number of samples of true class ``i`` predicted as class ``j``
    (rows: truth, columns: prediction, as in scikit-learn), so the diagonal holds the
    correct predictions, row sums are the class sizes and column sums the number of
    predictions of each class.

    Args:
      predictions: predicted classes, integer ``[n]`` in ``[0, num_classes)``.
      labels: true classes, integer ``[n]`` in ``[0, num_classes)``.
      num_classes: number of classes ``C`` (a Python int; static under ``jit``).

    Returns:
      int32 ``[C, C]``.

    >>> confusion_matrix(jnp.array([0, 1, 1]), jnp.array([0, 0, 1]), 2)
    Array([[1, 1],
           [0, 1]], dtype=int32)
    """
    p, t = _label_pair(predictions, labels)
    c = _check_num_classes(num_classes)
    if p.ndim != 1:
        raise ValueError(
            f"predictions and labels must have shape [n], got {p.shape}; flatten them first"
        )
    check_class_range(p, "predictions", c)
    check_class_range(t, "labels", c)
    return _confusion(p, t, num_classes=c)


def precision(predictions: ArrayLike, labels: ArrayLike, num_classes: int) -> jax.Array:
    """Macro-averaged precision.

    .. math:: \\frac{1}{C} \\sum_{c=0}^{C-1} \\frac{TP_c}{TP_c + FP_c}

    A class that is never predicted (``TP_c + FP_c = 0``) contributes 0 to the sum; the
    average is always over all ``num_classes`` classes, including classes absent from
    both arguments. (This is scikit-learn's
    ``precision_score(labels, predictions, labels=range(C), average="macro",
    zero_division=0)``.)

    Args:
      predictions: predicted classes, integer ``[n]`` in ``[0, num_classes)``.
      labels: true classes, integer ``[n]`` in ``[0, num_classes)``.
      num_classes: number of classes ``C`` (a Python int; static under ``jit``).

    Returns:
      A float32 scalar in [0, 1].
    """
    return _macro(confusion_matrix(predictions, labels, num_classes), "precision")


def recall(predictions: ArrayLike, labels: ArrayLike, num_classes: int) -> jax.Array:
    """Macro-averaged recall.

    .. math:: \\frac{1}{C} \\sum_{c=0}^{C-1} \\frac{TP_c}{TP_c + FN_c}

    A class with no true samples (``TP_c + FN_c = 0``) contributes 0; the average is over
    all ``num_classes`` classes.

    Args:
      predictions: predicted classes, integer ``[n]`` in ``[0, num_classes)``.
      labels: true classes, integer ``[n]`` in ``[0, num_classes)``.
      num_classes: number of classes ``C`` (a Python int; static under ``jit``).

    Returns:
      A float32 scalar in [0, 1].
    """
    return _macro(confusion_matrix(predictions, labels, num_classes), "recall")


def f1_score(predictions: ArrayLike, labels: ArrayLike, num_classes: int) -> jax.Array:
    """Macro-averaged F1 score: the mean over classes of each class's F1.

    .. math:: \\frac{1}{C} \\sum_{c=0}^{C-1} \\frac{2 P_c R_c}{P_c + R_c}
              = \\frac{1}{C} \\sum_c \\frac{2 TP_c}{2 TP_c + FP_c + FN_c}

    with ``P_c``, ``R_c`` the per-class precision and recall (not the F1 of the macro
    precision and macro recall). A class with ``TP_c = FP_c = FN_c = 0`` (neither
    predicted nor present) contributes 0, as do classes with ``TP_c = 0``; the average is
    over all ``num_classes`` classes.

    Args:
      predictions: predicted classes, integer ``[n]`` in ``[0, num_classes)``.
      labels: true classes, integer ``[n]`` in ``[0, num_classes)``.
      num_classes: number of classes ``C`` (a Python int; static under ``jit``).

    Returns:
      A float32 scalar in [0, 1].

    >>> f1_score(jnp.array([0, 1, 1]), jnp.array([0, 0, 1]), 2)
    Array(0.6666667, dtype=float32)
    """
    return _macro(confusion_matrix(predictions, labels, num_classes), "f1")


# ----------------------------------------------------------------------------- regression


def mean_squared_error(predictions: ArrayLike, targets: ArrayLike) -> jax.Array:
    """Mean squared error over all samples and outputs: ``mean((predictions - targets)^2)``.

    Args:
      predictions: floating ``[n]`` or ``[n, outputs]``.
      targets: floating, the same shape.

    Returns:
      A scalar of the inputs' floating dtype.

    >>> mean_squared_error(jnp.array([1.0, 2.0]), jnp.array([1.0, 4.0]))
    Array(2., dtype=float32)
    """
    return _regression(*_float_pair(predictions, targets), "mse")


def mean_absolute_error(predictions: ArrayLike, targets: ArrayLike) -> jax.Array:
    """Mean absolute error over all samples and outputs: ``mean(|predictions - targets|)``.

    Args:
      predictions: floating ``[n]`` or ``[n, outputs]``.
      targets: floating, the same shape.

    Returns:
      A scalar of the inputs' floating dtype.
    """
    return _regression(*_float_pair(predictions, targets), "mae")


def r2_score(predictions: ArrayLike, targets: ArrayLike) -> jax.Array:
    """Coefficient of determination R^2, averaged uniformly over outputs.

    For each output column ``k`` (the whole array when it is ``[n]``):

    .. math:: R^2_k = 1 - \\frac{\\sum_i (y_{ik} - \\hat y_{ik})^2}
                               {\\sum_i (y_{ik} - \\bar y_k)^2}

    and the result is the mean of ``R^2_k`` over the outputs (scikit-learn's
    ``multioutput="uniform_average"``). 1 is a perfect fit, 0 is as good as predicting
    the mean, and it is negative for worse fits. A target column that is constant has no
    variance to explain: its ``R^2_k`` is 1 if the predictions are exact and 0 otherwise
    (scikit-learn's ``force_finite=True``), never NaN or -inf.

    Args:
      predictions: floating ``[n]`` or ``[n, outputs]``.
      targets: floating, the same shape.

    Returns:
      A scalar of the inputs' floating dtype.
    """
    return _regression(*_float_pair(predictions, targets), "r2")
