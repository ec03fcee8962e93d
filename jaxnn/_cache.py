"""JAX's persistent compilation cache, turned on with one call."""

from __future__ import annotations

import os
import pathlib
import sys
import tempfile
import threading

import jax

__all__ = ["enable_compilation_cache"]

# Set to anything but "" or "0" to make enable_compilation_cache do nothing (for the
# command line too, which turns the cache on by default).
ENV_DISABLE = "JAXNN_NO_COMPILATION_CACHE"
# Bounds the cache on disk (least recently used entries go first) and, as a side effect,
# makes JAX lock the directory around every read and write, so that processes sharing
# it never read an entry another one is half-way through writing. JAX needs `filelock`
# for that; without it the cache is unbounded and unlocked (a torn read is then a JAX
# warning and a recompile, never a wrong program).
_MAX_BYTES = 2 << 30

_lock = threading.Lock()
_warned: set[str] = set()


def default_cache_dir() -> pathlib.Path:
    """``$XDG_CACHE_HOME/jaxnn/xla``, else ``~/.cache/jaxnn/xla``."""
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    # The XDG spec: a relative value is invalid and must be ignored.
    base = pathlib.Path(xdg) if os.path.isabs(xdg) else pathlib.Path.home() / ".cache"
    return base / "jaxnn" / "xla"


def _disabled_by_env() -> bool:
    return os.environ.get(ENV_DISABLE, "") not in ("", "0")


def _writable_dir(path: pathlib.Path) -> str | None:
    """Creates ``path`` and checks that a file can be written there; the reason if not."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".jaxnn-write-test-"):
            pass
    except OSError as e:
        return e.strerror or type(e).__name__
    return None


def _warn_once(path: pathlib.Path, reason: str) -> None:
    # One line on stderr, not warnings.warn: the warnings module adds a second line (the
    # caller's source), and the command line promises one line per problem.
    if str(path) in _warned:
        return
    _warned.add(str(path))
    print(
        f"jaxnn: warning: compilation cache off, cannot write to {path} ({reason}); "
        f"set {ENV_DISABLE}=1 to skip it",
        file=sys.stderr,
    )


def enable_compilation_cache(path: str | os.PathLike[str] | None = None) -> pathlib.Path | None:
    """Turns on JAX's persistent compilation cache, so a new process reuses compiled programs.

    Every new Python process compiles its programs again (a ``fit`` call: about 4-5 of
    them, seconds on a small machine). With the cache on, a compiled program is written
    to ``path`` and the next process that needs the same program (same code, shapes,
    dtypes, JAX version and device) reads it back instead of compiling. Use it in scripts
    and notebooks that are re-run in fresh processes or kernels; it does not speed up
    repeated calls inside one process, which are cached in memory anyway. The command
    line (``jaxnn train``/``predict``) turns it on by default.

    Small programs are cached too (JAX's defaults skip programs that compile in under a
    second). ``fit``'s programs and a network's ``init`` are also kept traced and lowered
    (``jax.export`` serializations in ``exported/`` inside the cache directory), so a new
    process running the same configuration does not trace or lower them again. The directory may be shared by several processes at once. Entries are
    specific to the machine's device and JAX version, and the cache is capped at 2 GiB,
    least recently used entries going first (when the ``filelock`` package is installed).

    Safe to call more than once: a second call with the same path does nothing; a call
    with another path moves the cache there. When ``path`` is ``None`` and JAX already has
    a cache directory (``JAX_COMPILATION_CACHE_DIR``), that one is kept.

    Args:
      path: the cache directory, created if missing. Default: ``$XDG_CACHE_HOME/jaxnn/xla``
        if ``XDG_CACHE_HOME`` is set, else ``~/.cache/jaxnn/xla``.

    Returns:
      The directory in use, or ``None`` when the cache stays off: the environment variable
      ``JAXNN_NO_COMPILATION_CACHE`` is set (to anything but ``""`` or ``"0"``), or the
      directory cannot be created or written. The latter prints one warning line on
      stderr (once per directory) and never raises: the program runs, uncached.

    >>> enable_compilation_cache("/tmp/jaxnn-cache")  # doctest: +SKIP
    PosixPath('/tmp/jaxnn-cache')
    """
    if _disabled_by_env():
        return None
    with _lock:
        current = jax.config.jax_compilation_cache_dir
        if path is None:
            target = pathlib.Path(current) if current else default_cache_dir()
        else:
            target = pathlib.Path(os.fspath(path)).expanduser()
        target = target.absolute()
        reason = _writable_dir(target)
        if reason is not None:
            _warn_once(target, reason)
            return None
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
        jax.config.update("jax_persistent_cache_min_entry_size_bytes", -1)
        if jax.config.jax_compilation_cache_max_size == -1 and _have_filelock():
            jax.config.update("jax_compilation_cache_max_size", _MAX_BYTES)
        if current != str(target):
            if current:
                # JAX opens its cache once per process; point it at the new directory.
                from jax.experimental.compilation_cache import compilation_cache

                compilation_cache.reset_cache()
            jax.config.update("jax_compilation_cache_dir", str(target))
        return target


def _have_filelock() -> bool:
    try:
        import filelock  # noqa: F401 -- optional: JAX locks its cache with it
    except ImportError:
        return False
    return True
