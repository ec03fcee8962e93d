"""``jaxnn train``: a table in, a model file and a metrics JSON out.

:func:`run` lists the steps, one function each: check the options and the outputs, read the
table (a CSV file or a built-in data set), select the columns, encode the features and the
target, split, standardize, choose the head and build the network, fit, and write the model
and the report. Every check on the user's input runs before anything is trained.

The features are standardized with a scaler fitted on the training split, in float64, and
saved with the model; a regression's targets likewise.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys
import time
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import numpy as np

from jaxnn import _atomic, _memory, data, heads, nn, optim, train
from jaxnn import _tabular as tabular
from jaxnn.cli import _datasets
from jaxnn.cli._argtypes import names as split_names
from jaxnn.cli._errors import UsageError
from jaxnn.cli._parser import OPTIMIZERS
from jaxnn.cli._progress import wants_progress
from jaxnn.cli._scores import evaluate, finite_list
from jaxnn.cli._target import Target, encode_target, target_names


class _Encoded(NamedTuple):
    """The training table, encoded: features ``x`` (``float64 [N, F]``) through the schema
    ``spec``, and the target."""

    source: str
    x: np.ndarray
    spec: list[dict[str, Any]]
    target_names: list[str]
    target: Target


class _Split(NamedTuple):
    """The training rows and the validation rows (``None`` without a validation split)."""

    x_tr: np.ndarray
    y_tr: np.ndarray
    x_va: np.ndarray | None
    y_va: np.ndarray | None


class _Scaling(NamedTuple):
    """Per-column mean and std (float64) of the features, and of a regression's targets."""

    x_mean: np.ndarray
    x_std: np.ndarray
    y_mean: np.ndarray | None
    y_std: np.ndarray | None

    def inputs(self, x: np.ndarray) -> np.ndarray:
        """Standardized features, computed in float64 and then rounded to float32."""
        return ((x - self.x_mean) / self.x_std).astype(np.float32)

    def targets(self, y: np.ndarray, task: str) -> np.ndarray:
        """Targets as the head trains on them: standardized float32 values ``[N, T]`` for a
        regression, {0, 1} floats ``[N, 1]`` for the binary head, class indices ``[N]``."""
        if self.y_mean is not None:
            return ((y - self.y_mean) / self.y_std).astype(np.float32)
        return y.astype(np.float32)[:, None] if task == "binary" else y


class _Network(NamedTuple):
    """The head, the MLP (layer ``sizes``, initial ``params``) and how it is trained."""

    head: heads.Head
    sizes: list[int]
    net: nn.MLP
    params: Any
    batch: int | None
    lr: float
    optimizer: Any


#: The head of each task and the number of network outputs it needs, from the encoded target.
_HEADS: dict[str, Callable[[Target], tuple[heads.Head, int]]] = {
    "regression": lambda t: (
        heads.get("regression" if t.y.shape[1] == 1 else "multivariate_regression"), t.y.shape[1]),
    "binary": lambda t: (heads.binary(), 1),
    "multiclass": lambda t: (heads.multiclass(), len(t.class_names)),
}


def run(args: argparse.Namespace) -> int:
    """Runs ``jaxnn train``: trains an MLP and writes the model file and the metrics JSON.

    Args:
      args: the parsed ``train`` options.

    Returns:
      0; every failure raises (:class:`~jaxnn.cli._errors.UsageError`, and the table,
      model-file, output and memory errors, for the user's mistakes).
    """
    progress = _check_options(args)
    fmt = tabular.NumberFormat(args.decimal or ".", args.thousands)
    metrics_path = _check_outputs(args)
    enc = _read(args, fmt)
    split_key, init_key, fit_key = jax.random.split(jax.random.key(args.seed), 3)
    split = _split(split_key, enc.x, enc.target, args.val_split)
    scaling = _scale(split, enc)
    network = _network(init_key, enc, split, args)
    _announce(args, enc, split, network)
    result, seconds = _fit(fit_key, args, enc.target.task, network, split, scaling, progress)
    config = _config(args, fmt, enc, scaling, network, int(result.history.epochs_run))
    model = tabular.Model(args.out, config, jax.tree_util.tree_map(np.asarray, result.params))
    report = _report(config, model, split, scaling, result.history, seconds)
    _write(args.out, metrics_path, model, report)
    _summary(args.out, metrics_path, report, seconds)
    return 0


def _check_options(args: argparse.Namespace) -> bool:
    """Checks the options that depend on one another; returns whether to show a progress bar."""
    if (args.data is None) == (args.dataset is None):
        raise UsageError("give the data with --data FILE.csv or --dataset NAME (one of them)")
    if args.patience is not None and args.val_split == 0:
        raise UsageError("--patience needs a validation split (--val-split > 0)")
    return wants_progress(args.progress)


def _check_outputs(args: argparse.Namespace) -> str:
    """Checks, before any work, that no output overwrites an input or another output and that
    each output's folder accepts a new file; returns the metrics file's path."""
    metrics_path = args.metrics_json
    if metrics_path is None:
        p = pathlib.Path(args.out)
        metrics_path = str(p.with_name(p.stem + ".metrics.json"))
    _atomic.check_outputs({"--out": args.out, "--metrics-json": metrics_path},
                          {"--data": args.data} if args.data is not None else {})
    return metrics_path


def _read(args: argparse.Namespace, fmt: tabular.NumberFormat) -> _Encoded:
    """Reads the table, types its columns and encodes the features and the target."""
    table = (tabular.read_csv(args.data, delimiter=args.delimiter) if args.data is not None
             else _datasets.table(args.dataset, args.seed))
    targets, features, categorical = _select_columns(table, args)
    spec = tabular.feature_spec(table, features, fmt, categorical=categorical)
    x = tabular.encode_features(table, spec, fmt)
    target = encode_target(table, targets, args.task, fmt, categorical)
    if table.rows < 2:
        raise UsageError(f"{table.source} has {table.rows} row; training needs at least 2")
    return _Encoded(table.source, x, spec, targets, target)


def _select_columns(table: tabular.Table, args: argparse.Namespace) -> tuple[list[str], list[str], list[str]]:
    """The target, feature and ``--categorical`` columns, after ``--target`` and ``--drop``."""
    targets = target_names(table, args.target)
    dropped = [] if args.drop is None else split_names(args.drop)
    for d in dropped:
        table.column(d, "--drop column")
        if d in targets:
            raise UsageError(f"--drop {d!r} names a target column")
    categorical = [] if args.categorical is None else split_names(args.categorical)
    for c in categorical:
        table.column(c, "--categorical column")
        if c in dropped:
            raise UsageError(f"--categorical {c!r} names a column that --drop removes")
    features = [n for n in table.names if n not in targets and n not in dropped]
    if not features:
        raise UsageError(f"no feature columns are left in {table.source} after the target and --drop")
    return targets, features, categorical


def _split(key: jax.Array, x: np.ndarray, target: Target, fraction: float) -> _Split:
    """Holds out ``fraction`` of the rows for validation, stratified for a classification
    whose every class has two rows."""
    y, n = target.y, len(x)
    if fraction == 0:
        return _Split(x, y, None, None)
    if round(fraction * n) < 1 or n - round(fraction * n) < 1:
        raise UsageError(f"--val-split {fraction} leaves an empty part of the {n} rows; change it or use 0")
    stratify = target.task != "regression" and np.min(np.bincount(y)) >= 2
    # Split the row numbers, so that the float64 features never pass through float32.
    (i_tr, _), (i_va, _) = data.train_test_split(key, np.arange(n), y, test_fraction=fraction,
                                                  stratify=bool(stratify))
    i_tr, i_va = np.asarray(i_tr), np.asarray(i_va)
    return _Split(x[i_tr], y[i_tr], x[i_va], y[i_va])


def _standardizer(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-column mean and std of ``a`` (``[N, columns]``) in float64; a constant column
    (std at most ``10 * eps * max(1, |mean|)``) gets std 1.

    Not :class:`jaxnn.data.Standardizer`: that one computes on the device in float32 (JAX's
    default), where values up to float32's maximum overflow once squared, and its
    rescaled float64 form differs from NumPy's in the last bits and in what counts as
    constant (relative to the column's magnitude, so a column of values near 1e-20 is
    scaled, not only centred). The statistics are stored in model files, which are
    byte-reproducible, so they are NumPy's, in float64, on the host.
    """
    mean = a.mean(axis=0)
    std = a.std(axis=0)
    tol = 10 * np.finfo(np.float64).eps * np.maximum(1.0, np.abs(mean))
    return mean, np.where(std <= tol, 1.0, std)


def _scale(split: _Split, enc: _Encoded) -> _Scaling:
    """Fits the scaler on the training split only; refuses a constant regression target."""
    x_mean, x_std = _standardizer(split.x_tr)
    if enc.target.task != "regression":
        return _Scaling(x_mean, x_std, None, None)
    y_mean, y_std = _standardizer(split.y_tr)
    constant = np.ptp(split.y_tr, axis=0) == 0
    if constant.any():
        j = int(np.argmax(constant))
        raise UsageError(
            f"target column {enc.target_names[j]!r} has the same value ({tabular.format_label(split.y_tr[0, j])}) in "
            f"every training row; there is nothing to learn (check the column, or --target)")
    return _Scaling(x_mean, x_std, y_mean, y_std)


def _network(key: jax.Array, enc: _Encoded, split: _Split, args: argparse.Namespace) -> _Network:
    """Chooses the head, checks that training fits in memory, and initializes the MLP."""
    head, outputs = _HEADS[enc.target.task](enc.target)
    sizes = [enc.x.shape[1], *args.hidden, outputs]
    batch = None if args.batch_size is None else min(args.batch_size, len(split.x_tr))
    _memory.check_training_fits(sizes, len(split.x_tr) if batch is None else batch, len(enc.x))
    net = nn.MLP(args.hidden, outputs, activation=args.activation)
    # net.init is one compiled program (kept across processes with the cache); waited for,
    # so that an allocation failure surfaces here and not inside training.
    params = jax.block_until_ready(net.init(key, (-1, enc.x.shape[1]))[1])
    lr = OPTIMIZERS[args.optimizer] if args.lr is None else args.lr
    return _Network(head, sizes, net, params, batch, lr, getattr(optim, args.optimizer)(lr))


def _announce(args: argparse.Namespace, enc: _Encoded, split: _Split, network: _Network) -> None:
    """Prints what is trained, on what and how, before training starts."""
    classes = enc.target.class_names
    print(
        f"training a {'-'.join(map(str, network.sizes))} {args.activation} MLP for {enc.target.task}"
        f"{f' ({len(classes)} classes)' if classes else ''} on {enc.source} "
        f"[task {'inferred from ' + enc.target.why if args.task == 'auto' else 'given'}]: {len(split.x_tr)} "
        f"training rows{f', {len(split.x_va)} validation rows' if split.x_va is not None else ''}; "
        f"{args.optimizer}(lr={network.lr:g}), {args.epochs} epochs, "
        f"batch {'full' if network.batch is None else network.batch}",
        flush=True,
    )


def _fit(
    key: jax.Array, args: argparse.Namespace, task: str, network: _Network, split: _Split, scaling: _Scaling,
    progress: bool,
) -> tuple[train.FitResult, float]:
    """Trains with :func:`jaxnn.train.fit`; returns the result and the seconds it took."""
    head, net = network.head, network.net
    metrics = None
    if split.x_va is not None and task != "regression":  # a classifier's validation accuracy, per epoch
        metrics = {head.score_name: lambda p, xv, yv: head.score(net.apply(p, xv), yv)}
    early = None if args.patience is None else train.EarlyStopping(monitor="val_loss", patience=args.patience)
    start = time.perf_counter()
    val = None if split.x_va is None else (scaling.inputs(split.x_va), scaling.targets(split.y_va, task))
    result = train.fit(
        network.params, train.Supervised(net.apply, head), scaling.inputs(split.x_tr),
        scaling.targets(split.y_tr, task), optimizer=network.optimizer, key=key, epochs=args.epochs,
        batch_size=network.batch, validation_data=val, metrics=metrics, early_stopping=early, progress=progress,
    )
    seconds = time.perf_counter() - start
    if int(result.history.nonfinite_epoch) >= 0:
        print(f"warning: the loss became NaN/Inf in epoch {int(result.history.nonfinite_epoch)}; training stopped "
              "there and the last finite weights were kept. Try a smaller --lr.", file=sys.stderr)
    return result, seconds


def _config(
    args: argparse.Namespace, fmt: tabular.NumberFormat, enc: _Encoded, scaling: _Scaling, network: _Network,
    epochs_run: int,
) -> dict[str, Any]:
    """The model file's config: the network, the preprocessing, the table schema and how it
    was trained (see :mod:`jaxnn._tabular._model_file`)."""
    target = enc.target
    return tabular.model_config(
        task=target.task, head=network.head.name, sizes=network.sizes, activation=args.activation,
        features=enc.spec, targets=enc.target_names, class_names=target.class_names, label_kind=target.label_kind,
        number_format=fmt, x_mean=scaling.x_mean, x_std=scaling.x_std, y_mean=scaling.y_mean, y_std=scaling.y_std,
        training={
            "source": args.data if args.data is not None else f"dataset:{args.dataset}",
            "optimizer": args.optimizer, "learning_rate": network.lr, "epochs": args.epochs,
            "epochs_run": epochs_run, "batch_size": network.batch, "val_split": args.val_split, "seed": args.seed,
            "patience": args.patience,
        },
    )


def _report(
    config: dict[str, Any], model: tabular.Model, split: _Split, scaling: _Scaling, history: train.History,
    seconds: float,
) -> dict[str, Any]:
    """The metrics JSON: what was trained, the loss history and the scores on both splits."""
    training = config["training"]
    epochs_run = training["epochs_run"]
    has_val = split.x_va is not None
    return {
        "task": config["task"], "source": training["source"], "targets": config["targets"],
        "class_names": config["class_names"], "sizes": config["sizes"], "activation": config["activation"],
        "optimizer": training["optimizer"], "learning_rate": training["learning_rate"], "epochs": training["epochs"],
        "epochs_run": epochs_run, "batch_size": training["batch_size"], "seed": training["seed"],
        "train_rows": int(len(split.x_tr)), "val_rows": int(len(split.x_va)) if has_val else 0,
        "train_seconds": round(seconds, 3), "nonfinite_epoch": int(history.nonfinite_epoch),
        "history": {"train_loss": finite_list(history.train_loss[:epochs_run]),
                    "val_loss": finite_list(history.val_loss[:epochs_run]) if has_val else None},
        "train": evaluate(model, scaling.inputs(split.x_tr), split.y_tr),
        "validation": evaluate(model, scaling.inputs(split.x_va), split.y_va) if has_val else None,
    }


def _write(out: str, metrics_path: str, model: tabular.Model, report: dict[str, Any]) -> None:
    """Writes the model file and the metrics JSON, each atomically."""
    try:
        tabular.write_model(out, model.params, model.config)
    except OSError as e:
        raise _atomic.OutputError(f"cannot write the model to {out}: {e.strerror or e}") from None
    _atomic.write_text(metrics_path, json.dumps(report, indent=1, allow_nan=False) + "\n")


def _summary(out: str, metrics_path: str, report: dict[str, Any], seconds: float) -> None:
    """Prints the epochs run, the scores on the validation split (else the training split)
    and the files written."""
    part = report["validation"] or report["train"]
    where = "validation" if report["validation"] else "training"
    shown = ", ".join(f"{k} {v:.4g}" for k, v in part.items() if isinstance(v, float))
    print(f"{report['epochs_run']} epochs in {seconds:.1f} s; {where}: {shown}")
    print(f"wrote {out} and {metrics_path}")
