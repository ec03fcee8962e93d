"""Ctrl-C for the ``jaxnn`` program: every interrupt stops it, whenever it arrives.

Python's own handler raises ``KeyboardInterrupt`` wherever the main thread happens to be,
and three places there lose it: a garbage-collector callback or a ``__del__`` method
(JAX registers a gc callback, and importing or running JAX collects often: Python prints
"Exception ignored in" and carries on, and the command runs to the end), an extension
module that is initializing (the exception turns into an ``ImportError``, or aborts the
process), and code that catches it. So the program does not raise: :func:`install`'s
handler, installed first thing, before JAX is imported, ends the process at once. It
removes the temporary files of the outputs being written (each registered with
:func:`removed_on_interrupt` while it exists), prints one line and exits with status 130.
Nothing else needs undoing: every output is written to a temporary file and renamed into
place only when complete.

Just before the first output is renamed into place, :func:`last_chance` makes the program
ignore Ctrl-C for the rest of its run (the renames and the closing lines), so an interrupt
either stops the command before any output exists or comes after all of them are in place,
never between two.

The handler is Python code, so it runs between two steps of the main thread: during a long
computation in XLA it runs when that computation returns. Library code never installs it;
only the ``jaxnn`` program does. This module imports only the standard library: it must be
importable before JAX is.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import sys
from collections.abc import Iterator
from types import FrameType


@dataclasses.dataclass
class _State:
    """The program's handler: installed or not, the command named in its line, the
    temporary files to remove, and whether the outputs are being put in place."""

    installed: bool = False
    command: str | None = None
    temporary: set[str] = dataclasses.field(default_factory=set)
    committing: bool = False


# One per process, as the signal handler it serves is.
_STATE = _State()


def install(command: str | None = None) -> None:
    """Makes Ctrl-C end the ``jaxnn`` program at once (see the module's docstring).

    Call it from the main thread of the program only; calling it again only changes the
    command named in the line (``"jaxnn train: interrupted"``).

    Args:
      command: the command being run, or ``None`` before it is known.
    """
    _STATE.command = command
    if not _STATE.installed:
        _STATE.installed = True
        signal.signal(signal.SIGINT, _on_sigint)


def installed() -> bool:
    """Whether :func:`install` has made this process the ``jaxnn`` program (not a library user)."""
    return _STATE.installed


def _on_sigint(signum: int, frame: FrameType | None) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut this short
    for path in list(_STATE.temporary):
        with contextlib.suppress(OSError):
            os.unlink(path)
    command = _STATE.command
    with contextlib.suppress(OSError, ValueError):
        print(f"jaxnn{' ' + command if command else ''}: interrupted", file=sys.stderr, flush=True)
    # At once: no cleanup handlers, and no waiting for computations on other threads.
    os._exit(130)


@contextlib.contextmanager
def removed_on_interrupt(path: str) -> Iterator[None]:
    """While the block runs, Ctrl-C in the ``jaxnn`` program removes ``path`` (a temporary
    file the block creates, and renames or removes before it ends)."""
    if not _STATE.installed:
        yield
        return
    _STATE.temporary.add(path)
    try:
        yield
    finally:
        _STATE.temporary.discard(path)


def last_chance() -> None:
    """Called just before an output file is renamed into place: from now on the ``jaxnn``
    program ignores Ctrl-C (only the renames and the closing lines are left). Does nothing
    unless :func:`install` ran."""
    if _STATE.installed and not _STATE.committing:
        _STATE.committing = True
        signal.signal(signal.SIGINT, signal.SIG_IGN)
