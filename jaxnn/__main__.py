"""The ``jaxnn`` program (``python -m jaxnn`` and the ``jaxnn`` console script): the command
line of :func:`jaxnn.cli.main`, with Ctrl-C honoured from the first moment.

The handler of Ctrl-C (:mod:`jaxnn._interrupt`) is installed before JAX is imported, so an
interrupt during the imports is one line and exit status 130, like one at any later moment.
"""

from jaxnn import _interrupt


def program() -> int:
    """Runs the ``jaxnn`` program on ``sys.argv``; returns its exit status."""
    _interrupt.install()  # first: Ctrl-C during the imports below is one line and status 130
    from jaxnn.cli import main

    return main()


if __name__ == "__main__":
    raise SystemExit(program())
