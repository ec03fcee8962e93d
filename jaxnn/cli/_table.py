"""Typed tables for the command line: CSV files (or built-in data sets) as named columns.

Only the standard library's :mod:`csv` and NumPy are used: the reader is strict (a quote that
is never closed is an error on the line that opens it) and the typing rules below are ours,
so they are the same wherever jaxnn runs. The rules, which ``jaxnn train --help`` repeats:

* The first row is the header; column names must be unique. The delimiter (``,``, ``;``
  or a tab) is the one that splits every one of the first lines into as many cells as
  the header (the widest such split wins).
* Cells are compared with surrounding spaces removed. Missing cells (empty, ``NA``,
  ``N/A``, ``NaN``, ``null``, ``None``, ``?``) are an error naming the column and line.
* ``train`` decides each column's type once and stores it in the model: a column is a
  *number* column when every cell is a number under the :class:`NumberFormat` (``.``
  decimal point and no thousands separator unless ``--decimal``/``--thousands`` say
  otherwise), else a *category* column. ``predict`` reads the new file through that
  schema: categories are compared as the training file's exact strings (``01`` is not
  ``1``), numbers as numbers.
* A column that is not numeric as written but would be under another convention (decimal
  comma, thousands separator, currency or percent signs) never silently becomes a category
  column: it is an error naming the column, a value and the option to pass. So is a column
  of numbers with a few (under 10%) stray cells such as ``unknown`` or a typo.
* A category column is one-hot encoded (categories sorted); more than
  :data:`MAX_CATEGORIES` categories, or more than half as many categories as rows, is an
  error (such a column is an identifier or free text, not a category).
* Numbers must fit in float32 (``|x| <= 3.4e38``), the precision training runs in.

Every problem raises :class:`TableError` (a ``ValueError``) with a one-line message.
"""

from __future__ import annotations

import csv
import dataclasses
import difflib
import io
import math
import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from jaxnn.cli._errors import TableError
from jaxnn.cli._numbers import FLOAT32_MAX, NumberFormat, format_label, other_convention, parses_as_numbers

MAX_CATEGORIES = 50
_MISSING = frozenset({"", "na", "n/a", "nan", "null", "none", "?"})
_DELIMITERS = (",", ";", "\t")
_SNIFF_LINES = 50


# ----------------------------------------------------------------------------- tables


@dataclasses.dataclass(frozen=True)
class Column:
    """One column of a table, untyped: the table is typed by :func:`feature_spec` (train)
    or by a model's stored schema (predict).

    Attributes:
      name: the header cell.
      cells: object array of ``str``, the cells with surrounding spaces removed.
      missing: ``bool [rows]``, the missing cells.
      preset: ``float64 [rows]`` for a built-in numeric column (no text to parse), else None.
    """

    name: str
    cells: np.ndarray
    missing: np.ndarray
    preset: np.ndarray | None = None


@dataclasses.dataclass(frozen=True)
class Table:
    """Named columns of equal length, with the file line of every row (for messages).

    Attributes:
      source: the file name (or ``"the iris data set"``), used in messages.
      columns: the columns, in file order.
      lines: ``int [rows]``, the 1-based line on which each row starts in the file (row
        numbers for built-in data).
    """

    source: str
    columns: tuple[Column, ...]
    lines: np.ndarray

    @property
    def names(self) -> list[str]:
        """The column names, in order."""
        return [c.name for c in self.columns]

    @property
    def rows(self) -> int:
        """The number of data rows."""
        return len(self.lines)

    def column(self, name: str, what: str = "column") -> Column:
        """The column called ``name``; a :class:`TableError` suggests the closest name otherwise."""
        for c in self.columns:
            if c.name == name:
                return c
        raise TableError(f"{what} {name!r} is not in {self.source}{closest(name, self.names)}")


def closest(name: str, names: Sequence[str], *, list_all: bool = True) -> str:
    """A ``"; did you mean 'x'?"`` suffix naming the closest of ``names``.

    Without a close match it lists ``names`` (``list_all``) or is empty.
    """
    match = difflib.get_close_matches(name, list(names), n=1, cutoff=0.5)
    if not match:
        lowered = {n.lower(): n for n in names}
        if name.lower() in lowered:
            match = [lowered[name.lower()]]
    if match:
        return f"; did you mean {match[0]!r}?"
    if not list_all:
        return ""
    shown = ", ".join(repr(n) for n in list(names)[:12])
    more = f" and {len(names) - 12} more" if len(names) > 12 else ""
    return f"; its columns are {shown}{more}"


def _make_column(name: str, cells: list[str]) -> Column:
    stripped = np.array([c.strip() for c in cells], dtype=object)
    missing = np.array([c.lower() in _MISSING for c in stripped], dtype=bool)
    return Column(name, stripped, missing)


def _delimiter(text: str) -> str:
    """The delimiter that splits the first lines into rows as wide as the header (the
    widest wins; ``,`` when none splits the header)."""
    head = "\n".join(text.splitlines()[:_SNIFF_LINES])
    best, width = ",", 1
    for d in _DELIMITERS:
        try:
            rows = [r for r in csv.reader(io.StringIO(head), delimiter=d) if r and any(c.strip() for c in r)]
        except csv.Error:
            continue
        # The last sniffed line may be cut inside a quoted field: ignore it.
        rows = rows[:-1] if len(rows) > 2 else rows
        if rows and len(rows[0]) > width and all(len(r) == len(rows[0]) for r in rows):
            best, width = d, len(rows[0])
    return best


def read_csv(path: str | os.PathLike[str], *, delimiter: str | None = None) -> Table:
    """Reads a CSV file with a header row into an untyped :class:`Table`.

    Args:
      path: the file (UTF-8, with or without a byte-order mark).
      delimiter: the cell delimiter; ``None`` detects ``,``, ``;`` or a tab.

    Returns:
      The table.

    Raises:
      TableError: the file is missing, is a folder, is not UTF-8 text, is empty, has no
        data rows, has duplicate or empty column names, has a quote that is never closed
        (the message names the line that opens it), or has a row with the wrong number of
        cells (the message names the line).
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise TableError(f"no such file: {path}")
    if os.path.isdir(path):
        raise TableError(f"{path} is a folder, not a CSV file")
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            text = f.read()
    except UnicodeDecodeError as e:
        text_line = None
        try:
            with open(path, "rb") as f:
                raw = f.read()
            text_line = raw[: e.start].count(b"\n") + 1
        except OSError:
            pass
        line = f" (line {text_line})" if text_line else ""
        raise TableError(f"{path} is not a UTF-8 text file{line}; save it as UTF-8 CSV") from None
    if "\x00" in text:
        raise TableError(f"{path} is a binary file, not a CSV file")
    if not text.strip():
        raise TableError(f"{path} is empty; a CSV file needs a header row and data rows")
    if delimiter is None:
        delimiter = _delimiter(text)
    reader = csv.reader(io.StringIO(text), delimiter=delimiter, strict=True)
    header: list[str] | None = None
    rows: list[list[str]] = []
    lines: list[int] = []
    start = 1
    try:
        for row in reader:
            first, start = start, reader.line_num + 1  # the line this record started on; the next one's
            if not row or all(not c.strip() for c in row):
                continue  # blank line
            if header is None:
                header = [c.strip() for c in row]
                continue
            if len(row) != len(header):
                where = f"line {first}" if first == reader.line_num else f"the row on lines {first}-{reader.line_num}"
                quote = (" (a quoted cell there runs over several lines: is a quote not closed?)"
                         if first != reader.line_num else "")
                raise TableError(
                    f"{path} {where} has {len(row)} cells but the header has {len(header)} columns{quote}; "
                    "every row needs one cell per column"
                )
            rows.append(row)
            lines.append(first)
    except csv.Error as e:
        if "unexpected end of data" in str(e):
            raise TableError(f"{path} line {start} opens a quoted cell that is never closed; close the quote "
                             "(or remove it)") from None
        raise TableError(f"{path} line {reader.line_num} is not valid CSV: {e}") from None
    if header is None or not rows:
        raise TableError(f"{path} has a header but no data rows")
    empty = [i + 1 for i, h in enumerate(header) if not h]
    if empty:
        raise TableError(f"{path}: column {empty[0]} has an empty name in the header; name every column")
    seen: set[str] = set()
    for h in header:
        if h in seen:
            raise TableError(f"{path}: the column name {h!r} appears twice in the header; names must be unique")
        seen.add(h)
    columns = tuple(_make_column(h, [r[j] for r in rows]) for j, h in enumerate(header))
    return Table(path, columns, np.asarray(lines, dtype=np.int64))


def from_arrays(source: str, names: Sequence[str], arrays: Sequence[Any]) -> Table:
    """Builds a :class:`Table` from in-memory columns (the built-in data sets).

    Args:
      source: how messages name the table, e.g. ``"the iris data set"``.
      names: column names.
      arrays: one 1-D array per column: numbers, or strings for a text column.

    Returns:
      The table, with rows numbered from 1. Numeric columns keep their values exactly.
    """
    columns = []
    for name, a in zip(names, arrays):
        a = np.asarray(a)
        if a.dtype.kind in "fiub":
            values = a.astype(np.float64)
            cells = np.array([format_label(v) if math.isfinite(v) else str(v) for v in values], dtype=object)
            columns.append(Column(name, cells, np.isnan(values), values))
        else:
            cells = np.array([str(v) for v in a], dtype=object)
            columns.append(Column(name, cells, np.zeros(len(cells), bool)))
    n = len(arrays[0]) if arrays else 0
    return Table(source, tuple(columns), np.arange(1, n + 1, dtype=np.int64))


# ----------------------------------------------------------------------------- typing


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
    present = column.cells[~column.missing]
    return len(present) > 0 and parses_as_numbers(present, fmt)


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
        parsed = [fmt.parse(c) for c in column.cells]
        bad = [i for i, v in enumerate(parsed) if v is None]
        if bad:
            i = bad[0]
            hint = other_convention([column.cells[j] for j in bad], fmt)
            why = f"; it looks like {hint}" if hint else ""
            raise TableError(
                f"{table.source}: column {column.name!r} must hold numbers"
                f"{' (as in the training data)' if model else ''} written with {fmt.describe()}, "
                f"but line {table.lines[i]} holds {column.cells[i]!r}{why}"
            )
        values = np.array(parsed, dtype=np.float64)
    # The magnitude is checked before anything squares or sums the values, so no NumPy
    # overflow warning is ever raised here.
    big = ~(np.abs(values) <= FLOAT32_MAX)
    if big.any():
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
    hint = other_convention(column.cells[~column.missing].tolist(), fmt)
    if hint:
        bad = next(i for i, c in enumerate(column.cells) if not column.missing[i] and fmt.parse(c) is None)
        raise TableError(
            f"{table.source}: {what} {column.name!r} holds {column.cells[bad]!r} on line {table.lines[bad]}, not a "
            f"number written with {fmt.describe()}; it looks like {hint}; to read it as categories instead, "
            f"pass --categorical {column.name}"
        )


#: A column whose cells are numbers but for fewer than this share is a number column with
#: a few stray cells (a typo, "unknown"), not a category column.
MOSTLY_NUMBERS = 0.9


def check_mostly_numbers(table: Table, column: Column, fmt: NumberFormat) -> None:
    """Raises :class:`TableError` when all but a few cells (less than 10%) of ``column`` are
    numbers: the others are typos or unmarked missing values, and reading the column as
    categories would silently turn every number into a category."""
    bad = [i for i, c in enumerate(column.cells) if not column.missing[i] and fmt.parse(c) is None]
    present = int((~column.missing).sum())
    if bad and len(bad) < (1 - MOSTLY_NUMBERS) * present:
        i = bad[0]
        raise TableError(
            f"{table.source}: column {column.name!r} holds numbers except {column.cells[i]!r} on line "
            f"{table.lines[i]}{_more(np.isin(np.arange(len(column.cells)), bad))}; fix those cells (write a "
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
        categories = sorted(set(col.cells.tolist()))
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
    names = table.names
    absent = [s["name"] for s in spec if s["name"] not in names]
    if absent:
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
    blocks = []
    for s in spec:
        col = table.column(s["name"])
        if s["kind"] == "numeric":
            blocks.append(numbers(table, col, fmt, model=model)[:, None])
            continue
        check_complete(table, col)
        categories = s["categories"]
        index = {c: k for k, c in enumerate(categories)}
        unknown = [i for i, v in enumerate(col.cells) if v not in index]
        if unknown:
            i = unknown[0]
            raise TableError(
                f"{table.source}: column {s['name']!r} holds {col.cells[i]!r} on line {table.lines[i]}, "
                f"a category the training data did not have (known: "
                f"{', '.join(repr(c) for c in categories[:8])}{' ...' if len(categories) > 8 else ''})"
            )
        codes = np.array([index[v] for v in col.cells], dtype=np.int64)
        blocks.append(np.eye(len(categories), dtype=np.float64)[codes])
    if not blocks:
        raise TableError(f"{table.source}: there are no feature columns (only the target); add input columns")
    return np.concatenate(blocks, axis=1)
