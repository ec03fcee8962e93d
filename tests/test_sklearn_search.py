"""jaxnn.sklearn.GridSearchCV against scikit-learn's GridSearchCV over the same jaxnn estimator.

The reference is scikit-learn's own search, which fits every (candidate, fold) separately
with the estimator's ``fit``; compilations are counted with the ``count_compiles`` fixture.
"""

import numpy as np
import pytest

pytest.importorskip("sklearn")

from sklearn import model_selection  # noqa: E402
from sklearn.datasets import load_iris  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

import jaxnn.sklearn as jsk  # noqa: E402
from jaxnn import train  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

X, Y = load_iris(return_X_y=True)
FOLDS = model_selection.StratifiedKFold(3, shuffle=True, random_state=0)
RESULTS = ["mean_test_score", "std_test_score", "rank_test_score", "params",
           *(f"split{k}_test_score" for k in range(3))]


def compare(ours, theirs):
    for name in RESULTS:
        got, want = ours.cv_results_[name], theirs.cv_results_[name]
        if name == "params":
            assert got == want
        else:
            np.testing.assert_allclose(got, want, atol=1e-12, err_msg=name)
    assert ours.best_params_ == theirs.best_params_
    assert ours.best_score_ == pytest.approx(theirs.best_score_)


@pytest.mark.parametrize("batch_size", [32, "auto"])
def test_cv_results_equal_scikit_learns_search_over_the_same_estimator(batch_size):
    est = jsk.MLPClassifier((8,), max_iter=40, batch_size=batch_size, random_state=0)
    grid = {"learning_rate_init": [1e-3, 3e-2], "alpha": [1e-4, 1e-1], "random_state": [0, 1]}
    x = StandardScaler().fit_transform(X)
    # n_jobs=2: the scoring runs in two threads; the fits were trained in the sweep.
    ours = jsk.GridSearchCV(est, grid, cv=FOLDS, return_train_score=True, n_jobs=2).fit(x, Y)
    theirs = model_selection.GridSearchCV(est, grid, cv=FOLDS, return_train_score=True).fit(x, Y)
    compare(ours, theirs)
    np.testing.assert_allclose(ours.cv_results_["mean_train_score"], theirs.cv_results_["mean_train_score"])
    assert len(set(theirs.cv_results_["mean_test_score"])) > 2  # the grid's points train differently
    np.testing.assert_allclose(ours.best_estimator_.coefs_[0], theirs.best_estimator_.coefs_[0], rtol=1e-5, atol=1e-6)


def test_regressor_in_a_pipeline_with_r2_and_multi_metric_scoring(monkeypatch):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(90, 3)) * [1.0, 10.0, 100.0]
    y = x[:, 0] - 0.05 * x[:, 1] + 0.003 * x[:, 2] + 0.1 * rng.normal(size=90)
    pipe = make_pipeline(StandardScaler(), jsk.MLPRegressor((6,), max_iter=30, learning_rate_init=1e-2, random_state=0))
    grid = {"mlpregressor__alpha": [1e-4, 1.0], "mlpregressor__beta_1": [0.8, 0.9]}
    scoring = {"r2": "r2", "mse": "neg_mean_squared_error"}
    folds = model_selection.KFold(3, shuffle=True, random_state=1)
    fits = []
    real_fit = train.fit
    monkeypatch.setattr(train, "fit", lambda *a, **k: fits.append(1) or real_fit(*a, **k))
    ours = jsk.GridSearchCV(pipe, grid, cv=folds, scoring=scoring, refit="r2").fit(x, y)
    assert len(fits) == 1  # the refit only: the pipeline's 12 fits on the folds were trained in the sweep
    theirs = model_selection.GridSearchCV(pipe, grid, cv=folds, scoring=scoring, refit="r2").fit(x, y)
    for name in ["mean_test_r2", "mean_test_mse", "rank_test_r2", "split2_test_mse"]:
        np.testing.assert_allclose(ours.cv_results_[name], theirs.cv_results_[name], rtol=1e-4, err_msg=name)
    assert ours.best_params_ == theirs.best_params_


def test_one_sweep_program_per_structure_and_no_fit_per_fold(count_compiles, monkeypatch):
    # Sizes no other test uses: their programs are compiled here.
    est = jsk.MLPClassifier((7,), max_iter=20, batch_size=24, random_state=0)
    grid = {"hidden_layer_sizes": [(7,), (5,)], "learning_rate_init": [1e-3, 1e-2], "beta_2": [0.99, 0.999],
            "momentum": [0.5], "random_state": [0, 3]}
    fits = []
    real_fit = train.fit
    monkeypatch.setattr(train, "fit", lambda *a, **k: fits.append(1) or real_fit(*a, **k))
    with count_compiles() as compiles:
        search = jsk.GridSearchCV(est, grid, cv=FOLDS, refit=False).fit(X, Y)
    assert search.sweep_groups_ == 2
    # The sweep's training program and its set-up, once per hidden size.
    assert compiles.count("jit(chunk)") == 2 and compiles.count("jit(start)") == 2
    assert fits == []  # scikit-learn's 48 fits found their members trained
    assert search.cv_results_["mean_test_score"].shape == (16,)


@pytest.mark.parametrize("estimator, grid, params, match", [
    (jsk.MLPClassifier((4,), max_iter=5), {"early_stopping": [True, False]}, {}, "early_stopping=True"),
    (jsk.Perceptron(), {"eta0": [0.1, 1.0]}, {}, "got Perceptron"),
    (jsk.MLPClassifier((4,), max_iter=5), {"alpha": [0.1]}, {"classes": [0, 1, 2]}, r"not \['classes'\]"),
])
def test_unsupported_searches_are_refused_with_the_alternative(estimator, grid, params, match):
    with pytest.raises(ValueError, match=match):
        jsk.GridSearchCV(estimator, grid, cv=3).fit(X, Y, **params)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.FitFailedWarning", "ignore::UserWarning")
def test_a_diverging_candidate_scores_error_score_as_in_scikit_learns_search():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 3))
    y = 100 * x[:, 0]
    est = jsk.MLPRegressor((4,), solver="sgd", max_iter=20, random_state=0)
    grid = {"learning_rate_init": [1e-3, 10.0]}
    ours = jsk.GridSearchCV(est, grid, cv=3).fit(x, y)
    theirs = model_selection.GridSearchCV(est, grid, cv=3).fit(x, y)
    assert np.isnan(theirs.cv_results_["mean_test_score"][1])
    np.testing.assert_allclose(ours.cv_results_["mean_test_score"], theirs.cv_results_["mean_test_score"], rtol=1e-5)


@pytest.mark.filterwarnings("ignore:Got `batch_size`:UserWarning")  # 200 > a fold's rows: full batch
@pytest.mark.parametrize("batch_size", [32, 200])
def test_each_sweep_member_equals_the_estimators_own_fit_on_its_fold(batch_size):
    from sklearn.base import clone

    from jaxnn.sklearn import _search

    # tol=0.02 stops some members early (scikit-learn's rule, per member), not all of them.
    est = jsk.MLPClassifier((8,), max_iter=40, batch_size=batch_size, tol=0.02, n_iter_no_change=3)
    candidates = [{"learning_rate_init": lr, "alpha": a, "random_state": s}
                  for lr, a, s in [(1e-2, 1e-4, 0), (3e-2, 1e-1, 1), (1e-3, 1e-3, 2)]]
    x = StandardScaler().fit_transform(X)
    splits = list(FOLDS.split(x, Y))
    jobs = [_search._member_job(est, c, x, Y, None, train_rows) for c in candidates for train_rows, _ in splits]
    fits = _search._train_group(jobs)
    runs = set()
    for (key, _, _), (c, (train_rows, _)) in zip(jobs, [(c, s) for c in candidates for s in splits]):
        alone = clone(est).set_params(**c).fit(x[train_rows], Y[train_rows])
        member = fits[key]
        assert member["n_iter_"] == alone.n_iter_
        runs.add(alone.n_iter_)
        for got, want in zip(member["coefs_"] + member["intercepts_"], alone.coefs_ + alone.intercepts_):
            np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(member["loss_curve_"], alone.loss_curve_, rtol=1e-4)
    assert len(runs) > 1  # members stopped at different epochs
