"""``GridSearchCV``: scikit-learn's grid search, each structure's fits trained as one sweep."""

from __future__ import annotations

import time
from collections import defaultdict
from types import SimpleNamespace
from typing import Any

import jax
import numpy as np
from joblib import parallel_config
from sklearn import model_selection
from sklearn.base import clone, is_classifier
from sklearn.model_selection import ParameterGrid, check_cv
from sklearn.pipeline import Pipeline
from sklearn.utils import _safe_indexing, indexable

from jaxnn import train
from jaxnn.sklearn import _replay
from jaxnn.sklearn._mlp import _BaseMLP
from jaxnn.sklearn._solvers import SOLVERS

# The float parameters a sweep's members may differ in, passed to its optimizer factory
# (the L2 penalty ``alpha`` lives in each member's loss, the seed in its params and key).
_OPTIMIZER_FLOATS = ("learning_rate_init", "beta_1", "beta_2", "epsilon", "momentum")


class GridSearchCV(model_selection.GridSearchCV):
    """scikit-learn's ``GridSearchCV`` whose fits of a jaxnn estimator are one compiled sweep per structure.

    The constructor, attributes (``cv_results_``, ``best_params_``, ``best_score_``,
    ``best_estimator_``, ``best_index_``, ``scorer_``, ``n_splits_``, ``refit_time_``) and
    methods are scikit-learn's :class:`sklearn.model_selection.GridSearchCV`'s (it is a
    subclass): change the import and nothing else. The estimator is a jaxnn
    :class:`MLPClassifier` or :class:`MLPRegressor`, or a ``Pipeline`` ending in one.

    ``fit`` first sets up the training run of every (candidate, fold) as that estimator's
    ``fit`` would, groups them by *structure* (hidden sizes, activation, solver, batch size,
    ``max_iter``, ``n_iter_no_change``, ``tol``, ``shuffle``, the padded data shape), and
    trains each group in one :func:`jaxnn.train.sweep`: one compiled program whose members
    each have their own fold (``rows``), initial weights and seed (``random_state``),
    ``alpha``, ``learning_rate_init``, ``beta_1``, ``beta_2``, ``epsilon`` and ``momentum``.
    Each member equals a separate ``fit`` on its fold up to float32 rounding. Then
    scikit-learn's own search runs over the same folds: each of its ``fit`` calls finds its
    member already trained, so the scores, ranks, ``cv_results_`` and refit are
    scikit-learn's. The refit of the best candidate on all the data is an ordinary ``fit``.

    ``mean_fit_time`` and ``std_fit_time`` in ``cv_results_`` measure that look-up, not the
    training: the sweeps' time is in ``sweep_time_``. ``n_jobs`` runs the scoring in
    threads (training is already one program per group).

    Not supported in the grid or the estimator (a ``ValueError`` says so): ``early_stopping=True``
    (each fit would hold out its own validation split), estimators other than the jaxnn MLPs,
    and fit parameters other than ``sample_weight`` (and ``groups``, for the splitter).

    Attributes:
      sweep_groups_: the number of structure groups, one compiled sweep each.
      sweep_time_: seconds spent setting up and training the sweeps.
    """

    def fit(self, X, y=None, **params):
        """Trains every candidate on every fold (one sweep per structure), then scores as scikit-learn does.

        Args:
          X: inputs ``[n_samples, n_features]``.
          y: targets.
          **params: ``sample_weight`` (split with the folds) and ``groups`` (for the splitter).

        Returns:
          ``self``, fitted.
        """
        unknown = sorted(set(params) - {"sample_weight", "groups"})
        if unknown:
            raise ValueError(f"jaxnn.sklearn.GridSearchCV.fit takes sample_weight and groups, not {unknown}; "
                             "use sklearn.model_selection.GridSearchCV for other fit parameters")
        final = self.estimator[-1] if isinstance(self.estimator, Pipeline) else self.estimator
        if not isinstance(final, _BaseMLP):
            raise ValueError("jaxnn.sklearn.GridSearchCV searches over jaxnn.sklearn.MLPClassifier or MLPRegressor "
                             f"(or a Pipeline ending in one), got {type(final).__name__}; use "
                             "sklearn.model_selection.GridSearchCV for other estimators")
        sample_weight = params.get("sample_weight")
        if sample_weight is not None and isinstance(self.estimator, Pipeline):
            raise ValueError("sample_weight with a Pipeline is not supported by jaxnn.sklearn.GridSearchCV; "
                             "use sklearn.model_selection.GridSearchCV")
        X, y = indexable(X, y)
        cv = check_cv(self.cv, y, classifier=is_classifier(self.estimator))
        splits = list(cv.split(X, y, params.get("groups")))
        began = time.perf_counter()
        jobs = [_member_job(self.estimator, candidate, X, y, sample_weight, train_rows)
                for candidate in ParameterGrid(self.param_grid) for train_rows, _ in splits]
        groups: dict[tuple, list] = defaultdict(list)
        for job in jobs:
            groups[_structure(*job[1:])].append(job)
        fits: dict[tuple, dict] = {}
        for members in groups.values():
            fits.update(_train_group(members))
        self.sweep_groups_ = len(groups)
        self.sweep_time_ = time.perf_counter() - began
        # scikit-learn's search over the same folds (a generator given as cv is spent by now).
        given_cv, self.cv = self.cv, splits
        try:
            with _replay.trained(fits), parallel_config(backend="threading"):
                super().fit(X, y, **params)
        finally:
            self.cv = given_cv
        return self


def _member_job(estimator: Any, candidate: dict, X: Any, y: Any, sample_weight: Any,
                train_rows: np.ndarray) -> tuple:
    """``(fit key, final estimator, job)`` for one candidate on one fold, as the search's ``fit`` would run it."""
    model = clone(estimator).set_params(**candidate)
    x_fold, y_fold = _safe_indexing(X, train_rows), _safe_indexing(y, train_rows)
    w_fold = None if sample_weight is None else _safe_indexing(sample_weight, train_rows)
    final = model
    if isinstance(model, Pipeline):
        final = model[-1]
        if len(model) > 1:
            x_fold = model[:-1].fit_transform(x_fold, y_fold)
    if not isinstance(final, _BaseMLP):
        raise ValueError(f"the grid replaces the final estimator by {type(final).__name__}; "
                         "jaxnn.sklearn.GridSearchCV searches over jaxnn's MLPs only")
    if final.early_stopping:
        raise ValueError("early_stopping=True is not supported by jaxnn.sklearn.GridSearchCV (each fit would hold "
                         "out its own validation split); search with early_stopping=False, or use "
                         "sklearn.model_selection.GridSearchCV")
    key = _replay.fit_key(final, x_fold, y_fold, w_fold)
    return key, final, final._prepare(x_fold, y_fold, w_fold, incremental=False)


def _structure(final: _BaseMLP, job: _replay.Job) -> tuple:
    """What must be equal for fits to share a sweep: everything but the members' floats, seeds and rows."""
    return (type(final), tuple(final._hidden_sizes()), final.activation, final.solver,
            bool(final.nesterovs_momentum), bool(final.shuffle), job.x.shape, job.y.shape, job.batch,
            job.epochs, job.rule, job.kind)


def _make_optimizer(solver: str, nesterov: bool):
    def make_optimizer(learning_rate_init, beta_1, beta_2, epsilon, momentum):
        est = SimpleNamespace(beta_1=beta_1, beta_2=beta_2, epsilon=epsilon, momentum=momentum,
                              nesterovs_momentum=nesterov)
        return SOLVERS[solver](est, learning_rate_init)

    return make_optimizer


def _train_group(members: list) -> dict[tuple, dict]:
    """Trains one structure group's members in one sweep; their fitted attributes by fit key.

    The members' packed training rows (a fold's, padded as ``fit`` pads them) are laid end
    to end, each distinct fold once, and each member indexes its own.
    """
    _, first, job = members[0]
    blocks, offsets, rows = [], {}, []
    for _, _, one in members:
        digest = (_replay._digest(one.x), _replay._digest(one.y))
        if digest not in offsets:
            offsets[digest] = sum(len(b[0]) for b in blocks)
            blocks.append((one.x, one.y))
        rows.append(offsets[digest] + np.arange(len(one.x)))
    stack = lambda *a: np.stack([np.asarray(v) for v in a])  # on the host: nothing to compile
    result = train.sweep(
        None, [one.loss for _, _, one in members],
        np.concatenate([b[0] for b in blocks]), np.concatenate([b[1] for b in blocks]),
        make_optimizer=_make_optimizer(first.solver, bool(first.nesterovs_momentum)),
        keys=jax.random.wrap_key_data(stack(*[jax.random.key_data(one.key) for _, _, one in members])),
        hyperparams={name: np.array([float(getattr(est, name)) for _, est, _ in members], np.float32)
                     for name in _OPTIMIZER_FLOATS},
        epochs=job.epochs, batch_size=job.batch, shuffle=bool(first.shuffle), early_stopping=job.rule,
        rows=np.stack(rows), params=jax.tree.map(stack, *[one.params for _, _, one in members]),
    )
    result = jax.device_get(result)
    fits = {}
    for i, (key, est, one) in enumerate(members):
        try:
            est._finish(one, jax.tree.map(lambda a: a[i], result))
        except ValueError:
            continue  # diverged: scikit-learn's own fit of it raises, and the search records error_score
        fits[key] = dict(vars(est))
    return fits
