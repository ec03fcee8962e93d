"""Training programs kept on disk as serialized StableHLO, so a new process does not trace them again.

JAX's persistent compilation cache (:func:`jaxnn.enable_compilation_cache`) saves XLA's
compiling, but a new process still traces the Python code into a jaxpr and lowers it to
StableHLO before it can look the compiled program up; for ``fit``'s training loop that is
most of a warm process's compile-related time. With the cache on, :func:`stored_jit` keeps
each program it builds as a ``jax.export`` serialization (a flatbuffer holding the StableHLO
bytecode and the argument and result types; nothing in it is executed by Python, no pickle),
in a folder ``exported`` inside JAX's cache folder, under a file name that is a SHA-256 of:

* what the program computes: the program's configuration key (see :mod:`jaxnn._structure`),
  described stably (code objects by their bytecode, constants and names; library functions
  by module, name and package version; floats by value), or no file at all when some part of
  it has no such description (an object compared by identity, say);
* the arguments' tree structure, shapes, dtypes and weak types;
* the versions of Python, JAX, jaxlib, optax and jaxnn (jaxnn's by the size and time of its
  source files, so an edited checkout never reads programs built from older code), the
  backend, its device kind and count, and the JAX settings that change how a program lowers.

A process that finds the file deserializes it and calls it through ``jax.jit``: that traces
one call and lowers a module that embeds the stored one (milliseconds), and the compiled
program then comes from the persistent cache, because the first process compiled and ran
the very same module. Without the cache, or with ``flatbuffers`` (``jax.export``'s serializer)
missing, programs are plain ``jax.jit`` functions; a file that cannot be read or
deserialized is rebuilt, never trusted.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import json
import pathlib
import sys
import threading
from collections.abc import Callable, Sequence
from typing import Any

import jax
import numpy as np

from jaxnn import _atomic, _structure

__all__ = ["stored_jit", "folder"]

_SUFFIX = ".jaxexport"
_LOCK = threading.Lock()


def _environment() -> str:
    backend = jax.default_backend()
    devices = jax.devices()
    cfg = jax.config
    import jaxlib
    import optax

    return repr((
        sys.version, jax.__version__, jaxlib.__version__, optax.__version__, _structure.source_version(), backend,
        devices[0].device_kind, len(devices), cfg.jax_enable_x64, str(cfg.jax_default_matmul_precision),
        cfg.jax_default_prng_impl, cfg.jax_threefry_partitionable, cfg.jax_numpy_rank_promotion,
    ))


def folder() -> pathlib.Path | None:
    """Where programs are stored: ``exported`` in JAX's cache folder; ``None`` when the cache is off."""
    cache = jax.config.jax_compilation_cache_dir
    if not cache or not jax.config.jax_enable_compilation_cache:
        return None
    if not _have_serializer():
        return None
    return pathlib.Path(cache) / "exported"


@functools.lru_cache(maxsize=1)
def _have_serializer() -> bool:
    return importlib.util.find_spec("flatbuffers") is not None  # jax.export's serializer


def _spec(args: Sequence[Any]) -> str:
    leaves, treedef = jax.tree.flatten(args)
    shapes = []
    for leaf in leaves:
        if isinstance(leaf, (bool, int, float, complex)):
            shapes.append(type(leaf).__name__)
        else:
            shapes.append((tuple(np.shape(leaf)), str(getattr(leaf, "dtype", type(leaf).__name__)),
                           bool(getattr(getattr(leaf, "aval", None), "weak_type", False))))
    return repr((str(treedef), tuple(shapes)))


class _Stored:
    """``jax.jit(fun)``, its programs read from / written to the store (see the module docstring)."""

    def __init__(self, fun: Callable, name: str, digest: str | None, jit_kwargs: dict[str, Any]) -> None:
        self.fun, self.jitted = fun, jax.jit(fun, **jit_kwargs)
        self.name, self.digest, self.jit_kwargs = name, digest, jit_kwargs
        self.by_spec: dict[str, Callable] = {}

    def __call__(self, *args: Any) -> Any:
        if any(isinstance(leaf, jax.core.Tracer) for leaf in jax.tree.leaves(args)):
            return self._nested(*args)  # inside another program: traced into it
        where = None if self.digest is None else folder()
        if where is None:
            return self.jitted(*args)
        spec = _spec(args)
        program = self.by_spec.get(spec)
        if program is None:
            program = self._load_or_store(where, spec, args)
            with _LOCK:
                program = self.by_spec.setdefault(spec, program)
        return program(*args)

    @functools.cached_property
    def _nested(self) -> Callable:
        # Compiler options belong to the outermost program only.
        return jax.jit(self.fun, **{k: v for k, v in self.jit_kwargs.items() if k != "compiler_options"})

    def _load_or_store(self, where: pathlib.Path, spec: str, args: tuple) -> Callable:
        options = repr(sorted(self.jit_kwargs.items()))
        digest = hashlib.sha256(f"{self.name};{self.digest};{options};{spec};{_environment()}".encode()).hexdigest()
        path = where / f"{self.name}-{digest}{_SUFFIX}"
        exported = _read(path)
        if exported is None:
            exported = jax.export.export(self.jitted)(*args)
            _write(path, exported)
        # The same module in every process, so the compiled program is the persistent cache's.
        return jax.jit(exported.call, **self.jit_kwargs)


# A stored program's file: this line, the named tuples its trees hold (one JSON list), and
# jax.export's serialization. Named tuples must be registered with jax.export by name
# before a tree holding them is serialized or read back.
_MAGIC = b"jaxnn exported program 1\n"
_REGISTERED: dict[str, type] = {}


def _node_types(treedef: Any) -> list[type]:
    data = treedef.node_data()
    found = [] if data is None else [data[0]]
    for child in treedef.children():
        found += _node_types(child)
    return found


def _register(cls: type) -> str:
    """Registers a named tuple class with jax.export under ``module.qualname``."""
    name = f"{cls.__module__}.{cls.__qualname__}"
    with _LOCK:
        known = _REGISTERED.get(name)
        if known is None:
            try:
                jax.export.register_namedtuple_serialization(cls, serialized_name=name)
            except ValueError:  # registered already, by jax or by the user
                pass
            _REGISTERED[name] = cls
        elif known is not cls:
            raise ValueError(f"two classes named {name}")
    return name


def _is_namedtuple(cls: Any) -> bool:
    return isinstance(cls, type) and issubclass(cls, tuple) and hasattr(cls, "_fields")


def _write(path: pathlib.Path, exported: Any) -> None:
    types_ = {t for tree in (exported.in_tree, exported.out_tree) for t in _node_types(tree) if _is_namedtuple(t)}
    try:
        names = sorted(_register(t) for t in types_)
        payload = exported.serialize()
        path.parent.mkdir(parents=True, exist_ok=True)
        with _atomic.atomic_file(path) as f:
            f.write(_MAGIC + json.dumps(names).encode() + b"\n" + bytes(payload))
        _trim(path.parent)
    except (ValueError, OSError):  # a tree jax.export cannot write, two classes of one name, a read-only cache
        pass


_MAX_FILES = 1000  # stored programs kept (tens of kilobytes each); the least recently written go first


def _trim(where: pathlib.Path) -> None:
    files = list(where.glob(f"*{_SUFFIX}"))
    if len(files) <= _MAX_FILES:
        return
    for old in sorted(files, key=lambda p: p.stat().st_mtime)[: len(files) - _MAX_FILES]:
        old.unlink(missing_ok=True)


def _read(path: pathlib.Path) -> Any:
    """The stored program at ``path``, or ``None`` (missing, torn, or naming an unknown class)."""
    try:
        data = path.read_bytes()
        if not data.startswith(_MAGIC):
            return None
        header, payload = data[len(_MAGIC):].split(b"\n", 1)
        for name in json.loads(header):
            module, _, qualname = name.rpartition(".")
            cls = sys.modules.get(module)  # only classes of modules this process has imported
            while "." in module and cls is None:  # a nested qualname: module.Outer.Inner
                module, _, outer = module.rpartition(".")
                cls, qualname = sys.modules.get(module), f"{outer}.{qualname}"
            for part in qualname.split("."):
                cls = getattr(cls, part, None)
            if not _is_namedtuple(cls) or f"{cls.__module__}.{cls.__qualname__}" != name:
                return None
            _register(cls)
        return jax.export.deserialize(bytearray(payload))
    except Exception:  # noqa: BLE001 - whatever is wrong with the file, it is rebuilt
        return None


def stored_jit(fun: Callable, *, name: str, key: Any, **jit_kwargs: Any) -> Callable:
    """``jax.jit(fun, **jit_kwargs)``, its traced and lowered programs kept across processes.

    Args:
      fun: the function to compile.
      name: a short name for the program's files (``fit``, ``setup``).
      key: what ``fun`` computes, apart from its arguments: two functions with equal
        descriptions of ``key`` must compute the same thing (see :func:`jaxnn._structure.describe`).
      **jit_kwargs: ``donate_argnums``, ``compiler_options``; a program with shardings is
        never stored.

    Returns:
      A callable with ``jax.jit``'s calling convention.
    """
    digest = None if jit_kwargs.get("out_shardings") is not None else _structure.describe(key)
    return _Stored(fun, name, digest, jit_kwargs)
