"""Compiled programs, cached on what they compute (see :mod:`jaxnn._structure`)."""

from __future__ import annotations

import collections
import functools
import threading
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import optax

from jaxnn import _structure
from jaxnn.train._types import LossFn, MetricFn

PROGRAMS: collections.OrderedDict = collections.OrderedDict()
_PROGRAMS_MAX = 64
# fit and sweep may be called from several threads (the demo runs two examples at once):
# the cache's bookkeeping is done under a lock; building a program is not.
_LOCK = threading.Lock()
_PROBES: dict = {}


def cached_program(key: Any, build: Callable[[], Callable]) -> Callable:
    """The compiled program for ``key`` (built once; least recently used ones dropped)."""
    with _LOCK:
        program = PROGRAMS.get(key)
        if program is not None:
            PROGRAMS.move_to_end(key)
            return program
    program = build()
    with _LOCK:
        program = PROGRAMS.setdefault(key, program)  # a thread that built it first wins
        PROGRAMS.move_to_end(key)
        while len(PROGRAMS) > _PROGRAMS_MAX:
            PROGRAMS.popitem(last=False)
    return program


def call_with(fn, *args):
    return fn(*args)


def one_update(optimizer, params):
    return optimizer.update(params, optimizer.init(params), params)


def lift_and_probe(obj: Any, use: Callable, *specs: tuple) -> tuple[_structure.Lifted, Any]:
    """``obj`` lifted (its floats and arrays as arguments) and ``use(obj, *args)``'s shape.

    ``use`` is traced abstractly with the lifted values traced. Where that fails (code that
    branches in Python on a captured float, say), ``obj`` is kept whole: its floats are
    then part of the program's key and a new value compiles a new program, as ``jax.jit``
    would. Errors of the user's code surface here, from the untouched object, before any
    compiling. Results are cached on the program key and the argument shapes.
    """
    lifted = _structure.lift(obj)
    cache_key = (lifted.key, use, specs)
    hit = _PROBES.get(cache_key)
    if hit is None:
        args = [jax.tree.unflatten(treedef, [jax.ShapeDtypeStruct(s, d) for s, d in leaves]) for treedef, leaves in specs]
        mode = "frozen"
        if lifted.values:
            try:
                out = jax.eval_shape(lambda values, *a: use(lifted.rebuild(values), *a), lifted.values, *args)
                mode = "lifted"
            except Exception:  # noqa: BLE001 - any failure: fall back to the object as it is
                pass
        if mode == "frozen":
            out = jax.eval_shape(functools.partial(use, obj), *args)
        if len(_PROBES) > 1024:
            _PROBES.clear()
        hit = _PROBES[cache_key] = (mode, out)
    mode, out = hit
    return (lifted if mode == "lifted" else _structure.frozen(obj)), out


class Engine(NamedTuple):
    """The static configuration of one compiled training program (hashable)."""

    loss: Any
    optimizer: Any
    metrics: tuple
    n: int
    batch_size: int
    shuffle: bool
    has_val: bool
    monitor: str | None  # early stopping's quantity, None without early stopping
    mode: str
    guard: bool
    batch_sharding: Any = None
    reference: str = "improvement"  # early stopping's reference (EarlyStopping.reference)


class Parts(NamedTuple):
    """The lifted loss, optimizer and metrics of a run; rebuilt inside the program."""

    loss: _structure.Lifted
    optimizer: _structure.Lifted
    metrics: dict[str, _structure.Lifted]

    def values(self) -> dict[str, Any]:
        return {
            "loss": self.loss.values,
            "optimizer": self.optimizer.values,
            "metrics": {name: m.values for name, m in self.metrics.items()},
        }

    def rebuild(self, values: dict[str, Any]) -> tuple[LossFn, optax.GradientTransformation, dict[str, MetricFn]]:
        return (
            self.loss.rebuild(values["loss"]),
            self.optimizer.rebuild(values["optimizer"]),
            {name: m.rebuild(values["metrics"][name]) for name, m in self.metrics.items()},
        )
