"""The type aliases shared by the package."""

from __future__ import annotations

from typing import Any

PyTree = Any
"""A pytree in ``jax.tree_util``'s sense: nested dicts, lists, tuples and NamedTuples of arrays."""

Params = PyTree
"""A model's parameters, a pytree of arrays (e.g. ``[{"w": [in, out], "b": [out]}, ...]``)."""
