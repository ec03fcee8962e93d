"""Loss functions of the course, in their correct forms, with one argument order.

Conventions (the same for every loss here):

* The argument order is ``loss(predictions, targets)``, as in Optax: first what the
  model produced (scores, probabilities or logits; the function name says which),
  then the truth.
* Arrays have a leading batch axis. Each loss returns **per-example** values of shape
  ``[batch]``; trailing axes (several outputs, classes) are reduced inside the example
  (mean over outputs for regression losses, as in Keras; sum over classes for
  cross-entropies). ``reduction="mean"`` or ``"sum"`` reduces over the batch too;
  training (:func:`jaxnn.train.fit`) uses the mean.
* Margin losses (``zero_one_loss``, ``perceptron_loss``, ``hinge_loss``,
  ``squared_hinge_loss``) take labels in {-1, +1}. Binary cross-entropies take labels in
  [0, 1] (usually {0, 1}; soft targets in between are allowed). Nothing is converted
  silently: use :func:`jaxnn.data.labels_to_pm1` / :func:`jaxnn.data.labels_to_01` to
  convert. Outside ``jit`` the labels are checked ({-1, +1} for margin losses, [0, 1] for
  binary cross-entropies) and a wrong label raises ``ValueError`` naming the conversion.
* Shapes must match exactly (``[batch]`` predictions with ``[batch, 1]`` targets is an
  error, never a silent broadcast to ``[batch, batch]``).

Errata of the course, and what is implemented instead:

* The course writes the 0/1 loss as ``(y - sign<w, x>)^2 / 2 = 1 - y sign<w, x>``, which is
  2 for a mistake; :func:`zero_one_loss` is 1 for a mistake and 0 otherwise.
* The course's perceptron surrogate ``max(-y sign<w, x>, 0)`` keeps ``sign`` inside, which
  makes it flat (zero gradient everywhere). :func:`perceptron_loss` is ``max(0, -y f)``.
* The course calls ``max(-y y_hat, 0)`` the "hinge" loss; that is the perceptron loss. The
  hinge loss of SVMs is :func:`hinge_loss`, ``max(0, 1 - y f)``.
* The course writes categorical cross-entropy as ``sum y log y_hat`` without its minus sign;
  minimizing that would make predictions worse. :func:`categorical_cross_entropy` is
  ``-sum y log y_hat``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from jaxnn._checks import check_float, check_same_shape

__all__ = [
    "zero_one_loss",
    "perceptron_loss",
    "hinge_loss",
    "squared_hinge_loss",
    "mean_squared_error",
    "mean_absolute_error",
    "huber_loss",
    "log_cosh",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "categorical_cross_entropy",
    "categorical_cross_entropy_with_logits",
    "kl_divergence",
    "reduce",
    "get",
    "names",
]

_REDUCTIONS = ("none", "mean", "sum")


def reduce(values: ArrayLike, reduction: str = "mean") -> jax.Array:
    """Reduces per-example loss values over the batch.

    Args:
      values: per-example losses, shape ``[batch]``.
      reduction: ``"none"`` (return ``values``), ``"mean"`` or ``"sum"``.

    >>> reduce(jnp.array([1.0, 3.0]), "mean")
    Array(2., dtype=float32)
    """
    values = jnp.asarray(values)
    if reduction == "none":
        return values
    if reduction == "mean":
        return jnp.mean(values)
    if reduction == "sum":
        return jnp.sum(values)
    raise ValueError(f"reduction must be one of {_REDUCTIONS}, got {reduction!r}")


def _per_example(values: jax.Array, how: str) -> jax.Array:
    """Reduces all axes after the first (the batch axis) with ``how`` ('mean' or 'sum')."""
    if values.ndim <= 1:
        return values
    axes = tuple(range(1, values.ndim))
    return jnp.mean(values, axis=axes) if how == "mean" else jnp.sum(values, axis=axes)


def _pair(predictions: ArrayLike, targets: ArrayLike, p_name: str, t_name: str):
    p = check_float(predictions, p_name)
    t = check_float(targets, t_name)
    check_same_shape(p, t, p_name, t_name)
    return p, t


def _check_pm1(labels: jax.Array) -> None:
    # Data-dependent, so only possible on concrete values (outside jit). Under jit the
    # convention is documented instead.
    if isinstance(labels, jax.core.Tracer):
        return
    values = np.unique(np.asarray(labels))
    bad = values[(values != -1) & (values != 1)]
    if bad.size:
        raise ValueError(
            f"labels must be in {{-1, +1}} for margin losses, found {bad[:5].tolist()}; "
            "convert {0, 1} labels with jaxnn.data.labels_to_pm1(labels)"
        )


def _check_01(labels: jax.Array) -> None:
    # As _check_pm1: concrete values only. [0, 1] rather than {0, 1} because soft targets
    # (label smoothing, distillation) are valid; -1 (a {-1, +1} label) or 2 never are.
    if isinstance(labels, jax.core.Tracer):
        return
    values = np.unique(np.asarray(labels))
    bad = values[~((values >= 0) & (values <= 1))]  # NaN is bad too
    if bad.size:
        raise ValueError(
            f"labels must be in [0, 1] (usually {{0, 1}}) for binary cross-entropy, found "
            f"{bad[:5].tolist()}; convert {{-1, +1}} labels with jaxnn.data.labels_to_01(labels)"
        )


def _safe_log(p: jax.Array) -> jax.Array:
    # log(max(p, tiny)): finite value *and* finite gradient at p == 0, where a plain
    # log gives -inf and 0 * inf = NaN in the chain rule. In float32 the clamp is
    # log(1.18e-38) = -87.3 (PyTorch's BCELoss clamps the log at -100 instead).
    return jnp.log(jnp.maximum(p, jnp.finfo(p.dtype).tiny))


def zero_one_loss(scores: ArrayLike, labels: ArrayLike, *, reduction: str = "none") -> jax.Array:
    r"""The 0/1 loss: 1 where ``sign(score) != label``, 0 where the prediction is right.

    ``sign`` is :func:`jaxnn.activations.sign` (``sign(0) = +1``). Not differentiable
    (its gradient is zero almost everywhere); used to *count* mistakes.

    Args:
      scores: real-valued scores ``f(x)``, shape ``[batch]`` (or ``[batch, 1]``).
      labels: labels in {-1, +1}, same shape.
      reduction: ``"none"``, ``"mean"`` (the error rate) or ``"sum"`` (the mistake count).

    >>> zero_one_loss(jnp.array([2.0, -1.0]), jnp.array([1.0, 1.0]))
    Array([0., 1.], dtype=float32)
    """
    f, y = _pair(scores, labels, "scores", "labels")
    _check_pm1(y)
    predicted = jnp.where(f >= 0, 1.0, -1.0).astype(f.dtype)
    return reduce(_per_example((predicted != y).astype(f.dtype), "mean"), reduction)


def perceptron_loss(scores: ArrayLike, labels: ArrayLike, *, reduction: str = "none") -> jax.Array:
    r"""The perceptron's surrogate loss, :math:`\max(0, -y f)`.

    Its gradient with respect to ``w`` for ``f = <w, x>`` is ``-y x`` on a mistake and 0
    otherwise, so gradient descent on it is Rosenblatt's update ``w += eta y x``.

    Args:
      scores: real-valued scores ``f(x)``, shape ``[batch]``.
      labels: labels in {-1, +1}, same shape.
      reduction: ``"none"``, ``"mean"`` or ``"sum"``.

    >>> perceptron_loss(jnp.array([2.0, -0.5]), jnp.array([1.0, 1.0]))
    Array([0. , 0.5], dtype=float32)
    """
    f, y = _pair(scores, labels, "scores", "labels")
    _check_pm1(y)
    return reduce(_per_example(jnp.maximum(0.0, -y * f), "mean"), reduction)


def hinge_loss(
    scores: ArrayLike, labels: ArrayLike, *, margin: float = 1.0, reduction: str = "none"
) -> jax.Array:
    r"""The hinge loss of SVMs, :math:`\max(0, m - y f)` with margin ``m`` (default 1).

    Unlike :func:`perceptron_loss` it also penalizes right predictions of low
    confidence (``0 < y f < m``). ``margin=0`` gives the perceptron loss.

    >>> hinge_loss(jnp.array([2.0, 0.5]), jnp.array([1.0, 1.0]))
    Array([0. , 0.5], dtype=float32)
    """
    f, y = _pair(scores, labels, "scores", "labels")
    _check_pm1(y)
    return reduce(_per_example(jnp.maximum(0.0, margin - y * f), "mean"), reduction)


def squared_hinge_loss(
    scores: ArrayLike, labels: ArrayLike, *, margin: float = 1.0, reduction: str = "none"
) -> jax.Array:
    r"""The squared hinge loss, :math:`\max(0, m - y f)^2`, differentiable at the hinge.

    >>> squared_hinge_loss(jnp.array([2.0, 0.5]), jnp.array([1.0, 1.0]))
    Array([0.  , 0.25], dtype=float32)
    """
    f, y = _pair(scores, labels, "scores", "labels")
    _check_pm1(y)
    return reduce(_per_example(jnp.maximum(0.0, margin - y * f) ** 2, "mean"), reduction)


def mean_squared_error(
    predictions: ArrayLike, targets: ArrayLike, *, reduction: str = "none"
) -> jax.Array:
    r"""Squared error :math:`(t - y)^2` (L2), averaged over the outputs of each example.

    Args:
      predictions: shape ``[batch]`` or ``[batch, outputs]``.
      targets: the same shape.
      reduction: ``"none"`` gives ``[batch]``; ``"mean"`` gives the usual MSE.

    >>> mean_squared_error(jnp.array([1.0, 2.0]), jnp.array([1.0, 4.0]))
    Array([0., 4.], dtype=float32)
    """
    p, t = _pair(predictions, targets, "predictions", "targets")
    return reduce(_per_example((p - t) ** 2, "mean"), reduction)


def mean_absolute_error(
    predictions: ArrayLike, targets: ArrayLike, *, reduction: str = "none"
) -> jax.Array:
    r"""Absolute error :math:`|t - y|` (L1), averaged over the outputs of each example.

    More robust to outliers than the squared error; its derivative jumps at 0
    (``jax.grad`` gives the subgradient +1 there).

    >>> mean_absolute_error(jnp.array([1.0, 2.0]), jnp.array([1.0, 4.0]))
    Array([0., 2.], dtype=float32)
    """
    p, t = _pair(predictions, targets, "predictions", "targets")
    return reduce(_per_example(jnp.abs(p - t), "mean"), reduction)


def huber_loss(
    predictions: ArrayLike, targets: ArrayLike, *, delta: float = 1.0, reduction: str = "none"
) -> jax.Array:
    r"""Huber loss: :math:`r^2/2` for :math:`|r| \le \delta`, :math:`\delta(|r| - \delta/2)` beyond.

    ``r = predictions - targets``; as in Optax and Keras (PyTorch's ``HuberLoss`` is the same;
    its ``SmoothL1Loss`` divides by ``delta``).

    >>> huber_loss(jnp.array([0.5, 3.0]), jnp.array([0.0, 0.0]))
    Array([0.125, 2.5  ], dtype=float32)
    """
    if delta <= 0:
        raise ValueError(f"delta must be > 0, got {delta}")
    p, t = _pair(predictions, targets, "predictions", "targets")
    a = jnp.abs(p - t)
    quadratic = jnp.minimum(a, delta)
    # Written as q^2/2 + delta (a - q): one formula for both branches, smooth gradient.
    values = 0.5 * quadratic**2 + delta * (a - quadratic)
    return reduce(_per_example(values, "mean"), reduction)


def log_cosh(predictions: ArrayLike, targets: ArrayLike, *, reduction: str = "none") -> jax.Array:
    r"""Log-cosh loss, :math:`\log\cosh(y - t)`: quadratic near 0, linear far away.

    Computed as ``log1p(2 sinh^2(|r|/2))`` for ``|r| < 1`` (accurate for tiny residuals, where
    Optax's ``log(cosh)`` form cancels) and as ``|r| + log1p(exp(-2|r|)) - log 2`` beyond, so
    ``cosh`` never overflows.

    >>> log_cosh(jnp.array([0.0]), jnp.array([0.0]))
    Array([0.], dtype=float32)
    """
    p, t = _pair(predictions, targets, "predictions", "targets")
    a = jnp.abs(p - t)
    # Two exact forms: log cosh a = log1p(2 sinh^2(a/2)) has no cancellation for small a;
    # a + log1p(e^{-2a}) - log 2 never overflows for large a. Each branch gets an input that
    # is safe for it, so neither the unused value nor its gradient can be inf or NaN.
    small = a < 1.0
    a_small = jnp.where(small, a, 0.0)
    a_large = jnp.where(small, 1.0, a)
    values = jnp.where(
        small,
        jnp.log1p(2.0 * jnp.sinh(a_small / 2.0) ** 2),
        a_large + jnp.log1p(jnp.exp(-2.0 * a_large)) - jnp.log(2.0).astype(a.dtype),
    )
    return reduce(_per_example(values, "mean"), reduction)


def binary_cross_entropy(
    probabilities: ArrayLike, labels: ArrayLike, *, reduction: str = "none"
) -> jax.Array:
    r"""Binary cross-entropy from probabilities, :math:`-[y \log p + (1 - y)\log(1 - p)]`.

    Probabilities of exactly 0 and 1 give finite values and gradients: the log is
    clamped at ``log(finfo.tiny)`` (-87.3 in float32). A perfect prediction gives 0.
    Prefer :func:`binary_cross_entropy_with_logits` in training: it is exact where
    the sigmoid saturates, whereas through a saturated sigmoid this loss's gradient
    with respect to the logit is exactly 0, so a confident mistake is never corrected.

    Args:
      probabilities: predicted P(y = 1), in [0, 1], shape ``[batch]`` or ``[batch, 1]``.
      labels: targets in [0, 1] (usually {0, 1}), same shape. Outside ``jit`` any other
        value (e.g. a -1 of {-1, +1} labels) raises ``ValueError``.

    >>> binary_cross_entropy(jnp.array([1.0, 0.5]), jnp.array([1.0, 1.0]))
    Array([0.       , 0.6931472], dtype=float32)
    """
    p, y = _pair(probabilities, labels, "probabilities", "labels")
    _check_01(y)
    values = -y * _safe_log(p) - (1.0 - y) * _safe_log(1.0 - p)
    return reduce(_per_example(values, "mean"), reduction)


def binary_cross_entropy_with_logits(
    logits: ArrayLike, labels: ArrayLike, *, reduction: str = "none"
) -> jax.Array:
    r"""Binary cross-entropy from logits ``z``: :math:`-[y \log S(z) + (1 - y)\log(1 - S(z))]`.

    Computed as ``softplus(z) - y z`` with a stable softplus (``logaddexp(z, 0)``), which is
    exact for logits of any size (``S`` then ``log`` would give ``log(0)`` for ``z = -1e4``).

    Args:
      logits: real-valued scores, shape ``[batch]`` or ``[batch, 1]``.
      labels: targets in [0, 1] (usually {0, 1}), same shape. Outside ``jit`` any other
        value (e.g. a -1 of {-1, +1} labels) raises ``ValueError``.

    >>> binary_cross_entropy_with_logits(jnp.array([0.0]), jnp.array([1.0]))
    Array([0.6931472], dtype=float32)
    """
    z, y = _pair(logits, labels, "logits", "labels")
    _check_01(y)
    # softplus(z) - y z. logaddexp is the stable softplus *with* the right gradient at z = 0
    # (max(z, 0) + log1p(exp(-|z|)) has the same value but a gradient of -y there, not 1/2 - y).
    values = jnp.logaddexp(z, 0.0) - y * z
    return reduce(_per_example(values, "mean"), reduction)


def _check_classes(x: jax.Array, name: str) -> jax.Array:
    if x.ndim != 2:
        raise ValueError(
            f"{name} must have shape [batch, classes], got {x.shape}; "
            f"for a single example use {name}[None, :]"
        )
    return x


def _class_targets(
    labels: ArrayLike, num_classes: int, dtype, label_smoothing: float, p_shape: tuple
) -> jax.Array:
    """One-hot (or smoothed) targets from integer labels ``[batch]`` or one-hot ``[batch, K]``."""
    if not 0.0 <= label_smoothing < 1.0:
        raise ValueError(f"label_smoothing must be in [0, 1), got {label_smoothing}")
    labels = jnp.asarray(labels)
    if jnp.issubdtype(labels.dtype, jnp.integer):
        if labels.shape != p_shape[:-1]:
            raise ValueError(
                f"integer labels must have shape {p_shape[:-1]} (one class index per example) "
                f"for predictions of shape {p_shape}, got labels.shape={labels.shape}"
            )
        if not isinstance(labels, jax.core.Tracer):
            host = np.asarray(labels)
            if host.size and (host.min() < 0 or host.max() >= num_classes):
                lo, hi = int(host.min()), int(host.max())
                raise ValueError(
                    f"integer labels must be in [0, {num_classes}) for {num_classes} classes, "
                    f"found values in [{lo}, {hi}]"
                )
        targets = jax.nn.one_hot(labels, num_classes, dtype=dtype)
    elif jnp.issubdtype(labels.dtype, jnp.floating):
        if labels.shape != p_shape:
            raise ValueError(
                f"one-hot labels must have the predictions' shape {p_shape}, got "
                f"labels.shape={labels.shape}; pass integer class indices of shape "
                f"{p_shape[:-1]} or one-hot rows of shape {p_shape}"
            )
        targets = labels.astype(dtype)
    else:
        raise TypeError(f"labels must be integer class indices or float one-hot rows, got {labels.dtype}")
    if label_smoothing:
        targets = (1.0 - label_smoothing) * targets + label_smoothing / num_classes
    return targets


def categorical_cross_entropy(
    probabilities: ArrayLike,
    labels: ArrayLike,
    *,
    label_smoothing: float = 0.0,
    reduction: str = "none",
) -> jax.Array:
    r"""Categorical cross-entropy from probabilities, :math:`-\sum_k y_k \log p_k`.

    The course writes :math:`\sum y \log \hat y` without the minus sign; this is the
    correct (non-negative) form. Probabilities are used as given (not renormalized); an
    exact 0 is clamped in the log as in :func:`binary_cross_entropy`.

    Args:
      probabilities: ``[batch, classes]``, rows summing to one (e.g. a softmax output).
      labels: integer class indices ``[batch]`` or one-hot float rows ``[batch, classes]``.
      label_smoothing: ``a`` in ``y = (1 - a) y + a / classes``.

    >>> categorical_cross_entropy(jnp.array([[1.0, 0.0]]), jnp.array([0]))
    Array([0.], dtype=float32)
    """
    p = _check_classes(check_float(probabilities, "probabilities"), "probabilities")
    y = _class_targets(labels, p.shape[-1], p.dtype, label_smoothing, p.shape)
    return reduce(_per_example(-y * _safe_log(p), "sum"), reduction)


def categorical_cross_entropy_with_logits(
    logits: ArrayLike,
    labels: ArrayLike,
    *,
    label_smoothing: float = 0.0,
    reduction: str = "none",
) -> jax.Array:
    r"""Categorical (softmax) cross-entropy from logits, :math:`-\sum_k y_k \log\mathrm{softmax}(z)_k`.

    Uses ``log_softmax`` (a max-shifted log-sum-exp), so it is finite for logits of ±1e4.

    Args:
      logits: ``[batch, classes]``.
      labels: integer class indices ``[batch]`` or one-hot float rows ``[batch, classes]``.
      label_smoothing: ``a`` in ``y = (1 - a) y + a / classes`` (as in Optax and Keras).

    >>> categorical_cross_entropy_with_logits(jnp.array([[0.0, 0.0]]), jnp.array([1]))
    Array([0.6931472], dtype=float32)
    """
    z = _check_classes(check_float(logits, "logits"), "logits")
    y = _class_targets(labels, z.shape[-1], z.dtype, label_smoothing, z.shape)
    return reduce(_per_example(-y * jax.nn.log_softmax(z, axis=-1), "sum"), reduction)


def kl_divergence(
    predictions: ArrayLike, targets: ArrayLike, *, reduction: str = "none"
) -> jax.Array:
    r"""Kullback-Leibler divergence :math:`KL(t \| p) = \sum_k t_k (\log t_k - \log p_k)`.

    Both arguments are probability distributions over the last axis (unlike Optax's
    ``kl_divergence``, which takes *log*-predictions). ``0 log 0 = 0``; zero when
    ``predictions == targets``.

    Args:
      predictions: predicted distribution ``p``, ``[batch, classes]``.
      targets: target distribution ``t``, same shape.

    >>> kl_divergence(jnp.array([[0.5, 0.5]]), jnp.array([[0.5, 0.5]]))
    Array([0.], dtype=float32)
    """
    p, t = _pair(predictions, targets, "predictions", "targets")
    _check_classes(p, "predictions")
    values = jax.scipy.special.xlogy(t, t) - t * _safe_log(p)
    return reduce(_per_example(values, "sum"), reduction)


_LOSSES = {
    "zero_one": zero_one_loss,
    "perceptron": perceptron_loss,
    "hinge": hinge_loss,
    "squared_hinge": squared_hinge_loss,
    "mse": mean_squared_error,
    "mae": mean_absolute_error,
    "huber": huber_loss,
    "log_cosh": log_cosh,
    "binary_cross_entropy": binary_cross_entropy,
    "binary_cross_entropy_with_logits": binary_cross_entropy_with_logits,
    "categorical_cross_entropy": categorical_cross_entropy,
    "categorical_cross_entropy_with_logits": categorical_cross_entropy_with_logits,
    "kl_divergence": kl_divergence,
}


def names() -> tuple[str, ...]:
    """The loss names accepted by :func:`get`, sorted."""
    return tuple(sorted(_LOSSES))


def get(name: str):
    """Returns the loss function called ``name`` (e.g. ``"mse"``, ``"hinge"``).

    Raises:
      ValueError: for an unknown name, listing the valid ones.

    >>> get("mse") is mean_squared_error
    True
    """
    try:
        return _LOSSES[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown loss {name!r}; valid names are: {', '.join(names())}") from None
