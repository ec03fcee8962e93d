"""``Perceptron``: scikit-learn's estimator, Rosenblatt's rule run by :func:`jaxnn.train.fit`."""

from __future__ import annotations

import warnings
from numbers import Integral, Real
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import Interval
from sklearn.utils.multiclass import check_classification_targets, unique_labels
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, column_or_1d, validate_data

from jaxnn import optim, train
from jaxnn.sklearn import _files, _rows

__all__ = ["Perceptron"]


def _rosenblatt_loss(fit_intercept: bool, width: int):
    """Per-example ``w_i * sum_k max(0, -y_ik f_k(x_i))``, one-vs-rest labels ``y`` in {-1, +1}.

    Its gradient step with learning rate ``eta0`` on one sample is Rosenblatt's update
    ``W += eta0 w_i y_ik x_i`` for each class ``k`` that the sample is a mistake for
    (``y f <= 0``, the boundary included). The ``where`` takes the full subgradient on the
    boundary, where ``jax.grad`` of ``max`` would take half of it (and the first sample of a
    fit always lies on it, since the weights start at 0).
    """

    def loss(params, x, y):
        targets, weights = y[:, :width], y[:, width]
        scores = x @ params["w"]
        if fit_intercept:
            scores = scores + params["b"]
        margins = targets * scores
        return weights * jnp.sum(jnp.where(margins <= 0, -margins, 0.0), axis=1)

    return loss


class Perceptron(_files.Saveable, ClassifierMixin, BaseEstimator):
    """scikit-learn's ``Perceptron``: Rosenblatt's rule, one sample at a time, compiled whole.

    Each epoch visits the samples (reshuffled when ``shuffle``) and, for a sample that a
    class's linear score gets wrong or leaves on the boundary (``y f(x) <= 0``, labels
    one-vs-rest in {-1, +1}), adds ``eta0 * sample_weight * y * x`` to that class's weights
    (and ``eta0 * sample_weight * y`` to its intercept), from weights 0: scikit-learn's
    ``Perceptron()`` with its defaults (no penalty). It is stochastic gradient descent with
    batch size 1 on the perceptron loss, run by :func:`jaxnn.train.fit` in one compiled
    program per structure; with ``shuffle=False`` it makes the updates of
    :func:`jaxnn.perceptron.perceptron` (tested).

    Args:
      fit_intercept: learn an intercept (otherwise it stays 0).
      max_iter: the most epochs.
      tol: stop when the epoch's mean loss has not improved by ``tol`` for
        ``n_iter_no_change`` epochs; ``None`` runs ``max_iter`` epochs.
      shuffle: reshuffle the samples every epoch.
      eta0: the learning rate.
      random_state: ``None``, an int or a ``RandomState`` for the shuffles (default 0, as
        scikit-learn's).
      n_iter_no_change: the patience of the ``tol`` rule.
      warm_start: start ``fit`` from the fitted weights.

    Attributes:
      classes_: the class labels.
      coef_: ``[1, n_features]`` for two classes, else ``[n_classes, n_features]`` (float32).
      intercept_: ``[1]`` or ``[n_classes]``.
      n_iter_: the epochs run by the last fit.
      t_: the number of weight updates tried, ``n_iter_ * n_samples + 1`` (scikit-learn's count).
      n_features_in_, feature_names_in_: the input's width and column names.
    """

    # Checked by scikit-learn's own parameter validation when fitting (BaseEstimator._validate_params),
    # which also lets its estimator checks try invalid values of each.
    _parameter_constraints: dict = {
        "fit_intercept": ["boolean"],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left"), None],
        "shuffle": ["boolean"],
        "eta0": [Interval(Real, 0, None, closed="neither")],
        "random_state": ["random_state"],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "warm_start": ["boolean"],
    }

    def __init__(self, *, fit_intercept=True, max_iter=1000, tol=1e-3, shuffle=True, eta0=1.0, random_state=0,
                 n_iter_no_change=5, warm_start=False):
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.tol = tol
        self.shuffle = shuffle
        self.eta0 = eta0
        self.random_state = random_state
        self.n_iter_no_change = n_iter_no_change
        self.warm_start = warm_start

    _SAVED_ARRAYS = ("coef_", "intercept_")
    _SAVED_VALUES = ("n_features_in_", "classes_", "n_iter_", "t_")

    def _after_load(self) -> None:
        outputs = 1 if len(self.classes_) == 2 else len(self.classes_)
        if len(self.classes_) < 2 or self.coef_.shape != (outputs, int(self.n_features_in_)) or \
                self.intercept_.shape != (outputs,):
            raise ValueError(f"coef_ {self.coef_.shape} and intercept_ {self.intercept_.shape} do not fit "
                             f"{len(self.classes_)} classes and {self.n_features_in_} features")

    def _fit(self, X, y, sample_weight, classes: Any, incremental: bool):
        self._validate_params()
        first = not hasattr(self, "coef_") or (not self.warm_start and not incremental)
        X, y = validate_data(self, X, y, dtype=(np.float64, np.float32), order="C", reset=first)
        y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        if first:
            self.classes_ = np.unique(y) if classes is None else unique_labels(classes)
        elif len(np.setdiff1d(unique_labels(y), self.classes_, assume_unique=True)):
            raise ValueError(f"`y` has classes not in `self.classes_`. `self.classes_` has {self.classes_}. "
                             f"'y' has {unique_labels(y)}.")
        if len(self.classes_) < 2:
            raise ValueError(f"The number of classes has to be greater than one; got {len(self.classes_)} class")
        weights = (np.ones(X.shape[0]) if sample_weight is None
                   else _check_sample_weight(sample_weight, X, dtype=np.float64))
        columns = self.classes_[1:] if len(self.classes_) == 2 else self.classes_
        targets = np.where(y[:, None] == columns[None, :], 1.0, -1.0)
        width, n = targets.shape[1], X.shape[0]
        # Weights for the padding columns of x (see _rows.pack) start and stay at 0.
        w = np.zeros((X.shape[1], width), np.float32) if first else self.coef_.T
        params = {"w": jnp.asarray(_rows.pad_rows(w, _rows.columns(X.shape[1])))}
        if self.fit_intercept:
            params["b"] = jnp.zeros((width,), jnp.float32) if first else jnp.asarray(self.intercept_)
        seed = _rows.seed_of(self.random_state)
        key = jax.random.key(seed)
        if incremental and not first:  # each partial_fit call shuffles with a key of its own
            key = jax.random.fold_in(key, self.t_)
        rows = _rows.bucket(n)
        x_fit, y_fit = _rows.pack(X, targets, weights, rows)
        rule = None
        if self.tol is not None and not incremental:
            # fit's training loss is the mean over the padded rows; scikit-learn's tol is per real row.
            rule = train.EarlyStopping("train_loss", "min", int(self.n_iter_no_change), float(self.tol) * n / rows,
                                       False, "best")
        result = train.fit(params, _rosenblatt_loss(bool(self.fit_intercept), width), x_fit, y_fit,
                           optimizer=optim.sgd(float(self.eta0)), key=key, epochs=1 if incremental else self.max_iter,
                           batch_size=1, shuffle=bool(self.shuffle), early_stopping=rule)
        history = jax.device_get(result.history)
        if int(history.nonfinite_epoch) >= 0:
            raise ValueError("Floating-point under-/overflow occurred at epoch "
                             f"#{int(history.nonfinite_epoch) + 1}. Scaling input data with StandardScaler "
                             "or MinMaxScaler might help.")
        params = jax.device_get(result.params)
        self.coef_ = np.asarray(params["w"])[: X.shape[1]].T.copy()
        self.intercept_ = np.asarray(params["b"]) if self.fit_intercept else np.zeros(width, np.float32)
        self.n_iter_ = int(history.epochs_run)
        self.t_ = (getattr(self, "t_", 1) if incremental and not first else 1) + self.n_iter_ * n
        if not incremental and self.tol is not None and self.n_iter_ == self.max_iter:
            warnings.warn("Maximum number of iteration reached before convergence. Consider increasing max_iter "
                          "to improve the fit.", ConvergenceWarning, stacklevel=3)
        return self

    def fit(self, X, y, sample_weight=None):
        """Trains from weights 0 (or the fitted ones with ``warm_start``).

        Args:
          X: inputs ``[n_samples, n_features]``.
          y: class labels ``[n_samples]`` (two or more classes).
          sample_weight: ``[n_samples]`` non-negative weights: each update is scaled by its
            sample's weight (``None``: all 1).

        Returns:
          ``self``, fitted.
        """
        return self._fit(X, y, sample_weight, None, incremental=False)

    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """One more epoch on ``(X, y)``, from the fitted weights.

        Args:
          X: inputs ``[n_samples, n_features]``.
          y: class labels ``[n_samples]``.
          classes: every class label; required on the first call.
          sample_weight: ``[n_samples]`` weights (``None``: all 1).

        Returns:
          ``self``.
        """
        if not hasattr(self, "classes_") and classes is None:
            raise ValueError("classes must be passed on the first call to partial_fit.")
        return self._fit(X, y, sample_weight, classes, incremental=True)

    def decision_function(self, X):
        """The classes' scores ``X @ coef_.T + intercept_``, in float64.

        Args:
          X: inputs ``[n_samples, n_features]``.

        Returns:
          ``[n_samples]`` for two classes (positive: ``classes_[1]``), else ``[n_samples, n_classes]``.
        """
        check_is_fitted(self)
        X = validate_data(self, X, dtype=(np.float64, np.float32), reset=False)
        scores = np.asarray(X, np.float64) @ self.coef_.T.astype(np.float64) + self.intercept_.astype(np.float64)
        return scores.ravel() if scores.shape[1] == 1 else scores

    def predict(self, X):
        """The class of each row: ``classes_[1]`` where the score is > 0 (two classes), else the argmax.

        Args:
          X: inputs ``[n_samples, n_features]``.

        Returns:
          ``[n_samples]`` labels from ``classes_``.
        """
        scores = self.decision_function(X)
        return self.classes_[(scores > 0).astype(int) if scores.ndim == 1 else scores.argmax(axis=1)]
