"""Estimators saved to and loaded from jaxnn's checkpoint format: the loaded one predicts as
the saved one did (its predictions are the reference), and files that are not such an
estimator are refused with a ValueError."""

import numpy as np
import pytest

pytest.importorskip("sklearn")

from sklearn.datasets import load_iris  # noqa: E402
from sklearn.exceptions import NotFittedError  # noqa: E402

from jaxnn import checkpoint  # noqa: E402
from jaxnn.sklearn import MLPClassifier, MLPRegressor, Perceptron  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

X, Y = load_iris(return_X_y=True)
LABELS = np.array(["setosa", "versicolor", "virginica"])[Y]
MULTILABEL = np.stack([Y == 0, Y == 2, X[:, 0] > 5.8], axis=1).astype(int)


@pytest.mark.parametrize("make, target, methods", [
    (lambda: MLPClassifier((6,), max_iter=20, random_state=0), LABELS, ["predict", "predict_proba"]),
    (lambda: MLPClassifier((6,), max_iter=20, random_state=0), Y == 1, ["predict", "predict_proba"]),
    (lambda: MLPClassifier((6, 4), max_iter=20, random_state=0), MULTILABEL, ["predict", "predict_proba"]),
    (lambda: MLPRegressor((5,), max_iter=20, random_state=0), X[:, :2], ["predict"]),
    (lambda: Perceptron(max_iter=5), Y, ["predict", "decision_function"]),
], ids=["classes", "binary", "multilabel", "regressor", "perceptron"])
def test_a_loaded_estimator_predicts_as_the_saved_one(tmp_path, make, target, methods):
    est = make().set_params(max_iter=7).fit(X, target)
    est.save(tmp_path / "est.ckpt")
    loaded = type(est).load(tmp_path / "est.ckpt")
    assert loaded.get_params() == est.get_params()
    for method in methods:
        np.testing.assert_array_equal(getattr(loaded, method)(X), getattr(est, method)(X))
    assert loaded.n_iter_ == est.n_iter_
    if hasattr(est, "classes_"):
        np.testing.assert_array_equal(loaded.classes_, est.classes_)
        assert loaded.classes_.dtype == est.classes_.dtype
        assert loaded.score(X, target) == est.score(X, target)


def test_column_names_come_back(tmp_path):
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(X, columns=["sl", "sw", "pl", "pw"])
    MLPClassifier((6,), max_iter=3, random_state=0).fit(frame, Y).save(tmp_path / "est.ckpt")
    loaded = MLPClassifier.load(tmp_path / "est.ckpt")
    assert list(loaded.feature_names_in_) == ["sl", "sw", "pl", "pw"]
    loaded.predict(frame)  # scikit-learn checks the names against the fitted ones
    with pytest.raises(ValueError, match="feature names"):
        loaded.predict(frame.rename(columns={"sl": "x"}))


def test_a_loaded_classifier_trains_on_with_partial_fit(tmp_path):
    est = MLPClassifier((6,), max_iter=5, random_state=0).fit(X, Y)
    est.save(tmp_path / "est.ckpt")
    loaded = MLPClassifier.load(tmp_path / "est.ckpt").partial_fit(X, Y)
    assert loaded.n_iter_ == 1 and not np.array_equal(loaded.coefs_[0], est.coefs_[0])


def test_files_that_are_not_this_estimator_are_refused(tmp_path):
    MLPRegressor((5,), max_iter=3, random_state=0).fit(X, Y).save(tmp_path / "reg.ckpt")
    with pytest.raises(ValueError, match="holds a MLPRegressor, not a MLPClassifier"):
        MLPClassifier.load(tmp_path / "reg.ckpt")
    checkpoint.save(tmp_path / "params.ckpt", {"w": np.zeros(3)}, config={"sizes": [3]})
    with pytest.raises(ValueError, match="not a jaxnn.sklearn estimator file"):
        MLPClassifier.load(tmp_path / "params.ckpt")
    (tmp_path / "text.ckpt").write_text("hello")
    with pytest.raises(ValueError):
        MLPClassifier.load(tmp_path / "text.ckpt")
    with pytest.raises(NotFittedError):
        MLPClassifier().save(tmp_path / "unfitted.ckpt")


def test_a_file_whose_arrays_contradict_its_sizes_is_refused(tmp_path):
    est = MLPClassifier((6,), max_iter=3, random_state=0).fit(X, Y)
    est.save(tmp_path / "est.ckpt")
    meta = checkpoint.load_metadata(tmp_path / "est.ckpt")
    config = dict(meta.config, params=dict(meta.config["params"], hidden_layer_sizes=[7]))
    checkpoint.save(tmp_path / "edited.ckpt", checkpoint.load_leaves(tmp_path / "est.ckpt"), config=config)
    with pytest.raises(ValueError, match="damaged or not a valid MLPClassifier file"):
        MLPClassifier.load(tmp_path / "edited.ckpt")
    config = dict(meta.config, params=dict(meta.config["params"], solver="lbfgs"))
    checkpoint.save(tmp_path / "bad.ckpt", checkpoint.load_leaves(tmp_path / "est.ckpt"), config=config)
    with pytest.raises(ValueError, match="solver"):
        MLPClassifier.load(tmp_path / "bad.ckpt")
