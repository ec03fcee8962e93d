"""``jaxnn predict``: a model file's predictions for a CSV file, read through the model's schema.

The file is read, predicted and written in chunks (:func:`jaxnn._tabular.read_csv_chunks`),
so memory does not grow with the file. Every rule is still decided for the whole file: the
predictions go to a temporary file first (renamed into place, or copied to stdout, at the
end), and what only the whole file can tell (a number column that two conventions read
differently with no cell telling which, a prediction that is not finite, the accuracy or
R^2, the note on a text target) is gathered chunk by chunk and decided after the last, so a
refusal on the last row leaves no output.
"""

from __future__ import annotations

import argparse
import csv
import io
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any

import numpy as np

from jaxnn import _atomic
from jaxnn import _tabular as tabular
from jaxnn.cli._errors import TableError
from jaxnn.cli._progress import progress_bar, wants_progress

#: Rows the network predicts at a time: every batch has this shape (the last one padded), so a
#: row's prediction is the same bits however the file is cut into chunks.
_BATCH = 4096


def run(args: argparse.Namespace) -> int:
    """Runs ``jaxnn predict``: writes one prediction per row to ``--out`` or stdout, and a
    summary line (with the accuracy or R^2 when the file has the target columns) on stderr.

    Args:
      args: the parsed ``predict`` options.

    Returns:
      0; every failure raises (a closed stdout as ``BrokenPipeError``, inside ``main``'s handler).
    """
    progress = wants_progress(getattr(args, "progress", None))
    if args.out is not None:
        _atomic.check_outputs({"--out": args.out}, {"--model": args.model, "--data": args.data})
    model = tabular.load_model(args.model)
    fmt, stated = _number_format(args, model.number_format)
    whole = _WholeFile(model, fmt, one_reading=not stated)
    with _sink(args.out) as f, progress_bar(progress, "predicting") as bar:
        header_written = False
        for table, last in _with_last(tabular.read_csv_chunks(args.data, delimiter=args.delimiter)):
            outputs = whole.add(table, last)
            header, text = _rows(model.config, outputs)
            if not header_written:
                csv.writer(f, lineterminator="\n").writerow(header)
                header_written = True
            f.write(text)
            bar.update(table.rows)
        whole.finish()
    score = whole.score() or whole.text_target_note()
    where = f"wrote {whole.rows} predictions to {args.out}" if args.out else f"{whole.rows} predictions"
    print(where + (f"; {score}" if score else ""), file=sys.stderr)
    return 0


def _with_last(chunks: Iterator[tabular.Table]) -> Iterator[tuple[tabular.Table, bool]]:
    """Each chunk with whether it is the file's last (the next one is read first)."""
    current = next(chunks)
    for following in chunks:
        yield current, False
        current = following
    yield current, True


@contextmanager
def _sink(out: str | None) -> Iterator[IO[str]]:
    """A text file for the predictions: a temporary file renamed to ``out`` when everything
    succeeded; for stdout, a temporary file (in memory while small) copied to stdout then.
    Either is removed when anything fails or Ctrl-C is pressed."""
    if out is not None:
        with _atomic.atomic_open(out, "w", newline="", encoding="utf-8") as f:
            yield f
        return
    with tempfile.SpooledTemporaryFile(max_size=64 * 2**20, mode="w+", newline="", encoding="utf-8") as f:
        yield f
        f.seek(0)
        shutil.copyfileobj(f, sys.stdout)
        sys.stdout.flush()  # a closed pipe shows here, inside main's handler


def _number_format(args: argparse.Namespace, trained: tabular.NumberFormat) -> tuple[tabular.NumberFormat, bool]:
    """How the file writes numbers: the model's convention, with ``--decimal``/``--thousands``
    replacing their part of it; and whether either option was given.

    A part of the model's convention that clashes with an option gives way: ``--decimal .``
    for a model trained with ``--decimal , --thousands .`` reads no thousands separator,
    ``--thousands ,`` for a model trained with ``--decimal ,`` reads ``'.'`` as the decimal mark.
    """
    decimal, thousands = args.decimal, args.thousands
    if decimal is None:
        decimal = trained.decimal if trained.decimal != thousands else {".": ",", ",": "."}[trained.decimal]
    if thousands is None:
        thousands = trained.thousands if trained.thousands != decimal else None
    stated = args.decimal is not None or args.thousands is not None
    return tabular.NumberFormat(decimal, thousands), stated


class _OneReading:
    """:func:`jaxnn._tabular.check_one_reading` over the chunks of a file, per column."""

    def __init__(self) -> None:
        self.settled: dict[str, bool] = {}
        self.refusal: dict[str, TableError | None] = {}

    def add(self, table: tabular.Table, column: tabular.Column, fmt: tabular.NumberFormat) -> None:
        settled, refusal = tabular.one_reading(table, column, fmt)
        name = column.name
        self.settled[name] = self.settled.get(name, False) or settled
        self.refusal[name] = self.refusal.get(name) or refusal

    def check(self, names: list[str]) -> None:
        """Raises the refusal of the first of ``names`` that no chunk settled."""
        for name in names:
            if not self.settled.get(name, True) and self.refusal.get(name) is not None:
                raise self.refusal[name]


class _WholeFile:
    """What ``predict`` decides for the whole file, gathered chunk by chunk."""

    def __init__(self, model: tabular.Model, fmt: tabular.NumberFormat, *, one_reading: bool) -> None:
        self.model, self.config, self.fmt, self.one_reading = model, model.config, fmt, one_reading
        self.rows = 0
        self.features = _OneReading()
        self.numeric = [s["name"] for s in self.config["features"] if s["kind"] == "numeric"]
        self.nonfinite: tuple[int, int] | None = None  # (first line, how many)
        self.source = ""
        self.scores = _Score(self.config, fmt, one_reading)
        self.text = _TextTarget(self.config, fmt)

    def add(self, table: tabular.Table, last: bool) -> np.ndarray:
        """The outputs for ``table``'s rows, after every check they need; the checks of the
        whole file run when ``last``."""
        self.source = table.source
        if self.one_reading:
            for name in self.numeric:
                if name in table.names:
                    self.features.add(table, table.column(name), self.fmt)
            if last:
                self.features.check([n for n in self.numeric if n in table.names])
        x = self.model.features(table, self.fmt)
        outputs = _predict(self.model, x)
        bad = ~np.isfinite(outputs).all(axis=1)
        if bad.any():
            first, count = self.nonfinite or (int(table.lines[int(np.argmax(bad))]), 0)
            self.nonfinite = (first, count + int(bad.sum()))
        self.scores.add(table, outputs)
        self.text.add(table)
        self.rows += table.rows
        return outputs

    def finish(self) -> None:
        """Refuses a file with a prediction that is not finite."""
        if self.nonfinite is not None:
            line, count = self.nonfinite
            raise TableError(
                f"{self.source}: the prediction for line {line}{f' (and {count - 1} more)' if count > 1 else ''} "
                "is not finite: its inputs are too far outside the training data")

    def score(self) -> str | None:
        return self.scores.result()

    def text_target_note(self) -> str | None:
        return self.text.result()


def _predict(model: tabular.Model, x: np.ndarray) -> np.ndarray:
    """``model.predict`` in batches of :data:`_BATCH` rows, the last one padded with zeros:
    one compiled program for every chunk, and the same result for a row whatever the chunks."""
    n = len(x)
    padded = np.zeros((-(-n // _BATCH) * _BATCH, x.shape[1]), x.dtype)
    padded[:n] = x
    return np.concatenate([model.predict(padded[i:i + _BATCH]) for i in range(0, len(padded), _BATCH)])[:n]


class _Score:
    """The accuracy (or R^2) against the target column(s), over every chunk: ``None`` when a
    target column is absent or unreadable in any chunk, or holds a class the model does not know.

    A classification's labels are compared as the model names its classes: numbers by
    value (``1.0`` is ``"1"``), text as the exact strings; a model file that does not say
    which (version 1) compares numbers when every label of the file is a number.
    """

    def __init__(self, config: dict[str, Any], fmt: tabular.NumberFormat, one_reading: bool) -> None:
        self.config, self.fmt = config, fmt
        self.targets = config["targets"]
        self.regression = config["task"] == "regression"
        kind = config.get("label_kind")
        self.kinds = ["number"] if kind == "number" else ["text"] if kind == "text" else ["number", "text"]
        self.one_reading = one_reading and (self.regression or kind == "number")
        self.reading = _OneReading()
        self.failed = False
        self.all_numbers, self.any_present = True, False  # for a version 1 model's labels
        self.correct = {k: 0 for k in self.kinds}
        self.unknown = {k: False for k in self.kinds}
        self.n = 0
        self.mean: np.ndarray | None = None
        self.m2: np.ndarray | None = None
        self.ss_res: np.ndarray | None = None

    def add(self, table: tabular.Table, outputs: np.ndarray) -> None:
        if self.failed:
            return
        if not all(t in table.names for t in self.targets):
            self.failed = True
            return
        try:
            cols = [table.column(t) for t in self.targets]
            if self.one_reading:
                for c in cols:
                    self.reading.add(table, c, self.fmt)
            if self.regression:
                self._add_regression(np.stack([tabular.numbers(table, c, self.fmt) for c in cols], axis=1), outputs)
            else:
                self._add_labels(table, cols[0], outputs)
        except ValueError:
            self.failed = True

    def _add_regression(self, true: np.ndarray, pred: np.ndarray) -> None:
        err = pred.astype(np.float64) - true.astype(np.float64)
        n, mean = len(true), true.mean(axis=0)
        m2, ss_res = ((true - mean) ** 2).sum(axis=0), (err**2).sum(axis=0)
        if self.mean is None:
            self.n, self.mean, self.m2, self.ss_res = n, mean, m2, ss_res
            return
        total = self.n + n  # Chan et al.'s update of the mean and the sum of squared deviations
        delta = mean - self.mean
        self.m2 = self.m2 + m2 + delta**2 * self.n * n / total
        self.mean = self.mean + delta * n / total
        self.n, self.ss_res = total, self.ss_res + ss_res

    def _add_labels(self, table: tabular.Table, col: tabular.Column, outputs: np.ndarray) -> None:
        tabular.check_complete(table, col)
        pred = np.argmax(outputs, axis=1)
        index = {c: i for i, c in enumerate(self.config["class_names"])}
        if "number" in self.kinds and len(self.kinds) == 2:
            present = ~col.missing
            self.any_present = self.any_present or bool(present.any())
            self.all_numbers = self.all_numbers and (col.preset is not None or bool(col.parsed(self.fmt)[1][present].all()))
        for kind in self.kinds:
            if kind == "number":
                if len(self.kinds) == 2 and not self.all_numbers:
                    continue  # the text reading decides
                # each distinct value named once (-0.0 and 0.0, which np.unique merges, are both "0")
                values, inverse = np.unique(tabular.numbers(table, col, self.fmt), return_inverse=True)
                true = np.array([index.get(tabular.format_label(v), -1) for v in values], np.int64)[inverse]
            else:
                true = col.index_in(list(index))
            self.unknown[kind] = self.unknown[kind] or bool((true < 0).any())
            self.correct[kind] += int(np.sum(pred == true))
        self.n += len(pred)

    def result(self) -> str | None:
        """The phrase, such as ``"accuracy on the 'label' column: 0.9500"``, or ``None``."""
        if self.failed or self.n == 0:
            return None
        try:
            self.reading.check(self.targets)
        except ValueError:
            return None
        if self.regression:
            with np.errstate(divide="ignore", invalid="ignore"):
                r2 = float(np.mean(1.0 - self.ss_res / self.m2))
            if not np.isfinite(r2):
                return None
            return f"R^2 on the {', '.join(self.targets)} column(s): {r2:.4f}"
        kind = self.kinds[0] if len(self.kinds) == 1 else (
            "number" if self.all_numbers and self.any_present else "text")
        if self.unknown[kind]:
            return None
        return f"accuracy on the {self.targets[0]!r} column: {self.correct[kind] / self.n:.4f}"


class _TextTarget:
    """For a regression model, a note when the file has a target column that holds text
    (``yes``/``no``): the model predicts numbers, so no R^2 is computed."""

    def __init__(self, config: dict[str, Any], fmt: tabular.NumberFormat) -> None:
        self.targets = config["targets"] if config["task"] == "regression" else []
        self.fmt = fmt
        self.shown: dict[str, list[str]] = {}  # the first three texts (sorted) of each column

    def add(self, table: tabular.Table) -> None:
        for t in self.targets:
            if t not in table.names:
                continue
            col = table.column(t)
            text = ~col.missing & ~col.parsed(self.fmt)[1]
            if text.any():
                self.shown[t] = sorted(set(col.cells[text].tolist()) | set(self.shown.get(t, [])))[:3]

    def result(self) -> str | None:
        for t in self.targets:
            if t in self.shown:
                shown = ", ".join(repr(v) for v in self.shown[t])
                return (f"note: the {t!r} column holds text ({shown}), not numbers, but this is a regression model, "
                        "so no R^2 is computed; was the model trained on the right target (or with --task)?")
        return None


def _csv_cell(text: str) -> str:
    """``text`` as :mod:`csv` writes it in a row of several cells (quoted where needed)."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow([text, ""])
    return out.getvalue()[:-2]


def _rows(config: dict[str, Any], outputs: np.ndarray) -> tuple[list[str], str]:
    """The header and the CSV text of the predictions: the value(s) of a regression (7
    significant digits); the class and one probability per class (6) of a classification."""
    targets = config["targets"]
    n, width = outputs.shape
    if config["task"] == "regression":
        line = ",".join(["%.7g"] * width) + "\n"
        return [f"predicted_{t}" for t in targets], (line * n) % tuple(outputs.ravel().tolist())
    classes = config["class_names"]
    header = [f"predicted_{targets[0]}", *[f"p_{c}" for c in classes]]
    if n == 0:
        return header, ""
    cells = np.empty((n, width + 1), dtype=object)
    cells[:, 0] = np.array([_csv_cell(c) for c in classes], dtype=object)[np.argmax(outputs, axis=1)]
    cells[:, 1:] = outputs
    line = "%s," + ",".join(["%.6g"] * width) + "\n"
    return header, (line * n) % tuple(cells.ravel().tolist())
