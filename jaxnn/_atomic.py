"""Output files of the command line: checked before any work, written atomically.

:func:`check_outputs` runs before anything is trained: no output may be an input or another
output (compared after resolving links, and by inode for hard links), and each output's
folder must exist and accept a new file (tried, not guessed from permission bits, which
say nothing for root or on some network file systems). :func:`atomic_open` writes through
a temporary file in the same folder that replaces the target only once it is complete, so
a full disk or a crash leaves the old file (or none), never a truncated one.

Messages name the user's path, never the temporary file.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator, Mapping
from typing import IO

__all__ = ["OutputError", "check_outputs", "atomic_open", "write_text"]


class OutputError(ValueError):
    """An output path that cannot or must not be written (one-line message)."""


def _same_file(a: str, b: str) -> bool:
    if os.path.realpath(a) == os.path.realpath(b):
        return True
    try:
        return os.path.samefile(a, b)  # hard links
    except OSError:
        return False


def _probe_folder(option: str, path: str) -> None:
    folder = os.path.dirname(os.path.abspath(path)) or os.sep
    if not os.path.exists(folder):
        raise OutputError(f"{option} {path}: the folder {folder} does not exist; create it first")
    if not os.path.isdir(folder):
        raise OutputError(f"{option} {path}: {folder} is not a folder")
    probe = os.path.join(folder, f".{os.path.basename(path)}.{secrets.token_hex(6)}.probe")
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as e:
        raise OutputError(f"{option} {path}: cannot create a file in the folder {folder} ({e.strerror})") from None
    os.close(fd)
    os.unlink(probe)


def check_outputs(outputs: Mapping[str, str], inputs: Mapping[str, str]) -> None:
    """Checks the output paths before any work is done.

    Args:
      outputs: option -> path of each file to be written, e.g. ``{"--out": "m.jaxnn"}``.
      inputs: option -> path of each file read, e.g. ``{"--data": "d.csv"}``.

    Raises:
      OutputError: an output is an input or another output (same file after resolving
        links), is a folder, or its folder does not exist or does not accept new files.
    """
    items = list(outputs.items())
    for i, (option, path) in enumerate(items):
        for in_option, in_path in inputs.items():
            if _same_file(path, in_path):
                raise OutputError(
                    f"{option} {path} is the {in_option} file; writing it would destroy the input: "
                    f"choose another {option}")
        for other_option, other in items[:i]:
            if _same_file(path, other):
                raise OutputError(f"{option} {path} and {other_option} {other} are the same file; give two paths")
        if os.path.isdir(path):
            raise OutputError(f"{option} {path} is a folder; give a file name")
        if os.path.exists(path) and not os.path.isfile(path):
            # A device or a pipe (/dev/null, a FIFO): renaming over it would replace it.
            raise OutputError(f"{option} {path} is not a regular file; give a file name")
        _probe_folder(option, path)


@contextlib.contextmanager
def atomic_open(path: str, mode: str = "w", **kwargs: object) -> Iterator[IO]:
    """Opens ``path`` for writing through a temporary file in the same folder.

    The temporary file replaces ``path`` (``os.replace``) when the ``with`` block ends
    normally; on any exception (a full disk, Ctrl-C) it is removed and ``path`` is left
    as it was. ``OSError`` is re-raised as :class:`OutputError` naming ``path``.
    """
    folder = os.path.dirname(os.path.abspath(path))
    tmp = os.path.join(folder, f".{os.path.basename(path)}.{secrets.token_hex(8)}.tmp")
    try:
        # O_EXCL: never clobber a file; mode 0o666 lets the umask decide, as open() would.
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    except OSError as e:
        raise OutputError(f"cannot write {path}: {e.strerror}") from None
    try:
        with os.fdopen(fd, mode, **kwargs) as f:  # type: ignore[call-overload]
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as e:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(e, OSError) and not isinstance(e, BrokenPipeError):
            raise OutputError(f"cannot write {path}: {e.strerror or e}") from None
        raise


def write_text(path: str, text: str) -> None:
    """Writes ``text`` (UTF-8) to ``path`` atomically (see :func:`atomic_open`)."""
    with atomic_open(path, "w", encoding="utf-8", newline="") as f:
        f.write(text)
