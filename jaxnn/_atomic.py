"""Files written atomically, and the command line's checks of its output paths.

:func:`atomic_file` writes through a temporary file in the same folder
(``.<name>.<16 hex digits>.tmp``), flushed and ``fsync`` ed, that replaces the target
(``os.replace``) only once it is complete, so a full disk or a crash leaves the old file
(or none), never a truncated one. A process killed mid-write (``kill -9``, power loss)
cannot remove its temporary file, so the next successful write to the same path removes
such leftovers: temporary siblings older than that write that no live writer holds (each
writer holds an advisory lock on its temporary file while it writes). :mod:`jaxnn.checkpoint`
writes with it; :func:`atomic_open` is the same for the command line, with its errors.

:func:`check_outputs` runs before anything is trained: no output may be an input or another
output (compared after resolving links, and by inode for hard links), and each output's
folder must exist and accept a new file (tried, not guessed from permission bits, which
say nothing for root or on some network file systems).

Messages name the user's path, never the temporary file.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import time
from collections.abc import Iterator, Mapping
from typing import IO

from jaxnn import _interrupt

__all__ = ["OutputError", "check_outputs", "atomic_file", "atomic_open", "write_text"]


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
    with _interrupt.removed_on_interrupt(probe):  # the jaxnn program removes it on Ctrl-C
        try:
            fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except OSError as e:
            raise OutputError(
                f"{option} {path}: cannot create a file in the folder {folder} ({e.strerror})") from None
        try:
            os.close(fd)
        finally:
            os.unlink(probe)


def check_outputs(outputs: Mapping[str, str], inputs: Mapping[str, str]) -> None:
    """Checks the output paths before any work is done.

    Args:
      outputs: option -> path of each file to be written, e.g. ``{"--out": "m.jaxnn"}``.
      inputs: option -> path of each file read, e.g. ``{"--data": "d.csv"}``.

    Raises:
      OutputError: an output is an input or another output (same file after resolving
        links), is a folder, a symbolic link, a device or a read-only file, or its folder
        does not exist or does not accept new files.
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
        if os.path.islink(path):
            # Renaming over a link replaces the link, not the file it points to: neither
            # is what the user meant, so neither is done.
            raise OutputError(f"{option} {path} is a symbolic link; give the path of a regular file (or remove the "
                              "link)")
        if os.path.exists(path) and not os.path.isfile(path):
            # A device or a pipe (/dev/null, a FIFO): renaming over it would replace it.
            raise OutputError(f"{option} {path} is not a regular file; give a file name")
        if os.path.isfile(path) and (not os.access(path, os.W_OK) or not os.stat(path).st_mode & 0o222):
            # Renaming would replace it (writable) although it was made read-only.
            raise OutputError(f"{option} {path} is read-only; make it writable or choose another {option}")
        _probe_folder(option, path)


# Temporary files: f".{target name}.{_TMP_TOKEN_BYTES * 2 hex digits}.tmp".
_TMP_TOKEN_BYTES = 8


def _lock_exclusive(fd: int, *, wait: bool) -> bool:
    """Takes an advisory lock on ``fd`` (``True``), or reports that another process holds it.

    A writer holds the lock on its temporary file for as long as it writes; the kernel
    drops it when the process dies, however it dies. Without ``fcntl`` (Windows) nothing is
    locked and only the age test of _remove_stale_temps protects a live writer's file.
    """
    try:
        import fcntl  # noqa: PLC0415 -- POSIX only
    except ImportError:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
    except BlockingIOError:
        return False
    except OSError:  # a file system without flock: rely on the age test
        return True
    return True


def _is_temp_name(name: str, target_name: str) -> bool:
    prefix, suffix = f".{target_name}.", ".tmp"
    token = name[len(prefix) : -len(suffix)]
    return (
        name.startswith(prefix)
        and name.endswith(suffix)
        and len(token) == 2 * _TMP_TOKEN_BYTES
        and all(c in "0123456789abcdef" for c in token)
    )


def _remove_stale_temps(target: str, started_ns: int) -> None:
    """Removes temporary files that killed writes to ``target`` left behind.

    Only exact ``.<name>.<hex>.tmp`` siblings of ``target`` qualify, last modified before
    this write began and not locked by a writer that is still running. Best effort: a file
    that cannot be examined or removed is left alone.
    """
    folder, name = os.path.split(target)
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    for entry in entries:
        if not _is_temp_name(entry.name, name):
            continue
        try:
            if not entry.is_file(follow_symlinks=False):
                continue
            if entry.stat(follow_symlinks=False).st_mtime_ns >= started_ns:
                continue  # a write that began after this one: not a leftover
            fd = os.open(entry.path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
            try:
                if _lock_exclusive(fd, wait=False):
                    os.unlink(entry.path)
            finally:
                os.close(fd)
        except OSError:
            continue


def _fsync_folder(folder: str) -> None:
    """Persists a rename in ``folder`` (POSIX); not possible, nor needed, everywhere."""
    if not hasattr(os, "O_DIRECTORY"):
        return
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike[str], mode: str = "wb", **kwargs: object) -> Iterator[IO]:
    """Opens ``path`` for writing through a temporary file in the same folder.

    The temporary file is flushed, ``fsync`` ed and moved over ``path`` (``os.replace``)
    when the ``with`` block ends normally; on any exception (a full disk, Ctrl-C) it is
    removed and ``path`` is left as it was. On success, temporary files of earlier writes
    to ``path`` that were killed before they could clean up are removed too.

    Args:
      path: the file to write; its folder must exist.
      mode: a write mode for :func:`os.fdopen`, ``"wb"`` or ``"w"``.
      **kwargs: passed to :func:`os.fdopen` (``encoding``, ``newline``).

    Yields:
      The open temporary file.

    Raises:
      OSError: as raised by the file system (the message may name the temporary file).
    """
    target = os.path.abspath(path)
    folder, name = os.path.split(target)
    tmp = os.path.join(folder, f".{name}.{secrets.token_hex(_TMP_TOKEN_BYTES)}.tmp")
    # A leftover was last modified before this write began (a file system's clock may lag
    # time.time_ns() by a tick, which only makes old files look older).
    started_ns = time.time_ns()
    # The jaxnn program removes the file itself on Ctrl-C (see jaxnn._interrupt).
    with _interrupt.removed_on_interrupt(tmp):
        try:  # from the open on: the name is random, so a file by that name is ours
            # O_EXCL: never clobber a file; mode 0o666 lets the umask decide, as open() would.
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
            _lock_exclusive(fd, wait=True)  # our own fresh file: no one else can hold it
            with os.fdopen(fd, mode, **kwargs) as f:  # type: ignore[call-overload]
                yield f
                f.flush()
                os.fsync(f.fileno())
            _interrupt.last_chance()  # the program ignores Ctrl-C from here: the output is complete
            os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
    _remove_stale_temps(target, started_ns)
    _fsync_folder(folder)


@contextlib.contextmanager
def atomic_open(path: str, mode: str = "w", **kwargs: object) -> Iterator[IO]:
    """:func:`atomic_file` for the command line: ``OSError`` becomes :class:`OutputError`.

    ``OSError`` (a full disk, a folder that refuses new files) is re-raised as
    :class:`OutputError` naming ``path``; ``BrokenPipeError`` passes through.
    """
    try:
        with atomic_file(path, mode, **kwargs) as f:
            yield f
    except OSError as e:
        if isinstance(e, BrokenPipeError):
            raise
        raise OutputError(f"cannot write {path}: {e.strerror or e}") from None


def write_text(path: str, text: str) -> None:
    """Writes ``text`` (UTF-8) to ``path`` atomically (see :func:`atomic_open`)."""
    with atomic_open(path, "w", encoding="utf-8", newline="") as f:
        f.write(text)
