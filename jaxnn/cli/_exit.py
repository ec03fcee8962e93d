"""How the command line ends: the user's errors, bugs, interrupts and closed pipes.

Every exception that leaves a command ends in :func:`exit_status`: bad input (a missing file,
a misspelled column, a file that is not a jaxnn model, an output that would overwrite an
input, a network too large for memory) is one line on stderr and exit status 2; anything
else is one line saying it is a bug and exit status 1; Ctrl-C is one line and exit status
130; a reader of stdout that went away (``| head -1``) is a normal end, status 0. A traceback
is printed only with ``--debug``.
"""

from __future__ import annotations

import os
import signal
import sys
import traceback

from jaxnn import _atomic, _memory
from jaxnn import _tabular as tabular
from jaxnn.cli._errors import TableError, UsageError

BUG = "this is a bug in jaxnn, please report it (run again with --debug for the traceback)"


def _is_users(e: BaseException) -> bool:
    """Whether ``e`` reports the user's input, options, files or machine (one line, exit status 2)."""
    users = (UsageError, TableError, tabular.ModelFileError, _atomic.OutputError, _memory.TooLargeError)
    return isinstance(e, users)


def fail(command: str | None, message: str) -> int:
    """Prints ``message`` as one error line of ``command`` on stderr.

    Args:
      command: the command (``"train"``), or ``None`` for the program itself.
      message: what went wrong; line breaks and runs of spaces become single spaces.

    Returns:
      2, the exit status of bad input.
    """
    message = " ".join(message.split())  # one line, whatever the message
    print(f"jaxnn{' ' + command if command else ''}: error: {message}", file=sys.stderr)
    return 2


def exit_status(e: BaseException, command: str | None, *, debug: bool, as_program: bool) -> int:
    """Reports an exception that ended ``command`` and returns the exit status.

    Args:
      e: the exception (an ``Exception`` or a ``KeyboardInterrupt``).
      command: the command, for messages (``None``: the program itself).
      debug: print the traceback too (``--debug``).
      as_program: this process is the ``jaxnn`` program: an interrupt then ends it at once.

    Returns:
      130 for an interrupt, 0 for a closed pipe, 2 for the user's errors (and for an
      out-of-memory failure or a file the environment took away), 1 for anything else.
    """
    if isinstance(e, KeyboardInterrupt):
        return _interrupted(command, as_program)
    if isinstance(e, BrokenPipeError):
        # The reader went away (`jaxnn predict ... | head -1`): that is a normal end.
        _silence_stdout()
        return 0
    if debug:
        traceback.print_exception(e)
    if _is_users(e):
        return fail(command, str(e))
    return _unexpected(e, command)


def _interrupted(command: str | None, as_program: bool) -> int:
    if as_program:
        # A second Ctrl-C while we exit must not turn the exit into a death by signal.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    print(f"jaxnn{' ' + command if command else ''}: interrupted", file=sys.stderr)
    if as_program:
        # Leave at once: a computation still running on another thread would otherwise
        # hold up the interpreter's shutdown.
        _flush()
        os._exit(130)
    return 130


def _unexpected(e: BaseException, command: str | None) -> int:
    oom = _memory.out_of_memory_message(e)
    if oom is not None:
        return fail(command, oom)
    if isinstance(e, OSError) and getattr(e, "filename", None):
        # The environment (a file vanished, a disk filled up), not a bug.
        return fail(command, f"{e.strerror or e}: {e.filename}")
    message = " ".join(f"{type(e).__name__}: {e}".split())[:300]
    print(f"jaxnn{' ' + command if command else ''}: error: {BUG}: {message}", file=sys.stderr)
    return 1


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass


def _silence_stdout() -> None:
    """Points stdout at the null device, so that the interpreter's final flush does not
    report the broken pipe again (the recipe of Python's signal documentation)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # io.UnsupportedOperation is both
        pass
