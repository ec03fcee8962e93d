"""The scores the command line reports: in the metrics JSON of ``train`` and on ``predict``'s stderr."""

from __future__ import annotations

import math
from typing import Any

import jax
import numpy as np

from jaxnn import _tabular as tabular
from jaxnn import metrics


def finite(v: float) -> float | None:
    """``v`` as a float, or ``None`` (JSON ``null``) when it is NaN or infinite."""
    v = float(v)
    return v if math.isfinite(v) else None


def finite_list(a: Any) -> list[float | None]:
    """The values of ``a`` as :func:`finite` floats."""
    return [finite(v) for v in np.asarray(a)]


def regression_scores(pred: np.ndarray, true: np.ndarray) -> dict[str, float | None]:
    """MSE, MAE and R^2 (averaged over targets) in float64: in original units a squared
    error can exceed float32's range.

    Args:
      pred: predictions ``[N, T]`` in original units.
      true: targets ``[N, T]``.

    Returns:
      ``{"mse", "mae", "r2"}``, each ``None`` where it is not finite.
    """
    err = pred.astype(np.float64) - true.astype(np.float64)
    ss_tot = ((true - true.mean(axis=0)) ** 2).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        r2 = float(np.mean(1.0 - (err**2).sum(axis=0) / ss_tot))
    return {"mse": finite(np.mean(err**2)), "mae": finite(np.mean(np.abs(err))), "r2": finite(r2)}


def evaluate(model: tabular.Model, x: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    """Metrics of ``model`` on standardized inputs ``x`` and encoded targets ``y`` (original units).

    Args:
      model: the trained model.
      x: standardized inputs ``float32 [N, features]``.
      y: the encoded targets: ``float64 [N, T]`` for a regression, class indices ``[N]``.

    Returns:
      :func:`regression_scores` for a regression; ``{"accuracy", "f1_macro",
      "confusion_matrix"}`` for a classification.
    """
    out = model.predict(x)
    if model.config["task"] == "regression":
        return regression_scores(out, y)
    k = len(model.config["class_names"])
    fn = lambda p, t: (metrics.accuracy(p, t), metrics.f1_score(p, t, k), metrics.confusion_matrix(p, t, k))
    acc, f1, cm = jax.jit(fn)(np.argmax(out, axis=1).astype(np.int32), y.reshape(-1).astype(np.int32))
    return {"accuracy": float(acc), "f1_macro": float(f1), "confusion_matrix": np.asarray(cm).tolist()}
