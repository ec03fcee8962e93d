"""The types of a table's columns, decided once by ``train``, and the features they encode to.

The rules, which ``jaxnn train --help`` repeats:

* ``train`` decides each column's type once and stores it in the model: a column is a
  *number* column when every cell is a number under the :class:`~jaxnn._tabular._numbers.NumberFormat` (``.``
  decimal point and no thousands separator unless ``--decimal``/``--thousands`` say
  otherwise), else a *category* column. ``predict`` reads the new file through that
  schema: categories are compared as the training file's exact strings (``01`` is not
  ``1``), numbers as numbers.
* ``predict`` refuses a number column that the model's convention (inherited, not stated
  with ``--decimal``/``--thousands``) and the one taking its thousands separator for the
  decimal mark both read, differently, with no cell telling which (:func:`check_one_reading`).
* A column that is not numeric as written but would be under another convention (decimal
  comma, thousands separator, currency or percent signs) never silently becomes a category
  column: it is an error naming the column, a value and the option to pass. So is a column
  of numbers with a few (under 10%) stray cells such as ``unknown`` or a typo.
* A category column is one-hot encoded (categories sorted); more than
  :data:`MAX_CATEGORIES` categories, or more than half as many categories as rows, is an
  error (such a column is an identifier or free text, not a category).
* Numbers must fit in float32 (``|x| <= 3.4e38``), the precision training runs in.

Every problem raises :class:`~jaxnn._tabular._errors.TableError` (a ``ValueError``) with a
one-line message.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Sequence
from typing import Any

import numpy as np

from jaxnn import data
from jaxnn._tabular._errors import TableError
from jaxnn._tabular._numbers import (
    FLOAT32_MAX,
    NumberFormat,
    format_label,
    decimal_reading,
    other_convention,
)
from jaxnn._tabular._table import Column, Table, closest

MAX_CATEGORIES = 50


def check_complete(table: Table, column: Column) -> None:
    """Raises :class:`TableError` naming the first missing cell of ``column``."""
    if column.missing.any():
        i = int(np.argmax(column.missing))
        raise TableError(
            f"{table.source}: column {column.name!r} has a missing value on line {table.lines[i]}"
            f"{_more(column.missing)}; fill in or drop the rows with missing values first"
        )


def _more(mask: np.ndarray) -> str:
    extra = int(mask.sum()) - 1
    return f" (and {extra} more)" if extra > 0 else ""


def is_numeric(column: Column, fmt: NumberFormat) -> bool:
    """Whether every non-missing cell of ``column`` is a number under ``fmt``."""
    if column.preset is not None:
        return True
    present = ~column.missing
    return bool(present.any()) and bool(column.parsed(fmt)[1][present].all())


def numbers(table: Table, column: Column, fmt: NumberFormat, *, model: str | None = None) -> np.ndarray:
    """The cells of a number column as ``float64 [rows]``, checked.

    Raises:
      TableError: naming the column, the line and the value, for a missing cell, a cell
        that is not a number under ``fmt`` (saying which option would read it, when another
        convention would), or a number that is not finite or beyond float32's range.
    """
    check_complete(table, column)
    if column.preset is not None:
        values = column.preset
    else:
        values, ok = column.parsed(fmt)
        bad = np.flatnonzero(~ok)
        if len(bad):
            i = int(bad[0])
            hint = other_convention([column.cells[j] for j in bad], fmt)
            why = f"; it looks like {hint}" if hint else ""
            raise TableError(
                f"{table.source}: column {column.name!r} must hold numbers"
                f"{' (as in the training data)' if model else ''} written with {fmt.describe()}, "
                f"but line {table.lines[i]} holds {column.cells[i]!r}{why}"
            )
    # The magnitude is checked before anything squares or sums the values, so no NumPy
    # overflow warning is ever raised here.
    # max/min first: no temporary array for the common case (NaN fails both comparisons).
    if len(values) and not (values.max() <= FLOAT32_MAX and values.min() >= -FLOAT32_MAX):
        big = ~(np.abs(values) <= FLOAT32_MAX)
        i = int(np.argmax(big))
        what = "the non-finite value" if not math.isfinite(values[i]) else "the value"
        raise TableError(
            f"{table.source}: column {column.name!r} holds {what} {column.cells[i]} on line {table.lines[i]}"
            f"{_more(big)}; numbers must be finite and at most {FLOAT32_MAX:.3g} in size (float32): "
            "replace or rescale them"
        )
    return values


def check_convention(table: Table, column: Column, fmt: NumberFormat, what: str = "column") -> None:
    """Raises :class:`TableError` when ``column`` is not numeric under ``fmt`` but is under
    another convention (decimal comma, thousands separator, currency or percent signs),
    naming a value, its line and the option to pass; such a column must never silently
    become a category column."""
    # Which conventions fit depends only on the set of values: the distinct ones are enough.
    hint = other_convention(column.distinct(present=True), fmt)
    if hint:
        bad = int(np.argmax(~column.missing & ~column.parsed(fmt)[1]))
        raise TableError(
            f"{table.source}: {what} {column.name!r} holds {column.cells[bad]!r} on line {table.lines[bad]}, not a "
            f"number written with {fmt.describe()}; it looks like {hint}; to read it as categories instead, "
            f"pass --categorical {column.name}"
        )


def check_one_reading(table: Table, column: Column, fmt: NumberFormat) -> None:
    """Raises :class:`TableError` when every cell of ``column`` reads as a number both under
    ``fmt`` (a model's convention, inherited by ``predict``) and with ``fmt``'s thousands
    separator taken for the decimal mark, and some cell reads differently (``1.250``: 1250
    or 1.25): nothing in the file tells which is meant, so the user must say it.

    The message names the column, the line, both readings and both options.
    """
    settled, refusal = one_reading(table, column, fmt)
    if not settled and refusal is not None:
        raise refusal


def one_reading(table: Table, column: Column, fmt: NumberFormat) -> tuple[bool, TableError | None]:
    """The parts of :func:`check_one_reading`'s decision that a part of a file holds, for a
    file read in chunks: whether a cell reads as a number under only one of the two
    conventions (which settles the column for the whole file), and the refusal naming the
    first cell the two read differently (``None`` when none does). The file is refused when
    no chunk settles it and some chunk has a refusal (the first)."""
    other = decimal_reading(fmt)
    if column.preset is not None or other is None:
        return True, None
    present = ~column.missing
    mine, ok_mine = column.parsed(fmt)
    theirs, ok_theirs = column.parsed(other)
    if not (ok_mine[present].all() and ok_theirs[present].all()):
        return True, None  # one cell that only one convention reads settles the column
    differ = present & (mine != theirs)
    if not differ.any():
        return False, None
    i = int(np.argmax(differ))
    mine, theirs = float(mine[i]), float(theirs[i])
    return False, TableError(
        f"{table.source}: column {column.name!r} holds {column.cells[i]!r} on line {table.lines[i]}, which the "
        f"model's convention ({fmt.describe()}) reads as {format_label(mine)} but {other.describe()} reads as {format_label(theirs)}, "
        f"and no cell of the column tells the two apart; say which: pass {fmt.options(full=True)} (the model's) or "
        f"{other.options(full=True)}"
    )


#: A column whose cells are numbers but for fewer than this share is a number column with
#: a few stray cells (a typo, "unknown"), not a category column.
MOSTLY_NUMBERS = 0.9


def check_mostly_numbers(table: Table, column: Column, fmt: NumberFormat) -> None:
    """Raises :class:`TableError` when all but a few cells (less than 10%) of ``column`` are
    numbers: the others are typos or unmarked missing values, and reading the column as
    categories would silently turn every number into a category."""
    bad = ~column.missing & ~column.parsed(fmt)[1]
    present = int((~column.missing).sum())
    if bad.any() and bad.sum() < (1 - MOSTLY_NUMBERS) * present:
        i = int(np.argmax(bad))
        raise TableError(
            f"{table.source}: column {column.name!r} holds numbers except {column.cells[i]!r} on line "
            f"{table.lines[i]}{_more(bad)}; fix those cells (write a "
            f"missing value as an empty cell or NA), or pass --categorical {column.name} to read the column as "
            "categories"
        )


def _category_limit(rows: int) -> int:
    """The most categories a column of ``rows`` rows may have: at most half as many
    categories as rows (at least 10), and at most :data:`MAX_CATEGORIES`."""
    return min(MAX_CATEGORIES, max(10, rows // 2))


def feature_spec(
    table: Table, names: Sequence[str], fmt: NumberFormat, *, categorical: Sequence[str] = ()
) -> list[dict[str, Any]]:
    """Decides the type of the feature columns ``names`` of ``table`` (the training table).

    Args:
      table: the training table.
      names: the feature columns, in order.
      fmt: how numbers are written.
      categorical: columns to read as categories whatever they hold.

    Returns:
      One dict per column, JSON-serialisable: ``{"name", "kind": "numeric"}`` or
      ``{"name", "kind": "categorical", "categories": [...]}`` (sorted exact strings, one
      one-hot feature each).

    Raises:
      TableError: for a missing value, a column that holds numbers in another convention
        than ``fmt``, or a category column with too many categories.
    """
    spec = []
    for name in names:
        col = table.column(name, "feature column")
        check_complete(table, col)
        if name not in categorical:
            if is_numeric(col, fmt):
                numbers(table, col, fmt)  # range checks, with the line
                spec.append({"name": name, "kind": "numeric"})
                continue
            check_convention(table, col, fmt)
            check_mostly_numbers(table, col, fmt)
        categories = sorted(col.distinct())
        limit = _category_limit(table.rows)
        if len(categories) > limit:
            example = ", ".join(repr(c) for c in categories[:3])
            raise TableError(
                f"{table.source}: feature column {name!r} is not numeric and has {len(categories)} "
                f"distinct values in {table.rows} rows (e.g. {example}), too many to one-hot encode (at most "
                f"{limit}: {MAX_CATEGORIES}, and at most half the rows); it looks like an identifier or free "
                f"text: drop the column (jaxnn train --drop {name!r}) or encode it as numbers"
            )
        spec.append({"name": name, "kind": "categorical", "categories": categories})
    return spec


def encoded_names(spec: Sequence[dict[str, Any]]) -> list[str]:
    """The names of the encoded feature columns: a numeric column keeps its name, a text
    column ``c`` becomes ``c=<category>`` for each category."""
    out = []
    for s in spec:
        if s["kind"] == "numeric":
            out.append(s["name"])
        else:
            out.extend(f"{s['name']}={c}" for c in s["categories"])
    return out


def encode_features(
    table: Table, spec: Sequence[dict[str, Any]], fmt: NumberFormat, *, model: str | None = None
) -> np.ndarray:
    """Encodes ``table``'s feature columns through the schema ``spec``.

    Number columns are parsed under ``fmt``; category columns are compared as exact
    (stripped) strings with the training categories and one-hot encoded.

    Args:
      table: a table holding every column of ``spec`` (other columns are ignored).
      spec: as returned by :func:`feature_spec`.
      fmt: how numbers are written.
      model: when given (the model file's name), messages say the features do not match it.

    Returns:
      ``float64 [rows, features]``.

    Raises:
      TableError: a column is absent (the closest name is suggested), has a missing or
        non-finite value, is text where numbers are expected, or holds a category the
        training data did not have.
    """
    _check_present(table, spec, model)
    if not spec:
        raise TableError(f"{table.source}: there are no feature columns (only the target); add input columns")
    widths = [1 if s["kind"] == "numeric" else len(s["categories"]) for s in spec]
    # Filled column by column: one [rows, features] array, no per-column blocks to join.
    x = np.empty((table.rows, sum(widths)), dtype=np.float64)
    start = 0
    for s, w in zip(spec, widths):
        col = table.column(s["name"])
        if s["kind"] == "numeric":
            x[:, start] = numbers(table, col, fmt, model=model)
        else:
            x[:, start:start + w] = _one_hot(table, col, s["categories"])
        start += w
    return x


def _check_present(table: Table, spec: Sequence[dict[str, Any]], model: str | None) -> None:
    """Raises :class:`TableError` naming the feature columns of ``spec`` that ``table`` lacks."""
    names = table.names
    absent = [s["name"] for s in spec if unicodedata.normalize("NFC", s["name"]) not in names]
    if not absent:
        return
    if model is not None:
        used = {s["name"] for s in spec}
        others = [n for n in names if n not in used]
        hint = closest(absent[0], others, list_all=False)
        raise TableError(
            f"{table.source} does not have the feature column(s) "
            f"{', '.join(repr(a) for a in absent[:5])}{' ...' if len(absent) > 5 else ''} that the "
            f"model {model} was trained on ({len(spec)} columns: "
            f"{', '.join(repr(s['name']) for s in spec[:6])}{' ...' if len(spec) > 6 else ''})"
            f"{hint}"
        )
    table.column(absent[0], "feature column")  # raises with a suggestion


def _one_hot(table: Table, col: Column, categories: list[str]) -> np.ndarray:
    """The one-hot rows ``float64 [rows, len(categories)]`` of a category column, compared as
    exact (stripped) strings with the training categories."""
    check_complete(table, col)
    # The table's text is NFC-normalized; so are the categories here (a model file written
    # before that may hold another form).
    index = {unicodedata.normalize("NFC", c): k for k, c in enumerate(categories)}
    found = col.index_in(list(index))
    if (found < 0).any():
        i = int(np.argmax(found < 0))
        raise TableError(
            f"{table.source}: column {col.name!r} holds {col.cells[i]!r} on line {table.lines[i]}, "
            f"a category the training data did not have (known: "
            f"{', '.join(repr(c) for c in categories[:8])}{' ...' if len(categories) > 8 else ''})"
        )
    codes = np.array(list(index.values()), dtype=np.int32)[found]
    # 0 and 1 are exact in float32, so the float64 features are the same as NumPy's.
    return np.asarray(data.one_hot(codes, len(categories)), dtype=np.float64)
