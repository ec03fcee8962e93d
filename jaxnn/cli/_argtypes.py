"""The values of the command line's options: each parser turns a string into a checked value.

Each raises :class:`argparse.ArgumentTypeError` with a message saying what was expected, which
argparse prefixes with the option's name (``argument --lr: must be a finite number > 0``).
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable


def hidden_sizes(text: str) -> list[int]:
    """Parses ``--hidden``: comma-separated layer widths, or ``none``/``0``/empty for none.

    Args:
      text: the option's value, e.g. ``"16,16"``.

    Returns:
      The widths, each >= 1 (empty for no hidden layer).

    Raises:
      argparse.ArgumentTypeError: not whole numbers, or a width below 1.
    """
    text = text.strip()
    if text.lower() in ("", "none", "0"):
        return []
    try:
        sizes = [int(s) for s in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be comma-separated layer widths like 16,16, got {text!r}") from None
    if any(s < 1 for s in sizes):
        raise argparse.ArgumentTypeError(f"layer widths must be >= 1, got {text!r}")
    return sizes


def bounded_int(low: int, high: int, extra: str = "") -> Callable[[str], int]:
    """A parser of whole numbers in ``[low, high]``.

    Args:
      low: the smallest value accepted.
      high: the largest value accepted.
      extra: added to the range in the message, e.g. ``" ('full' for full-batch)"``.

    Returns:
      ``parse(text) -> int``, raising :class:`argparse.ArgumentTypeError` for anything else.
    """

    def parse(text: str) -> int:
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None
        if not low <= v <= high:
            raise argparse.ArgumentTypeError(f"must be in [{low}, {high:,}]{extra}, got {v}")
        return v

    return parse


#: A whole number >= 1 that fits in 32 bits.
positive_int = bounded_int(1, 2**31 - 1)


def batch_size(text: str) -> int | None:
    """Parses ``--batch-size``: a whole number >= 1, or ``full`` (``None``) for full-batch."""
    if text.strip().lower() == "full":
        return None
    return bounded_int(1, 2**31 - 1, " ('full' for full-batch)")(text)


def fraction(text: str) -> float:
    """Parses ``--val-split``: a number in ``[0, 1)``."""
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number in [0, 1), got {text!r}") from None
    if not 0 <= v < 1:
        raise argparse.ArgumentTypeError(f"must be in [0, 1) (0 for no validation split), got {v}")
    return v


def positive_float(text: str) -> float:
    """Parses ``--lr``: a finite number > 0."""
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number > 0, got {text!r}") from None
    if not (math.isfinite(v) and v > 0):
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {text!r}")
    return v


def delimiter(text: str) -> str:
    """Parses ``--delimiter``: ``,``, ``;``, ``|`` or ``tab`` (also written ``\\t``)."""
    value = {"tab": "\t", "\\t": "\t"}.get(text, text)
    if value not in (",", ";", "\t", "|"):
        raise argparse.ArgumentTypeError(f"must be ',', ';', '|' or 'tab', got {text!r}")
    return value


def names(text: str) -> list[str]:
    """Splits a ``COL[,COL...]`` option into column names, without spaces or empty names."""
    return [n.strip() for n in text.split(",") if n.strip()]
