"""One process of the time-to-result loop: one library trains every (seed, learning rate) run.

Run by the ``time_to_result`` workload as::

    python -m bench.workloads._time_to_result_loop IMPL DATA.npz SPEC_JSON

``IMPL`` is ``jaxnn``, ``sklearn``, ``torch`` or ``keras``; ``DATA.npz`` holds the standardized
features ``x [N, D]`` (float32) and the labels ``y [N]`` (int32); ``SPEC_JSON`` gives ``hidden``,
``epochs``, ``batch``, ``seeds`` and ``lrs``. Each run is written the way that library's own
documentation writes one training run, with every object built afresh (a new network, loss and
optimizer per run), then measures the training accuracy. The last line of stdout is JSON:
``import_s`` (importing the library), ``data_s``, ``runs`` (one dict per run: ``seconds``,
``accuracy``, ``epochs`` and, for the JAX-based libraries, ``programs`` and ``cache_hits``, the
XLA programs built in that run and how many came from the persistent cache) and ``loop_s``.
"""

from __future__ import annotations

import time

_T0 = time.perf_counter()

import json  # noqa: E402
import sys  # noqa: E402
from collections.abc import Callable  # noqa: E402
from typing import Any  # noqa: E402

RunFn = Callable[[Any, Any, int, float], tuple[float, int]]


def _jaxnn(spec: dict[str, Any]) -> RunFn:
    import jax

    from jaxnn import heads, metrics, nn, optim, train

    def run(x, y, seed, lr):
        # As the README writes a run: a fresh network, head, loss and optimizer every time.
        net, head = nn.MLP(spec["hidden"], spec["classes"], activation="relu"), heads.multiclass()
        _, params = net.init(jax.random.key(seed), (-1, x.shape[1]))
        result = train.fit(params, train.Supervised(net.apply, head), x, y, optimizer=optim.adam(lr),
                           key=jax.random.key(seed + 1), epochs=spec["epochs"], batch_size=spec["batch"])
        accuracy = float(metrics.accuracy(head.predict(net.apply(result.params, x)), y))
        return accuracy, int(result.history.epochs_run)

    return run


def _sklearn(spec: dict[str, Any]) -> RunFn:
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    def run(x, y, seed, lr):
        clf = MLPClassifier(hidden_layer_sizes=tuple(spec["hidden"]), activation="relu", solver="adam",
                            batch_size=spec["batch"], learning_rate_init=lr, max_iter=spec["epochs"],
                            n_iter_no_change=spec["epochs"], random_state=seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)  # max_iter is the budget here
            clf.fit(x, y)
        return float(clf.score(x, y)), int(clf.n_iter_)

    return run


def _torch(spec: dict[str, Any]) -> RunFn:
    import os

    import torch

    torch.set_num_threads(os.cpu_count() or 1)

    def run(x, y, seed, lr):
        torch.manual_seed(seed)
        xt, yt = torch.from_numpy(x), torch.from_numpy(y).long()
        sizes = [x.shape[1], *spec["hidden"]]
        layers: list[torch.nn.Module] = []
        for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
            layers += [torch.nn.Linear(fan_in, fan_out), torch.nn.ReLU()]
        model = torch.nn.Sequential(*layers, torch.nn.Linear(sizes[-1], spec["classes"]))
        opt = torch.optim.Adam(model.parameters(), lr=lr)
        loss_fn = torch.nn.CrossEntropyLoss()
        b = spec["batch"]
        for _ in range(spec["epochs"]):
            order = torch.randperm(len(xt))
            for i in range(0, len(xt), b):  # the last batch is smaller, as in a DataLoader
                idx = order[i : i + b]
                opt.zero_grad()
                loss_fn(model(xt[idx]), yt[idx]).backward()
                opt.step()
        with torch.no_grad():
            accuracy = (model(xt).argmax(1) == yt).float().mean().item()
        return accuracy, spec["epochs"]

    return run


def _keras(spec: dict[str, Any]) -> RunFn:
    import os

    os.environ["KERAS_BACKEND"] = "jax"
    import keras

    def run(x, y, seed, lr):
        keras.utils.set_random_seed(seed)
        model = keras.Sequential([keras.Input((x.shape[1],)),
                                  *[keras.layers.Dense(w, activation="relu") for w in spec["hidden"]],
                                  keras.layers.Dense(spec["classes"])])
        model.compile(optimizer=keras.optimizers.Adam(lr),
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        h = model.fit(x, y, batch_size=spec["batch"], epochs=spec["epochs"], verbose=0)
        accuracy = float((model.predict(x, verbose=0).argmax(1) == y).mean())
        return accuracy, len(h.history["loss"])

    return run


def _jaxnn_cached(spec: dict[str, Any]) -> RunFn:
    """The jaxnn loop in a script that turns on the persistent cache, as the README advises."""
    import jaxnn

    jaxnn.enable_compilation_cache()
    return _jaxnn(spec)


_IMPLS: dict[str, Callable[[dict[str, Any]], RunFn]] = {
    "jaxnn": _jaxnn, "jaxnn-cache": _jaxnn_cached, "sklearn": _sklearn, "torch": _torch, "keras": _keras,
}
_JAX_BASED = ("jaxnn", "jaxnn-cache", "keras")


def main(argv: list[str]) -> dict[str, Any]:
    """Imports the library, loads the data, runs the loop; returns what is printed."""
    impl, data_path, spec = argv[0], argv[1], json.loads(argv[2])
    run = _IMPLS[impl](spec)
    clock = None
    if impl in _JAX_BASED:
        from bench._timing import CompileClock

        clock = CompileClock
    t_import = time.perf_counter()
    import numpy as np

    with np.load(data_path) as f:
        x, y = f["x"], f["y"]
    t_data = time.perf_counter()
    runs = []
    for seed in spec["seeds"]:
        for lr in spec["lrs"]:
            start = time.perf_counter()
            if clock is None:
                accuracy, epochs = run(x, y, seed, lr)
                counts = {}
            else:
                with clock() as c:
                    accuracy, epochs = run(x, y, seed, lr)
                counts = {"programs": c.programs, "cache_hits": c.cache_hits}
            runs.append({"seed": seed, "lr": lr, "seconds": time.perf_counter() - start, "accuracy": accuracy,
                         "epochs": epochs, **counts})
    end = time.perf_counter()
    return {"import_s": t_import - _T0, "data_s": t_data - t_import, "runs": runs, "loop_s": end - t_data}


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1:])))
