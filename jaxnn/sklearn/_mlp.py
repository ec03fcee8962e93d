"""``MLPClassifier`` and the base it shares with ``MLPRegressor``: scikit-learn's estimators, trained by
:func:`jaxnn.train.fit`."""

from __future__ import annotations

import warnings
from numbers import Integral, Real
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets, type_of_target, unique_labels
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, column_or_1d, validate_data

from jaxnn import nn, train
from jaxnn.sklearn import _files, _replay, _rows
from jaxnn.sklearn._solvers import ACTIVATIONS, HOST_ACTIVATIONS, SOLVERS, weighted_loss, weighted_score

__all__ = ["MLPClassifier"]

class _BaseMLP(_files.Saveable, BaseEstimator):
    """What the classifier and the regressor share: parameters, training, the forward pass, files."""

    _SAVED_ARRAYS = ("coefs_", "intercepts_")
    _SAVED_VALUES = ("n_features_in_", "classes_", "n_iter_", "t_", "loss_", "loss_curve_", "best_loss_",
                     "validation_scores_", "best_validation_score_", "n_layers_", "n_outputs_", "out_activation_")

    _kind_default = "regression"
    # Checked by scikit-learn's own parameter validation when fitting (BaseEstimator._validate_params),
    # which also lets its estimator checks try invalid values of each.
    _parameter_constraints: dict = {
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "solver": [StrOptions(set(SOLVERS))],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "batch_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "tol": [Interval(Real, 0, None, closed="left")],
        "warm_start": ["boolean"],
        "momentum": [Interval(Real, 0, 1, closed="left")],
        "nesterovs_momentum": ["boolean"],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "beta_1": [Interval(Real, 0, 1, closed="left")],
        "beta_2": [Interval(Real, 0, 1, closed="left")],
        "epsilon": [Interval(Real, 0, None, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate_init=0.001,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change

    # ------------------------------------------------------------------ parameters

    def _hidden_sizes(self) -> list[int]:
        sizes = self.hidden_layer_sizes
        sizes = [sizes] if np.ndim(sizes) == 0 else list(sizes)
        if not all(isinstance(s, Integral) and not isinstance(s, (bool, np.bool_)) and s >= 1 for s in sizes):
            raise ValueError("The 'hidden_layer_sizes' parameter must hold ints in the range [1, inf). "
                             f"Got {self.hidden_layer_sizes!r} instead.")
        return [int(s) for s in sizes]

    # ------------------------------------------------------------------ training

    def _network(self, outputs: int) -> nn.Layer:
        return nn.MLP(self._hidden_sizes(), outputs, activation=ACTIVATIONS[self.activation])

    def _fit(self, X, y, sample_weight, incremental: bool):
        fresh = not incremental and (not self.warm_start or not hasattr(self, "coefs_"))
        if fresh and _replay.restore(self, X, y, sample_weight):  # trained ahead by a grid search's sweep
            self._warn_if_unconverged()
            return self
        job = self._prepare(X, y, sample_weight, incremental)
        result = train.fit(
            job.params, job.loss, job.x, job.y, optimizer=job.optimizer, key=job.key, epochs=job.epochs,
            batch_size=job.batch, shuffle=bool(self.shuffle), validation_data=job.validation,
            metrics=job.metrics, early_stopping=job.rule, opt_state=job.opt_state,
        )
        self._finish(job, result)
        if not incremental:
            self._warn_if_unconverged()
        return self

    def _warn_if_unconverged(self) -> None:
        if self.n_iter_ == self.max_iter:
            warnings.warn(f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) reached and the "
                          "optimization hasn't converged yet.", ConvergenceWarning, stacklevel=4)

    def _prepare(self, X, y, sample_weight, incremental: bool) -> _replay.Job:
        """Checks the data and parameters and sets up the training run ``fit`` is given.

        Sets the attributes known before training (``n_features_in_``, ``classes_``).
        """
        self._validate_params()
        self._hidden_sizes()
        first = not hasattr(self, "coefs_") or (not self.warm_start and not incremental)
        if incremental and self.early_stopping:
            raise ValueError("partial_fit does not support early_stopping=True")
        X, targets = self._validate_input(X, y, incremental, reset=first)
        weights = (np.ones(X.shape[0]) if sample_weight is None
                   else _check_sample_weight(sample_weight, X, dtype=np.float64))
        width = targets.shape[1]
        if not first and self.coefs_[-1].shape[1] != width:
            raise ValueError(f"y has {width} outputs but the fitted network has {self.coefs_[-1].shape[1]}; "
                             "fit it anew (warm_start=False) to change the outputs")
        # One generator, drawn from in scikit-learn's order: the initial weights, then the
        # validation split, then (here) the seed of the shuffles.
        rs = check_random_state(self.random_state)
        net = self._network(width)
        coefs, intercepts = (self._initial_weights(rs, X.shape[1], width) if first
                             else (self.coefs_, self.intercepts_))
        # The first layer's rows for the padding columns of x are 0 (see _rows.pack).
        params = [{"w": jnp.asarray(_rows.pad_rows(w, _rows.columns(w.shape[0])) if i == 0 else w),
                   "b": jnp.asarray(b)} for i, (w, b) in enumerate(zip(coefs, intercepts))]
        kind = self._kind(width)
        x_train, t_train, w_train = X, targets, weights
        validation, metrics = None, None
        if self.early_stopping:
            # scikit-learn stratifies the split for one output (binary classification) only.
            stratify = targets if kind == "binary" else None
            train_rows, val_rows = train_test_split(
                np.arange(X.shape[0]), random_state=rs,
                test_size=self.validation_fraction, stratify=stratify)
            if val_rows.shape[0] < 2:
                raise ValueError("The validation set is too small. Increase 'validation_fraction' "
                                 "or the size of your dataset.")
            x_train, t_train, w_train = X[train_rows], targets[train_rows], weights[train_rows]
            validation = _rows.pack(X[val_rows], targets[val_rows], weights[val_rows], _rows.bucket(len(val_rows)))
            metrics = {"score": weighted_score(net.apply, kind, width)}
        n = x_train.shape[0]
        requested = min(200, n) if isinstance(self.batch_size, str) else self.batch_size
        if requested > n and not isinstance(self.batch_size, str):
            warnings.warn("Got `batch_size` less than 1 or larger than sample size. It is going to be clipped",
                          stacklevel=4)
        rows, batch = _rows.plan_rows(n, min(requested, n))
        x_fit, y_fit = _rows.pack(x_train, t_train, w_train, rows)
        # scikit-learn stops after n_iter_no_change + 1 epochs whose score (validation) or
        # loss (training) did not improve on the best by tol.
        if self.early_stopping:
            rule = train.EarlyStopping("val_score", "max", self.n_iter_no_change + 1, float(self.tol), True, "best")
        else:
            rule = train.EarlyStopping("train_loss", "min", self.n_iter_no_change + 1, float(self.tol), False, "best")
        shuffle_key = jax.random.key(_rows.seed_of(rs))
        opt_state = getattr(self, "_opt_state", None) if incremental and not first else None
        if opt_state is not None:  # each partial_fit call shuffles with a key of its own
            shuffle_key = jax.random.fold_in(shuffle_key, len(self.loss_curve_))
        return _replay.Job(
            params=params, loss=weighted_loss(net.apply, kind, width, float(self.alpha)), x=x_fit, y=y_fit,
            optimizer=SOLVERS[self.solver](self, float(self.learning_rate_init)), key=shuffle_key,
            epochs=1 if incremental else int(self.max_iter), batch=batch, validation=validation, metrics=metrics,
            rule=rule, opt_state=opt_state, n=n, kind=kind, first=first,
        )

    def _finish(self, job: _replay.Job, result) -> None:
        """Sets the fitted attributes from ``fit``'s result for ``job`` (or a sweep member's)."""
        history = jax.device_get(result.history)
        if int(history.nonfinite_epoch) >= 0:
            raise ValueError("Solver produced non-finite parameter weights. The input data may contain large "
                             "values and need to be preprocessed.")
        self._store(result, history, job.n, job.kind, job.first)

    def _initial_weights(self, rs: np.random.RandomState, features: int, outputs: int) -> tuple[list, list]:
        """scikit-learn's initialization, drawn as it draws it (so from the same ``random_state``
        the same initial weights): weights and biases uniform in ``+-sqrt(6 / (fan_in + fan_out))``
        (``sqrt(2 / ...)`` for the logistic activation), layer by layer, each weight matrix first."""
        units = [features, *self._hidden_sizes(), outputs]
        factor = 2.0 if self.activation == "logistic" else 6.0
        coefs, intercepts = [], []
        for fan_in, fan_out in zip(units[:-1], units[1:]):
            bound = np.sqrt(factor / (fan_in + fan_out))
            coefs.append(rs.uniform(-bound, bound, (fan_in, fan_out)).astype(np.float32))
            intercepts.append(rs.uniform(-bound, bound, fan_out).astype(np.float32))
        return coefs, intercepts

    def _store(self, result, history, n: int, kind: str, fresh: bool) -> None:
        """Sets scikit-learn's fitted attributes from a ``fit`` result (host copies, for pickling)."""
        params = jax.device_get(result.params)
        self.coefs_ = [np.asarray(layer["w"])[: self.n_features_in_] if i == 0 else np.asarray(layer["w"])
                       for i, layer in enumerate(params)]
        self.intercepts_ = [np.asarray(layer["b"]) for layer in params]
        self._opt_state = jax.device_get(result.opt_state)
        run = int(history.epochs_run)
        curve = [float(v) for v in np.asarray(history.train_loss)[:run]]
        if fresh or not hasattr(self, "loss_curve_"):
            self.loss_curve_, self.t_ = [], 0
        self.loss_curve_ = self.loss_curve_ + curve
        self.n_iter_ = run
        self.t_ = self.t_ + run * n
        self.loss_ = self.loss_curve_[-1]
        self.n_layers_ = len(self.coefs_) + 1
        self.n_outputs_ = self.coefs_[-1].shape[1]
        self.out_activation_ = {"regression": "identity", "multiclass": "softmax"}.get(kind, "logistic")
        if self.early_stopping:
            self.validation_scores_ = [float(v) for v in np.asarray(history.val_metrics["score"])[:run]]
            self.best_validation_score_ = float(np.max(self.validation_scores_))
            self.best_loss_ = None
        else:
            self.validation_scores_ = None
            self.best_validation_score_ = None
            self.best_loss_ = float(np.min(self.loss_curve_))

    # ------------------------------------------------------------------ files

    def _saved_structure(self, name: str) -> Any:
        return [0] * (len(self._hidden_sizes()) + 1)

    def _after_load(self) -> None:
        units = [int(self.n_features_in_), *self._hidden_sizes(), int(self.n_outputs_)]
        for i, (w, b) in enumerate(zip(self.coefs_, self.intercepts_)):
            if w.shape != (units[i], units[i + 1]) or b.shape != (units[i + 1],):
                raise ValueError(f"layer {i} has weights {w.shape} and biases {b.shape}, but the sizes "
                                 f"{units} call for {(units[i], units[i + 1])} and {(units[i + 1],)}")
        if self.out_activation_ not in ("identity", "logistic", "softmax"):
            raise ValueError(f"unknown out_activation_ {self.out_activation_!r}")

    # ------------------------------------------------------------------ prediction

    def _forward(self, X) -> np.ndarray:
        """The network's outputs on the host, in float64 (after the output activation).

        NumPy rather than a compiled program: predicting on inputs of any number of rows then
        compiles nothing, and float64 makes a row's prediction independent of the rows around
        it (scikit-learn checks that predictions on a subset equal those on the whole).
        """
        check_is_fitted(self)
        X = validate_data(self, X, dtype=(np.float64, np.float32), reset=False)
        h = np.asarray(X, np.float64)
        hidden = HOST_ACTIVATIONS[self.activation]
        for i, (w, b) in enumerate(zip(self.coefs_, self.intercepts_)):
            h = h @ w.astype(np.float64) + b.astype(np.float64)
            if i < len(self.coefs_) - 1:
                h = hidden(h)
        if self.out_activation_ == "logistic":
            return expit(h)
        if self.out_activation_ == "softmax":
            h = np.exp(h - h.max(axis=1, keepdims=True))
            return h / h.sum(axis=1, keepdims=True)
        return h


class MLPClassifier(ClassifierMixin, _BaseMLP):
    """scikit-learn's ``MLPClassifier``, trained by jaxnn's compiled engine.

    Binary, multi-class (softmax, cross-entropy) and multilabel (a sigmoid and a binary
    cross-entropy per label) classification, with scikit-learn's parameters, fitted attributes
    and methods. Training is one compiled :func:`jaxnn.train.fit` program per structure
    (hidden sizes, activation, solver, batch size, number of features and outputs, and the
    padded number of rows); the float hyperparameters, ``max_iter`` and ``random_state`` are
    its data, so a clone with other values compiles nothing.

    Args:
      hidden_layer_sizes: the widths of the hidden layers (an int for one layer).
      activation: ``"identity"``, ``"logistic"``, ``"tanh"`` or ``"relu"``.
      solver: ``"adam"``, ``"sgd"`` (with ``momentum`` and ``nesterovs_momentum``) or one of
        jaxnn's other optimizers: ``"adamw"``, ``"rmsprop"``, ``"adagrad"``, ``"adadelta"``.
        scikit-learn's ``"lbfgs"`` is not offered.
      alpha: the L2 penalty, scaled as scikit-learn scales it (``alpha / 2 * ||W||^2`` divided by
        the batch's total sample weight).
      batch_size: ``"auto"`` (``min(200, n_samples)``) or an int (clipped to ``n_samples``).
      learning_rate_init: the learning rate (constant).
      max_iter: the most epochs.
      shuffle: reshuffle the samples every epoch.
      random_state: ``None``, an int or a ``RandomState``: the initial weights, the shuffles
        and the validation split. An int gives the same model bit for bit.
      tol: the improvement (of the training loss, or of the validation score with
        ``early_stopping``) that resets the count of epochs without one.
      warm_start: start ``fit`` from the fitted weights (with a fresh optimizer).
      momentum: ``"sgd"``'s momentum, in [0, 1).
      nesterovs_momentum: ``"sgd"``'s Nesterov form.
      early_stopping: hold out ``validation_fraction`` of the data (stratified) and stop when
        its accuracy stalls; the best epoch's weights are kept.
      validation_fraction: the held-out share for ``early_stopping``.
      beta_1, beta_2, epsilon: Adam's (and AdamW's) moment decays and epsilon.
      n_iter_no_change: training stops after ``n_iter_no_change + 1`` epochs without an
        improvement of ``tol``, as in scikit-learn.

    Attributes:
      classes_: the class labels (``[n_labels]`` indices for multilabel targets).
      coefs_: the weight matrices, ``coefs_[i]`` ``[in, out]`` (float32).
      intercepts_: the bias vectors (float32).
      n_iter_: the epochs run by the last fit.
      loss_: the last epoch's loss; ``loss_curve_``: every epoch's.
      best_loss_: the lowest training loss (``None`` with ``early_stopping``).
      validation_scores_, best_validation_score_: the validation accuracies, with ``early_stopping``.
      t_: the training samples seen.
      n_features_in_, feature_names_in_: the input's width and column names.
      n_layers_, n_outputs_, out_activation_: the network's layout.
    """

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags

    def _after_load(self) -> None:
        super()._after_load()
        # The label binarizer, from what it was fitted on: the classes, or for several
        # sigmoid outputs (multilabel) an indicator matrix of as many labels.
        self._label_binarizer = LabelBinarizer()
        if self.out_activation_ == "logistic" and self.n_outputs_ > 1:
            self._label_binarizer.fit(np.eye(self.n_outputs_, dtype=int))
        else:
            self._label_binarizer.fit(self.classes_)
        expected = 1 if self._label_binarizer.y_type_ == "binary" else len(self.classes_)
        if not np.array_equal(self._label_binarizer.classes_, self.classes_) or expected != self.n_outputs_:
            raise ValueError(f"the classes {self.classes_} do not fit {self.n_outputs_} outputs")

    def _kind(self, width: int) -> str:
        if self._label_binarizer.y_type_ == "multilabel-indicator":
            return "multilabel"
        return "multiclass" if width > 1 else "binary"

    def _validate_input(self, X, y, incremental: bool, reset: bool):
        X, y = validate_data(self, X, y, multi_output=True, dtype=(np.float64, np.float32), reset=reset)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        if not hasattr(self, "classes_") or (not self.warm_start and not incremental):
            self._label_binarizer = LabelBinarizer()
            self._label_binarizer.fit(y)
            self.classes_ = self._label_binarizer.classes_
        else:
            classes = unique_labels(y)
            if self.warm_start and not incremental:
                if set(classes) != set(self.classes_):
                    raise ValueError("warm_start can only be used where `y` has the same classes as in the "
                                     f"previous call to fit. Previously got {self.classes_}, `y` has {classes}")
            elif len(np.setdiff1d(classes, self.classes_, assume_unique=True)):
                raise ValueError(f"`y` has classes not in `self.classes_`. `self.classes_` has {self.classes_}. "
                                 f"'y' has {classes}.")
        return X, self._label_binarizer.transform(y).astype(np.float32)

    def fit(self, X, y, sample_weight=None):
        """Trains the network on ``(X, y)`` from a fresh start (or the fitted weights with ``warm_start``).

        Args:
          X: inputs ``[n_samples, n_features]``.
          y: class labels ``[n_samples]``, or a label indicator matrix ``[n_samples, n_labels]``.
          sample_weight: ``[n_samples]`` non-negative weights (``None``: all 1).

        Returns:
          ``self``, fitted.
        """
        return self._fit(X, y, sample_weight, incremental=False)

    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """One more epoch on ``(X, y)``, continuing the weights and the optimizer's state.

        Args:
          X: inputs ``[n_samples, n_features]``.
          y: class labels or a label indicator matrix.
          sample_weight: ``[n_samples]`` weights (``None``: all 1).
          classes: every class label; required on the first call, ignored later.

        Returns:
          ``self``.
        """
        if not hasattr(self, "classes_"):
            if classes is None:
                raise ValueError("classes must be passed on the first call to partial_fit.")
            self._label_binarizer = LabelBinarizer()
            if type_of_target(y) == "multilabel-indicator":
                self._label_binarizer.fit(y)
            else:
                self._label_binarizer.fit(classes)
            self.classes_ = self._label_binarizer.classes_
        return self._fit(X, y, sample_weight, incremental=True)

    def predict(self, X):
        """The predicted class of each row (or its labels, for multilabel targets).

        Args:
          X: inputs ``[n_samples, n_features]``.

        Returns:
          ``[n_samples]`` labels from ``classes_``, or ``[n_samples, n_labels]`` indicators.
        """
        proba = self._forward(X)
        if self.n_outputs_ == 1:
            proba = proba.ravel()
        return self._label_binarizer.inverse_transform(proba)

    def predict_proba(self, X):
        """The probability of each class (of each label, for multilabel targets).

        Args:
          X: inputs ``[n_samples, n_features]``.

        Returns:
          ``[n_samples, n_classes]`` float64, rows summing to 1 (independent per label for
          multilabel targets).
        """
        proba = self._forward(X)
        if self.n_outputs_ == 1 and self._label_binarizer.y_type_ != "multilabel-indicator":
            return np.hstack([1.0 - proba, proba])
        return proba

    def predict_log_proba(self, X):
        """The logarithm of :meth:`predict_proba`.

        Args:
          X: inputs ``[n_samples, n_features]``.

        Returns:
          ``[n_samples, n_classes]`` log-probabilities.
        """
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))
