"""One grid search in a fresh process, for the ``grid_search`` workload.

``python -m bench.workloads._grid_search_child IMPL DATA.npz CONFIG_JSON`` runs the search with
``IMPL`` (``sklearn``: scikit-learn's GridSearchCV over scikit-learn's MLPClassifier;
``sklearn-jaxnn``: scikit-learn's GridSearchCV over jaxnn's; ``jaxnn``:
jaxnn.sklearn.GridSearchCV over jaxnn's) and prints one JSON line: the seconds of the imports
and of the search, the XLA programs compiled (JAX-based ones), the best CV score and params.
The parent times the process from start to exit.
"""

from __future__ import annotations

import json
import sys
import time
import warnings

START = time.perf_counter()


def main(impl: str, data: str, config: str) -> None:
    c = json.loads(config)
    compiled = []
    if impl != "sklearn":
        from jax import monitoring

        monitoring.register_event_duration_secs_listener(
            lambda event, duration, **kw: compiled.append(1)
            if event == "/jax/core/compile/backend_compile_duration" else None)
        import jaxnn.sklearn as jsk
    import numpy as np
    from sklearn import model_selection, neural_network

    imported = time.perf_counter()
    with np.load(data) as f:
        x, y = f["x"], f["y"]
    estimator = {"sklearn": neural_network.MLPClassifier}.get(impl) or jsk.MLPClassifier
    search = jsk.GridSearchCV if impl == "jaxnn" else model_selection.GridSearchCV
    est = estimator(hidden_layer_sizes=tuple(c["hidden"]), solver="adam", max_iter=c["epochs"],
                    n_iter_no_change=c["epochs"], random_state=0)
    folds = model_selection.StratifiedKFold(c["folds"], shuffle=True, random_state=0)
    began = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning: every fit runs its max_iter epochs
        result = search(est, c["grid"], cv=folds).fit(x, y)
    done = time.perf_counter()
    print(json.dumps({"import_s": imported - START, "search_s": done - began, "compiles": len(compiled),
                      "best_score": float(result.best_score_), "best_params": result.best_params_,
                      "groups": getattr(result, "sweep_groups_", None)}))


if __name__ == "__main__":
    main(*sys.argv[1:])
