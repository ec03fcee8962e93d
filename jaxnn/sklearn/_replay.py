"""Training runs set up by the estimators, and fits trained ahead by a grid search's sweep.

An estimator's ``fit`` is :meth:`_prepare` (a :class:`Job`: what :func:`jaxnn.train.fit` is
given), the training, then storing the result. :class:`jaxnn.sklearn.GridSearchCV` prepares
the jobs of every (candidate, fold), trains them together in one sweep per structure, and
lists the fitted estimators here, keyed by their parameters and the exact data of their
``fit`` call. scikit-learn's own search then runs as usual: each of its ``fit`` calls on a
fold finds its estimator here (:func:`restore`) instead of training again, and everything
else (scoring, ``cv_results_``, refit) is scikit-learn's.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
from collections.abc import Iterator
from typing import Any, NamedTuple

import numpy as np


class Job(NamedTuple):
    """One training run as the estimator's ``fit`` sets it up (the arguments of ``train.fit``)."""

    params: Any
    loss: Any
    x: np.ndarray
    y: np.ndarray
    optimizer: Any
    key: Any
    epochs: int
    batch: int
    validation: Any
    metrics: Any
    rule: Any
    opt_state: Any
    n: int  # the real (unpadded) training rows
    kind: str
    first: bool


_LOCK = threading.Lock()
_TRAINED: dict[tuple, dict] = {}


def _digest(a: Any) -> tuple:
    if a is None:
        return (None,)
    array = np.ascontiguousarray(np.asarray(a))
    if array.dtype.kind == "O":
        array = np.asarray(array.astype(str))
    return array.shape, str(array.dtype), hashlib.blake2b(array.tobytes(), digest_size=16).hexdigest()


def _param(value: Any) -> Any:
    # A RandomState's repr names its address; its state says what it will draw.
    if isinstance(value, np.random.RandomState):
        return "RandomState", _digest(value.get_state()[1]), value.get_state()[2:]
    return repr(value)


def fit_key(est: Any, X: Any, y: Any, sample_weight: Any) -> tuple:
    """What identifies a ``fit`` call: the estimator's class and parameters, and its data bit for bit."""
    params = tuple(sorted((k, _param(v)) for k, v in est.get_params(deep=False).items()))
    return type(est).__qualname__, params, _digest(X), _digest(y), _digest(sample_weight)


@contextlib.contextmanager
def trained(fits: dict[tuple, dict]) -> Iterator[None]:
    """Lists ``{fit_key: fitted attributes}`` for :func:`restore` while the block runs."""
    with _LOCK:
        _TRAINED.update(fits)
    try:
        yield
    finally:
        with _LOCK:
            for key in fits:
                _TRAINED.pop(key, None)


def restore(est: Any, X: Any, y: Any, sample_weight: Any) -> bool:
    """Gives ``est`` the fitted attributes trained ahead for this exact call, if any; ``True`` if so."""
    with _LOCK:
        if not _TRAINED:
            return False
    key = fit_key(est, X, y, sample_weight)
    with _LOCK:
        state = _TRAINED.get(key)
    if state is None:
        return False
    for name, value in state.items():
        setattr(est, name, value)
    return True
