"""``jaxnn predict``: a model file's predictions for a CSV file, read through the model's schema."""

from __future__ import annotations

import argparse
import csv
import sys
from typing import Any

import numpy as np

from jaxnn import _atomic
from jaxnn import _tabular as tabular
from jaxnn.cli._errors import TableError
from jaxnn.cli._scores import regression_scores


def run(args: argparse.Namespace) -> int:
    """Runs ``jaxnn predict``: writes one prediction per row to ``--out`` or stdout, and a
    summary line (with the accuracy or R^2 when the file has the target columns) on stderr.

    Args:
      args: the parsed ``predict`` options.

    Returns:
      0; every failure raises (a closed stdout as ``BrokenPipeError``, inside ``main``'s handler).
    """
    if args.out is not None:
        _atomic.check_outputs({"--out": args.out}, {"--model": args.model, "--data": args.data})
    model = tabular.load_model(args.model)
    fmt, stated = _number_format(args, model.number_format)
    table = tabular.read_csv(args.data, delimiter=args.delimiter)
    if not stated:
        _check_one_reading(model.config, table, fmt)
    outputs = model.predict(model.features(table, fmt))
    _check_finite(table, outputs)
    header, rows = _rows(model.config, outputs)
    _write(args.out, header, rows)
    score = score_if_labelled(model, table, outputs, fmt, one_reading=not stated) or _text_target_note(
        model.config, table, fmt)
    where = f"wrote {len(rows)} predictions to {args.out}" if args.out else f"{len(rows)} predictions"
    print(where + (f"; {score}" if score else ""), file=sys.stderr)
    return 0


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


def _check_one_reading(config: dict[str, Any], table: tabular.Table, fmt: tabular.NumberFormat) -> None:
    """Refuses a number feature column that the model's convention, inherited
    rather than stated, and the convention taking its thousands separator for the decimal
    mark both read, differently: ``1.250`` is 1250 or 1.25, and nothing says which."""
    numeric = [s["name"] for s in config["features"] if s["kind"] == "numeric"]
    for name in numeric:
        if name in table.names:
            tabular.check_one_reading(table, table.column(name), fmt)


def _check_finite(table: tabular.Table, outputs: np.ndarray) -> None:
    bad = ~np.isfinite(outputs).all(axis=1)
    if bad.any():
        i = int(np.argmax(bad))
        raise TableError(
            f"{table.source}: the prediction for line {table.lines[i]}"
            f"{f' (and {int(bad.sum()) - 1} more)' if bad.sum() > 1 else ''} is not finite: its inputs are too far "
            "outside the training data")


def _rows(config: dict[str, Any], outputs: np.ndarray) -> tuple[list[str], list[list[str]]]:
    """The header and rows of the predictions: the value(s) of a regression; the class and one
    probability per class of a classification."""
    targets = config["targets"]
    if config["task"] == "regression":
        return [f"predicted_{t}" for t in targets], [[f"{v:.7g}" for v in r] for r in outputs]
    classes = config["class_names"]
    header = [f"predicted_{targets[0]}", *[f"p_{c}" for c in classes]]
    best = np.argmax(outputs, axis=1)
    return header, [[classes[b], *(f"{p:.6g}" for p in r)] for b, r in zip(best, outputs)]


def _write(out: str | None, header: list[str], rows: list[list[str]]) -> None:
    """Writes the CSV to ``out`` atomically, or to stdout when ``out`` is None."""
    if out is not None:
        with _atomic.atomic_open(out, "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(header)
            w.writerows(rows)
        return
    w = csv.writer(sys.stdout, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    sys.stdout.flush()  # a closed pipe shows here, inside main's handler


def score_if_labelled(
    model: tabular.Model, table: tabular.Table, outputs: np.ndarray, fmt: tabular.NumberFormat, *,
    one_reading: bool = False,
) -> str | None:
    """The accuracy (or R^2) against the target column(s) when the CSV has them, else None.

    Args:
      model: the model that predicted.
      table: the table it predicted for.
      outputs: its outputs, as :meth:`~jaxnn._tabular.Model.predict` returns them.
      fmt: how the table writes numbers.
      one_reading: ``fmt`` was inherited from the model: a number target that it and the
        convention taking its thousands separator for the decimal mark read differently
        (``1.250``) is unreadable.

    Returns:
      A phrase such as ``"accuracy on the 'label' column: 0.9500"``; ``None`` when a target
      column is absent or unreadable, or holds a class the model does not know.
    """
    config = model.config
    if not all(t in table.names for t in config["targets"]):
        return None
    try:
        cols = [table.column(t) for t in config["targets"]]
        if one_reading and (config["task"] == "regression" or config.get("label_kind") == "number"):
            for c in cols:
                tabular.check_one_reading(table, c, fmt)
        if config["task"] == "regression":
            true = np.stack([tabular.numbers(table, c, fmt) for c in cols], axis=1)
            r2 = regression_scores(outputs, true)["r2"]
            return None if r2 is None else f"R^2 on the {', '.join(config['targets'])} column(s): {r2:.4f}"
        labels = _labels(config, table, cols[0], fmt)
        index = {c: i for i, c in enumerate(config["class_names"])}
        if any(v not in index for v in labels):
            return None
        true = np.array([index[v] for v in labels])
        pred = np.argmax(outputs, axis=1)
        return f"accuracy on the {config['targets'][0]!r} column: {float(np.mean(pred == true)):.4f}"
    except ValueError:
        return None


def _text_target_note(config: dict[str, Any], table: tabular.Table, fmt: tabular.NumberFormat) -> str | None:
    """For a regression model, a note when the file has a target column that holds text
    (``yes``/``no``): the model predicts numbers, so no R^2 is computed; ``None`` otherwise."""
    if config["task"] != "regression":
        return None
    for t in config["targets"]:
        if t not in table.names:
            continue
        col = table.column(t)
        text = ~col.missing & ~col.parsed(fmt)[1]
        if text.any():
            shown = ", ".join(repr(v) for v in sorted(set(col.cells[text].tolist()))[:3])
            return (f"note: the {t!r} column holds text ({shown}), not numbers, but this is a regression model, so "
                    "no R^2 is computed; was the model trained on the right target (or with --task)?")
    return None


def _labels(config: dict[str, Any], table: tabular.Table, col: tabular.Column, fmt: tabular.NumberFormat) -> list[str]:
    """The class labels of the target column as the model names its classes: numbers by
    value (``1.0`` is ``"1"``), text as the exact strings."""
    tabular.check_complete(table, col)
    if config.get("label_kind", "text") == "number" or (
            "label_kind" not in config and tabular.is_numeric(col, fmt)):
        return [tabular.format_label(v) for v in tabular.numbers(table, col, fmt)]
    return list(col.cells)
