"""The command line's error types: each message is one line, and ``main`` reports it as the
user's error (exit status 2; see :mod:`jaxnn.cli._exit`).

:class:`TableError` belongs to the tables (:mod:`jaxnn._tabular`); it is named here too, so
that the command line's modules find both of the user's errors in one place.
"""

from jaxnn._tabular import TableError

__all__ = ["UsageError", "TableError"]


class UsageError(ValueError):
    """Bad input to the command line; its message is printed as one line."""
