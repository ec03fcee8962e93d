"""How number cells are written: the decimal mark, a thousands separator, and the conventions
a column may be written in instead (decimal comma, thousands separators, currency or percent
signs), so that a column in another convention is named, never silently read as categories.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from jaxnn._tabular._errors import TableError

#: The largest magnitude a number cell may have: float32's largest finite value.
FLOAT32_MAX = float(np.finfo(np.float32).max)


@dataclasses.dataclass(frozen=True)
class NumberFormat:
    """How number cells are written: the decimal mark and an optional thousands separator.

    A number is ``[+-]digits[<decimal>digits][e[+-]digits]``; with a thousands separator
    the integer part may also be grouped as ``1<sep>234<sep>567``: a leading group of one to
    three digits that does not start with ``0``, then groups of exactly three digits. So
    ``0.250`` and ``12.34`` are not grouped numbers under ``'.'`` between thousands (the
    first has a leading group of 0, the second a group of two digits) and do not parse:
    a separator is read as grouping only where it can be nothing else in that convention.
    ``inf``/``infinity`` parse (and are then refused as non-finite); nothing else does: no
    underscores, no currency or percent signs.

    Attributes:
      decimal: ``"."`` or ``","``.
      thousands: ``None``, ``","``, ``"."``, ``" "`` or ``"'"``; never the decimal mark.
    """

    decimal: str = "."
    thousands: str | None = None

    def __post_init__(self) -> None:
        if self.decimal not in (".", ","):
            raise TableError(f"the decimal mark must be '.' or ',', got {self.decimal!r}")
        if self.thousands not in (None, ",", ".", " ", "'"):
            raise TableError(f"the thousands separator must be ',', '.', ' ' or \"'\", got {self.thousands!r}")
        if self.thousands == self.decimal:
            raise TableError(f"the thousands separator and the decimal mark are both {self.decimal!r}")
        d = re.escape(self.decimal)
        whole = r"\d+"
        if self.thousands is not None:
            # The leading group never starts with 0: "0.250" is a decimal written in another
            # convention, not 250.
            whole = rf"(?:[1-9]\d{{0,2}}(?:{re.escape(self.thousands)}\d{{3}})+|\d+)"
        pattern = rf"[+-]?(?:{whole}(?:{d}\d*)?|{d}\d+)(?:[eE][+-]?\d+)?"
        object.__setattr__(self, "_re", re.compile(pattern))

    @property
    def pattern(self) -> str:
        """The regular expression a number cell matches in full (the syntax of Python's
        :mod:`re` and of RE2, which Arrow's reader uses)."""
        return self._re.pattern  # type: ignore[attr-defined]

    def parse(self, cell: str) -> float | None:
        """The number a (stripped) cell holds, or ``None`` when it is not a number."""
        if self._re.fullmatch(cell):  # type: ignore[attr-defined]
            if self.thousands is not None:
                cell = cell.replace(self.thousands, "")
            return float(cell.replace(self.decimal, "."))
        if cell.lower().lstrip("+-") in ("inf", "infinity"):
            return -math.inf if cell.startswith("-") else math.inf
        return None

    def describe(self) -> str:
        """E.g. ``"'.' as the decimal point"``, for messages."""
        text = f"{self.decimal!r} as the decimal mark"
        return text + (f" and {self.thousands!r} between thousands" if self.thousands else "")

    def options(self, *, full: bool = False) -> str:
        """The command-line options that select this format, e.g. ``"--decimal , --thousands ."``;
        the default decimal mark ``'.'`` is spelled out only when ``full`` (``predict``, whose
        default is the model's)."""
        parts = [] if self.decimal == "." and not full else [f"--decimal {self.decimal}"]
        if self.thousands is not None:
            parts.append(f"--thousands {self.thousands!r}" if self.thousands in " '" else f"--thousands {self.thousands}")
        return " ".join(parts)

    def to_config(self) -> dict[str, Any]:
        """A JSON-serialisable dict (stored in the model)."""
        return {"decimal": self.decimal, "thousands": self.thousands}


# Conventions a column might be written in, tried (in this order) when it does not parse
# under the format in use. Several may fit: "1,000" is 1.0 with a decimal comma and 1000
# with a thousands comma, and the message then offers both.
_OTHER_FORMATS = (
    NumberFormat(decimal=","),
    NumberFormat(thousands=","),
    NumberFormat(decimal=",", thousands="."),
    NumberFormat(decimal=",", thousands=" "),
    NumberFormat(thousands=" "),
    NumberFormat(thousands="'"),
)
_CURRENCY = "$€£¥₹"


def parses_as_numbers(cells: Sequence[str], fmt: NumberFormat) -> bool:
    """Whether every cell of ``cells`` (non-missing, stripped) is a number under ``fmt``."""
    return all(fmt.parse(c) is not None for c in cells)


def other_convention(cells: Sequence[str], fmt: NumberFormat) -> str | None:
    """When ``cells`` are not all numbers under ``fmt`` but are numbers under another
    convention, a phrase saying which and the option to pass; else ``None``."""
    cells = list(cells)
    if not cells or parses_as_numbers(cells, fmt):
        return None
    # The plain format first: a model's predict file may be written the plain way.
    fits = [f for f in (NumberFormat(), *_OTHER_FORMATS) if f != fmt and parses_as_numbers(cells, f)]
    # A thousands separator is only worth naming when the plain decimal mark does not do.
    fits = [f for f in fits if f.thousands is None or not any(
        g.decimal == f.decimal and g.thousands is None for g in fits)]
    if fits:
        return "numbers written with " + " or with ".join(
            f"{f.describe()} (pass {f.options() or '--decimal .'})" for f in fits)
    formats = (fmt, *_OTHER_FORMATS)
    stripped = [re.sub(f"[{_CURRENCY}]", "", c).strip() for c in cells]  # also "-$1.50"
    if any(c != s for c, s in zip(cells, stripped)) and any(parses_as_numbers(stripped, f) for f in formats):
        return ("amounts with a currency sign, which jaxnn does not read: write the column as plain numbers "
                "(or --drop it)")
    stripped = [c[:-1].rstrip() if c.endswith("%") else c for c in cells]
    if any(c.endswith("%") for c in cells) and any(parses_as_numbers(stripped, f) for f in formats):
        return "percentages, which jaxnn does not read: write the column as plain numbers (or --drop it)"
    return _with_unit(cells, formats)


# A number with a currency code before it or a unit after it ("USD 1000", "5kg", "12 cm"),
# and accounting's negatives in parentheses ("(500.00)", "($500.00)").
# A prefix must be a currency code (three capitals and a space): codes such as Q1, Q2 are
# categories.
_UNIT = re.compile(rf"(\(?)([A-Z]{{3}} )?([{_CURRENCY}]?)([-+]?[0-9.,' ]*[0-9])( ?[A-Za-z°/]{{1,6}})?\)?")


def _with_unit(cells: Sequence[str], formats: Sequence[NumberFormat]) -> str | None:
    """A phrase for numbers written with a unit, a currency code or in parentheses, when
    the unit is the same in every cell (codes such as ``1A``, ``2B`` are categories)."""
    parts = [_UNIT.fullmatch(c) for c in cells]
    if not all(parts):
        return None
    numbers = [m.group(4) for m in parts]  # type: ignore[union-attr]
    if not any(parses_as_numbers(numbers, f) for f in formats):
        return None
    units = {((m.group(2) or "") + (m.group(5) or "")).strip().lower() for m in parts}  # type: ignore[union-attr]
    accounting = any(m.group(1) for m in parts)  # type: ignore[union-attr]
    if accounting and units <= {""}:
        return ("accounting negatives in parentheses, which jaxnn does not read: write them as -500 "
                "(plain numbers), or --drop the column")
    if len(units) == 1 and units != {""}:
        return (f"numbers with a unit or currency code ({units.pop()!r}), which jaxnn does not read: strip it "
                "first and write the column as plain numbers (or --drop it)")
    return None


def decimal_reading(fmt: NumberFormat) -> NumberFormat | None:
    """The common convention that takes ``fmt``'s thousands separator for a decimal mark
    (``'.'`` between thousands: ``'.'`` as the decimal mark), or ``None`` when ``fmt``'s
    separator (none, a space, an apostrophe) is no convention's decimal mark."""
    if fmt.thousands not in (".", ","):
        return None
    return NumberFormat(decimal=fmt.thousands)


def two_readings(cells: Sequence[str], fmt: NumberFormat) -> tuple[int, float, float, NumberFormat] | None:
    """When every one of ``cells`` is a number both under ``fmt`` and under
    :func:`decimal_reading` of it, and some cell reads as two different numbers (``1.250``:
    1250 or 1.25), that cell's index, its two values and the other convention; else ``None``.

    One cell that only one convention reads (``3,5`` or ``1.250.000``) settles the column.
    """
    other = decimal_reading(fmt)
    if other is None:
        return None
    mine = [fmt.parse(c) for c in cells]
    theirs = [other.parse(c) for c in cells]
    if any(v is None for v in mine) or any(v is None for v in theirs):
        return None
    for i, (a, b) in enumerate(zip(mine, theirs)):
        if a != b:
            return i, a, b, other  # type: ignore[return-value]
    return None


def format_label(v: float) -> str:
    """A number as a label: ``1.0 -> "1"``, ``2.5 -> "2.5"``."""
    return str(int(v)) if float(v).is_integer() else repr(float(v))
