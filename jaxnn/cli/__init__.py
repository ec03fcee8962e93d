"""The ``jaxnn`` command line: ``demo``, ``train``, ``predict``, ``playground`` and ``bench``.

.. code-block:: text

    jaxnn demo [--out DIR] [--quick]          the course end to end: a summary table and figures
    jaxnn train --data FILE.csv --target COL  train a dense network on a CSV file (or --dataset)
    jaxnn predict --model FILE --data FILE.csv [--out FILE.csv]
    jaxnn playground [--port N] [--no-browser]  the course in the browser (pip install "jaxnn[playground]")
    jaxnn bench [ARGS ...]                    the benchmark suite (from a source checkout)

``jaxnn train`` decides each column's type once (number or category; see :mod:`jaxnn._csv`),
standardizes the features (the scaler is fitted on the training split, in float64, and saved
with the model), one-hot encodes category columns, infers the task from the target column
unless ``--task`` says it, trains with :func:`jaxnn.train.fit`, and writes the model (params
plus a config holding the network, the preprocessing and the table schema; see
:mod:`jaxnn._model_file`) and a metrics JSON. ``jaxnn predict`` reads its file through the
stored schema.

The promise: bad input (a missing file, a misspelled column, missing values, numbers in an
unexpected convention, a file that is not a jaxnn model, an output that would overwrite an
input, a network too large for memory) gets one line on stderr and exit status 2, checked
before anything is trained; an unexpected failure gets one line saying it is a bug and exit
status 1; Ctrl-C gets one line and exit status 130. A traceback is printed only with
``--debug``. Every file written (model, metrics, predictions) is written atomically.

Task inference (``--task auto``, the default): several target columns are a multivariate
regression; a text target is binary with 2 classes and multi-class otherwise; a numeric
target of whole numbers with 2 to 20 distinct values (and at most half as many values as
rows) is binary or multi-class the same way; any other numeric target is a regression. A
text target with more than 20 classes and more classes than half the rows is an error
(``--task multiclass`` insists).
Class labels are sorted (numerically for numbers), and for a binary task the second one is
the positive class.

Also runnable as ``python -m jaxnn``.
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import json
import math
import os
import pathlib
import signal
import sys
import time
import traceback
from collections.abc import Sequence
from typing import Any

import numpy as np

from jaxnn import _atomic, _csv, _memory
from jaxnn._model_file import (
    HIDDEN_ACTIVATIONS,
    MODEL_KIND,
    MODEL_VERSION,
    Model,
    ModelFileError,
    load_model,
)
from jaxnn._version import __version__

__all__ = ["main", "MODEL_KIND", "DATASETS", "OPTIMIZERS", "HIDDEN_ACTIVATIONS", "MAX_EPOCHS", "MAX_SEED",
           "load_model", "Model"]

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

#: The largest ``--epochs``: training keeps one loss per epoch (and the metrics JSON lists
#: them), so the bound keeps that history to a few megabytes; 3e9 epochs would ask for 12 GB
#: before the first step.
MAX_EPOCHS = 1_000_000
#: The largest ``--seed``: seeds are 32-bit, as ``jax.random.key`` takes them.
MAX_SEED = 2**32 - 1

_MAX_CLASSES_INFERRED = 20
_BUG = "this is a bug in jaxnn, please report it (run again with --debug for the traceback)"


class _UsageError(ValueError):
    """Bad input to the command line; its message is printed as one line."""


# Errors about the user's input, options, files or machine: one line, exit status 2.
_USER_ERRORS = (_UsageError, _csv.TableError, ModelFileError, _atomic.OutputError, _memory.TooLargeError)


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


def _bounded_int(low: int, high: int, extra: str = "") -> Any:
    def parse(text: str) -> int:
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None
        if not low <= v <= high:
            raise argparse.ArgumentTypeError(f"must be in [{low}, {high:,}]{extra}, got {v}")
        return v

    return parse


_positive_int = _bounded_int(1, 2**31 - 1)


def _batch_size(text: str) -> int | None:
    if text.strip().lower() == "full":
        return None
    return _bounded_int(1, 2**31 - 1, " ('full' for full-batch)")(text)


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


def _delimiter(text: str) -> str:
    value = {"tab": "\t", "\\t": "\t"}.get(text, text)
    if value not in (",", ";", "\t", "|"):
        raise argparse.ArgumentTypeError(f"must be ',', ';', '|' or 'tab', got {text!r}")
    return value


def _names(text: str) -> list[str]:
    return [n.strip() for n in text.split(",") if n.strip()]


_TABLE_HELP = """\
how CSV files are read:
  The first row is the header (unique names). The delimiter (',', ';' or tab) is detected
  unless --delimiter says it. Spaces around cells are ignored. Missing cells (empty, NA,
  N/A, NaN, null, None, ?) are an error naming the column and line: impute or drop them.
  A quote that is never closed is an error on the line that opens it.
  Each column's type is decided once, by train, and stored in the model: a number column
  when every cell is a number written with '.' as the decimal mark and no thousands
  separator (or as --decimal/--thousands say), else a category column (or as --categorical
  says). predict reads its file through that schema: categories are compared as the exact
  strings of the training file ('01' is not '1'), numbers as numbers.
  A column written as numbers in another convention (decimal comma, thousands separator,
  currency or percent signs) is never silently read as categories: it is an error naming
  the column, a value and the option to pass; so is a column of numbers with a few (under
  10%) stray cells such as 'unknown' (--categorical COL reads a column as categories).
  A category column may have at most 50 categories and at most half as many categories as
  rows (more is an identifier or free text: --drop it). Numbers must be finite and at most
  3.4e38 in size (float32).

limits and behaviours:
  --epochs is at most 1,000,000 and --seed in [0, 2**32 - 1]. --batch-size is >= 1 or
  'full' (0 is an error). A network whose training would not fit in memory (estimated from
  the layer widths, the batch and the optimizer) is refused before training, naming the
  size; an out-of-memory failure during training is one line naming the size that did not
  fit. A regression target with the same value in every training row is an error (there is
  nothing to learn). No output may be an input or another output (compared after resolving
  links); each output's folder must exist and be writable, checked before training. Every
  output is written to a temporary file in the same folder and renamed into place, so a
  failure never leaves a truncated file. --metrics-json defaults to the model file with the
  suffix .metrics.json.

exit status: 0 success; 2 bad input, options, files or too little memory (one line on
  stderr); 1 an unexpected failure, which is a bug in jaxnn (one line; --debug prints the
  traceback); 130 interrupted by Ctrl-C.
"""


def _add_table_options(group: argparse._ArgumentGroup, *, predict: bool = False) -> None:
    default = "the model's" if predict else "'.'"
    group.add_argument("--decimal", choices=(".", ","), default=None, metavar="{.|,}",
                       help=f"the decimal mark of number cells: '.' or ',' (default {default})")
    group.add_argument("--thousands", choices=(",", ".", " ", "'"), default=None, metavar="CHAR",
                       help="the thousands separator of number cells, e.g. 1,000: ',', '.', ' ' or \"'\" "
                       f"(default {'the model' + chr(39) + 's' if predict else 'none'})")
    group.add_argument("--delimiter", type=_delimiter, default=None,
                       help="the cell delimiter: ',', ';', '|' or 'tab' (default: detected)")


def _parser() -> _Parser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="print the traceback of any error (for bug reports)")
    common.add_argument("--no-cache", action="store_true", default=argparse.SUPPRESS,
                        help="do not use the persistent compilation cache (by default compiled programs are "
                             "kept in $XDG_CACHE_HOME/jaxnn, else ~/.cache/jaxnn, so the next run starts "
                             "faster; JAXNN_NO_COMPILATION_CACHE=1 also turns it off)")
    p = _Parser(
        prog="jaxnn",
        description="jaxnn: an introductory neural-networks course as pure, jit-compiled JAX functions.",
        epilog="Run 'jaxnn COMMAND --help' for the options of a command.",
        parents=[common],
    )
    p.add_argument("--version", action="version", version=f"jaxnn {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    d = sub.add_parser(
        "demo",
        help="the course end to end: a summary table and figures (about a minute)",
        description="Runs every section of the course at a small size, prints what was trained, on "
        "what and the metric reached, and writes figures (PNG) when matplotlib is installed "
        "(pip install 'jaxnn[plot]').",
        parents=[common],
    )
    d.add_argument("--out", default="jaxnn-demo", metavar="DIR", help="folder for the figures (default: jaxnn-demo)")
    d.add_argument("--quick", action="store_true", help="smaller sizes and fewer epochs (a smoke test)")
    d.add_argument("--only", metavar="SECTION[,SECTION...]", default=None,
                   help="run only these sections: perceptron, combining, descent, losses, optimizers, backprop, "
                   "architectures, sweep")

    t = sub.add_parser(
        "train",
        help="train a dense network on a CSV file or a built-in data set",
        description="Trains an MLP on a CSV file (header row; category columns are one-hot "
        "encoded; missing values are an error) or a built-in data set, and writes the model "
        "(params + config, with the feature scaler and the table schema) and a metrics JSON.",
        epilog=_TABLE_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[common],
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
    src.add_argument("--categorical", metavar="COL[,COL...]", default=None,
                     help="columns to read as categories even when they hold numbers (codes such as 01, 02)")
    _add_table_options(src)
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
    m.add_argument("--epochs", type=_bounded_int(1, MAX_EPOCHS), default=100,
                   help=f"epochs, 1 to {MAX_EPOCHS:,} (default 100)")
    m.add_argument("--batch-size", type=_batch_size, default=32, metavar="N",
                   help="mini-batch size >= 1 (default 32, capped at the training size), or 'full' for full-batch GD")
    m.add_argument("--patience", type=_positive_int, default=None, metavar="N",
                   help="early stopping: stop after N epochs without a better validation loss (keeps the best)")
    m.add_argument("--seed", type=_bounded_int(0, MAX_SEED), default=0,
                   help="seed of the split, the initialization and the shuffles, 0 to 2**32 - 1 (default 0)")
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
        "ignored) through the schema stored in the model, and writes one prediction per row: the "
        "value(s) for a regression, the class and one probability column per class for a "
        "classification. When the target column is present too, the accuracy (or R^2) on it is "
        "printed on stderr. The model file is validated before use; a damaged or edited one is "
        "refused.",
        epilog="exit status: 0 success (also when the reader of stdout goes away, as with '| head'); 2 bad "
        "input, options or files (one line on stderr); 1 an unexpected failure, which is a bug in jaxnn (one "
        "line; --debug prints the traceback); 130 interrupted by Ctrl-C. --out may not be --model or --data "
        "(compared after resolving links).",
        parents=[common],
    )
    pr.add_argument("--model", required=True, metavar="FILE", help="a model file written by 'jaxnn train'")
    pr.add_argument("--data", required=True, metavar="CSV", help="a CSV file with the model's feature columns")
    pr.add_argument("--out", default=None, metavar="CSV",
                    help="where to write the predictions (default: stdout); written atomically")
    _add_table_options(pr.add_argument_group("number format"), predict=True)

    sub.add_parser(
        "playground",
        help="the course in the browser: a local web page on this library "
             "('jaxnn playground --help' lists its options)",
        add_help=False,
    )
    sub.add_parser(
        "bench",
        help="the benchmark suite (from a source checkout; 'jaxnn bench --help' lists its options)",
        add_help=False,
    )
    return p


# ----------------------------------------------------------------------------- main


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the ``jaxnn`` command line.

    Every exception ends here: the user's errors (bad input, options, files, too little
    memory) as one line and status 2; anything else as one line saying it is a bug and
    status 1; the traceback only with ``--debug``.

    Args:
      argv: the arguments without the program name (``None``: ``sys.argv[1:]``, and the
        process is the ``jaxnn`` program: an interrupt then ends it at once).

    Returns:
      The exit status: 0 on success, 2 for bad input (a one-line message on stderr), 1 for
      a bug, the benchmark suite's own status for ``bench``, 130 when interrupted.
    """
    as_program = argv is None
    argv = list(sys.argv[1:] if argv is None else argv)
    # The command, for messages: the first word that is not an option ('jaxnn --debug train').
    command = next((a for a in argv if not a.startswith("-")), None)
    command = command if command in ("demo", "train", "predict", "playground", "bench") else None
    debug = "--debug" in argv and command not in ("bench", "playground")
    try:
        return _run(argv)
    except KeyboardInterrupt:
        if as_program:
            # A second Ctrl-C while we exit must not turn the exit into a death by signal.
            signal.signal(signal.SIGINT, signal.SIG_IGN)
        print(f"jaxnn{' ' + command if command else ''}: interrupted", file=sys.stderr)
        if as_program:
            # Leave at once: a computation still running on another thread would otherwise
            # hold up the interpreter's shutdown.
            _flush()
            os._exit(130)
        return 130
    except BrokenPipeError:
        # The reader went away (`jaxnn predict ... | head -1`): that is a normal end.
        _silence_stdout()
        return 0
    except _USER_ERRORS as e:
        if debug:
            traceback.print_exc()
        return _fail(command, str(e))
    except Exception as e:  # noqa: BLE001 - the one place every other error is reported
        if debug:
            traceback.print_exc()
        oom = _memory.out_of_memory_message(e)
        if oom is not None:
            return _fail(command, oom)
        if isinstance(e, OSError) and getattr(e, "filename", None):
            # The environment (a file vanished, a disk filled up), not a bug.
            return _fail(command, f"{e.strerror or e}: {e.filename}")
        message = " ".join(f"{type(e).__name__}: {e}".split())[:300]
        print(f"jaxnn{' ' + command if command else ''}: error: {_BUG}: {message}", file=sys.stderr)
        return 1


def _run(argv: list[str]) -> int:
    if argv[:1] == ["bench"]:  # its own options, parsed by the suite
        return _bench(argv[1:])
    if argv[:1] == ["playground"]:  # its own options, parsed by the server's entry point
        from jaxnn import playground

        return playground.main(argv[1:])
    try:
        args = _parser().parse_args(argv)
    except SystemExit as e:  # --help and --version
        return int(e.code or 0)
    if args.command is None:
        _parser().print_help()
        return 0
    if not getattr(args, "no_cache", False):
        # A fresh process would compile every program again; the cache keeps them on disk.
        # An unwritable cache folder is one warning line, never an error.
        from jaxnn._cache import enable_compilation_cache

        enable_compilation_cache()
    if args.command == "demo":
        return _demo(args)
    if args.command == "train":
        return _train(args)
    return _predict(args)


def _fail(command: str | None, message: str) -> int:
    message = " ".join(message.split())  # one line, whatever the message
    print(f"jaxnn{' ' + command if command else ''}: error: {message}", file=sys.stderr)
    return 2


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass


def _silence_stdout() -> None:
    """Points stdout at the null device, so that the interpreter's final flush does not
    report the broken pipe again (the recipe of Python's signal documentation)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # io.UnsupportedOperation is both
        pass


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
    if only is not None:
        known = list(_demo.sections())
        unknown = [k for k in only if k not in known]
        if unknown:
            raise _UsageError(f"unknown demo section(s) {', '.join(unknown)}; choose from {', '.join(known)}")
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




# ----------------------------------------------------------------------------- data


def _targets(table: _csv.Table, target: str | None) -> list[str]:
    if target is None:
        return [table.names[-1]]
    names = _names(target)
    if not names:
        raise _UsageError("--target is empty; name the target column(s)")
    for n in names:
        table.column(n, "target column")
    if len(set(names)) != len(names):
        raise _UsageError(f"--target names a column twice: {target!r}")
    if len(names) == len(table.names):
        raise _UsageError("every column is a target; leave at least one feature column")
    return names


def _encode_target(
    table: _csv.Table,
    names: list[str],
    task: str,
    fmt: _csv.NumberFormat | None = None,
    categorical: Sequence[str] = (),
) -> tuple[np.ndarray, str, list[str] | None, str | None, str]:
    """Returns ``(y, task, class_names, label_kind, why)``: y is float64 [N, T] for a
    regression, int32 class indices [N] for a classification; label_kind says whether the
    class labels are numbers (compared by value) or text (compared as exact strings)."""
    fmt = fmt or _csv.NumberFormat()
    cols = [table.column(n, "target column") for n in names]
    for c in cols:
        _csv.check_complete(table, c)
    if len(cols) > 1:
        if task not in ("auto", "regression"):
            raise _UsageError(
                f"--task {task} takes one target column, got {len(cols)}; several targets are a regression")
        for c in cols:
            if c.name in categorical or not _csv.is_numeric(c, fmt):
                if c.name not in categorical:
                    _csv.check_convention(table, c, fmt, "target column")
                raise _UsageError(
                    f"several target columns make a multivariate regression, but {c.name!r} is not numeric")
        values = [_csv.numbers(table, c, fmt) for c in cols]
        return np.stack(values, axis=1), "regression", None, None, "several targets"
    col = cols[0]
    n = table.rows
    numeric = col.name not in categorical and _csv.is_numeric(col, fmt)
    if numeric:
        values = _csv.numbers(table, col, fmt)
        classes_num = np.unique(values)
        whole = bool(np.all(values == np.round(values)))
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
            return values[:, None], task, None, None, why
        codes = np.searchsorted(classes_num, values)
        classes = [_csv.format_label(v) for v in classes_num]
        label_kind = "number"
    else:
        if col.name not in categorical:
            _csv.check_convention(table, col, fmt, "target column")
            _csv.check_mostly_numbers(table, col, fmt)
        if task == "regression":
            example = ", ".join(repr(v) for v in sorted(set(col.cells.tolist()))[:3])
            raise _UsageError(
                f"target column {col.name!r} holds text ({example}, ...), not numbers, so it cannot be "
                "a regression target; use --task binary or --task multiclass"
            )
        classes = sorted(set(col.cells.tolist()))
        index = {c: i for i, c in enumerate(classes)}
        codes = np.array([index[v] for v in col.cells])
        label_kind = "text"
        if task == "auto":
            if len(classes) > max(_MAX_CLASSES_INFERRED, n // 2):
                raise _UsageError(
                    f"target column {col.name!r} has {len(classes)} distinct text values in {n} rows, too many "
                    "classes to infer a classification; pass --task multiclass if that is what you want")
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
    return codes.astype(np.int32), task, classes, label_kind, why


def _scaler(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-column mean and std of ``a`` in float64, with the rule of
    :class:`jaxnn.data.Standardizer` for constant columns (std 1). Computed on the host in
    float64 because values up to float32's maximum would overflow float32 once squared."""
    mean = a.mean(axis=0)
    std = a.std(axis=0)
    tol = 10 * np.finfo(np.float64).eps * np.maximum(1.0, np.abs(mean))
    return mean, np.where(std <= tol, 1.0, std)


# ----------------------------------------------------------------------------- train


def _train(args: argparse.Namespace) -> int:
    if (args.data is None) == (args.dataset is None):
        raise _UsageError("give the data with --data FILE.csv or --dataset NAME (one of them)")
    if args.patience is not None and args.val_split == 0:
        raise _UsageError("--patience needs a validation split (--val-split > 0)")
    progress = args.progress
    if progress is None or progress:
        if importlib.util.find_spec("tqdm") is None:
            if progress:
                raise _UsageError("--progress needs tqdm: pip install 'jaxnn[progress]'")
            progress = False
        if progress is None:
            progress = sys.stderr.isatty()
    fmt = _csv.NumberFormat(args.decimal or ".", args.thousands)
    out = args.out
    metrics_path = args.metrics_json
    if metrics_path is None:
        p = pathlib.Path(out)
        metrics_path = str(p.with_name(p.stem + ".metrics.json"))
    # Before any work: nothing may overwrite an input or another output, and each output's
    # folder must accept a new file.
    _atomic.check_outputs({"--out": out, "--metrics-json": metrics_path},
                          {"--data": args.data} if args.data is not None else {})

    table = (_csv.read_csv(args.data, delimiter=args.delimiter) if args.data is not None
             else _dataset_table(args.dataset, args.seed))
    target_names = _targets(table, args.target)
    dropped = [] if args.drop is None else _names(args.drop)
    for d in dropped:
        table.column(d, "--drop column")
        if d in target_names:
            raise _UsageError(f"--drop {d!r} names a target column")
    categorical = [] if args.categorical is None else _names(args.categorical)
    for c in categorical:
        table.column(c, "--categorical column")
        if c in dropped:
            raise _UsageError(f"--categorical {c!r} names a column that --drop removes")
    feature_names = [n for n in table.names if n not in target_names and n not in dropped]
    if not feature_names:
        raise _UsageError(f"no feature columns are left in {table.source} after the target and --drop")
    spec = _csv.feature_spec(table, feature_names, fmt, categorical=categorical)
    x = _csv.encode_features(table, spec, fmt)
    y, task, class_names, label_kind, why = _encode_target(table, target_names, args.task, fmt, categorical)
    n = table.rows
    if n < 2:
        raise _UsageError(f"{table.source} has {n} row; training needs at least 2")

    import jax

    from jaxnn import checkpoint, data, heads, nn, optim, train

    key = jax.random.key(args.seed)
    split_key, init_key, fit_key = jax.random.split(key, 3)
    stratify = task != "regression" and np.min(np.bincount(y)) >= 2
    if args.val_split > 0:
        if round(args.val_split * n) < 1 or n - round(args.val_split * n) < 1:
            raise _UsageError(f"--val-split {args.val_split} leaves an empty part of the {n} rows; change it or use 0")
        # Split the row numbers, so that the float64 features never pass through float32.
        (i_tr, _), (i_va, _) = data.train_test_split(
            split_key, np.arange(n), y, test_fraction=args.val_split, stratify=bool(stratify))
        i_tr, i_va = np.asarray(i_tr), np.asarray(i_va)
        x_tr, y_tr, x_va, y_va = x[i_tr], y[i_tr], x[i_va], y[i_va]
    else:
        x_tr, y_tr, x_va, y_va = x, y, None, None

    x_mean, x_std = _scaler(x_tr)  # fitted on the training split only
    prep = lambda a: ((a - x_mean) / x_std).astype(np.float32)
    y_mean = y_std = None
    if task == "regression":
        y_mean, y_std = _scaler(y_tr)
        constant = np.ptp(y_tr, axis=0) == 0
        if constant.any():
            j = int(np.argmax(constant))
            raise _UsageError(
                f"target column {target_names[j]!r} has the same value ({_csv.format_label(y_tr[0, j])}) in every "
                f"training row; there is nothing to learn (check the column, or --target)")
        scale_y = lambda a: ((a - y_mean) / y_std).astype(np.float32)
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
    batch = None if args.batch_size is None else min(args.batch_size, len(x_tr))
    _memory.check_training_fits(sizes, len(x_tr) if batch is None else batch, n)
    net = nn.MLP(args.hidden, outputs, activation=args.activation)
    # One compiled call instead of one small compilation per eager operation; waited for,
    # so that an allocation failure surfaces here and not inside training.
    params = jax.block_until_ready(jax.jit(lambda k: net.init(k, (-1, x.shape[1]))[1])(init_key))
    lr = OPTIMIZERS[args.optimizer] if args.lr is None else args.lr
    optimizer = getattr(optim, args.optimizer)(lr)
    loss_fn = train.Supervised(net.apply, head)

    fit_metrics = None
    if x_va is not None and task != "regression":
        import jax.numpy as jnp

        fit_metrics = {"accuracy": lambda p, xv, yv: jnp.mean(
            (head.predict(net.apply(p, xv)) == yv.astype(jnp.int32)).astype(jnp.float32))}
    early = None if args.patience is None else train.EarlyStopping(monitor="val_loss", patience=args.patience)
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
        "model_version": MODEL_VERSION,
        "task": task,
        "head": head.name,
        "sizes": sizes,
        "activation": args.activation,
        "features": spec,
        "encoded_features": _csv.encoded_names(spec),
        "targets": target_names,
        "class_names": class_names,
        "label_kind": label_kind,
        "number_format": fmt.to_config(),
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
    model = Model(out, config, jax.tree_util.tree_map(np.asarray, result.params))
    report: dict[str, Any] = {
        "task": task, "source": config["training"]["source"], "targets": target_names, "class_names": class_names,
        "sizes": sizes, "activation": args.activation, "optimizer": args.optimizer, "learning_rate": lr,
        "epochs": args.epochs, "epochs_run": epochs_run, "batch_size": batch, "seed": args.seed,
        "train_rows": int(len(x_tr)), "val_rows": 0 if x_va is None else int(len(x_va)),
        "train_seconds": round(seconds, 3), "nonfinite_epoch": int(hist.nonfinite_epoch),
        "history": {"train_loss": _finite_list(hist.train_loss[:epochs_run]),
                    "val_loss": _finite_list(hist.val_loss[:epochs_run]) if x_va is not None else None},
        "train": _evaluate(model, prep(x_tr), y_tr),
        "validation": None if x_va is None else _evaluate(model, prep(x_va), y_va),
    }
    try:
        checkpoint.save(out, model.params, config=config)
    except OSError as e:
        raise _atomic.OutputError(f"cannot write the model to {out}: {e.strerror or e}") from None
    _atomic.write_text(metrics_path, json.dumps(report, indent=1, allow_nan=False) + "\n")
    part = report["validation"] or report["train"]
    where = "validation" if report["validation"] else "training"
    shown = ", ".join(f"{k} {v:.4g}" for k, v in part.items() if isinstance(v, float))
    print(f"{epochs_run} epochs in {seconds:.1f} s; {where}: {shown}")
    print(f"wrote {out} and {metrics_path}")
    return 0


def _finite(v: float) -> float | None:
    v = float(v)
    return v if math.isfinite(v) else None


def _finite_list(a: Any) -> list[float | None]:
    return [_finite(v) for v in np.asarray(a)]


def _regression_scores(pred: np.ndarray, true: np.ndarray) -> dict[str, float | None]:
    """MSE, MAE and R^2 (averaged over targets) in float64: in original units a squared
    error can exceed float32's range."""
    err = pred.astype(np.float64) - true.astype(np.float64)
    ss_tot = ((true - true.mean(axis=0)) ** 2).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        r2 = float(np.mean(1.0 - (err**2).sum(axis=0) / ss_tot))
    return {"mse": _finite(np.mean(err**2)), "mae": _finite(np.mean(np.abs(err))), "r2": _finite(r2)}


def _evaluate(model: Model, x: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    """Metrics of ``model`` on standardized inputs ``x`` and encoded targets ``y`` (original units)."""
    import jax

    from jaxnn import metrics

    out = model.predict(x)
    if model.config["task"] == "regression":
        return _regression_scores(out, y)
    k = len(model.config["class_names"])
    fn = lambda p, t: (metrics.accuracy(p, t), metrics.f1_score(p, t, k), metrics.confusion_matrix(p, t, k))
    acc, f1, cm = jax.jit(fn)(np.argmax(out, axis=1).astype(np.int32), y.reshape(-1).astype(np.int32))
    return {"accuracy": float(acc), "f1_macro": float(f1), "confusion_matrix": np.asarray(cm).tolist()}


# ----------------------------------------------------------------------------- predict


def _predict(args: argparse.Namespace) -> int:
    if args.out is not None:
        _atomic.check_outputs({"--out": args.out}, {"--model": args.model, "--data": args.data})
    model = load_model(args.model)
    trained = model.number_format
    fmt = _csv.NumberFormat(args.decimal or trained.decimal,
                            args.thousands if args.thousands is not None else trained.thousands)
    table = _csv.read_csv(args.data, delimiter=args.delimiter)
    outputs = model.predict(model.features(table, fmt))
    bad = ~np.isfinite(outputs).all(axis=1)
    if bad.any():
        i = int(np.argmax(bad))
        raise _csv.TableError(
            f"{table.source}: the prediction for line {table.lines[i]}"
            f"{f' (and {int(bad.sum()) - 1} more)' if bad.sum() > 1 else ''} is not finite: its inputs are too far "
            "outside the training data")
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
        with _atomic.atomic_open(args.out, "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(header)
            w.writerows(rows)
    else:
        w = csv.writer(sys.stdout, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)
        sys.stdout.flush()  # a closed pipe shows here, inside main's handler
    score = _score_if_labelled(model, table, outputs, fmt)
    where = f"wrote {len(rows)} predictions to {args.out}" if args.out else f"{len(rows)} predictions"
    print(where + (f"; {score}" if score else ""), file=sys.stderr)
    return 0


def _score_if_labelled(model: Model, table: _csv.Table, outputs: np.ndarray, fmt: _csv.NumberFormat) -> str | None:
    """The accuracy (or R^2) against the target column(s) when the CSV has them, else None."""
    config = model.config
    if not all(t in table.names for t in config["targets"]):
        return None
    try:
        cols = [table.column(t) for t in config["targets"]]
        if config["task"] == "regression":
            true = np.stack([_csv.numbers(table, c, fmt) for c in cols], axis=1)
            r2 = _regression_scores(outputs, true)["r2"]
            return None if r2 is None else f"R^2 on the {', '.join(config['targets'])} column(s): {r2:.4f}"
        col = cols[0]
        _csv.check_complete(table, col)
        if config.get("label_kind", "text") == "number" or (
                "label_kind" not in config and _csv.is_numeric(col, fmt)):
            labels = [_csv.format_label(v) for v in _csv.numbers(table, col, fmt)]
        else:
            labels = list(col.cells)
        classes = config["class_names"]
        index = {c: i for i, c in enumerate(classes)}
        if any(v not in index for v in labels):
            return None
        true = np.array([index[v] for v in labels])
        pred = np.argmax(outputs, axis=1)
        return f"accuracy on the {config['targets'][0]!r} column: {float(np.mean(pred == true)):.4f}"
    except ValueError:
        return None
