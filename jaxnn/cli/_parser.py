"""The ``jaxnn`` argument parser: one function per command, the same help text for each.

``playground`` and ``bench`` appear in the command list only: they parse their own options.
"""

from __future__ import annotations

import argparse

from jaxnn import _tabular as tabular
from jaxnn import optim
from jaxnn._version import __version__
from jaxnn.cli import _argtypes
from jaxnn.cli._datasets import DATASETS
from jaxnn.cli._errors import UsageError

#: ``--optimizer`` choices (:data:`jaxnn.optim.OPTIMIZERS`) and their default learning rates.
OPTIMIZERS = {name: info.learning_rate for name, info in optim.OPTIMIZERS.items()}

#: The largest ``--epochs``: training keeps one loss per epoch (and the metrics JSON lists
#: them), so the bound keeps that history to a few megabytes; 3e9 epochs would ask for 12 GB
#: before the first step.
MAX_EPOCHS = 1_000_000
#: The largest ``--seed``: seeds are 32-bit, as ``jax.random.key`` takes them.
MAX_SEED = 2**32 - 1


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line and do not exit (``main`` returns 2)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        """Raises :class:`UsageError` with ``message`` and where to find the help.

        Raises:
          UsageError: always.
        """
        raise UsageError(f"{message} (see '{self.prog} --help')")


_TABLE_HELP = """\
how CSV files are read:
  The first row is the header (unique names); --data - reads standard input. The delimiter
  (',', ';' or tab) is detected unless --delimiter or an Excel first line 'sep=;' says it.
  A quote after spaces opens a quoted cell. Text is compared in Unicode NFC form (an
  accented letter typed either way is one name, one category). Spaces around cells are
  ignored. Missing cells (empty, NA, N/A, NaN, null, None, ?) are an error naming the
  column and line: impute or drop them.
  A quote that is never closed is an error on the line that opens it.
  Each column's type is decided once, by train, and stored in the model: a number column
  when every cell is a number written with '.' as the decimal mark and no thousands
  separator (or as --decimal/--thousands say), else a category column (or as --categorical
  says). predict reads its file through that schema: categories are compared as the exact
  strings of the training file ('01' is not '1'), numbers as numbers.
  A thousands separator is read only in valid groups: with --decimal , --thousands .,
  1.234.567 and 1.234,5 but not 0.250 (a leading group of 0) nor 12.34 (a group of two).
  predict reads numbers the model's way unless --decimal/--thousands say otherwise; a
  number column that the model's way and the plain decimal reading of its thousands
  separator read differently (1.250: 1250 or 1.25), with no cell telling which, is an
  error naming the line and both options.
  A column written as numbers in another convention (decimal comma, thousands separator,
  currency or percent signs, a unit or currency code as in 5kg or USD 1000, accounting
  negatives as in (500.00)) is never silently read as categories: it is an error naming
  the column, a value and the option to pass; so is a column of numbers with a few (under
  10%) stray cells such as 'unknown' (--categorical COL reads a column as categories).
  A category column may have at most 50 categories and at most half as many categories as
  rows (more is an identifier or free text: --drop it). Numbers must be finite and at most
  3.4e38 in size (float32).
  A text target whose labels differ only in case, spaces or punctuation (yes and YES, True
  and TRUE) is an error naming both and their lines when the task is inferred: write them
  one way (--task binary or multiclass keeps them as distinct classes). predict run with a
  regression model on a file whose target column holds text says so in a note (no R^2).

limits and behaviours:
  --epochs is at most 1,000,000 and --seed in [0, 2**32 - 1]. --batch-size is >= 1 or
  'full' (0 is an error). A network whose training would not fit in memory (estimated from
  the layer widths, the batch and the optimizer) is refused before training, naming the
  size; an out-of-memory failure during training (on the device, or in host memory under a
  limit such as ulimit or a container's) is one line naming the size that did not fit. A regression target with the same value in every training row is an error (there is
  nothing to learn). No output may be an input or another output (compared after resolving
  links), a symbolic link or a read-only file; each output's folder must exist and be
  writable, checked before training. Every
  output is written to a temporary file in the same folder and renamed into place, so a
  failure never leaves a truncated file. --metrics-json defaults to the model file with the
  suffix .metrics.json.

exit status: 0 success; 2 bad input, options, files or too little memory (one line on
  stderr); 1 an unexpected failure, which is a bug in jaxnn (one line; --debug prints the
  traceback); 130 interrupted by Ctrl-C, at any moment: no output is left, nor a temporary
  file (once the outputs are complete and being renamed into place, Ctrl-C is ignored).
"""


def build() -> Parser:
    """The parser of the ``jaxnn`` command line.

    Returns:
      A :class:`Parser` whose ``command`` is ``"demo"``, ``"train"``, ``"predict"``,
      ``"playground"``, ``"bench"`` or ``None`` (no command given).
    """
    common = _common()
    p = Parser(
        prog="jaxnn",
        description="jaxnn: an introductory neural-networks course as pure, jit-compiled JAX functions.",
        epilog="Run 'jaxnn COMMAND --help' for the options of a command.",
        parents=[common],
    )
    p.add_argument("--version", action="version", version=f"jaxnn {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    _add_demo(sub, common)
    _add_train(sub, common)
    _add_predict(sub, common)
    _add_passthrough(sub)
    return p


def _common() -> argparse.ArgumentParser:
    """The options every command takes (``--debug``, ``--no-cache``)."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="print the traceback of any error (for bug reports)")
    common.add_argument("--no-cache", action="store_true", default=argparse.SUPPRESS,
                        help="do not use the persistent compilation cache (by default compiled programs are "
                             "kept in $XDG_CACHE_HOME/jaxnn, else ~/.cache/jaxnn, so the next run starts "
                             "faster; JAXNN_NO_COMPILATION_CACHE=1 also turns it off)")
    return common


def _add_demo(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    d = sub.add_parser(
        "demo",
        help="the course end to end: a summary table and figures (about 30 s on 2 CPU cores)",
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


def _add_train(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
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
    _add_data_options(t.add_argument_group("data"))
    _add_training_options(t.add_argument_group("model and training"))
    o = t.add_argument_group("output")
    o.add_argument("--out", default="model.jaxnn", metavar="FILE", help="the model file (default model.jaxnn)")
    o.add_argument("--metrics-json", default=None, metavar="FILE",
                   help="the metrics file (default: the model file with the suffix .metrics.json)")


def _add_data_options(src: argparse._ArgumentGroup) -> None:
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
    src.add_argument("--val-split", type=_argtypes.fraction, default=0.2, metavar="F",
                     help="fraction held out for validation, stratified for classification (default 0.2; 0: none)")


def _add_training_options(m: argparse._ArgumentGroup) -> None:
    m.add_argument("--hidden", type=_argtypes.hidden_sizes, default=[16, 16], metavar="W,W",
                   help="hidden layer widths (default 16,16; 'none' for no hidden layer)")
    m.add_argument("--activation", choices=tabular.HIDDEN_ACTIVATIONS, default="relu",
                   help="hidden activation (default relu)")
    m.add_argument("--optimizer", choices=tuple(OPTIMIZERS), default="adam",
                   help="optimizer from jaxnn.optim (default adam)")
    m.add_argument("--lr", type=_argtypes.positive_float, default=None,
                   help="learning rate (default: " + ", ".join(f"{k} {v:g}" for k, v in OPTIMIZERS.items()) + ")")
    m.add_argument("--epochs", type=_argtypes.bounded_int(1, MAX_EPOCHS), default=100,
                   help=f"epochs, 1 to {MAX_EPOCHS:,} (default 100)")
    m.add_argument("--batch-size", type=_argtypes.batch_size, default=32, metavar="N",
                   help="mini-batch size >= 1 (default 32, capped at the training size), or 'full' for full-batch GD")
    m.add_argument("--patience", type=_argtypes.positive_int, default=None, metavar="N",
                   help="early stopping: stop after N epochs without a better validation loss (keeps the best)")
    m.add_argument("--seed", type=_argtypes.bounded_int(0, MAX_SEED), default=0,
                   help="seed of the split, the initialization and the shuffles, 0 to 2**32 - 1 (default 0)")
    m.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="a progress bar (needs tqdm; default: on when stderr is a terminal and tqdm is installed)")


def _add_table_options(group: argparse._ArgumentGroup, *, predict: bool = False) -> None:
    default = "the model's" if predict else "'.'"
    group.add_argument("--decimal", choices=(".", ","), default=None, metavar="{.|,}",
                       help=f"the decimal mark of number cells: '.' or ',' (default {default})")
    group.add_argument("--thousands", choices=(",", ".", " ", "'"), default=None, metavar="CHAR",
                       help="the thousands separator of number cells, e.g. 1,000: ',', '.', ' ' or \"'\" "
                       f"(default {'the model' + chr(39) + 's' if predict else 'none'})")
    group.add_argument("--delimiter", type=_argtypes.delimiter, default=None,
                       help="the cell delimiter: ',', ';', '|' or 'tab' (default: detected)")


def _add_predict(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    pr = sub.add_parser(
        "predict",
        help="predict with a model written by 'jaxnn train'",
        description="Reads a CSV file with the model's feature columns (by name; other columns are "
        "ignored) through the schema stored in the model, and writes one prediction per row: the "
        "value(s) for a regression, the class and one probability column per class for a "
        "classification. When the target column is present too, the accuracy (or R^2) on it is "
        "printed on stderr. The model file is validated before use; a damaged or edited one is "
        "refused. A large file is read, predicted and written in chunks, so memory does not grow with it; "
        "every check still holds for the whole file, and a refused file leaves no output.",
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
    pr.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                    help="a bar counting the rows done, on files that take over a second (needs tqdm; default: "
                         "on when stderr is a terminal and tqdm is installed)")
    _add_table_options(pr.add_argument_group("number format"), predict=True)


def _add_passthrough(sub: argparse._SubParsersAction) -> None:
    """The commands that parse their own options: listed, with no options here."""
    sub.add_parser(
        "playground",
        help="the course in the browser: a local web page on this library "
             "('jaxnn playground --help' lists its options)",
        add_help=False,
    )
    sub.add_parser(
        "bench",
        help="how to run the benchmark suite ('python -m bench' in a source checkout)",
        add_help=False,
    )
