"""The error of a table's contents: each message is one line, and the command line reports it
as the user's error (exit status 2).

This module imports nothing of jaxnn, so that every module of the package can raise it.
"""


class TableError(ValueError):
    """A problem with a table's contents or with a column it should have (one-line message)."""
