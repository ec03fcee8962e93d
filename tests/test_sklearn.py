"""jaxnn.sklearn: scikit-learn's own estimator checks, and the estimators against scikit-learn's.

The references are scikit-learn itself: its estimator checks, its ``MLPClassifier``,
``MLPRegressor`` and ``Perceptron`` (full-batch training from the same ``random_state`` starts
from the same weights and makes the same steps, so the two agree to float32 rounding), and
separate ``fit`` calls. Compilations are counted with the ``count_compiles`` fixture.
"""

import pickle
import subprocess
import sys
import warnings

import numpy as np
import pytest

pytest.importorskip("sklearn")

from sklearn import neural_network, linear_model  # noqa: E402
from sklearn.base import clone  # noqa: E402
from sklearn.exceptions import ConvergenceWarning, NotFittedError  # noqa: E402
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

import jaxnn  # noqa: E402
import jaxnn.sklearn as jsk  # noqa: E402
from jaxnn import perceptron as jperceptron  # noqa: E402
from jaxnn.sklearn import MLPClassifier, MLPRegressor, Perceptron  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

# Small instances: the checks fit a few dozen small data sets with each.
CHECKED = [
    MLPClassifier((8,), max_iter=50, learning_rate_init=0.05, random_state=0),
    MLPRegressor((8,), max_iter=50, learning_rate_init=0.05, random_state=0),
    Perceptron(max_iter=5),
]
_FLOAT32 = ("trained in float32: the weighted and the repeated fits agree to about 1e-5 "
            "(test_weights_equal_repeated_rows checks it), the check asks for 1e-7")
EXPECTED_FAILURES = {
    "MLPClassifier": {"check_sample_weight_equivalence_on_dense_data": _FLOAT32},
    "MLPRegressor": {"check_sample_weight_equivalence_on_dense_data": _FLOAT32},
    # scikit-learn's own Perceptron fails it for the same reason.
    "Perceptron": {"check_sample_weight_equivalence_on_dense_data":
                   "a weight scales a sample's update; repeating the sample makes several updates"},
}


@parametrize_with_checks(CHECKED, expected_failed_checks=lambda est: EXPECTED_FAILURES[type(est).__name__])
def test_scikit_learn_estimator_checks(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        check(estimator)


# ------------------------------------------------------------------ against scikit-learn


def _data(seed=0, n=90, d=5, classes=3):
    rng = np.random.RandomState(seed)
    y = rng.randint(0, classes, n)
    x = rng.normal(size=(n, d)) + 1.5 * np.eye(classes, d)[y]
    return StandardScaler().fit_transform(x), y


# Full batch and no stopping: the shuffles (the one thing drawn differently) do not matter.
FULL = dict(batch_size=1000, tol=0.0, n_iter_no_change=1000, random_state=0)


OPTIONS = {
    "adam": dict(solver="adam", learning_rate_init=0.01, alpha=0.01),
    "nesterov": dict(solver="sgd", learning_rate_init=0.1, momentum=0.9, nesterovs_momentum=True),
    "momentum-tanh": dict(solver="sgd", learning_rate_init=0.1, momentum=0.5, nesterovs_momentum=False,
                          activation="tanh"),
    "logistic-2-layers": dict(solver="adam", learning_rate_init=0.01, activation="logistic",
                              hidden_layer_sizes=(6, 4)),
    "early-stopping": dict(solver="adam", learning_rate_init=0.01, early_stopping=True, validation_fraction=0.2),
}
CASES = [("multiclass", name) for name in OPTIONS] + [
    ("binary", "adam"), ("binary", "early-stopping"), ("multilabel", "adam"), ("multilabel", "nesterov")]


@pytest.mark.parametrize("target, name", CASES, ids=[f"{t}-{n}" for t, n in CASES])
def test_classifier_equals_scikit_learn_full_batch(target, name):
    options = OPTIONS[name]
    x, y = _data()
    if target == "binary":
        y = y == 1
    elif target == "multilabel":
        y = np.stack([y == 1, y != 2, x[:, 0] > 0], axis=1).astype(int)
    options = {"hidden_layer_sizes": (8,), "max_iter": 40, **FULL, **options}
    ours = MLPClassifier(**options).fit(x, y)
    ref = neural_network.MLPClassifier(**options).fit(x, y)
    np.testing.assert_allclose(ours.predict_proba(x), ref.predict_proba(x), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(ours.loss_curve_, ref.loss_curve_, rtol=1e-4)
    for a, b in zip(ours.coefs_ + ours.intercepts_, ref.coefs_ + ref.intercepts_):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-5)
    np.testing.assert_array_equal(ours.classes_, ref.classes_)
    assert ours.n_iter_ == ref.n_iter_ and ours.out_activation_ == ref.out_activation_
    assert ours.n_layers_ == ref.n_layers_ and ours.n_outputs_ == ref.n_outputs_
    if options.get("early_stopping"):
        np.testing.assert_allclose(ours.validation_scores_, ref.validation_scores_, atol=1e-6)
        assert ours.best_loss_ is None and ours.best_validation_score_ == pytest.approx(ref.best_validation_score_)


@pytest.mark.parametrize("outputs", [1, 3])
def test_regressor_equals_scikit_learn_full_batch_with_sample_weights(outputs):
    rng = np.random.RandomState(1)
    x = rng.normal(size=(70, 4))
    y = x @ rng.normal(size=(4, outputs)) + 0.1 * rng.normal(size=(70, outputs))
    y = y[:, 0] if outputs == 1 else y
    w = rng.uniform(0.0, 3.0, 70)
    options = dict(hidden_layer_sizes=(10,), max_iter=60, learning_rate_init=0.02, alpha=0.1, **FULL)
    ours = MLPRegressor(**options).fit(x, y, sample_weight=w)
    ref = neural_network.MLPRegressor(**options).fit(x, y, sample_weight=w)
    assert ours.predict(x).shape == ref.predict(x).shape
    np.testing.assert_allclose(ours.predict(x), ref.predict(x), rtol=1e-4, atol=1e-4)
    if outputs == 1:  # (for several outputs scikit-learn reports the loss averaged over them)
        np.testing.assert_allclose(ours.loss_curve_, ref.loss_curve_, rtol=1e-4)
    assert ours.score(x, y, sample_weight=w) == pytest.approx(ref.score(x, y, sample_weight=w), abs=1e-5)


def test_stopping_on_the_training_loss_stops_where_scikit_learn_does():
    x, y = _data(2)
    options = dict(hidden_layer_sizes=(8,), max_iter=500, learning_rate_init=0.01, batch_size=1000, tol=1e-3,
                   n_iter_no_change=3, random_state=0)
    ours, ref = MLPClassifier(**options).fit(x, y), neural_network.MLPClassifier(**options).fit(x, y)
    assert ours.n_iter_ < 500 and ours.n_iter_ == ref.n_iter_
    assert ours.best_loss_ == pytest.approx(ref.best_loss_, rel=1e-4)


def test_weights_equal_repeated_rows():
    # scikit-learn's check of this at rtol 1e-7 is an expected failure (float32); here at 1e-4.
    x, y = _data(3, n=30)
    w = np.random.RandomState(0).randint(0, 4, 30)
    for cls in (MLPClassifier, MLPRegressor):
        target = y if cls is MLPClassifier else x[:, 0] + y
        est = cls((8,), max_iter=30, learning_rate_init=0.05, tol=0.0, random_state=0)
        weighted = clone(est).fit(x, target, sample_weight=w)
        repeated = clone(est).fit(x.repeat(w, axis=0), target.repeat(w))
        method = "predict_proba" if cls is MLPClassifier else "predict"
        np.testing.assert_allclose(getattr(weighted, method)(x), getattr(repeated, method)(x), rtol=1e-4, atol=1e-6)


def test_perceptron_equals_scikit_learn_and_jaxnn_perceptron():
    # Small integers: every product and sum is exact in float32 and float64 alike.
    rng = np.random.RandomState(0)
    x = rng.randint(-4, 5, size=(40, 3)).astype(float)
    labels = np.where(x @ [2.0, -1.0, 1.0] + 1.0 > 0, 1, -1)
    for y in (labels, rng.randint(0, 3, 40)):
        options = dict(shuffle=False, tol=None, max_iter=20, eta0=1.0)
        ours, ref = Perceptron(**options).fit(x, y), linear_model.Perceptron(**options).fit(x, y)
        np.testing.assert_array_equal(ours.coef_, ref.coef_)
        np.testing.assert_array_equal(ours.intercept_, ref.intercept_)
        np.testing.assert_array_equal(ours.predict(x), ref.predict(x))
        np.testing.assert_allclose(ours.decision_function(x), ref.decision_function(x))
    # Binary, separable: the weights of jaxnn's compiled Rosenblatt perceptron.
    res = jperceptron.perceptron(x.astype(np.float32), labels.astype(np.float32), max_epochs=20)
    ours = Perceptron(shuffle=False, tol=None, max_iter=20).fit(x, labels)
    np.testing.assert_array_equal(np.concatenate([ours.intercept_, ours.coef_[0]]), np.asarray(res.weights))
    no_intercept = Perceptron(shuffle=False, tol=None, max_iter=20, fit_intercept=False).fit(x, labels)
    ref = linear_model.Perceptron(shuffle=False, tol=None, max_iter=20, fit_intercept=False).fit(x, labels)
    np.testing.assert_array_equal(no_intercept.coef_, ref.coef_)
    assert np.all(no_intercept.intercept_ == 0)


def test_perceptron_tol_stops_after_n_iter_no_change_epochs():
    x, y = _data(4, classes=2)
    est = Perceptron(tol=1e-3, n_iter_no_change=2, max_iter=200, random_state=0).fit(x, y)
    assert est.n_iter_ < 200 and est.t_ == est.n_iter_ * len(y) + 1
    weighted = Perceptron(tol=None, max_iter=3, shuffle=False).fit(x, y, sample_weight=np.full(len(y), 0.5))
    halved = Perceptron(tol=None, max_iter=3, shuffle=False, eta0=0.5).fit(x, y)
    np.testing.assert_array_equal(weighted.coef_, halved.coef_)


# ------------------------------------------------------------------ scikit-learn's protocols


@pytest.mark.parametrize("make", [
    lambda: MLPClassifier((8,), max_iter=20, random_state=3),
    lambda: MLPRegressor((8,), max_iter=20, random_state=3),
    lambda: Perceptron(max_iter=5, random_state=3),
], ids=["classifier", "regressor", "perceptron"])
def test_fit_is_bit_for_bit_repeatable_clones_and_pickles(make):
    x, y = _data(5)
    y = y if not isinstance(make(), MLPRegressor) else x[:, 1] * 2.0
    a, b = make().fit(x, y), clone(make()).fit(x, y)
    predict = "predict_proba" if isinstance(a, MLPClassifier) else "predict"
    np.testing.assert_array_equal(getattr(a, predict)(x), getattr(b, predict)(x))
    restored = pickle.loads(pickle.dumps(a))
    np.testing.assert_array_equal(getattr(restored, predict)(x), getattr(a, predict)(x))
    assert clone(a).get_params() == a.get_params() and not hasattr(clone(a), "n_iter_")
    other = clone(a).set_params(random_state=4).fit(x, y)
    assert not np.array_equal(getattr(other, predict)(x), getattr(a, predict)(x))


def test_partial_fit_continues_the_optimizer_like_one_fit():
    x, y = _data(6)
    options = dict(hidden_layer_sizes=(8,), learning_rate_init=0.01, **FULL)
    whole = MLPClassifier(max_iter=5, **options).fit(x, y)
    parts = MLPClassifier(**options)
    for _ in range(5):
        parts.partial_fit(x, y, classes=np.unique(y))
    np.testing.assert_array_equal(parts.predict_proba(x), whole.predict_proba(x))
    np.testing.assert_array_equal(parts.loss_curve_, whole.loss_curve_)
    with pytest.raises(ValueError, match="classes must be passed"):
        MLPClassifier().partial_fit(x, y)
    with pytest.raises(ValueError, match="early_stopping"):
        MLPClassifier(early_stopping=True).partial_fit(x, y, classes=np.unique(y))


def test_warm_start_continues_from_the_fitted_weights():
    x, y = _data(7)
    est = MLPClassifier((8,), max_iter=10, warm_start=True, random_state=0).fit(x, y)
    first = [c.copy() for c in est.coefs_]
    est.fit(x, y)
    assert len(est.loss_curve_) == 20 and est.loss_curve_[10] < est.loss_curve_[0]
    fresh = MLPClassifier((8,), max_iter=10, random_state=0).fit(x, y)
    np.testing.assert_array_equal(first[0], fresh.coefs_[0])


def test_bad_input_gets_scikit_learn_errors():
    x, y = _data(8)
    for est in (MLPClassifier(max_iter=5), MLPRegressor(max_iter=5), Perceptron(max_iter=5)):
        with pytest.raises(NotFittedError):
            est.predict(x)
        est.fit(x, y)
        with pytest.raises(ValueError, match="X has 4 features, but .* is expecting 5 features"):
            est.predict(x[:, :4])
        with pytest.raises(ValueError, match="Input X contains NaN"):
            clone(est).fit(np.where(x > 1, np.nan, x), y)
    with pytest.raises(ValueError, match="'solver' parameter"):
        MLPClassifier(solver="lbfgs").fit(x, y)
    with pytest.raises(ValueError, match="'alpha' parameter"):
        MLPRegressor(alpha=-1.0).fit(x, y)
    with pytest.raises(ValueError, match="'eta0' parameter"):
        Perceptron(eta0=0).fit(x, y)


def test_pipeline_and_cross_validation():
    x, y = _data(9, n=120)
    options = dict(hidden_layer_sizes=(16,), max_iter=100, learning_rate_init=0.01, random_state=0)
    scores = cross_val_score(make_pipeline(StandardScaler(), MLPClassifier(**options)), x, y, cv=3)
    reference = cross_val_score(make_pipeline(StandardScaler(), neural_network.MLPClassifier(**options)), x, y, cv=3)
    assert scores.shape == (3,) and abs(scores.mean() - reference.mean()) < 0.05


def test_importing_jaxnn_does_not_import_scikit_learn():
    code = "import sys, jaxnn; assert 'sklearn' not in sys.modules and 'jaxnn.sklearn' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_every_public_name_and_method_is_documented():
    assert jsk.__doc__ and "differ" in jsk.__doc__
    for name in jsk.__all__:
        obj = getattr(jsk, name)
        if callable(obj):
            assert obj.__doc__, name
    for cls in (MLPClassifier, MLPRegressor, Perceptron):
        for method in ("fit", "partial_fit", "predict"):
            assert getattr(cls, method).__doc__, (cls, method)
    assert "jaxnn.sklearn" not in jaxnn.__all__


# ------------------------------------------------------------------ one program for all clones


@pytest.mark.parametrize("batch_size", ["auto", 32], ids=["full-batch", "mini-batch"])
def test_grid_search_over_floats_and_seeds_compiles_once(batch_size, count_compiles):
    # 203 rows: 5-fold training sets of 162 and 163 rows, padded to one bucket.
    x, y = _data(10, n=203, d=6)
    est = MLPClassifier((8,), max_iter=15, batch_size=batch_size, random_state=0)
    folds = KFold(5, shuffle=True, random_state=0)
    grid = {"learning_rate_init": [1e-3, 1e-2], "alpha": [1e-4, 1e-2], "beta_1": [0.8, 0.9], "random_state": [0, 1]}
    first_train, _ = next(folds.split(x))
    clone(est).fit(x[first_train], y[first_train])  # compiles the structure's programs
    with count_compiles() as compiles:
        search = GridSearchCV(est, grid, cv=folds, refit=False).fit(x, y)
    assert compiles == []
    assert {len(train) for train, _ in folds.split(x)} == {162, 163}
    # Each score is that of a separate fit on its fold.
    best = search.cv_results_["params"][search.best_index_]
    manual = [clone(est).set_params(**best).fit(x[tr], y[tr]).score(x[te], y[te]) for tr, te in folds.split(x)]
    assert search.best_score_ == pytest.approx(np.mean(manual), abs=1e-12)


def test_other_structures_compile_their_own_program(count_compiles):
    x, y = _data(11, n=100)
    MLPClassifier((8,), max_iter=3).fit(x, y)
    with count_compiles() as compiles:
        MLPClassifier((9,), max_iter=3).fit(x, y)
    assert len(compiles) >= 1


@pytest.mark.slow
def test_grid_search_in_two_worker_processes():
    # Each worker process imports JAX and compiles its own programs (about 10 s on 2 cores).
    x, y = _data(12, n=120)
    grid = {"learning_rate_init": [1e-3, 1e-2], "alpha": [1e-4, 1e-2]}
    est = MLPClassifier((8,), max_iter=10, random_state=0)
    parallel = GridSearchCV(est, grid, cv=3, n_jobs=2).fit(x, y)
    serial = GridSearchCV(est, grid, cv=3, n_jobs=1).fit(x, y)
    np.testing.assert_array_equal(parallel.cv_results_["mean_test_score"], serial.cv_results_["mean_test_score"])
