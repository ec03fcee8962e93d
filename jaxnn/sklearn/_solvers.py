"""scikit-learn's meanings in jaxnn's terms: the activations, the solvers, and the loss and
score that scikit-learn's MLPs minimize and report, as per-example functions for ``fit``."""

from __future__ import annotations

from collections.abc import Callable
from numbers import Real
from typing import Any

import jax.numpy as jnp
import numpy as np
from scipy.special import expit

from jaxnn import losses, optim

#: scikit-learn's hidden activations and the :mod:`jaxnn.activations` function each one is.
ACTIVATIONS = {"identity": "identity", "logistic": "sigmoid", "tanh": "tanh", "relu": "relu"}

# The same activations on the host, in float64, for predictions (see _BaseMLP._forward).
HOST_ACTIVATIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "identity": lambda z: z,
    "logistic": expit,
    "tanh": np.tanh,
    "relu": lambda z: np.maximum(z, 0.0),
}


def as_float(value: Any) -> Any:
    """A Python float for a number (what jaxnn lifts out of a compiled program), other values
    (the traced hyperparameters of a grid search's sweep) as they are."""
    return float(value) if isinstance(value, Real) else value


def _adam(est: Any, lr: float):
    # scikit-learn's Adam adds epsilon to the root of the *uncorrected* second moment
    # (lr_t = lr sqrt(1 - b2^t) / (1 - b1^t)): jaxnn's eps_hat form.
    return optim.adam(lr, as_float(est.beta_1), as_float(est.beta_2), as_float(est.epsilon), eps_hat=True)


def _sgd(est: Any, lr: float):
    # scikit-learn's velocity holds learning-rate-scaled steps (v = mu v - lr g), Keras's form;
    # momentum=0 is plain gradient descent.
    return optim.momentum(lr, as_float(est.momentum), nesterov=bool(est.nesterovs_momentum), lr_in_velocity=True)


def _adamw(est: Any, lr: float):
    return optim.adamw(lr, as_float(est.beta_1), as_float(est.beta_2), as_float(est.epsilon), eps_hat=True)


# scikit-learn's Adam and SGD read the estimator's own hyperparameters; jaxnn's "momentum"
# is scikit-learn's "sgd" with momentum; every other optimizer of the registry is offered by
# its name, with its own defaults.
_OWN_FORMS = {"adam": _adam, "sgd": _sgd, "adamw": _adamw}

#: ``solver`` names: scikit-learn's ``"adam"`` and ``"sgd"`` (with its ``momentum`` and
#: ``nesterovs_momentum``), and the other optimizers of :data:`jaxnn.optim.OPTIMIZERS` by
#: name, each at ``learning_rate_init``.
SOLVERS: dict[str, Callable[[Any, float], Any]] = {
    name: _OWN_FORMS.get(name, lambda est, lr, make=info.make: make(lr))
    for name, info in optim.OPTIMIZERS.items()
    if name != "momentum"
}


def weighted_loss(apply: Callable, kind: str, width: int, alpha: float) -> Callable:
    """scikit-learn's batch loss as per-example values whose mean is that loss.

    scikit-learn minimizes, per batch, ``sum_i w_i l_i / sum_i w_i + alpha / 2 * ||W||^2 /
    sum_i w_i`` (``||W||^2`` over the weight matrices, not the biases), with ``l_i`` half the
    squared error summed over the outputs, the cross-entropy, or the binary cross-entropy
    summed over the labels. ``fit`` averages the per-example values over a batch of ``B`` rows,
    so row ``i`` contributes ``B w_i l_i / sum w + alpha / 2 ||W||^2 / sum w``. ``y`` holds the
    targets and, last, the weight. A batch of padding rows only (all weights 0) adds nothing.
    """

    def loss(params, x, y):
        targets, weights = y[:, :width], y[:, width]
        logits = apply(params, x)
        if kind == "regression":
            # Summed over the outputs: scikit-learn's gradient (output deltas y_hat - y) is that
            # of the sum, though the loss it reports is averaged over the outputs.
            per = 0.5 * width * losses.mean_squared_error(logits, targets)
        elif kind == "multiclass":
            per = losses.categorical_cross_entropy_with_logits(logits, targets)
        else:  # binary and multilabel: one sigmoid per output, the losses summed
            per = width * losses.binary_cross_entropy_with_logits(logits, targets)
        total = jnp.sum(weights)
        inverse = jnp.where(total > 0, 1.0 / jnp.where(total > 0, total, 1.0), 0.0)
        l2 = sum(jnp.sum(layer["w"] ** 2) for layer in params)
        return x.shape[0] * inverse * weights * per + 0.5 * alpha * l2 * inverse

    return loss


def weighted_score(apply: Callable, kind: str, width: int) -> Callable:
    """``score(params, x, y)``: scikit-learn's ``score`` with the weights in ``y``'s last column.

    Accuracy (all labels right, for multilabel) for classifiers; R^2 averaged over the outputs
    for regressors (an output whose targets are constant scores 1 when predicted exactly, else
    0, as ``sklearn.metrics.r2_score``).
    """

    def score(params, x, y):
        targets, weights = y[:, :width], y[:, width]
        logits = apply(params, x)
        total = jnp.sum(weights)
        if kind == "regression":
            mean = jnp.sum(weights[:, None] * targets, axis=0) / total
            residual = jnp.sum(weights[:, None] * (targets - logits) ** 2, axis=0)
            spread = jnp.sum(weights[:, None] * (targets - mean) ** 2, axis=0)
            r2 = jnp.where(spread > 0, 1.0 - residual / jnp.where(spread > 0, spread, 1.0),
                           jnp.where(residual > 0, 0.0, 1.0))
            return jnp.mean(r2)
        if kind == "multiclass":
            right = jnp.argmax(logits, axis=1) == jnp.argmax(targets, axis=1)
        else:
            right = jnp.all((logits > 0) == (targets > 0.5), axis=1)
        return jnp.sum(weights * right) / total

    return score
