"""scikit-learn: ``MLPClassifier.fit`` (and ``partial_fit`` for one step), and its ``Perceptron``."""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np

from bench._peers._base import Problem, Trainer, Unsupported, import_peer


def _sklearn_classifier(p: Problem, max_iter: int):
    import_peer("sklearn")
    import sklearn
    from sklearn.neural_network import MLPClassifier

    if p.loss not in ("softmax_ce", "bce_logits") or p.output_activation is not None:
        raise Unsupported("scikit-learn's MLPClassifier has a softmax/logistic output only")
    hidden = tuple(w.shape[1] for w, _ in p.params0[:-1])
    clf = MLPClassifier(
        hidden_layer_sizes=hidden,
        activation=p.activation,
        solver=p.optimizer,
        alpha=0.0,
        batch_size=p.batch_size,
        learning_rate_init=p.lr,
        learning_rate="constant",
        momentum=0.0,
        nesterovs_momentum=False,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        max_iter=max_iter,
        shuffle=not p.full_batch,
        tol=0.0,
        n_iter_no_change=10**9,
        random_state=0,
    )
    y = p.y.reshape(-1).astype(np.int64)
    note = f"scikit-learn {sklearn.__version__} MLPClassifier (own init and shuffling; float32 data)"
    return clf, y, note


def trainer(p: Problem) -> Trainer:
    """``MLPClassifier.fit`` for the epochs of ``p`` (its own initial weights: no params to compare)."""
    clf, y, note = _sklearn_classifier(p, max_iter=len(p.orders))

    def run():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # ConvergenceWarning: max_iter is the budget here
            clf.fit(p.x, y)
        return clf.loss_

    return Trainer(run, lambda: None, note)


def stepper(p: Problem):
    """One ``MLPClassifier.partial_fit`` epoch on all of ``p.x`` per call."""
    clf, y, note = _sklearn_classifier(p, max_iter=1)
    classes = np.unique(y)
    clf.partial_fit(p.x, y, classes=classes)
    return (lambda: clf.partial_fit(p.x, y)), note.replace("MLPClassifier", "MLPClassifier.partial_fit")


def sklearn_perceptron(X: np.ndarray, y: np.ndarray, max_epochs: int) -> tuple[Callable[[], np.ndarray], str]:
    """scikit-learn's ``Perceptron`` set up as Rosenblatt's rule: eta 1, no penalty, no shuffling.

    Returns:
      ``(run, note)``; ``run()`` fits and returns the augmented weights ``[d + 1]`` (bias first).
    """
    import_peer("sklearn")
    import sklearn
    from sklearn.linear_model import Perceptron

    clf = Perceptron(penalty=None, alpha=0.0, fit_intercept=True, max_iter=max_epochs, tol=None, shuffle=False,
                     eta0=1.0)

    def run():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            clf.fit(X, y)
        return np.concatenate([clf.intercept_, clf.coef_[0]])

    return run, f"scikit-learn {sklearn.__version__} Perceptron (Cython, float64, {max_epochs} epochs, no early stop)"
