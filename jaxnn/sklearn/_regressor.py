"""``MLPRegressor``: scikit-learn's estimator, trained by :func:`jaxnn.train.fit`."""

from __future__ import annotations


import numpy as np
from sklearn.base import RegressorMixin
from sklearn.utils.validation import column_or_1d, validate_data

from jaxnn.sklearn._mlp import _BaseMLP

__all__ = ["MLPRegressor"]


class MLPRegressor(RegressorMixin, _BaseMLP):
    """scikit-learn's ``MLPRegressor``, trained by jaxnn's compiled engine.

    Half the squared error (summed over the outputs) plus scikit-learn's L2 penalty, one
    output per target column; the same parameters as :class:`MLPClassifier`, and the same
    single compiled program per structure. ``early_stopping`` watches the validation R^2.

    Its parameters (``hidden_layer_sizes``, ``activation``, ``solver``, ``alpha``,
    ``batch_size``, ``learning_rate_init``, ``max_iter``, ``shuffle``, ``random_state``, ``tol``,
    ``warm_start``, ``momentum``, ``nesterovs_momentum``, ``early_stopping``,
    ``validation_fraction``, ``beta_1``, ``beta_2``, ``epsilon``, ``n_iter_no_change``) are
    as in :class:`MLPClassifier`.

    The fitted attributes (``coefs_``, ``intercepts_``, ``n_iter_``, ``loss_``, ``loss_curve_``,
    ``best_loss_``, ``validation_scores_``, ``best_validation_score_``, ``t_``,
    ``n_features_in_``, ``feature_names_in_``, ``n_layers_``, ``n_outputs_``,
    ``out_activation_``) are as in :class:`MLPClassifier`; ``out_activation_`` is ``"identity"``.
    """

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def _kind(self, width: int) -> str:
        return "regression"

    def _validate_input(self, X, y, incremental: bool, reset: bool):
        X, y = validate_data(self, X, y, multi_output=True, y_numeric=True, dtype=(np.float64, np.float32),
                             reset=reset)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        return X, (y.reshape(-1, 1) if y.ndim == 1 else y).astype(np.float32)

    def fit(self, X, y, sample_weight=None):
        """Trains the network on ``(X, y)`` from a fresh start (or the fitted weights with ``warm_start``).

        Args:
          X: inputs ``[n_samples, n_features]``.
          y: targets ``[n_samples]`` or ``[n_samples, n_outputs]``.
          sample_weight: ``[n_samples]`` non-negative weights (``None``: all 1).

        Returns:
          ``self``, fitted.
        """
        return self._fit(X, y, sample_weight, incremental=False)

    def partial_fit(self, X, y, sample_weight=None):
        """One more epoch on ``(X, y)``, continuing the weights and the optimizer's state.

        Args:
          X: inputs ``[n_samples, n_features]``.
          y: targets ``[n_samples]`` or ``[n_samples, n_outputs]``.
          sample_weight: ``[n_samples]`` weights (``None``: all 1).

        Returns:
          ``self``.
        """
        return self._fit(X, y, sample_weight, incremental=True)

    def predict(self, X):
        """The predicted targets.

        Args:
          X: inputs ``[n_samples, n_features]``.

        Returns:
          ``[n_samples]`` (one output) or ``[n_samples, n_outputs]`` float64.
        """
        out = self._forward(X)
        return out.ravel() if out.shape[1] == 1 else out
