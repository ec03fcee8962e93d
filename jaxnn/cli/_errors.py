"""The command line's error types: each message is one line, and ``main`` reports it as the
user's error (exit status 2; see :mod:`jaxnn.cli._exit`).

This module imports nothing of jaxnn, so that every module of the package can raise them.
"""


class UsageError(ValueError):
    """Bad input to the command line; its message is printed as one line."""


class TableError(ValueError):
    """A problem with a table's contents or with a column it should have (one-line message)."""
