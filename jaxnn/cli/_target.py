"""The target of ``jaxnn train``: which column(s), which task, and the labels encoded.

Task inference (``--task auto``): several target columns are a multivariate regression; a
text target is binary with 2 classes and multi-class otherwise; a numeric target of whole
numbers with 2 to 20 distinct values (and at most half as many values as rows) is binary or
multi-class the same way; any other numeric target is a regression. A text target with more
than 20 classes and more classes than half the rows is an error (``--task multiclass``
insists). So is, when the task is inferred, a text target with two labels that differ only
in case, spaces or punctuation (``yes``/``YES``, ``True``/``TRUE``, ``n/a``/``N.A.``): they
are a typo far more often than two classes; ``--task`` keeps them as distinct classes. Class
labels are sorted (numerically for numbers), and for a binary task the second one is the
positive class.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import re

import numpy as np

from jaxnn import _tabular as tabular
from jaxnn.cli._argtypes import names as split_names
from jaxnn.cli._errors import UsageError

_MAX_CLASSES_INFERRED = 20
#: More classes than this is taken for a regression target given the wrong task.
_MAX_CLASSES = 1000


class Target(NamedTuple):
    """The encoded target and what was decided about it.

    Attributes:
      y: ``float64 [N, T]`` values for a regression, ``int32 [N]`` class indices for a
        classification.
      task: ``"regression"``, ``"binary"`` or ``"multiclass"``.
      class_names: the sorted class labels of a classification, else ``None``.
      label_kind: ``"number"`` (labels compared by value) or ``"text"`` (compared as exact
        strings) for a classification, else ``None``.
      why: what decided the task, for the message (``"--task"``, ``"3 text labels"``).
    """

    y: np.ndarray
    task: str
    class_names: list[str] | None
    label_kind: str | None
    why: str


def target_names(table: tabular.Table, option: str | None) -> list[str]:
    """The target columns: those of ``--target``, else the last column.

    Args:
      table: the training table.
      option: the ``--target`` value (``COL[,COL...]``), or ``None``.

    Returns:
      The target column names.

    Raises:
      TableError: a name that is not a column (suggesting the closest).
      UsageError: an empty option, a column named twice, or every column a target.
    """
    if option is None:
        return [table.names[-1]]
    names = split_names(option)
    if not names:
        raise UsageError("--target is empty; name the target column(s)")
    for n in names:
        table.column(n, "target column")
    if len(set(names)) != len(names):
        raise UsageError(f"--target names a column twice: {option!r}")
    if len(names) == len(table.names):
        raise UsageError("every column is a target; leave at least one feature column")
    return names


def encode_target(
    table: tabular.Table,
    names: list[str],
    task: str,
    fmt: tabular.NumberFormat | None = None,
    categorical: Sequence[str] = (),
) -> Target:
    """Encodes the target column(s) ``names`` of ``table`` for ``task``.

    Args:
      table: the training table.
      names: the target columns.
      task: ``"auto"`` (inferred, see the module's docstring) or the ``--task`` given.
      fmt: how numbers are written (default: ``'.'`` decimal mark, no thousands separator).
      categorical: columns to read as categories whatever they hold.

    Returns:
      The :class:`Target`.

    Raises:
      TableError: a missing value, or numbers written in another convention than ``fmt``.
      UsageError: a target that does not suit the task (text for a regression, one class,
        not 2 classes for binary, too many classes).
    """
    fmt = fmt or tabular.NumberFormat()
    cols = [table.column(n, "target column") for n in names]
    for c in cols:
        tabular.check_complete(table, c)
    if len(cols) > 1:
        return _several(table, cols, task, fmt, categorical)
    col = cols[0]
    if col.name not in categorical and tabular.is_numeric(col, fmt):
        target = _numeric(table, col, task, fmt)
    else:
        target = _text(table, col, task, fmt, categorical)
    if target.task != "regression":
        _check_classes(col.name, target.task, target.class_names)
    return target


def _several(
    table: tabular.Table, cols: list[tabular.Column], task: str, fmt: tabular.NumberFormat, categorical: Sequence[str]
) -> Target:
    """Several target columns: a multivariate regression, so every one must be numeric."""
    if task not in ("auto", "regression"):
        raise UsageError(
            f"--task {task} takes one target column, got {len(cols)}; several targets are a regression")
    for c in cols:
        if c.name in categorical or not tabular.is_numeric(c, fmt):
            if c.name not in categorical:
                tabular.check_convention(table, c, fmt, "target column")
            raise UsageError(
                f"several target columns make a multivariate regression, but {c.name!r} is not numeric")
    values = [tabular.numbers(table, c, fmt) for c in cols]
    return Target(np.stack(values, axis=1), "regression", None, None, "several targets")


def _numeric(table: tabular.Table, col: tabular.Column, task: str, fmt: tabular.NumberFormat) -> Target:
    """A numeric target: regression values, or classes labelled by their numbers."""
    values = tabular.numbers(table, col, fmt)
    classes = np.unique(values)
    task, why = _infer_from_numbers(values, classes, table.rows) if task == "auto" else (task, "--task")
    if task == "regression":
        return Target(values[:, None], task, None, None, why)
    codes = np.searchsorted(classes, values)
    return Target(codes.astype(np.int32), task, [tabular.format_label(v) for v in classes], "number", why)


def _infer_from_numbers(values: np.ndarray, classes: np.ndarray, rows: int) -> tuple[str, str]:
    """The task of a numeric target and why: classes when they are a few whole numbers."""
    whole = bool(np.all(values == np.round(values)))
    few = 2 <= len(classes) <= min(_MAX_CLASSES_INFERRED, max(2, rows // 2))
    if whole and few:
        return "binary" if len(classes) == 2 else "multiclass", f"{len(classes)} distinct whole-number values"
    return "regression", "numeric values" if not whole else f"{len(classes)} distinct values"


def _text(
    table: tabular.Table, col: tabular.Column, task: str, fmt: tabular.NumberFormat, categorical: Sequence[str]
) -> Target:
    """A text (or ``--categorical``) target: classes labelled by their exact strings."""
    if col.name not in categorical:
        tabular.check_convention(table, col, fmt, "target column")
        tabular.check_mostly_numbers(table, col, fmt)
    classes = sorted(col.distinct())
    if task == "regression":
        example = ", ".join(repr(v) for v in classes[:3])
        raise UsageError(
            f"target column {col.name!r} holds text ({example}, ...), not numbers, so it cannot be "
            "a regression target; use --task binary or --task multiclass"
        )
    codes = col.index_in(classes)
    if task != "auto":
        return Target(codes.astype(np.int32), task, classes, "text", "--task")
    _check_spellings(table, col, classes)
    if len(classes) > max(_MAX_CLASSES_INFERRED, table.rows // 2):
        raise UsageError(
            f"target column {col.name!r} has {len(classes)} distinct text values in {table.rows} rows, too many "
            "classes to infer a classification; pass --task multiclass if that is what you want")
    task = "binary" if len(classes) == 2 else "multiclass"
    return Target(codes.astype(np.int32), task, classes, "text", f"{len(classes)} text labels")


def _spelling(label: str) -> str:
    """The label with case, spaces and punctuation left out: two labels that share it are one
    label written two ways (``yes``/``YES``, ``True``/``TRUE``, ``New York``/``new-york``)."""
    return re.sub(r"[\s\W_]+", "", label.casefold())


def _check_spellings(table: tabular.Table, col: tabular.Column, classes: list[str]) -> None:
    """Raises :class:`UsageError` naming the first two labels of ``classes`` that differ only
    in case, spaces or punctuation, with a line holding each."""
    first: dict[str, str] = {}
    for c in classes:
        key = _spelling(c)
        if key and key in first:
            a, b = first[key], c
            line_a = table.lines[int(np.argmax(col.cells == a))]
            line_b = table.lines[int(np.argmax(col.cells == b))]
            raise UsageError(
                f"target column {col.name!r} holds {a!r} (line {line_a}) and {b!r} (line {line_b}), labels that "
                "differ only in case, spaces or punctuation, which would be two classes; write them one way, or "
                "pass --task binary or --task multiclass to keep them as distinct classes")
        first.setdefault(key, c)


def _check_classes(name: str, task: str, classes: list[str]) -> None:
    """Raises :class:`UsageError` unless ``classes`` suit ``task``."""
    if len(classes) < 2:
        raise UsageError(
            f"target column {name!r} has only one value ({classes[0]!r}); there is nothing to classify")
    if task == "binary" and len(classes) != 2:
        raise UsageError(
            f"--task binary needs exactly 2 classes but target column {name!r} has {len(classes)} "
            f"({', '.join(repr(c) for c in classes[:5])}{' ...' if len(classes) > 5 else ''}); use --task multiclass"
        )
    if task == "multiclass" and len(classes) > _MAX_CLASSES:
        raise UsageError(
            f"target column {name!r} has {len(classes)} distinct values; did you mean --task regression?")
