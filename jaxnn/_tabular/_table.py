"""Tables for the command line: CSV files (or built-in data sets) as named, untyped columns.

Arrow's CSV reader splits a file into columns of text (:mod:`jaxnn._tabular._columnar`) when it
reads it exactly as the rules below say; any other file (quotes, a ragged row, text that is
not UTF-8, ...) is read by the standard library's :mod:`csv`, used strictly (a quote that is
never closed is an error on the line that opens it), so that every message is the same. The
columns are typed afterwards, by :mod:`jaxnn._tabular._schema`. The rules, which ``jaxnn train
--help`` repeats:

* The first row is the header; column names must be unique. The delimiter (``,``, ``;``
  or a tab) is the one that splits every one of the first lines into as many cells as
  the header (the widest such split wins).
* Cells are compared with surrounding spaces removed. Missing cells (empty, ``NA``,
  ``N/A``, ``NaN``, ``null``, ``None``, ``?``) are an error naming the column and line,
  when a column is used.

Every problem raises :class:`~jaxnn._tabular._errors.TableError` (a ``ValueError``) with a
one-line message.
"""

from __future__ import annotations

import csv
import dataclasses
import difflib
import io
import math
import os
import re
import sys
import unicodedata
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from jaxnn._tabular import _columnar
from jaxnn._tabular._errors import TableError
from jaxnn._tabular._numbers import NumberFormat, format_label

_MISSING = frozenset({"", "na", "n/a", "nan", "null", "none", "?"})
_DELIMITERS = (",", ";", "\t")
_SNIFF_LINES = 50
#: Excel's first line naming the delimiter, e.g. ``sep=;``.
_SEP_LINE = re.compile(r"sep=([,;\t|])")


class Column:
    """One column of a table, untyped: the table is typed by
    :func:`~jaxnn._tabular._schema.feature_spec` (train) or by a model's stored schema (predict).

    The cells of a file read by Arrow stay in one Arrow array (no Python string per cell)
    until something asks for :attr:`cells`; numbers are parsed from it column by column.

    Attributes:
      name: the header cell.
      cells: object array of ``str``, the cells with surrounding spaces removed.
      missing: ``bool [rows]``, the missing cells.
      preset: ``float64 [rows]`` for a built-in numeric column (no text to parse), else None.
    """

    def __init__(self, name: str, cells: np.ndarray | None, missing: np.ndarray, preset: np.ndarray | None = None,
                 *, arrow: Any = None) -> None:
        self.name = name
        self.missing = missing
        self.preset = preset
        self._cells = cells
        self._arrow = arrow
        self._parsed: dict[NumberFormat, tuple[np.ndarray, np.ndarray]] = {}

    @property
    def cells(self) -> np.ndarray:
        if self._cells is None:
            self._cells = self._arrow.to_numpy()
        return self._cells

    def parsed(self, fmt: NumberFormat) -> tuple[np.ndarray, np.ndarray]:
        """The numbers of the cells under ``fmt`` (``float64 [rows]``, NaN where a cell is
        not a number) and ``bool [rows]``, where one is, as :meth:`NumberFormat.parse` reads
        each cell (vectorised for a file read by Arrow)."""
        if fmt not in self._parsed:
            found = None if self._arrow is None else self._arrow.parse(fmt)
            if found is None:
                values = [fmt.parse(c) for c in self.cells]
                ok = np.array([v is not None for v in values], dtype=bool)
                found = np.array([math.nan if v is None else v for v in values], dtype=np.float64), ok
            self._parsed[fmt] = found
        return self._parsed[fmt]

    def distinct(self, *, present: bool = False) -> list[str]:
        """The distinct cells (in no particular order); only the non-missing ones when ``present``."""
        if self._cells is None:
            return self._arrow.distinct(present=present)
        return list(dict.fromkeys((self.cells[~self.missing] if present else self.cells).tolist()))

    def index_in(self, values: Sequence[str]) -> np.ndarray:
        """``int [rows]``: the position of each cell in ``values`` (distinct strings), -1 where
        it is not one of them."""
        if self._cells is None:
            return self._arrow.index_in(list(values))
        index = {v: k for k, v in enumerate(values)}
        return np.array([index.get(c, -1) for c in self.cells], dtype=np.int64)


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
        """The column called ``name`` (compared NFC-normalized, as the table's text is); a
        :class:`TableError` suggests the closest name otherwise."""
        name = unicodedata.normalize("NFC", name)
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
            rows = [r for r in csv.reader(io.StringIO(head), delimiter=d, skipinitialspace=True)
                    if r and any(c.strip() for c in r)]
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
      path: the file (UTF-8, with or without a byte-order mark), or ``-`` for standard
        input. A first line ``sep=;`` (as Excel writes) names the delimiter.
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
    raw = _read_bytes(path)
    return _from_bytes("standard input" if path == "-" else path, raw, delimiter)


def _from_bytes(name: str, raw: bytes, delimiter: str | None, offset: int = 0) -> Table:
    """The table in ``raw``, a CSV file's bytes (or a header line and a block of its rows,
    whose lines are ``offset`` further down the file than in ``raw``)."""
    fast = _columnar.read(name, raw, delimiter, missing=_MISSING, sep_line=_SEP_LINE, sniff=_delimiter,
                          header_ok=_header_ok)
    if fast is not None:
        header, cells, lines = fast
        columns = tuple(Column(h, None, c.missing, arrow=c) for h, c in zip(header, cells))
        return Table(name, columns, lines + offset)
    text = _read_text(name, raw)
    path = name
    skip = 0
    stated = _SEP_LINE.fullmatch(text.split("\n", 1)[0].rstrip("\r"))
    if stated:  # Excel's first line 'sep=;' names the delimiter; it is not the header
        if delimiter is not None and delimiter != stated.group(1):
            raise TableError(f"{path} line 1 says the delimiter is {stated.group(1)!r} but --delimiter says "
                             f"{delimiter!r}; leave out --delimiter")
        delimiter, skip = stated.group(1), 1
    header, rows, lines = _parse(path, text, _delimiter(text) if delimiter is None else delimiter, skip, offset)
    _check_header(path, header)
    columns = tuple(_make_column(h, [r[j] for r in rows]) for j, h in enumerate(header))
    return Table(path, columns, np.asarray(lines, dtype=np.int64))


#: The bytes of a file that :func:`read_csv_chunks` reads at a time (about this many; a chunk
#: ends at a line end). A smaller file is read whole, by :func:`read_csv`. Small enough that a
#: chunk's arrays stay under the C library's threshold for giving memory back (32 MiB), so
#: each chunk reuses the last one's memory instead of faulting in fresh pages.
CHUNK_BYTES = 16 * 2**20


def read_csv_chunks(path: str | os.PathLike[str], *, delimiter: str | None = None,
                    chunk_bytes: int | None = None) -> Iterator[Table]:
    """Reads a CSV file as consecutive tables of its rows, each with the file's header and
    line numbers, so that memory does not grow with the file.

    The rules and the messages are :func:`read_csv`'s: the delimiter is decided on the
    file's first lines (or its ``sep=`` line) once for every chunk. A file smaller than
    ``chunk_bytes``, standard input, and a file that holds a quote or a lone carriage return
    (a quoted cell may run over lines, so its rows cannot be cut at any line end) are read
    whole and come as one table.

    Args:
      path: the file, or ``-`` for standard input.
      delimiter: the cell delimiter; ``None`` detects it.
      chunk_bytes: about how many bytes each chunk holds (default :data:`CHUNK_BYTES`).

    Yields:
      :class:`Table` objects whose rows, one after the other, are the file's.

    Raises:
      TableError: as :func:`read_csv` does, for the chunk that has the problem.
    """
    path = os.fspath(path)
    size = chunk_bytes or CHUNK_BYTES
    if path == "-" or not os.path.isfile(path) or os.path.getsize(path) <= size or not _cuttable(path):
        yield read_csv(path, delimiter=delimiter)
        return
    try:
        f = open(path, "rb")
    except OSError as e:
        raise TableError(f"cannot read {path}: {e.strerror or e}; give a CSV file") from None
    with f:
        first = f.read(size)
        cut = first.rfind(b"\n") + 1 or len(first)
        block, rest = first[:cut], first[cut:]
        table = _from_bytes(path, block, delimiter)
        yield table
        # The header (and the line 'sep=' before it) end where the first row starts.
        # (blank lines after the header are left out, so that Arrow reads the next blocks)
        prefix = b"".join(block.splitlines(keepends=True)[: int(table.lines[0]) - 1]).removeprefix(_columnar.BOM)
        prefix = prefix.rstrip(b"\r\n") + b"\n"
        head_lines = prefix.count(b"\n")
        if delimiter is None:
            delimiter = _delimiter(_columnar.head(block.removeprefix(_columnar.BOM)))
            stated = _SEP_LINE.fullmatch(prefix.split(b"\n", 1)[0].rstrip(b"\r").decode("utf-8", "replace"))
            delimiter = stated.group(1) if stated else delimiter
        line = 1 + block.count(b"\n")  # the file's line where the next block starts
        while True:
            more = f.read(size)
            data = rest + more
            cut = data.rfind(b"\n") + 1 if more else len(data)
            block, rest = data[:cut], data[cut:]
            if not block:
                return
            if block.strip():
                _check_text(path, block, line)
                yield _from_bytes(path, prefix + block, delimiter, offset=line - 1 - head_lines)
            line += block.count(b"\n")


def _cuttable(path: str) -> bool:
    """Whether the file's rows can be cut at any line end: it holds no quote and no lone
    carriage return (one pass over the file, in blocks)."""
    carry = b""
    with open(path, "rb") as f:
        while block := f.read(CHUNK_BYTES):
            data = carry + block
            carry = b"\r" if data.endswith(b"\r") else b""
            data = data[: len(data) - len(carry)]
            if b'"' in data or (b"\r" in data and b"\r" in data.replace(b"\r\n", b"")):
                return False
    return not carry


def _check_text(path: str, block: bytes, line: int) -> None:
    """Raises :class:`TableError` as :func:`_read_text` does for a block of the file's rows
    starting on ``line``: text that is not UTF-8, or a NUL byte."""
    if not block.isascii():
        try:
            block.decode("utf-8")
        except UnicodeDecodeError as e:
            where = line + block[: e.start].count(b"\n")
            raise TableError(f"{path} is not a UTF-8 text file (line {where}); save it as UTF-8 CSV") from None
    if b"\x00" in block:
        raise TableError(f"{path} is a binary file, not a CSV file")


def _read_text(path: str, raw: bytes) -> str:
    """The text of the file ``path`` (``-``: standard input) whose bytes are ``raw``: it must
    be non-empty UTF-8 text; NFC-normalized, so that ``é`` typed as one code point or as
    ``e`` and an accent is one string in names and categories."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise TableError(f"{path} is not a UTF-8 text file (line {line}); save it as UTF-8 CSV") from None
    text = unicodedata.normalize("NFC", text)
    if "\x00" in text:
        raise TableError(f"{path} is a binary file, not a CSV file")
    if not text.strip():
        raise TableError(f"{path} is empty; a CSV file needs a header row and data rows")
    return text


def _read_bytes(path: str) -> bytes:
    """The bytes of ``path`` (``-``: standard input); a file that cannot be read is a
    :class:`TableError` naming it (a device, ``/proc/self/mem``, no permission)."""
    if path == "-":
        return sys.stdin.buffer.read()
    if not os.path.exists(path):
        raise TableError(f"no such file: {path}")
    if os.path.isdir(path):
        raise TableError(f"{path} is a folder, not a CSV file")
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise TableError(f"cannot read {path}: {e.strerror or e}; give a CSV file") from None


def _parse(path: str, text: str, delimiter: str, skip: int = 0,
           offset: int = 0) -> tuple[list[str], list[list[str]], list[int]]:
    """The header, the data rows and the line each row starts on (``offset`` added to the
    lines of the rows); blank lines and the first ``skip`` lines are skipped. A quote after
    spaces opens a quoted cell (``a, "b,c"``)."""
    reader = csv.reader(io.StringIO(text), delimiter=delimiter, strict=True, skipinitialspace=True)
    header: list[str] | None = None
    rows: list[list[str]] = []
    lines: list[int] = []
    start = 1
    try:
        for row in reader:
            first, start = start, reader.line_num + 1  # the line this record started on; the next one's
            if first <= skip:
                continue
            if not row or all(not c.strip() for c in row):
                continue  # blank line
            if header is None:
                header = [c.strip() for c in row]
                continue
            if len(row) != len(header):
                raise _ragged(path, first + offset, reader.line_num + offset, len(row), len(header))
            rows.append(row)
            lines.append(first + offset)
    except csv.Error as e:
        if "unexpected end of data" in str(e):
            raise TableError(f"{path} line {start} opens a quoted cell that is never closed; close the quote "
                             "(or remove it)") from None
        raise TableError(f"{path} line {reader.line_num + offset} is not valid CSV: {e}") from None
    if header is None or not rows:
        raise TableError(f"{path} has a header but no data rows")
    return header, rows, lines


def _ragged(path: str, first: int, last: int, cells: int, columns: int) -> TableError:
    """The error for a row on lines ``first``-``last`` with ``cells`` cells under ``columns`` names."""
    where = f"line {first}" if first == last else f"the row on lines {first}-{last}"
    quote = " (a quoted cell there runs over several lines: is a quote not closed?)" if first != last else ""
    return TableError(
        f"{path} {where} has {cells} cells but the header has {columns} columns{quote}; "
        "every row needs one cell per column"
    )


def _check_header(path: str, header: list[str]) -> None:
    """Raises :class:`TableError` for an empty or a repeated column name."""
    empty = [i + 1 for i, h in enumerate(header) if not h]
    if empty:
        raise TableError(f"{path}: column {empty[0]} has an empty name in the header; name every column")
    seen: set[str] = set()
    for h in header:
        if h in seen:
            raise TableError(f"{path}: the column name {h!r} appears twice in the header; names must be unique")
        seen.add(h)


def _header_ok(header: list[str]) -> bool:
    """Whether ``header`` has no empty and no repeated name."""
    return all(header) and len(set(header)) == len(header)


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
