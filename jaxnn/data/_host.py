"""Host-side helpers shared by the data functions: arrays kept as given, keys as NumPy generators."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxnn._checks import check_key


def is_traced(x: Any) -> bool:
    return isinstance(x, jax.core.Tracer)


def as_array(x: Any, name: str) -> np.ndarray | jax.Array:
    """Keeps NumPy and JAX arrays as they are; turns anything else into a NumPy array."""
    if isinstance(x, (np.ndarray, jax.Array)):
        return x
    if x is None:
        raise ValueError(f"{name} is None; pass an array with a leading sample axis")
    return np.asarray(x)


def host_rng(key: Any) -> np.random.Generator:
    """A NumPy generator seeded by the key's bits (checked to be a PRNG key).

    Shuffling indices is host work: seeding NumPy's PCG64 with the key's words
    (through ``SeedSequence``) is deterministic per key, gives independent streams for
    split keys, and avoids compiling a ``jax.random.permutation`` for every data size.
    """
    check_key(key)
    typed = jax.dtypes.issubdtype(key.dtype, jax.dtypes.prng_key)
    bits = jax.random.key_data(key) if typed else key
    return np.random.default_rng(np.asarray(bits, dtype=np.uint32).ravel().tolist())


def take(a: Any, idx: np.ndarray) -> Any:
    return a[jnp.asarray(idx)] if isinstance(a, jax.Array) else a[idx]
