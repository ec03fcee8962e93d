"""Taking a run out of the page: the model file, the data as CSV, and a Python script.

* The model is the file ``jaxnn train`` writes and ``jaxnn predict`` reads: the MLP's params
  saved with :func:`jaxnn.checkpoint.save`, and a config naming the feature columns (the
  selected inputs, ``x1``, ``x2``, ``x1sq``, ...), with no standardization (mean 0, std 1).
* The data CSV has those columns for every sample, the label and the split, so that
  ``jaxnn predict --model model.jaxnn --data data.csv`` runs as is.
* The script uses the public jaxnn API only and makes the same calls the page made: the
  same generator and split, the same network, optimizer and seed, and the same sequence of
  ``fit`` calls (or the ``sweep``), so its params at the end equal the page's.
"""

from __future__ import annotations

import io
import os
import tempfile
from typing import Any

import jax
import numpy as np

from jaxnn import _tabular as tabular
from jaxnn.playground._config import Config, RequestError
from jaxnn.playground._data import Data, Upload, features

__all__ = ["model_file", "data_csv", "script"]


def _class_names(cfg: Config, d: Data, upload: Upload | None) -> list[str] | None:
    if d.task == "regression":
        return None
    if _pm1_labels(cfg, upload):
        return ["-1", "1"]
    return [str(c) for c in range(d.classes)]


def _pm1_labels(cfg: Config, upload: Upload | None) -> bool:
    if cfg.dataset in ("separable", "xor"):
        return True
    return cfg.dataset == "upload" and upload is not None and set(np.unique(upload.y).tolist()) <= {-1, 1}


def model_file(job: Any, upload: Upload | None) -> bytes:
    """The trained network as a ``jaxnn predict`` model file (safetensors, or npz without it)."""
    if job.kind != "network":
        raise RequestError("the model download is for network mode; the script reproduces the other modes", 409)
    cfg, d = job.cfg, job.data
    names = list(cfg.features)
    outputs = d.classes if d.task == "multiclass" else 1
    task = d.task
    config = tabular.model_config(
        task=task, head=task, sizes=[len(names), *cfg.hidden, outputs], activation=cfg.activation,
        features=[{"name": n, "kind": "numeric"} for n in names], targets=["y" if task == "regression" else "label"],
        # The data CSV writes the labels as whole numbers, compared by value.
        class_names=_class_names(cfg, d, upload), label_kind=None if task == "regression" else "number",
        number_format=tabular.NumberFormat(".", None), x_mean=[0.0] * len(names), x_std=[1.0] * len(names),
        y_mean=[0.0] if task == "regression" else None, y_std=[1.0] if task == "regression" else None,
        training={"source": f"playground:{cfg.dataset}", "optimizer": cfg.optimizer, "learning_rate": cfg.lr,
                  "epochs": job.epoch, "epochs_run": job.epoch, "batch_size": cfg.batch or None,
                  "seed": cfg.train_seed, "data_seed": cfg.seed},
    )
    # The model file is written to a path (atomically); it lives in a private temporary folder
    # for the moment it takes to read it back.
    with tempfile.TemporaryDirectory(prefix="jaxnn-playground-") as folder:
        path = os.path.join(folder, "model.jaxnn")
        tabular.write_model(path, jax.tree_util.tree_map(np.asarray, jax.device_get(job.params)), config)
        with open(path, "rb") as f:
            return f.read()


def data_csv(cfg: Config, d: Data, upload: Upload | None) -> str:
    """Every sample with its feature columns, its label (or target) and its split."""
    pm1 = _pm1_labels(cfg, upload)
    out = io.StringIO()
    raw_names = ["x1", "x2"] if d.raw_train.shape[1] == 2 else ["x1"]
    names = list(dict.fromkeys([*raw_names, *cfg.features]))
    target = "y" if d.task == "regression" else "label"
    out.write(",".join([*names, target, "split"]) + "\n")
    for split, raw, t in (("train", d.raw_train, d.y_train), ("test", d.raw_test, d.y_test)):
        cols = features(raw, tuple(names))
        t = np.asarray(t).reshape(len(raw), -1)[:, 0]
        for row, label in zip(cols, t):
            if d.task == "regression":
                value = repr(float(label))
            else:
                value = str(int(label) * 2 - 1 if pm1 else int(label))
            out.write(",".join([*(repr(float(v)) for v in row), value, split]) + "\n")
    return out.getvalue()


# ----------------------------------------------------------------------------- the script


def _data_code(cfg: Config, upload: Upload | None) -> str:
    """The lines that rebuild ``make_data``'s arrays with the public API (see ``_data``)."""
    n, noise = cfg.samples, cfg.noise
    lines = ["    key = jax.random.fold_in(jax.random.key(DATA_SEED), 0)"]
    if cfg.dataset == "upload":
        assert upload is not None
        lines = [f"    x = np.array({upload.x.tolist()!r}, np.float32)",
                 f"    labels = np.array({upload.y.tolist()!r}, np.{upload.y.dtype})"]
    elif cfg.dataset == "separable":
        lines += ["    gen_key, noise_key = jax.random.split(key)",
                  f"    x, labels, _ = datasets.linearly_separable(gen_key, {n}, margin=0.1)"]
        if noise > 0:
            lines.append(f"    x = x + {noise!r} * jax.random.normal(noise_key, x.shape)")
    elif cfg.dataset == "xor":
        lines.append(f"    x, labels = datasets.noisy_xor(key, {n}, noise={noise!r})")
    elif cfg.dataset == "circles":
        lines.append(f"    x, labels = datasets.circles(key, {n}, noise={noise!r}, factor=0.5)")
    elif cfg.dataset == "moons":
        lines.append(f"    x, labels = datasets.two_moons(key, {n}, noise={noise!r})")
    elif cfg.dataset == "spirals":
        lines.append(f"    x, labels = datasets.spirals(key, {n}, num_classes={cfg.classes}, noise={noise!r})")
    elif cfg.dataset == "blobs":
        lines.append(f"    x, labels = datasets.blobs(key, {n}, num_classes={cfg.classes}, std={0.3 + noise!r}, spread=3.0)")
    elif cfg.dataset in ("plane", "gaussians"):
        lines += [f"    x, labels = datasets.regression_{cfg.dataset}(key, {n}, noise={noise!r})", "    labels = labels[:, 0]"]
    else:
        lines += [f"    x, labels = datasets.regression_1d(key, {n}, noise={noise!r})", "    labels = labels[:, 0]"]
    lines.append("    x, labels = np.asarray(x, np.float32), np.asarray(labels)")
    return "\n".join(lines)


_FEATURE_CODE = {
    "x1": "x1", "x2": "x2", "x1sq": "x1 * x1", "x2sq": "x2 * x2", "x1x2": "x1 * x2",
    "sinx1": "np.sin(x1)", "sinx2": "np.sin(x2)",
}


def _head_code(task: str, pm1: bool) -> str:
    if task == "regression":
        return ("    (x_tr, y_tr), (x_te, y_te) = data.train_test_split(split_key, x, labels.astype(np.float32), "
                "test_fraction=TEST_RATIO, stratify=False)\n"
                "    y_tr, y_te = y_tr.reshape(-1, 1), y_te.reshape(-1, 1)")
    convert = "    labels = np.asarray(data.labels_to_01(labels))  # {-1, +1} -> {0, 1}\n" if pm1 else ""
    reshape = ("    y_tr, y_te = y_tr.reshape(-1, 1).astype(np.float32), y_te.reshape(-1, 1).astype(np.float32)"
               if task == "binary" else "")
    return (convert + "    (x_tr, y_tr), (x_te, y_te) = data.train_test_split(split_key, x, labels.astype(np.int32), "
            "test_fraction=TEST_RATIO, stratify=True)\n" + reshape)


def script(job: Any, upload: Upload | None) -> str:
    """A standalone Python script that reproduces the job's run and its final params."""
    cfg, d = job.cfg, job.data
    pm1 = _pm1_labels(cfg, upload) and d.task == "binary"
    feats = ", ".join(_FEATURE_CODE[f] for f in cfg.features)
    two_d = d.raw_train.shape[1] == 2
    head = f'''"""A jaxnn playground run ({job.kind} mode, data set {cfg.dataset!r}), reproduced with the public API.

The same data (generator, seed, split and features), the same model and optimizer, and the
same training calls as the page, so the params at the end equal the page's.

    python {{this file}} [--save params.npz]
"""

import argparse

import jax
import jax.numpy as jnp
import numpy as np

from jaxnn import checkpoint, data, datasets, heads, nn, optim, perceptron, train

DATA_SEED = {cfg.seed}
TRAIN_SEED = {cfg.train_seed}
TEST_RATIO = {cfg.test_ratio!r}


def features(raw):
    """The network's inputs: {", ".join(cfg.features)}."""
    x1 = raw[:, 0]
{"    x2 = raw[:, 1]" if two_d else ""}
    return np.stack([{feats}], axis=1).astype(np.float32)


def load_data():
    """(x_train, y_train, x_test, y_test), as the page made them."""
{_data_code(cfg, upload)}
    split_key = jax.random.fold_in(jax.random.key(DATA_SEED), 1)
{_head_code(d.task, pm1)}
    return features(x_tr), y_tr, features(x_te), y_te

'''
    body = {"network": _network_code, "grid": _grid_code, "perceptron": _perceptron_code}[job.kind](job)
    tail = '''

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--save", metavar="FILE", help="save the final params with jaxnn.checkpoint")
    args = parser.parse_args()
    params = main()
    if args.save:
        checkpoint.save(args.save, params)
        print("saved the params to", args.save)
'''
    return head + body + tail


def _loss_code(cfg: Config, apply: str = "net.apply") -> str:
    if cfg.l1 == 0 and cfg.l2 == 0:
        return f"    loss_fn = train.Supervised({apply}, head)\n"
    return (
        f"    l1, l2 = {cfg.l1!r}, {cfg.l2!r}\n\n"
        "    class Penalized(train.Supervised):  # L1 and L2 penalties on the weights, per example\n"
        "        def __call__(self, params, x, y):\n"
        '            weights = [layer["w"] for layer in params]\n'
        "            penalty = l1 * sum(jnp.sum(jnp.abs(w)) for w in weights) + l2 * sum(jnp.sum(w * w) for w in weights)\n"
        "            return self.head.loss(self.apply(params, x), y) + penalty\n\n"
        f"    loss_fn = Penalized({apply}, head)\n"
    )


def _optimizer_code(cfg: Config, lr: str | None = None) -> str:
    args = ", ".join([lr or repr(cfg.lr), *(f"{k}={v!r}" for k, v in cfg.optimizer_hyperparams().items())])
    return f"optim.{cfg.optimizer}({args})"


def _outputs(d: Data) -> int:
    return d.classes if d.task == "multiclass" else 1


def _network_code(job: Any) -> str:
    cfg, d = job.cfg, job.data
    schedule = [tuple(s) for s in job.schedule]
    batch = None if cfg.batch == 0 else cfg.batch
    return f'''
def main():
    x_tr, y_tr, x_te, y_te = load_data()
    net = nn.MLP({list(cfg.hidden)!r}, {_outputs(d)}, activation={cfg.activation!r})
    head = heads.{d.task}()
{_loss_code(cfg)}    optimizer = {_optimizer_code(cfg)}
    init_key, train_key = jax.random.split(jax.random.key(TRAIN_SEED))
    _, params = net.init(init_key, (-1, x_tr.shape[1]))
    opt_state, epoch = None, 0
    # The page trains in chunks: (epochs per fit call, number of calls), in order. Each call
    # resumes from the last one's params and optimizer state and shuffles with the key of its
    # first epoch.
    schedule = {schedule!r}
    for epochs, calls in schedule:
        for _ in range(calls):
            result = train.fit(params, loss_fn, x_tr, y_tr, optimizer=optimizer,
                               key=jax.random.fold_in(train_key, epoch), epochs=epochs, batch_size={batch!r},
                               validation_data=(x_te, y_te), opt_state=opt_state)
            params, opt_state = result.params, result.opt_state
            epoch += int(result.history.epochs_run)
            if int(result.history.nonfinite_epoch) >= 0:
                print("the loss became non-finite; the last finite params were kept")
    test_loss = float(jnp.mean(loss_fn(params, x_te, y_te)))
    print(f"{{epoch}} epochs; test loss {{test_loss:.4g}}")
    return params
'''


def _grid_code(job: Any) -> str:
    cfg, d = job.cfg, job.data
    m = job.members
    epochs = job.chunks * cfg.epochs_per_frame
    batch = None if cfg.batch == 0 else cfg.batch
    if epochs == 0:
        raise RequestError("train the grid for at least one frame before exporting it", 409)
    if cfg.grid_axes == "lr_seed":
        return f'''
def main():
    """A learning-rate x seed grid: one train.sweep call; member i = row * {len(m.cols)} + column."""
    x_tr, y_tr, x_te, y_te = load_data()
    net = nn.MLP({list(cfg.hidden)!r}, {_outputs(d)}, activation={cfg.activation!r})
    head = heads.{d.task}()
{_loss_code(cfg)}    learning_rates = np.array({[float(v) for v in m.lrs]!r}, np.float32)
    keys = jnp.stack([jax.random.key(s) for s in {m.seeds!r}])
    result = train.sweep(lambda k: net.init(k, (-1, x_tr.shape[1]))[1], loss_fn, x_tr, y_tr,
                         make_optimizer=lambda learning_rate: {_optimizer_code(cfg, "learning_rate")},
                         keys=keys, hyperparams={{"learning_rate": learning_rates}}, epochs={epochs},
                         batch_size={batch!r}, validation_data=(x_te, y_te))
    print("final test loss per member:", np.round(np.asarray(result.history.val_loss[:, -1]), 4))
    return result.params
'''
    return f'''
def main():
    """A width x activation grid: one train.fit per member (row = width, column = activation)."""
    x_tr, y_tr, x_te, y_te = load_data()
    head = heads.{d.task}()
    members = []
    for width in {list(cfg.widths)!r}:
        for activation in {list(cfg.activations)!r}:
            net = nn.MLP([width] * {len(cfg.hidden)}, {_outputs(d)}, activation=activation)
{_indent(_loss_code(cfg), 8)}            init_key, shuffle_key = jax.random.split(jax.random.key(TRAIN_SEED))
            _, params = net.init(init_key, (-1, x_tr.shape[1]))
            result = train.fit(params, loss_fn, x_tr, y_tr, optimizer={_optimizer_code(cfg)}, key=shuffle_key,
                               epochs={epochs}, batch_size={batch!r}, validation_data=(x_te, y_te))
            print(f"width {{width}}, {{activation}}: test loss {{float(result.history.val_loss[-1]):.4g}}")
            members.append(result.params)
    return members
'''


def _indent(code: str, spaces: int) -> str:
    return "".join((" " * spaces + line) if line.strip() else line for line in code.splitlines(True))


def _perceptron_code(job: Any) -> str:
    cfg = job.cfg
    return f'''
def main():
    """Rosenblatt's perceptron on the page's training data: {job.epoch} whole epoch(s), then the first
    {job.position} sample(s) of the next, where the page stopped."""
    x_tr, y_tr, x_te, y_te = load_data()
    labels = np.asarray(data.labels_to_pm1(y_tr[:, 0].astype(np.int32)))  # the perceptron's {{-1, +1}}
    eta = np.float32({cfg.eta!r})
    w = np.zeros(x_tr.shape[1] + 1, np.float32)
    if {job.epoch} > 0:
        result = perceptron.perceptron_numpy(x_tr, labels, eta=eta, max_epochs={job.epoch})
        print(f"converged: {{bool(result.converged)}}; mistakes per epoch: {{result.mistakes.tolist()[:20]}}")
        w = result.weights
    # The rest, sample by sample, with the same rule: on y <w, (1, x)> <= 0, w <- w + (eta y) (1, x).
    x_aug = np.concatenate([np.ones((len(x_tr), 1), np.float32), x_tr], axis=1)
    y = labels.astype(np.float32)
    for i in range({job.position}):
        if y[i] * np.dot(w, x_aug[i]) <= 0:
            w = w + (eta * y[i]) * x_aug[i]
    print("weights (bias first):", w)
    return {{"weights": w}}
'''
