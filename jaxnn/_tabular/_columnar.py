"""The fast path of the CSV reader: Arrow's CSV reader splits the file into columns of text,
and the cells are trimmed, marked missing and parsed as numbers column by column.

Arrow only splits: every column is read as text, so Arrow never types a number its own
way; the typing rules stay those of :mod:`jaxnn._tabular._schema`, applied to whole columns. The
fast path takes a file only where it reads it exactly as the Python reader in
:mod:`jaxnn._tabular._table` does, and hands every other file back (``None``), so that every
message (the line of an unclosed quote, a ragged row, a file that is not UTF-8) stays the
Python reader's. It hands back a file that holds a quote (quoting, a quote after spaces and
cells over several lines are the Python reader's), a lone carriage return, a blank line
between rows, a row of empty cells, a header with an empty or repeated name, or anything
Arrow refuses (a ragged row). ``pyarrow`` is imported here only, when a file is read.
"""

from __future__ import annotations

import functools
import sys
import unicodedata
from typing import Any

import numpy as np

from jaxnn._tabular._numbers import NumberFormat

#: The ASCII characters Python's ``str.strip()`` removes (see :func:`_whitespace`).
_ASCII_WHITESPACE = " \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f"


@functools.lru_cache(maxsize=1)
def _whitespace() -> str:
    """Every character Python's ``str.strip()`` removes, so that Arrow trims cells as the
    Python reader does (computed once, when a non-ASCII file is read)."""
    return "".join(chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace())
#: UTF-8's byte-order mark.
BOM = b"\xef\xbb\xbf"


def read(source: str, raw: bytes, delimiter: str | None, *, missing: frozenset[str],
         sep_line: Any, sniff: Any, header_ok: Any) -> tuple[list[str], list[Any], np.ndarray] | None:
    """Splits ``raw`` (a CSV file's bytes) into columns with Arrow.

    Args:
      source: the file's name in messages.
      raw: the file's bytes.
      delimiter: the delimiter given, or ``None`` to detect it.
      missing: the lower-cased texts of a missing cell.
      sep_line: the compiled pattern of Excel's ``sep=;`` first line.
      sniff: the Python reader's delimiter detection (``text -> delimiter``).
      header_ok: whether a header (a list of names) has no empty or repeated name.

    Returns:
      ``(names, columns, lines)``: the header, one :class:`ArrowCells` per column and the
      1-based line of each row; ``None`` when the Python reader must read the file.
    """
    import pyarrow as pa
    import pyarrow.csv as pa_csv

    data, ascii_only = _text_bytes(raw)
    if data is None or b'"' in data or (b"\r" in data and data.count(b"\r") != data.count(b"\r\n")):
        return None
    first_end = data.find(b"\n")
    pos, line = 0, 1
    stated = sep_line.fullmatch(data[: first_end if first_end >= 0 else len(data)].rstrip(b"\r").decode())
    if stated:
        if delimiter is not None and delimiter != stated.group(1):
            return None
        delimiter, pos, line = stated.group(1), first_end + 1, 2
    end = data.find(b"\n", pos)
    if first_end < 0 or end < 0:
        return None
    header_text = data[pos:end].rstrip(b"\r").decode()
    if delimiter is None:
        delimiter = sniff(head(data))
    header = [h.strip() for h in header_text.split(delimiter)]
    if not any(header) or not header_ok(header):
        return None
    body_start, body_end = end + 1, len(data)
    while body_end > body_start and data[body_end - 1] in b"\r\n":  # trailing line ends (rstrip copies)
        body_end -= 1
    if body_start >= body_end or data.startswith((b"\n", b"\r\n"), body_start):
        return None
    if data.find(b"\n\n", body_start, body_end) >= 0 or data.find(b"\n\r\n", body_start, body_end) >= 0:
        return None
    names = [f"c{j}" for j in range(len(header))]
    try:
        table = pa_csv.read_csv(
            pa.py_buffer(memoryview(data)[body_start:body_end]),
            read_options=pa_csv.ReadOptions(column_names=names),
            parse_options=pa_csv.ParseOptions(delimiter=delimiter, quote_char=False, double_quote=False,
                                              escape_char=False, newlines_in_values=False,
                                              ignore_empty_lines=False),
            convert_options=pa_csv.ConvertOptions(column_types={n: pa.string() for n in names}, null_values=[],
                                                  strings_can_be_null=False, check_utf8=False),
        )
        # Trimming is a pass over every cell: skipped when the file has no whitespace to trim.
        trim = not ascii_only or any(c.encode() in data for c in _ASCII_WHITESPACE if c not in "\r\n")
        variants = pa.array(sorted(_case_variants(missing)), type=pa.string())
        columns = [ArrowCells(table.column(n), variants, ascii_only, trim) for n in names]
    except (pa.ArrowException, ValueError):  # a ragged row, a column over 2 GiB: the Python reader's
        return None
    del table
    if np.logical_and.reduce([c.missing for c in columns]).any():
        return None  # a row of missing cells, perhaps all empty, which the Python reader skips
    rows = len(columns[0].missing)
    return header, columns, np.arange(line + 1, line + 1 + rows, dtype=np.int64)


def _text_bytes(raw: bytes) -> tuple[bytes | None, bool]:
    """The file's UTF-8 bytes without a byte-order mark, NFC-normalized, and whether they are
    ASCII; ``None`` for a file the Python reader refuses (not UTF-8, binary, empty)."""
    if raw.isascii():
        data, ascii_only = raw, True
    else:
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            return None, False
        data, ascii_only = unicodedata.normalize("NFC", text).encode(), False
        if data.startswith(BOM):  # a second mark is a character of the header, as in the Python reader
            return None, False
    if b"\x00" in data or not data or data.isspace():  # (strip() would copy the file)
        return None, ascii_only
    return data, ascii_only


def _case_variants(words: frozenset[str]) -> set[str]:
    """Every way of writing ``words`` (ASCII, lower case) in upper and lower case: a cell is
    one of them exactly when its ``str.lower()`` is one of ``words`` (no other character
    lower-cases to one of their letters)."""
    out = {""}
    for w in words:
        forms = [""]
        for ch in w:
            forms = [f + c for f in forms for c in {ch, ch.upper()}]
        out.update(forms)
    return out


def head(data: bytes, lines: int = 50) -> str:
    """The text of the first ``lines`` lines (and the one after), for delimiter detection."""
    end = -1
    for _ in range(lines + 1):
        end = data.find(b"\n", end + 1)
        if end < 0:
            return data.decode()
    return data[: end + 1].decode()


class ArrowCells:
    """A column's cells as one Arrow string array, trimmed, with its missing cells.

    Attributes:
      text: the trimmed cells (``pyarrow.ChunkedArray`` of strings).
      missing: ``bool [rows]``.
      ascii: whether every cell is ASCII (numbers are then parsed by Arrow).
    """

    def __init__(self, text: Any, missing: Any, ascii_only: bool, trim: bool) -> None:
        import pyarrow.compute as pc

        if trim:
            text = pc.utf8_trim(text, characters=_ASCII_WHITESPACE if ascii_only else _whitespace())
        self.text = text
        self.missing = _bools(pc.is_in(text, value_set=missing))
        self.ascii = ascii_only or pc.all(pc.string_is_ascii(text)).as_py() is not False

    def to_numpy(self) -> np.ndarray:
        """The cells as an object array of ``str``."""
        return np.array(self.text.to_pylist(), dtype=object)

    def distinct(self, *, present: bool = False) -> list[str]:
        """The distinct cells, in order of first appearance; only the non-missing ones when ``present``."""
        import pyarrow.compute as pc

        return pc.unique(pc.filter(self.text, ~self.missing) if present else self.text).to_pylist()

    def index_in(self, values: list[str]) -> np.ndarray:
        """``int [rows]``: the position of each cell in ``values``, -1 where it is not there."""
        import pyarrow as pa
        import pyarrow.compute as pc

        found = pc.index_in(self.text, value_set=pa.array(values, type=pa.string()))
        return pc.fill_null(found, -1).to_numpy(zero_copy_only=False).astype(np.int64)

    def parse(self, fmt: NumberFormat) -> tuple[np.ndarray, np.ndarray] | None:
        """The numbers the cells hold under ``fmt`` (``float64``, NaN where none) and where
        they parse, exactly as :meth:`NumberFormat.parse` reads each cell; ``None`` for a
        column with non-ASCII text (whose digits Arrow does not read as Python does)."""
        if not self.ascii:
            return None
        import pyarrow.compute as pc

        ok = _bools(pc.match_substring_regex(self.text, f"^(?:{fmt.pattern})$"))
        text = self.text
        if fmt.thousands is not None:
            text = pc.replace_substring(text, fmt.thousands, "")
        if fmt.decimal != ".":
            text = pc.replace_substring(text, fmt.decimal, ".")
        if ok.all():  # Arrow's parser rounds correctly, as Python's float() does
            return _cast_floats(text), ok
        values = _cast_floats(pc.if_else(ok, text, "0"))
        values[~ok] = np.nan
        inf = _bools(pc.match_substring_regex(self.text, "^[+-]*(?:inf|infinity)$", ignore_case=True)) & ~ok
        if inf.any():
            negative = _bools(pc.starts_with(self.text, "-"))
            values[inf] = np.where(negative[inf], -np.inf, np.inf)
            ok = ok | inf
        return values, ok


def _cast_floats(text: Any) -> np.ndarray:
    """Arrow's string-to-float64 cast of ``text`` (an array or chunked array of number cells) as
    ``float64 [n]``, cast one chunk at a time into one array: the whole column is never held
    twice (cast, then joined), and each chunk's cast reuses the memory of the one before."""
    import pyarrow.compute as pc

    values = np.empty(len(text), dtype=np.float64)
    start = 0
    for chunk in getattr(text, "chunks", [text]):
        part = pc.cast(chunk, "float64")
        values[start:start + len(part)] = part.to_numpy(zero_copy_only=False)
        start += len(part)
    return values


def _bools(a: Any) -> np.ndarray:
    """An Arrow boolean array (or chunked array) as ``bool [n]``."""
    return np.asarray(a, dtype=bool)
