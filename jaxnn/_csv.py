"""Tables for the command line: CSV files (or built-in data sets) as named columns.

Only the standard library's :mod:`csv` and NumPy are used (no pandas). The rules, which the
``jaxnn train``/``jaxnn predict`` help repeats:

* The first row is the header; column names must be unique. The delimiter (``,``, ``;``
  or a tab) is detected from the file.
* A column is *numeric* when every non-missing cell parses as a number; otherwise it is a
  *text* (categorical) column.
* Missing cells (empty, ``NA``, ``N/A``, ``NaN``, ``null``, ``None``, ``?``) are an error that
  names the column and the line of the file: impute or drop them first.
* Text feature columns are one-hot encoded, one 0/1 column per category (categories
  sorted); a text column with more than :data:`MAX_CATEGORIES` categories is rejected
  (it is most likely an identifier or free text).

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

__all__ = [
    "MAX_CATEGORIES",
    "TableError",
    "Column",
    "Table",
    "read_csv",
    "from_arrays",
    "closest",
    "check_complete",
    "format_label",
    "feature_spec",
    "encode_features",
    "encoded_names",
]

MAX_CATEGORIES = 50
_MISSING = frozenset({"", "na", "n/a", "nan", "null", "none", "?"})


class TableError(ValueError):
    """A problem with a table's contents or with a column it should have (one-line message)."""


@dataclasses.dataclass(frozen=True)
class Column:
    """One column of a table.

    Attributes:
      name: the header cell.
      numeric: whether every non-missing cell is a number.
      values: ``float64 [rows]`` (NaN where missing) when numeric, else an object array of
        ``str`` (``""`` where missing).
      missing: ``bool [rows]``, the missing cells.
    """

    name: str
    numeric: bool
    values: np.ndarray
    missing: np.ndarray


@dataclasses.dataclass(frozen=True)
class Table:
    """Named columns of equal length, with the file line of every row (for messages).

    Attributes:
      source: the file name (or ``"the iris data set"``), used in messages.
      columns: the columns, in file order.
      lines: ``int [rows]``, the 1-based line of each row in the file (row numbers for
        built-in data).
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


def _parse_number(cell: str) -> float | None:
    try:
        return float(cell)
    except ValueError:
        return None


def _make_column(name: str, cells: list[str]) -> Column:
    missing = np.array([c.strip().lower() in _MISSING for c in cells], dtype=bool)
    numbers = [None if m else _parse_number(c) for c, m in zip(cells, missing)]
    numeric = all(v is not None for v, m in zip(numbers, missing) if not m) and not missing.all()
    if numeric:
        values = np.array([math.nan if v is None else v for v in numbers], dtype=np.float64)
    else:
        values = np.array([("" if m else c.strip()) for c, m in zip(cells, missing)], dtype=object)
    return Column(name, numeric, values, missing)


def read_csv(path: str | os.PathLike[str]) -> Table:
    """Reads a CSV file with a header row into a :class:`Table`.

    Args:
      path: the file.

    Returns:
      The table; numeric columns are detected per column.

    Raises:
      TableError: the file is missing, is a folder, is not text, is empty, has no data
        rows, has duplicate or empty column names, or has a row with the wrong number of
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
    except UnicodeDecodeError:
        raise TableError(f"{path} is not a UTF-8 text file; give a CSV file") from None
    if "\x00" in text:
        raise TableError(f"{path} is a binary file, not a CSV file")
    if not text.strip():
        raise TableError(f"{path} is empty; a CSV file needs a header row and data rows")
    try:
        dialect = csv.Sniffer().sniff(text[:8192], delimiters=",;\t")
        delimiter = dialect.delimiter
    except csv.Error:
        delimiter = ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    header: list[str] | None = None
    rows: list[list[str]] = []
    lines: list[int] = []
    try:
        for row in reader:
            if not row or all(not c.strip() for c in row):
                continue  # blank line
            if header is None:
                header = [c.strip() for c in row]
                continue
            if len(row) != len(header):
                raise TableError(
                    f"{path} line {reader.line_num} has {len(row)} cells but the header has "
                    f"{len(header)} columns; every row needs one cell per column"
                )
            rows.append(row)
            lines.append(reader.line_num)
    except csv.Error as e:
        raise TableError(f"{path} line {reader.line_num} is not valid CSV: {e}") from None
    assert header is not None
    if not rows:
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
      The table, with rows numbered from 1.
    """
    columns = []
    for name, a in zip(names, arrays):
        a = np.asarray(a)
        if a.dtype.kind in "fiub":
            values = a.astype(np.float64)
            columns.append(Column(name, True, values, ~np.isfinite(values)))
        else:
            values = np.array([str(v) for v in a], dtype=object)
            columns.append(Column(name, False, values, np.zeros(len(values), bool)))
    n = len(arrays[0]) if arrays else 0
    return Table(source, tuple(columns), np.arange(1, n + 1, dtype=np.int64))


def check_complete(table: Table, column: Column) -> None:
    """Raises :class:`TableError` naming the first missing or non-finite cell of ``column``."""
    if column.missing.any():
        i = int(np.argmax(column.missing))
        raise TableError(
            f"{table.source}: column {column.name!r} has a missing value on line {table.lines[i]}"
            f"{_more(column.missing)}; fill in or drop the rows with missing values first"
        )
    if column.numeric:
        bad = ~np.isfinite(column.values)
        if bad.any():
            i = int(np.argmax(bad))
            raise TableError(
                f"{table.source}: column {column.name!r} has the non-finite value "
                f"{column.values[i]} on line {table.lines[i]}; replace it with a finite number"
            )


def _more(mask: np.ndarray) -> str:
    extra = int(mask.sum()) - 1
    return f" (and {extra} more)" if extra > 0 else ""


def feature_spec(table: Table, names: Sequence[str]) -> list[dict[str, Any]]:
    """How to turn the columns ``names`` of ``table`` into numeric features.

    Args:
      table: the training table.
      names: the feature columns, in order.

    Returns:
      One dict per column, JSON-serialisable: ``{"name", "kind": "numeric"}`` or
      ``{"name", "kind": "categorical", "categories": [...]}`` (sorted categories, one
      one-hot feature each).

    Raises:
      TableError: for a missing value, or a text column with more than
        :data:`MAX_CATEGORIES` categories.
    """
    spec = []
    for name in names:
        col = table.column(name, "feature column")
        check_complete(table, col)
        if col.numeric:
            spec.append({"name": name, "kind": "numeric"})
            continue
        categories = sorted(set(col.values.tolist()))
        if len(categories) > MAX_CATEGORIES:
            example = ", ".join(repr(c) for c in categories[:3])
            raise TableError(
                f"{table.source}: feature column {name!r} is not numeric and has {len(categories)} "
                f"distinct values (e.g. {example}), too many to one-hot encode (at most "
                f"{MAX_CATEGORIES}); drop the column (jaxnn train --drop {name!r}) or encode it as numbers"
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


def encode_features(table: Table, spec: Sequence[dict[str, Any]], *, model: str | None = None) -> np.ndarray:
    """Encodes ``table``'s feature columns as ``spec`` says (one-hot for text columns).

    Args:
      table: a table holding every column of ``spec`` (other columns are ignored).
      spec: as returned by :func:`feature_spec`.
      model: when given (the model file's name), messages say the features do not match it.

    Returns:
      ``float32 [rows, features]``.

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
        check_complete(table, col)
        if s["kind"] == "numeric":
            if not col.numeric:
                bad = [i for i, v in enumerate(col.values) if _parse_number(v) is None]
                i = bad[0]
                raise TableError(
                    f"{table.source}: column {s['name']!r} must be numeric"
                    f"{' (as in the training data)' if model else ''}, but line {table.lines[i]} "
                    f"holds {col.values[i]!r}"
                )
            blocks.append(col.values[:, None])
            continue
        values = col.values if not col.numeric else np.array([format_label(v) for v in col.values], dtype=object)
        categories = s["categories"]
        index = {c: k for k, c in enumerate(categories)}
        unknown = [i for i, v in enumerate(values) if v not in index]
        if unknown:
            i = unknown[0]
            raise TableError(
                f"{table.source}: column {s['name']!r} holds {values[i]!r} on line {table.lines[i]}, "
                f"a category the training data did not have (known: "
                f"{', '.join(repr(c) for c in categories[:8])}{' ...' if len(categories) > 8 else ''})"
            )
        codes = np.array([index[v] for v in values], dtype=np.int64)
        blocks.append(np.eye(len(categories), dtype=np.float64)[codes])
    if not blocks:
        raise TableError(f"{table.source}: there are no feature columns (only the target); add input columns")
    return np.concatenate(blocks, axis=1).astype(np.float32)


def format_label(v: float) -> str:
    """A number as a label: ``1.0 -> "1"``, ``2.5 -> "2.5"``."""
    return str(int(v)) if float(v).is_integer() else repr(float(v))
