"""Keys that describe what a function computes, so compiled programs are cached on meaning.

``jax.jit`` caches a compiled program on the identity of the Python function it was given.
The README's idiom, ``fit(..., Supervised(net.apply, head), optimizer=optim.adam(1e-3))``,
builds a new closure for the network, the loss and the optimizer on every call, so an
identity-keyed cache compiles the whole training program again each time. This module
describes such objects by their structure instead:

* :func:`config_key` is a hashable key equal for two objects that compute the same thing:
  the same code, with equal values captured in their closures, equal values of the global
  names the code reads, and equal floats. jaxnn's networks, optimizers and losses compare
  and hash with it.
* :func:`describe` digests a key into a string that is the same in every process (code by
  its bytecode and constants, library functions by name and package version, floats by
  value), or ``None`` when part of it is compared by identity: the name under which a
  compiled program is kept on disk (:mod:`jaxnn._stored`).
* :func:`lift` splits an object into a *program key* in which every float and array captured
  in it is only a placeholder (its shape and dtype), the list of those values, and a function
  that rebuilds the object from new values. The training engine passes the values to its
  compiled program as arguments, so ``adam(1e-3)`` and ``adam(3e-3)`` (or a schedule with
  another decay rate) share one program.

What is walked: tuples (named or not), lists, dicts, dataclasses, ``functools.partial``,
bound methods and Python closures (code, captured cells, defaults, and the values of the
global names the code reads). Modules, classes, module-level functions reachable by name
and anything else hashable are compared as they are (identity for most objects); whatever
is unhashable and opaque is compared by identity, holding a reference so its ``id`` cannot
be reused. A structure too large to walk gets a key equal to nothing else (no reuse, never
a wrong hit).
"""

from __future__ import annotations

import collections
import copy
import dataclasses
import enum
import functools
import hashlib
import os
import pathlib
import sys
import sysconfig
import threading
import types
from collections.abc import Callable
from typing import Any

import jax
import numpy as np

__all__ = ["config_key", "lift", "Lifted", "describe", "source_version"]

_MAX_NODES = 4000
_MAX_DEPTH = 40


class _Identity:
    """Compares by ``is``; holds the object so its ``id`` stays unique while the key lives."""

    __slots__ = ("obj",)

    def __init__(self, obj: Any) -> None:
        self.obj = obj

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Identity) and other.obj is self.obj

    def __hash__(self) -> int:
        return id(self.obj)

    def __repr__(self) -> str:
        return f"_Identity({type(self.obj).__name__} at {id(self.obj):#x})"


class _TooLarge(Exception):
    pass


@functools.lru_cache(maxsize=4096)
def _global_names(code: types.CodeType) -> tuple[str, ...]:
    """The names a code object (and the code nested in it) may read from its globals."""
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names.update(_global_names(const))
    return tuple(sorted(names))


@functools.lru_cache(maxsize=1024)
def _is_library(module_name: str | None) -> bool:
    """Code installed as a package (or the standard library), whose globals do not change.

    Functions and objects of such modules are compared by identity; the user's own code
    (a notebook, a script, a module of the user's project) is walked, so that a changed
    global it reads is never served a program traced with the old value.
    """
    if not module_name:
        return False
    root = module_name.split(".")[0]
    if root in ("jaxnn", "builtins") or root in sys.stdlib_module_names:
        return True
    module = sys.modules.get(root)
    path = getattr(module, "__file__", None)
    if path is None:
        return False
    installed = {sysconfig.get_paths()[k] for k in ("purelib", "platlib", "stdlib", "platstdlib")}
    return any(os.path.abspath(path).startswith(os.path.abspath(p) + os.sep) for p in installed)


def _is_library_function(fn: types.FunctionType) -> bool:
    """A plain function of an installed package, reachable by name from its module."""
    if fn.__closure__ or "<" in fn.__qualname__ or not _is_library(fn.__module__):
        return False
    target: Any = sys.modules.get(fn.__module__)
    for part in fn.__qualname__.split("."):
        target = getattr(target, part, None)
    return target is fn


def _float_key(value: float) -> tuple:
    return ("float", float(value).hex())


class _Walker:
    """One walk over an object. ``lift=True`` collects floats and arrays as placeholders."""

    def __init__(self, lift: bool) -> None:
        self.lift = lift
        self.values: list[Any] = []
        self.nodes = 0
        self.active: set[int] = set()

    def leaf(self, value: Any, key: tuple) -> tuple[Any, Callable | None]:
        index = len(self.values)
        self.values.append(value)
        return key, lambda values: values[index]

    def __call__(self, obj: Any, depth: int = 0, lift: bool | None = None) -> tuple[Any, Callable | None]:
        """``(key, rebuild)``; ``rebuild`` is ``None`` when nothing inside ``obj`` was lifted."""
        self.nodes += 1
        if self.nodes > _MAX_NODES or depth > _MAX_DEPTH:
            raise _TooLarge
        if lift is False and self.lift:
            saved, self.lift = self.lift, False
            try:
                return self(obj, depth)
            finally:
                self.lift = saved
        kind = type(obj)
        if obj is None or kind in (bool, int, str, bytes, complex, type(Ellipsis)):
            return (kind, obj), None
        if isinstance(obj, (float, np.floating)) and np.ndim(obj) == 0:
            value = float(obj)
            return self.leaf(value, ("float",)) if self.lift else (_float_key(value), None)
        if isinstance(obj, (jax.Array, np.ndarray)):
            if isinstance(obj, jax.core.Tracer):
                return _Identity(obj), None
            if self.lift:
                return self.leaf(obj, ("array", tuple(obj.shape), str(obj.dtype)))
            return _Identity(obj), None
        if isinstance(obj, (types.ModuleType, type)):
            return obj, None
        if id(obj) in self.active:  # a cycle: compare the object itself
            return _Identity(obj), None
        self.active.add(id(obj))
        try:
            return self.compound(obj, depth)
        finally:
            self.active.discard(id(obj))

    def sequence(self, items: Any, depth: int) -> tuple[tuple, list]:
        pairs = [self(item, depth + 1) for item in items]
        return tuple(k for k, _ in pairs), [b for _, b in pairs]

    def compound(self, obj: Any, depth: int) -> tuple[Any, Callable | None]:
        kind = type(obj)
        if isinstance(obj, (tuple, list)):
            keys, builds = self.sequence(obj, depth)
            make = (lambda items: kind(*items)) if hasattr(obj, "_fields") else kind
            return (kind, keys), _rebuild_items(obj, builds, make)
        if isinstance(obj, dict):
            keys, builds = self.sequence(obj.values(), depth)
            names = tuple(obj)
            return (kind, names, keys), _rebuild_items(
                list(obj.values()), builds, lambda items: kind(zip(names, items))
            )
        if isinstance(obj, types.FunctionType):
            return self.function(obj, depth)
        if isinstance(obj, types.MethodType):
            self_key, self_build = self(obj.__self__, depth + 1)
            func = obj.__func__
            return ("method", _Identity(func), self_key), (
                None if self_build is None else lambda values: types.MethodType(func, self_build(values))
            )
        if isinstance(obj, functools.partial):
            keys, builds = self.sequence((obj.func, obj.args, obj.keywords), depth)
            return (kind, keys), _rebuild_items(
                [obj.func, obj.args, obj.keywords], builds, lambda items: kind(items[0], *items[1], **items[2])
            )
        if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
            names = tuple(f.name for f in dataclasses.fields(obj))
            keys, builds = self.sequence((getattr(obj, n) for n in names), depth)
            return (kind, names, keys), _rebuild_items(
                [getattr(obj, n) for n in names], builds, lambda items: _replace_fields(obj, names, items)
            )
        if not _is_library(type(kind).__module__ if isinstance(obj, type) else kind.__module__) and hasattr(obj, "__dict__"):
            # An object of the user's own class: its attributes are what it is (compared,
            # never lifted).
            return (kind, self(vars(obj), depth + 1, lift=False)[0]), None
        try:
            hash(obj)
        except TypeError:
            return _Identity(obj), None
        return obj, None

    def function(self, fn: types.FunctionType, depth: int) -> tuple[Any, Callable | None]:
        if _is_library_function(fn):
            return fn, None
        code, scope = fn.__code__, fn.__globals__
        # The values of the globals the code reads are part of what it computes; they are
        # compared, never lifted (a rebuilt function shares its module's globals).
        global_keys = tuple(
            (name, self(scope[name], depth + 1, lift=False)[0]) for name in _global_names(code) if name in scope
        )
        cells = fn.__closure__ or ()
        contents = []
        for cell in cells:
            try:
                contents.append(cell.cell_contents)
            except ValueError:  # an empty cell (a name assigned after the closure was made)
                contents.append(_EMPTY)
        cell_keys, cell_builds = self.sequence(contents, depth)
        defaults_key, defaults_build = self(fn.__defaults__, depth + 1)
        kwdefaults_key, kwdefaults_build = self(fn.__kwdefaults__, depth + 1)
        key = ("function", code, _Identity(scope), global_keys, cell_keys, defaults_key, kwdefaults_key)
        if all(b is None for b in (*cell_builds, defaults_build, kwdefaults_build)):
            return key, None

        def rebuild(values):
            new_cells = tuple(
                cell if build is None else types.CellType(build(values)) for cell, build in zip(cells, cell_builds)
            )
            new = types.FunctionType(
                code, scope, fn.__name__,
                fn.__defaults__ if defaults_build is None else defaults_build(values), new_cells,
            )
            new.__kwdefaults__ = fn.__kwdefaults__ if kwdefaults_build is None else kwdefaults_build(values)
            new.__dict__.update(fn.__dict__)
            new.__qualname__ = fn.__qualname__
            return new

        return key, rebuild


_EMPTY = object()


def _rebuild_items(items: list, builds: list, make: Callable) -> Callable | None:
    if all(b is None for b in builds):
        return None
    return lambda values: make([item if b is None else b(values) for item, b in zip(items, builds)])


def _replace_fields(obj: Any, names: tuple[str, ...], items: list) -> Any:
    new = copy.copy(obj)
    for name, item in zip(names, items):
        object.__setattr__(new, name, item)
    return new


def config_key(obj: Any) -> Any:
    """A hashable key, equal for objects that compute the same thing with the same numbers.

    Two closures made by the same code with equal captured values, reading equal globals,
    have equal keys; floats are compared by value, arrays by identity. A structure too
    large to walk gets a key equal only to itself.
    """
    try:
        return _Walker(lift=False)(obj)[0]
    except _TooLarge:
        return _Identity(object())


# ------------------------------------------------ descriptions valid in every process


class _Unstable(Exception):
    """A part of a key that has no description valid in another process."""


def _root_version(module_name: str) -> str:
    root = module_name.split(".")[0]
    if root == "jaxnn":
        return source_version()
    if root in sys.stdlib_module_names or root == "builtins":
        return sys.version
    version = getattr(sys.modules.get(root), "__version__", None)
    if not isinstance(version, str):
        raise _Unstable(f"package {root} has no version")
    return version


@functools.lru_cache(maxsize=1)
def source_version() -> str:
    """jaxnn's code as a version: its source files' paths, sizes and modification times hashed
    (an edited checkout gets a new one; the package's version string would not change)."""
    base = pathlib.Path(__file__).resolve().parent
    h = hashlib.sha256()
    for path in sorted(base.rglob("*.py")):
        st = path.stat()
        h.update(f"{path.relative_to(base)}:{st.st_size}:{st.st_mtime_ns};".encode())
    return h.hexdigest()


def _named(obj: Any) -> str:
    """A class, function or module of a library (or jaxnn), by name and package version."""
    module = obj.__name__ if isinstance(obj, types.ModuleType) else getattr(obj, "__module__", None)
    qualname = "" if isinstance(obj, types.ModuleType) else getattr(obj, "__qualname__", "")
    if not isinstance(module, str) or "<" in qualname:
        raise _Unstable(f"{obj!r} has no stable name")
    return f"{module}:{qualname}@{_root_version(module)}"


def _code(code: types.CodeType) -> tuple:
    consts = tuple(_code(c) if isinstance(c, types.CodeType) else _const(c) for c in code.co_consts)
    return ("code", code.co_filename, code.co_qualname, code.co_firstlineno, code.co_code.hex(), consts,
            code.co_names, code.co_varnames, code.co_freevars, code.co_cellvars, code.co_flags, code.co_argcount,
            code.co_kwonlyargcount)


def _const(c: Any) -> Any:
    if isinstance(c, (tuple, frozenset)):
        items = [_const(i) for i in c]
        return (type(c).__name__, sorted(map(repr, items)) if isinstance(c, frozenset) else items)
    return _plain(c)


def _plain(c: Any) -> str:
    if c is None or type(c) in (bool, int, str, bytes, complex, type(Ellipsis)):
        return f"{type(c).__name__}:{c!r}"
    if type(c) is float:
        return f"float:{c.hex()}"
    raise _Unstable(f"constant {type(c).__name__}")


def _user_class(cls: type) -> tuple:
    """A class of the user's own code: its name and the code of everything defined in it."""
    parts = []
    for name, attr in sorted(vars(cls).items()):
        if isinstance(attr, (staticmethod, classmethod)):
            attr = attr.__func__
        if isinstance(attr, property):
            attr = attr.fget
        if isinstance(attr, types.FunctionType):
            # The values of the globals a method reads are part of what it computes.
            scope = attr.__globals__
            read = tuple((g, _describe(scope[g])) for g in _global_names(attr.__code__) if g in scope)
            parts.append((name, _code(attr.__code__), read))
        elif name not in ("__dict__", "__weakref__", "__module__", "__doc__", "__qualname__",
                          "__dataclass_fields__", "__dataclass_params__", "__match_args__"):
            parts.append((name, _describe(attr)))
    bases = tuple(_describe(b) for b in cls.__bases__)
    return ("class", cls.__module__, cls.__qualname__, bases, tuple(parts))


def _describe(part: Any) -> Any:
    """A description of one part of a configuration key built only of strings and tuples."""
    kind = type(part)
    if part is None or kind in (bool, int, str, bytes, complex, float, type(Ellipsis)):
        return _plain(part)
    if isinstance(part, (tuple, list)):
        return (kind.__name__, tuple(_describe(p) for p in part))
    if isinstance(part, dict):
        return ("dict", tuple((_describe(k), _describe(v)) for k, v in part.items()))
    if isinstance(part, _Key):
        return _describe(part.parts)
    if isinstance(part, types.CodeType):
        return _code(part)
    if isinstance(part, _Identity):
        return _identity(part.obj)
    if isinstance(part, type):
        if _is_library(part.__module__):
            return ("type", _named(part))
        return _user_class(part)
    if isinstance(part, (types.ModuleType, types.FunctionType, types.BuiltinFunctionType)):
        if isinstance(part, types.FunctionType) and not _is_library_function(part):
            raise _Unstable(f"function {part.__qualname__} outside a library")
        return ("named", _named(part))
    if isinstance(part, np.dtype):
        return ("dtype", str(part))
    if isinstance(part, np.ufunc):
        return ("ufunc", part.__name__)
    if isinstance(part, enum.Enum):
        return ("enum", _describe(type(part)), part.name)
    wrapped = getattr(part, "__wrapped__", None)
    if wrapped is not None and _is_library(kind.__module__):  # jax.jit-wrapped library functions
        return ("wrapped", _named(kind), _describe(wrapped))
    if dataclasses.is_dataclass(part) and _is_library(kind.__module__) and kind.__hash__ is not None:
        return ("dataclass", _named(kind), tuple(_describe(getattr(part, f.name)) for f in dataclasses.fields(part)))
    raise _Unstable(f"{kind.__qualname__} object")


def _identity(obj: Any) -> Any:
    if isinstance(obj, dict) and isinstance(obj.get("__name__"), str):
        module = sys.modules.get(obj["__name__"])
        if module is not None and vars(module) is obj:  # a module's globals
            return ("globals", obj["__name__"])
    if isinstance(obj, types.FunctionType) and _is_library(obj.__module__) and "<" not in obj.__qualname__:
        return ("named", _named(obj))
    raise _Unstable(f"{type(obj).__qualname__} compared by identity")


def describe(key: Any) -> str | None:
    """A SHA-256 of ``key``'s description, the same in every process; ``None`` when there is none."""
    try:
        text = repr(_describe(key))
    except (_Unstable, RecursionError):
        return None
    return hashlib.sha256(text.encode()).hexdigest()


class Lifted:
    """An object split into its program key and its float/array values (see :func:`lift`).

    Attributes:
      key: hashable; equal for objects that differ at most in their float and array values
        (arrays of the same shape and dtype).
      values: the lifted values, in a fixed order (Python floats and arrays).
      rebuild: ``rebuild(values) -> object`` with those values put back (traced ones
        inside a compiled program); the original object when nothing was lifted.
    """

    __slots__ = ("key", "values", "_rebuild", "original")

    def __init__(self, key: Any, values: list, rebuild: Callable | None, original: Any) -> None:
        self.key, self.values, self._rebuild, self.original = key, values, rebuild, original

    def rebuild(self, values: list) -> Any:
        """The object with ``values`` in place of the lifted ones."""
        return self.original if self._rebuild is None else self._rebuild(values)


class _Key:
    """A walked key with its hash computed once (keys are deep tuples, hashed often)."""

    __slots__ = ("parts", "hash")

    def __init__(self, parts: Any) -> None:
        self.parts, self.hash = parts, hash(parts)

    def __eq__(self, other: object) -> bool:
        return self is other or (isinstance(other, _Key) and self.hash == other.hash and self.parts == other.parts)

    def __hash__(self) -> int:
        return self.hash


_LIFTED: collections.OrderedDict = collections.OrderedDict()
_LIFTED_LOCK = threading.Lock()  # lift may be called from several threads


def lift(obj: Any) -> Lifted:
    """Splits ``obj`` into a program key, its float and array values, and a rebuilder.

    The same object passed again is not walked again (a small cache by identity, holding
    the object): like ``jax.jit``, it assumes an object does not change what it computes
    between calls.
    """
    with _LIFTED_LOCK:
        hit = _LIFTED.get(id(obj))
        if hit is not None and hit.original is obj:
            _LIFTED.move_to_end(id(obj))
            return hit
    walker = _Walker(lift=True)
    try:
        key, rebuild = walker(obj)
        lifted = Lifted(_Key(key), walker.values, rebuild, obj)
    except _TooLarge:
        lifted = Lifted(_Identity(object()), [], None, obj)
    with _LIFTED_LOCK:
        _LIFTED[id(obj)] = lifted
        _LIFTED.move_to_end(id(obj))
        while len(_LIFTED) > 64:
            _LIFTED.popitem(last=False)
    return lifted


def frozen(obj: Any) -> Lifted:
    """``obj`` with nothing lifted: its key compares float values too (a fallback)."""
    return Lifted(_Key(config_key(obj)), [], None, obj)
