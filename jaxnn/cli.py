"""The ``jaxnn`` command line: ``demo``, ``train``, ``predict`` and ``bench``.

.. code-block:: text

    jaxnn demo [--out DIR] [--quick]          the course end to end: a summary table and figures
    jaxnn train --data FILE.csv --target COL  train a dense network on a CSV file (or --dataset)
    jaxnn predict --model FILE --data FILE.csv [--out FILE.csv]
    jaxnn bench [ARGS ...]                    the benchmark suite (from a source checkout)

``jaxnn train`` standardizes the features (the scaler is fitted on the training split and
saved with the model), one-hot encodes text feature columns, infers the task from the target
column unless ``--task`` says it, trains with :func:`jaxnn.train.fit`, and writes the model
with :mod:`jaxnn.checkpoint` (the params plus a config that rebuilds the network and its
preprocessing) and a metrics JSON. Bad input (a missing file, a misspelled column, missing
values, a file that is not a jaxnn model, features that do not match the model) gets a
one-line message on stderr and exit status 2, never a traceback.

Task inference (``--task auto``, the default): several target columns are a multivariate
regression; a text target is binary with 2 classes and multi-class otherwise; a numeric
target of whole numbers with 2 to 20 distinct values (and at most half as many values as
rows) is binary or multi-class the same way; any other numeric target is a regression.
Class labels are sorted (numerically for numbers), and for a binary task the second one is
the positive class.

Also runnable as ``python -m jaxnn``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import pathlib
import sys
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from jaxnn import _csv
from jaxnn._version import __version__

__all__ = ["main", "MODEL_KIND", "DATASETS", "OPTIMIZERS", "HIDDEN_ACTIVATIONS", "load_model", "Model"]

#: ``config["kind"]`` of a model file written by ``jaxnn train``.
MODEL_KIND = "jaxnn.cli.model"
_MODEL_VERSION = 1

#: ``--dataset`` choices: the bundled real data sets and a few synthetic ones (500 samples
#: drawn with ``--seed``).
DATASETS = ("iris", "digits", "diabetes", "moons", "circles", "spirals", "sine")

#: ``--optimizer`` choices (from :mod:`jaxnn.optim`) and their default learning rates.
OPTIMIZERS = {
    "sgd": 0.1,
    "momentum": 0.05,
    "adagrad": 0.1,
    "rmsprop": 0.01,
    "adadelta": 1.0,
    "adam": 0.01,
    "adamw": 0.01,
}

#: ``--activation`` choices: the activations of :mod:`jaxnn.activations` that make sense for
#: hidden layers trained by gradient descent (not ``sign``/``heaviside``, whose gradient is
#: zero, nor the softmaxes).
HIDDEN_ACTIVATIONS = (
    "relu", "tanh", "sigmoid", "elu", "selu", "gelu", "gelu_tanh", "silu", "swish",
    "leaky_relu", "softplus", "softsign", "hard_sigmoid", "identity",
)  # fmt: skip

_MAX_CLASSES_INFERRED = 20


class _UsageError(ValueError):
    """Bad input to the command line; its message is printed as one line."""


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line and do not exit (``main`` returns 2)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise _UsageError(f"{message} (see '{self.prog} --help')")


# ----------------------------------------------------------------------------- parsing


def _hidden_sizes(text: str) -> list[int]:
    text = text.strip()
    if text.lower() in ("", "none", "0"):
        return []
    try:
        sizes = [int(s) for s in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be comma-separated layer widths like 16,16, got {text!r}") from None
    if any(s < 1 for s in sizes):
        raise argparse.ArgumentTypeError(f"layer widths must be >= 1, got {text!r}")
    return sizes


def _positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {v}")
    return v


def _batch_size(text: str) -> int | None:
    if text.strip().lower() in ("full", "0", "none"):
        return None
    return _positive_int(text)


def _fraction(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number in [0, 1), got {text!r}") from None
    if not 0 <= v < 1:
        raise argparse.ArgumentTypeError(f"must be in [0, 1) (0 for no validation split), got {v}")
    return v


def _positive_float(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number > 0, got {text!r}") from None
    if not (math.isfinite(v) and v > 0):
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {text!r}")
    return v


def _parser() -> _Parser:
    p = _Parser(
        prog="jaxnn",
        description="jaxnn: an introductory neural-networks course as pure, jit-compiled JAX functions.",
        epilog="Run 'jaxnn COMMAND --help' for the options of a command.",
    )
    p.add_argument("--version", action="version", version=f"jaxnn {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    d = sub.add_parser(
        "demo",
        help="the course end to end: a summary table and figures (about a minute)",
        description="Runs every section of the course at a small size, prints what was trained, on "
        "what and the metric reached, and writes figures (PNG) when matplotlib is installed "
        "(pip install 'jaxnn[plot]').",
    )
    d.add_argument("--out", default="jaxnn-demo", metavar="DIR", help="folder for the figures (default: jaxnn-demo)")
    d.add_argument("--quick", action="store_true", help="smaller sizes and fewer epochs (a smoke test)")
    d.add_argument("--only", metavar="SECTION[,SECTION...]", default=None,
                   help="run only these sections: perceptron, combining, descent, losses, optimizers, backprop, "
                   "architectures, sweep")

    t = sub.add_parser(
        "train",
        help="train a dense network on a CSV file or a built-in data set",
        description="Trains an MLP on a CSV file (header row; text feature columns are one-hot "
        "encoded; missing values are an error) or a built-in data set, and writes the model "
        "(params + config, with the feature scaler) and a metrics JSON.",
    )
    src = t.add_argument_group("data")
    src.add_argument("--data", metavar="CSV", help="a CSV file with a header row")
    src.add_argument("--dataset", choices=DATASETS, help="a built-in data set instead of --data")
    src.add_argument(
        "--target", metavar="COL[,COL...]",
        help="target column(s) (default: the last column); several columns make a multivariate regression",
    )
    src.add_argument("--drop", metavar="COL[,COL...]", default=None,
                     help="columns to ignore (identifiers, free text, leaks of the target)")
    src.add_argument(
        "--task", choices=("auto", "regression", "binary", "multiclass"), default="auto",
        help="what to predict (default: auto, inferred from the target column)",
    )
    src.add_argument("--val-split", type=_fraction, default=0.2, metavar="F",
                     help="fraction held out for validation, stratified for classification (default 0.2; 0: none)")
    m = t.add_argument_group("model and training")
    m.add_argument("--hidden", type=_hidden_sizes, default=[16, 16], metavar="W,W",
                   help="hidden layer widths (default 16,16; 'none' for no hidden layer)")
    m.add_argument("--activation", choices=HIDDEN_ACTIVATIONS, default="relu", help="hidden activation (default relu)")
    m.add_argument("--optimizer", choices=tuple(OPTIMIZERS), default="adam",
                   help="optimizer from jaxnn.optim (default adam)")
    m.add_argument("--lr", type=_positive_float, default=None,
                   help="learning rate (default: " + ", ".join(f"{k} {v:g}" for k, v in OPTIMIZERS.items()) + ")")
    m.add_argument("--epochs", type=_positive_int, default=100, help="epochs (default 100)")
    m.add_argument("--batch-size", type=_batch_size, default=32, metavar="N",
                   help="mini-batch size (default 32, capped at the training size; 'full' for full-batch GD)")
    m.add_argument("--patience", type=_positive_int, default=None, metavar="N",
                   help="early stopping: stop after N epochs without a better validation loss (keeps the best)")
    m.add_argument("--seed", type=int, default=0, help="seed of the split, the initialization and the shuffles")
    m.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="a progress bar (needs tqdm; default: on when stderr is a terminal and tqdm is installed)")
    o = t.add_argument_group("output")
    o.add_argument("--out", default="model.jaxnn", metavar="FILE", help="the model file (default model.jaxnn)")
    o.add_argument("--metrics-json", default=None, metavar="FILE",
                   help="the metrics file (default: the model file with the suffix .metrics.json)")

    pr = sub.add_parser(
        "predict",
        help="predict with a model written by 'jaxnn train'",
        description="Reads a CSV file with the model's feature columns (by name; other columns are "
        "ignored) and writes one prediction per row: the value(s) for a regression, the class and one "
        "probability column per class for a classification. When the target column is present too, "
        "the accuracy (or R^2) on it is printed on stderr.",
    )
    pr.add_argument("--model", required=True, metavar="FILE", help="a model file written by 'jaxnn train'")
    pr.add_argument("--data", required=True, metavar="CSV", help="a CSV file with the model's feature columns")
    pr.add_argument("--out", default=None, metavar="CSV", help="where to write the predictions (default: stdout)")

    sub.add_parser(
        "bench",
        help="the benchmark suite (from a source checkout; 'jaxnn bench --help' lists its options)",
        add_help=False,
    )
    return p


# ----------------------------------------------------------------------------- main


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the ``jaxnn`` command line.

    Args:
      argv: the arguments without the program name (``None``: ``sys.argv[1:]``).

    Returns:
      The exit status: 0 on success, 2 for bad input (a one-line message on stderr),
      the benchmark suite's own status for ``bench``, 130 when interrupted.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    command = argv[0] if argv and argv[0] in ("demo", "train", "predict", "bench") else None
    if command == "bench":
        return _bench(argv[1:])
    try:
        args = _parser().parse_args(argv)
    except SystemExit as e:  # --help and --version
        return int(e.code or 0)
    except _UsageError as e:
        return _fail(command, str(e))
    if args.command is None:
        _parser().print_help()
        return 0
    try:
        if args.command == "demo":
            return _demo(args)
        if args.command == "train":
            return _train(args)
        return _predict(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except FileNotFoundError as e:
        return _fail(args.command, f"no such file or folder: {e.filename or e}")
    except OSError as e:
        return _fail(args.command, f"{e.strerror or e}: {e.filename}" if e.filename else str(e))
    except (ValueError, ImportError) as e:
        # _UsageError, TableError, CheckpointError and the library's own ValueErrors.
        return _fail(args.command, str(e))


def _fail(command: str | None, message: str) -> int:
    message = " ".join(message.split())  # one line, whatever the message
    print(f"jaxnn{' ' + command if command else ''}: error: {message}", file=sys.stderr)
    return 2


def _source_root() -> pathlib.Path:
    """The folder holding the ``jaxnn`` package: a repository checkout has ``bench/`` there too."""
    return pathlib.Path(__file__).resolve().parent.parent


def _bench(argv: list[str]) -> int:
    try:
        import bench
    except ModuleNotFoundError as e:
        if e.name != "bench":
            raise
        # The console script does not have the checkout on sys.path: look next to jaxnn.
        root = _source_root()
        if not (root / "bench" / "__init__.py").is_file():
            return _fail("bench", "the benchmark suite ships with the source, not the package: run 'jaxnn bench' "
                         "(or 'python -m bench') from a checkout of the jaxnn repository")
        sys.path.insert(0, str(root))
        import bench
    if not callable(getattr(bench, "main", None)):
        return _fail("bench", f"the module 'bench' found at {getattr(bench, '__file__', '?')} is not jaxnn's "
                     "benchmark suite; run from the root of a jaxnn checkout")
    try:
        return int(bench.main(argv) or 0)
    except SystemExit as e:  # its --help, or its own argument errors
        return e.code if isinstance(e.code, int) else (0 if e.code is None else 1)


def _demo(args: argparse.Namespace) -> int:
    from jaxnn import _demo

    only = None if args.only is None else [k.strip() for k in args.only.split(",") if k.strip()]
    return _demo.run(args.out, quick=args.quick, only=only)


# ----------------------------------------------------------------------------- data


def _dataset_table(name: str, seed: int) -> _csv.Table:
    import jax

    from jaxnn import datasets

    source = f"the {name} data set"
    if name in ("iris", "digits", "diabetes"):
        ds = {"iris": datasets.load_iris, "digits": datasets.load_digits, "diabetes": datasets.load_diabetes}[name]()
        x, y = np.asarray(ds.x), np.asarray(ds.y)
        cols = [x[:, j] for j in range(x.shape[1])]
        if name == "iris":
            target, tname = np.asarray(ds.class_names, dtype=object)[y], "species"
        elif name == "digits":
            target, tname = y, "digit"
        else:
            target, tname = y[:, 0], "progression"
        return _csv.from_arrays(source, [*ds.feature_names, tname], [*cols, target])
    key = jax.random.key(seed)
    n = 500
    if name == "moons":
        x, y = datasets.two_moons(key, n, noise=0.15)
    elif name == "circles":
        x, y = datasets.circles(key, n, noise=0.08)
    elif name == "spirals":
        x, y = datasets.spirals(key, n, num_classes=3, noise=0.03)
    else:
        x, y = datasets.regression_1d(key, n, noise=0.1)
    x, y = np.asarray(x), np.asarray(y).reshape(n)
    names = [f"x{j + 1}" for j in range(x.shape[1])]
    return _csv.from_arrays(source, [*names, "y" if name == "sine" else "label"], [*x.T, y])


def _targets(table: _csv.Table, target: str | None) -> list[str]:
    if target is None:
        return [table.names[-1]]
    names = [t.strip() for t in target.split(",") if t.strip()]
    if not names:
        raise _UsageError("--target is empty; name the target column(s)")
    for n in names:
        table.column(n, "target column")
    if len(set(names)) != len(names):
        raise _UsageError(f"--target names a column twice: {target!r}")
    if len(names) == len(table.names):
        raise _UsageError("every column is a target; leave at least one feature column")
    return names


def _encode_target(table: _csv.Table, names: list[str], task: str) -> tuple[np.ndarray, str, list[str] | None, str]:
    """Returns ``(y, task, class_names, why)``: y is float32 [N, T] for a regression, int32 class
    indices [N] for a classification."""
    cols = [table.column(n, "target column") for n in names]
    for c in cols:
        _csv.check_complete(table, c)
    if len(cols) > 1:
        text = [c.name for c in cols if not c.numeric]
        if text:
            raise _UsageError(f"several target columns make a multivariate regression, but {text[0]!r} is not numeric")
        if task not in ("auto", "regression"):
            raise _UsageError(
                f"--task {task} takes one target column, got {len(cols)}; several targets are a regression")
        return np.stack([c.values for c in cols], axis=1).astype(np.float32), "regression", None, "several targets"
    col = cols[0]
    n = table.rows
    if col.numeric:
        classes_num = np.unique(col.values)
        whole = bool(np.all(col.values == np.round(col.values)))
        if task == "auto":
            few = 2 <= len(classes_num) <= min(_MAX_CLASSES_INFERRED, max(2, n // 2))
            if whole and few:
                task = "binary" if len(classes_num) == 2 else "multiclass"
                why = f"{len(classes_num)} distinct whole-number values"
            else:
                task = "regression"
                why = "numeric values" if not whole else f"{len(classes_num)} distinct values"
        else:
            why = "--task"
        if task == "regression":
            return col.values[:, None].astype(np.float32), task, None, why
        codes = np.searchsorted(classes_num, col.values)
        classes = [_csv.format_label(v) for v in classes_num]
    else:
        if task == "regression":
            example = ", ".join(repr(v) for v in sorted(set(col.values.tolist()))[:3])
            raise _UsageError(
                f"target column {col.name!r} holds text ({example}, ...), not numbers, so it cannot be "
                "a regression target; use --task binary or --task multiclass"
            )
        classes = sorted(set(col.values.tolist()))
        index = {c: i for i, c in enumerate(classes)}
        codes = np.array([index[v] for v in col.values])
        if task == "auto":
            task = "binary" if len(classes) == 2 else "multiclass"
            why = f"{len(classes)} text labels"
        else:
            why = "--task"
    if len(classes) < 2:
        raise _UsageError(
            f"target column {col.name!r} has only one value ({classes[0]!r}); there is nothing to classify")
    if task == "binary" and len(classes) != 2:
        raise _UsageError(
            f"--task binary needs exactly 2 classes but target column {col.name!r} has {len(classes)} "
            f"({', '.join(repr(c) for c in classes[:5])}{' ...' if len(classes) > 5 else ''}); use --task multiclass"
        )
    if task == "multiclass" and len(classes) > 1000:
        raise _UsageError(
            f"target column {col.name!r} has {len(classes)} distinct values; did you mean --task regression?")
    return codes.astype(np.int32), task, classes, why


# ----------------------------------------------------------------------------- models


class Model:
    """A model written by ``jaxnn train``, loaded: the network, its params and its config.

    Attributes:
      path: the model file.
      config: the config stored with it (JSON).
      params: the MLP params (a list of ``{"w", "b"}`` dicts).
      net: the :func:`jaxnn.nn.MLP` that ``params`` belong to.
      head: the :class:`jaxnn.heads.Head` of its task.
    """

    def __init__(self, path: str, config: dict[str, Any], params: Any) -> None:
        """Builds the network from ``config`` and checks ``params`` against it."""
        from jaxnn import heads, nn

        self.path, self.config, self.params = path, config, params
        sizes = config["sizes"]
        self.net = nn.MLP(sizes[1:-1], sizes[-1], activation=config["activation"])
        self.head = heads.get(config["head"])
        shapes = [(tuple(np.shape(p["w"])), tuple(np.shape(p["b"]))) for p in params]
        want = [((a, b), (b,)) for a, b in zip(sizes[:-1], sizes[1:])]
        if shapes != want:
            raise _UsageError(f"{path} is damaged: its weights have shapes {shapes} but its config says {want}")

    def features(self, table: _csv.Table) -> np.ndarray:
        """The standardized inputs ``float32 [rows, features]`` of ``table`` for this model."""
        x = _csv.encode_features(table, self.config["features"], model=self.path)
        mean = np.asarray(self.config["x_mean"], np.float32)
        std = np.asarray(self.config["x_std"], np.float32)
        return (x - mean) / std

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Outputs for standardized inputs ``x``: values ``[N, T]`` (original units) for a
        regression, class probabilities ``[N, C]`` for a classification."""
        import jax

        task = self.config["task"]

        def forward(params: Any, x: Any) -> Any:
            out = self.head.output_activation(self.net.apply(params, x))
            return out[:, 0] if task == "binary" else out

        out = np.asarray(jax.jit(forward)(self.params, np.asarray(x, np.float32)))
        if task == "regression":
            return out * np.asarray(self.config["y_std"], np.float32) + np.asarray(self.config["y_mean"], np.float32)
        if task == "binary":
            return np.stack([1.0 - out, out], axis=1)
        return out


def load_model(path: str) -> Model:
    """Loads a model file written by ``jaxnn train``.

    Args:
      path: the model file.

    Returns:
      A :class:`Model`.

    Raises:
      ValueError: one-line messages for a missing file, a file that is not a jaxnn
        checkpoint, or a checkpoint that is not a ``jaxnn train`` model.
    """
    from jaxnn import checkpoint

    if not os.path.exists(path):
        raise _UsageError(f"no such model file: {path}")
    if os.path.isdir(path):
        raise _UsageError(f"{path} is a folder, not a model file")
    try:
        meta = checkpoint.load_metadata(path)
    except checkpoint.CheckpointError as e:
        raise _UsageError(f"{path} is not a jaxnn model ({e})") from None
    config = meta.config
    if not isinstance(config, dict) or config.get("kind") != MODEL_KIND:
        raise _UsageError(f"{path} is a jaxnn checkpoint but not a model written by 'jaxnn train' (its config has no "
                          f"kind={MODEL_KIND!r})")
    if config.get("model_version", 0) > _MODEL_VERSION:
        raise _UsageError(
            f"{path} was written by a newer jaxnn (model version {config['model_version']}); upgrade jaxnn")
    try:
        params = checkpoint.load(path)
    except checkpoint.CheckpointError as e:
        raise _UsageError(f"{path} is damaged: {e}") from None
    return Model(path, config, params)


# ----------------------------------------------------------------------------- train


def _train(args: argparse.Namespace) -> int:
    import jax
    import jax.numpy as jnp

    from jaxnn import checkpoint, data, heads, metrics, nn, optim, train

    if (args.data is None) == (args.dataset is None):
        raise _UsageError("give the data with --data FILE.csv or --dataset NAME (one of them)")
    progress = args.progress
    if progress is None or progress:
        if importlib.util.find_spec("tqdm") is None:
            if progress:
                raise _UsageError("--progress needs tqdm: pip install 'jaxnn[progress]'")
            progress = False
        if progress is None:
            progress = sys.stderr.isatty()

    table = _csv.read_csv(args.data) if args.data is not None else _dataset_table(args.dataset, args.seed)
    target_names = _targets(table, args.target)
    dropped = [] if args.drop is None else [d.strip() for d in args.drop.split(",") if d.strip()]
    for d in dropped:
        table.column(d, "--drop column")
        if d in target_names:
            raise _UsageError(f"--drop {d!r} names a target column")
    feature_names = [n for n in table.names if n not in target_names and n not in dropped]
    if not feature_names:
        raise _UsageError(f"no feature columns are left in {table.source} after the target and --drop")
    spec = _csv.feature_spec(table, feature_names)
    x = _csv.encode_features(table, spec)
    y, task, class_names, why = _encode_target(table, target_names, args.task)
    n = table.rows
    if n < 2:
        raise _UsageError(f"{table.source} has {n} row; training needs at least 2")

    key = jax.random.key(args.seed)
    split_key, init_key, fit_key = jax.random.split(key, 3)
    stratify = task != "regression" and np.min(np.bincount(y)) >= 2
    if args.val_split > 0:
        if round(args.val_split * n) < 1 or n - round(args.val_split * n) < 1:
            raise _UsageError(f"--val-split {args.val_split} leaves an empty part of the {n} rows; change it or use 0")
        (x_tr, y_tr), (x_va, y_va) = data.train_test_split(
            split_key, x, y, test_fraction=args.val_split, stratify=bool(stratify)
        )
    else:
        x_tr, y_tr, x_va, y_va = x, y, None, None

    # Fitted on the training split only. (The data were checked for NaN/Inf when read, so the
    # fit can run compiled, skipping Standardizer's own host-side check.)
    scaler = jax.jit(data.Standardizer.fit)(x_tr)
    x_mean, x_std = np.asarray(scaler.mean), np.asarray(scaler.std)
    prep = lambda a: (a - x_mean) / x_std
    if task == "regression":
        y_scaler = jax.jit(data.Standardizer.fit)(y_tr)
        y_mean, y_std = np.asarray(y_scaler.mean), np.asarray(y_scaler.std)
    else:
        y_mean = y_std = None
    if task == "regression":
        scale_y = lambda a: (a - y_mean) / y_std
    elif task == "binary":
        scale_y = lambda a: a.astype(np.float32)[:, None]  # the binary head trains on {0, 1} floats [N, 1]
    else:
        scale_y = lambda a: a

    if task == "regression":
        head = heads.regression() if y.shape[1] == 1 else heads.multivariate_regression()
        outputs = y.shape[1]
    elif task == "binary":
        head, outputs = heads.binary(), 1
    else:
        head, outputs = heads.multiclass(), len(class_names)
    sizes = [x.shape[1], *args.hidden, outputs]
    net = nn.MLP(args.hidden, outputs, activation=args.activation)
    # One compiled call instead of one small compilation per eager operation.
    params = jax.jit(lambda k: net.init(k, (-1, x.shape[1]))[1])(init_key)
    lr = OPTIMIZERS[args.optimizer] if args.lr is None else args.lr
    optimizer = getattr(optim, args.optimizer)(lr)
    batch = None if args.batch_size is None else min(args.batch_size, len(x_tr))
    loss_fn = train.Supervised(net.apply, head)

    fit_metrics = None
    if x_va is not None and task != "regression":
        fit_metrics = {"accuracy": lambda p, xv, yv: jnp.mean(
            (head.predict(net.apply(p, xv)) == yv.astype(jnp.int32)).astype(jnp.float32))}
    early = None
    if args.patience is not None:
        if x_va is None:
            raise _UsageError("--patience needs a validation split (--val-split > 0)")
        early = train.EarlyStopping(monitor="val_loss", patience=args.patience)
    print(
        f"training a {'-'.join(map(str, sizes))} {args.activation} MLP for {task}"
        f"{f' ({len(class_names)} classes)' if class_names else ''} on {table.source} "
        f"[task {'inferred from ' + why if args.task == 'auto' else 'given'}]: {len(x_tr)} training rows"
        f"{f', {len(x_va)} validation rows' if x_va is not None else ''}; {args.optimizer}(lr={lr:g}), "
        f"{args.epochs} epochs, batch {'full' if batch is None else batch}",
        flush=True,
    )
    start = time.perf_counter()
    result = train.fit(
        params, loss_fn, prep(x_tr), scale_y(y_tr), optimizer=optimizer, key=fit_key, epochs=args.epochs,
        batch_size=batch, validation_data=None if x_va is None else (prep(x_va), scale_y(y_va)),
        metrics=fit_metrics, early_stopping=early, progress=bool(progress),
    )
    seconds = time.perf_counter() - start
    hist = result.history
    epochs_run = int(hist.epochs_run)
    if int(hist.nonfinite_epoch) >= 0:
        print(f"warning: the loss became NaN/Inf in epoch {int(hist.nonfinite_epoch)}; training stopped there "
              "and the last finite weights were kept. Try a smaller --lr.", file=sys.stderr)

    config = {
        "kind": MODEL_KIND,
        "model_version": _MODEL_VERSION,
        "task": task,
        "head": head.name,
        "sizes": sizes,
        "activation": args.activation,
        "features": spec,
        "encoded_features": _csv.encoded_names(spec),
        "targets": target_names,
        "class_names": class_names,
        "x_mean": x_mean.tolist(),
        "x_std": x_std.tolist(),
        "y_mean": None if y_mean is None else y_mean.tolist(),
        "y_std": None if y_std is None else y_std.tolist(),
        "training": {
            "source": args.data if args.data is not None else f"dataset:{args.dataset}",
            "optimizer": args.optimizer, "learning_rate": lr, "epochs": args.epochs, "epochs_run": epochs_run,
            "batch_size": batch, "val_split": args.val_split, "seed": args.seed, "patience": args.patience,
        },
    }
    model = Model(args.out, config, result.params)
    report: dict[str, Any] = {
        "task": task, "source": config["training"]["source"], "targets": target_names, "class_names": class_names,
        "sizes": sizes, "activation": args.activation, "optimizer": args.optimizer, "learning_rate": lr,
        "epochs": args.epochs, "epochs_run": epochs_run, "batch_size": batch, "seed": args.seed,
        "train_rows": int(len(x_tr)), "val_rows": 0 if x_va is None else int(len(x_va)),
        "train_seconds": round(seconds, 3), "nonfinite_epoch": int(hist.nonfinite_epoch),
        "history": {"train_loss": _finite_list(hist.train_loss[:epochs_run]),
                    "val_loss": _finite_list(hist.val_loss[:epochs_run]) if x_va is not None else None},
        "train": _evaluate(model, prep(x_tr), y_tr, metrics),
        "validation": None if x_va is None else _evaluate(model, prep(x_va), y_va, metrics),
    }

    out = pathlib.Path(args.out)
    metrics_path = pathlib.Path(args.metrics_json) if args.metrics_json else out.with_name(out.stem + ".metrics.json")
    checkpoint.save(out, result.params, config=config)
    metrics_path.write_text(json.dumps(report, indent=1) + "\n")
    part = report["validation"] or report["train"]
    where = "validation" if report["validation"] else "training"
    shown = ", ".join(f"{k} {v:.4g}" for k, v in part.items() if isinstance(v, float))
    print(f"{epochs_run} epochs in {seconds:.1f} s; {where}: {shown}")
    print(f"wrote {out} and {metrics_path}")
    return 0


def _finite_list(a: Any) -> list[float | None]:
    return [float(v) if math.isfinite(float(v)) else None for v in np.asarray(a)]


def _evaluate(model: Model, x: np.ndarray, y: np.ndarray, metrics: Any) -> dict[str, Any]:
    """Metrics of ``model`` on standardized inputs ``x`` and encoded targets ``y`` (original units)."""
    import jax

    out = model.predict(x)
    task = model.config["task"]
    if task == "regression":
        fn = lambda p, t: (metrics.mean_squared_error(p, t), metrics.mean_absolute_error(p, t), metrics.r2_score(p, t))
        mse, mae, r2 = jax.jit(fn)(out.astype(np.float32), y.astype(np.float32))
        return {"mse": float(mse), "mae": float(mae), "r2": float(r2)}
    k = len(model.config["class_names"])
    fn = lambda p, t: (metrics.accuracy(p, t), metrics.f1_score(p, t, k), metrics.confusion_matrix(p, t, k))
    acc, f1, cm = jax.jit(fn)(np.argmax(out, axis=1).astype(np.int32), y.reshape(-1).astype(np.int32))
    return {"accuracy": float(acc), "f1_macro": float(f1), "confusion_matrix": np.asarray(cm).tolist()}


# ----------------------------------------------------------------------------- predict


def _predict(args: argparse.Namespace) -> int:
    import csv

    from jaxnn import metrics

    if args.out is not None and not os.path.isdir(os.path.dirname(os.path.abspath(args.out))):
        raise _UsageError(f"the folder of --out {args.out} does not exist; create it first")
    model = load_model(args.model)
    table = _csv.read_csv(args.data)
    outputs = model.predict(model.features(table))
    config = model.config
    targets = config["targets"]
    if config["task"] == "regression":
        header = [f"predicted_{t}" for t in targets]
        rows = [[f"{v:.7g}" for v in r] for r in outputs]
    else:
        classes = config["class_names"]
        header = [f"predicted_{targets[0]}", *[f"p_{c}" for c in classes]]
        best = np.argmax(outputs, axis=1)
        rows = [[classes[b], *(f"{p:.6g}" for p in r)] for b, r in zip(best, outputs)]
    if args.out is not None:
        f = open(args.out, "w", newline="")
    else:
        f = sys.stdout
    try:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)
    finally:
        if f is not sys.stdout:
            f.close()
    score = _score_if_labelled(model, table, outputs, metrics)
    where = f"wrote {len(rows)} predictions to {args.out}" if args.out else f"{len(rows)} predictions"
    print(where + (f"; {score}" if score else ""), file=sys.stderr)
    return 0


def _score_if_labelled(model: Model, table: _csv.Table, outputs: np.ndarray, metrics: Any) -> str | None:
    """The accuracy (or R^2) against the target column(s) when the CSV has them, else None."""
    config = model.config
    if not all(t in table.names for t in config["targets"]):
        return None
    try:
        cols = [table.column(t) for t in config["targets"]]
        for c in cols:
            _csv.check_complete(table, c)
        if config["task"] == "regression":
            true = np.stack([c.values for c in cols], axis=1).astype(np.float32)
            return f"R^2 on the {', '.join(config['targets'])} column(s): {float(metrics.r2_score(outputs, true)):.4f}"
        col = cols[0]
        labels = [_csv.format_label(v) for v in col.values] if col.numeric else list(col.values)
        classes = config["class_names"]
        index = {c: i for i, c in enumerate(classes)}
        if any(v not in index for v in labels):
            return None
        true = np.array([index[v] for v in labels], np.int32)
        pred = np.argmax(outputs, axis=1).astype(np.int32)
        return f"accuracy on the {config['targets'][0]!r} column: {float(metrics.accuracy(pred, true)):.4f}"
    except ValueError:
        return None
