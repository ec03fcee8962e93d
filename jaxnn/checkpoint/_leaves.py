"""Leaves of a checkpoint: the dtype allow-list, host copies, checksums, and back to JAX.

A leaf is stored as its C-order, little-endian bytes. Dtypes a tensor format has no code
for (``bfloat16`` and the other ``ml_dtypes``, and ``complex128`` in safetensors) are
stored as raw ``uint8`` bytes and viewed back to the recorded dtype on load.
"""

from __future__ import annotations

import hashlib
import math
from typing import Any

import jax
import jax.numpy as jnp
import ml_dtypes
import numpy as np

from jaxnn.checkpoint._errors import CheckpointError

__all__ = [
    "ALLOWED_DTYPES",
    "NATIVE_DTYPES",
    "PYTHON_SCALARS",
    "decode",
    "describe",
    "encode",
    "python_kind",
    "resolve_dtype",
    "sha256",
    "to_jax",
]

# Dtypes a checkpoint may contain. Names read from a file are resolved only
# through this table, so a file can never ask for an object or void dtype.
_NUMPY_DTYPES = (
    "bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32",
    "uint64", "float16", "float32", "float64", "complex64", "complex128",
)  # fmt: skip
_ML_DTYPES = (
    "bfloat16", "float8_e3m4", "float8_e4m3", "float8_e4m3b11fnuz",
    "float8_e4m3fn", "float8_e4m3fnuz", "float8_e5m2", "float8_e5m2fnuz",
    "float8_e8m0fnu", "float4_e2m1fn", "int2", "int4", "uint2", "uint4",
)  # fmt: skip
ALLOWED_DTYPES: dict[str, np.dtype] = {name: np.dtype(name) for name in _NUMPY_DTYPES}
ALLOWED_DTYPES.update(
    {name: np.dtype(getattr(ml_dtypes, name)) for name in _ML_DTYPES if hasattr(ml_dtypes, name)}
)
# Dtypes each format stores natively; the rest are stored as raw uint8 bytes.
NATIVE_DTYPES = {
    "safetensors": frozenset(_NUMPY_DTYPES) - {"complex128"},
    "npz": frozenset(_NUMPY_DTYPES),
}
PYTHON_SCALARS = {"bool": bool, "int": int, "float": float, "complex": complex}
# Leaves stored as arrays. np.float64 and np.complex128 subclass float and complex, so
# NumPy scalars are recognised before Python ones.
_ARRAY_TYPES = (jax.Array, np.ndarray, np.generic)


def describe(path: str) -> str:
    """A key path as messages show it (the empty path is the root)."""
    return path or "the root"


def python_kind(leaf: Any) -> str | None:
    """``"bool"``/``"int"``/``"float"``/``"complex"`` for a Python scalar, else ``None``."""
    if isinstance(leaf, _ARRAY_TYPES):
        return None
    name = type(leaf).__name__
    return name if PYTHON_SCALARS.get(name) is type(leaf) else None


def _host_array(where: str, leaf: Any) -> np.ndarray:
    if isinstance(leaf, jax.Array):
        if jnp.issubdtype(leaf.dtype, jax.dtypes.prng_key):
            raise ValueError(
                f"leaf at {where} is a typed PRNG key array; save "
                "jax.random.key_data(key) and rebuild it with jax.random.wrap_key_data."
            )
        if not leaf.is_fully_addressable:
            raise ValueError(
                f"leaf at {where} is sharded across processes; gather it first, e.g. with "
                "jax.experimental.multihost_utils.process_allgather, and save from one process."
            )
        return np.asarray(leaf)
    if isinstance(leaf, _ARRAY_TYPES):
        return np.asarray(leaf)
    if isinstance(leaf, (bool, int, float, complex)):  # a subclass such as IntEnum
        raise ValueError(
            f"leaf at {where} has type {type(leaf).__name__}; pass a plain "
            "bool/int/float/complex or an array."
        )
    raise ValueError(
        f"leaf at {where} has type {type(leaf).__name__}; checkpoints store arrays and "
        "Python bool/int/float/complex leaves only. Convert it with np.asarray or keep it "
        "out of the saved tree (e.g. in `config`)."
    )


def encode(path: str, leaf: Any) -> tuple[np.ndarray, str | None]:
    """Host copy of a leaf (C-contiguous, little-endian) and its Python scalar kind.

    Args:
      path: the leaf's key path (``jax.tree_util.keystr``), for messages.
      leaf: an array (``jax.Array``, ``np.ndarray``, NumPy scalar) or a Python scalar.

    Returns:
      ``(array, kind)``: ``kind`` is :func:`python_kind` of the leaf.

    Raises:
      ValueError: the leaf's type or dtype cannot be stored; the message names ``path``.
    """
    where = describe(path)
    python = python_kind(leaf)
    if python is None:
        arr = _host_array(where, leaf)
    else:
        try:
            arr = np.asarray(leaf)
        except OverflowError as e:
            raise ValueError(f"integer leaf at {where} does not fit in int64: {leaf}") from e
    if arr.dtype.byteorder == ">":  # byte order is storage, not value: store little-endian
        arr = arr.astype(arr.dtype.newbyteorder("<"))
    if arr.dtype.name not in ALLOWED_DTYPES or arr.dtype != ALLOWED_DTYPES[arr.dtype.name]:
        raise ValueError(
            f"leaf at {where} has dtype {arr.dtype}; checkpoints store numeric dtypes only "
            f"({', '.join(ALLOWED_DTYPES)})."
        )
    # Not np.ascontiguousarray: it turns 0-d arrays into shape (1,).
    return (arr if arr.flags.c_contiguous else arr.copy(order="C")), python


def sha256(arr: np.ndarray) -> str:
    """Hex SHA-256 of an array's C-order bytes."""
    return hashlib.sha256(arr.tobytes(order="C")).hexdigest()


def resolve_dtype(name: Any) -> np.dtype:
    """The allowed dtype a file names, or :class:`CheckpointError`."""
    if not isinstance(name, str) or name not in ALLOWED_DTYPES:
        raise CheckpointError(f"checkpoint metadata names an unsupported dtype {name!r}")
    return ALLOWED_DTYPES[name]


def decode(file: str, record: dict[str, Any], stored: np.ndarray, file_format: str) -> np.ndarray:
    """Checks a stored tensor against its record (dtype, shape, SHA-256) and decodes it.

    Args:
      file: the checkpoint's name, for messages.
      record: the leaf's metadata record (``dtype``, ``shape``, ``path``, ``sha256``).
      stored: the tensor as the file format returned it.
      file_format: ``"safetensors"`` or ``"npz"``.

    Returns:
      The leaf's array with its recorded dtype and shape.

    Raises:
      CheckpointError: the tensor's dtype or shape differs from the record, or its bytes
        fail the checksum.
    """
    dtype, shape = resolve_dtype(record["dtype"]), tuple(record["shape"])
    where = describe(record["path"])
    native = record["dtype"] in NATIVE_DTYPES[file_format]
    if native:
        want_dtype, want_shape = dtype, shape
    else:  # raw bytes of a dtype the format has no code for
        want_dtype, want_shape = np.dtype(np.uint8), (math.prod(shape) * dtype.itemsize,)
    if stored.dtype != want_dtype or stored.shape != want_shape:
        raise CheckpointError(
            f"checkpoint {file!r} is corrupted: leaf {where} is stored as {stored.dtype}"
            f"{list(stored.shape)} but its metadata says {want_dtype}{list(want_shape)}"
        )
    if sha256(stored) != record["sha256"]:
        raise CheckpointError(f"checkpoint {file!r} is corrupted: leaf {where} fails its SHA-256 checksum")
    return stored if native else stored.view(dtype).reshape(shape)


def to_jax(path: str, arr: np.ndarray, python: str | None) -> Any:
    """A decoded leaf as the user gets it: a Python scalar of its kind, else a ``jax.Array``.

    Raises:
      CheckpointError: a 64-bit array while ``jax_enable_x64`` is off (JAX would narrow it).
    """
    if python is not None:
        return PYTHON_SCALARS[python](arr.item())
    if jax.dtypes.canonicalize_dtype(arr.dtype) != arr.dtype:
        raise CheckpointError(
            f"leaf at {describe(path)} has dtype {arr.dtype}, which JAX would narrow to "
            f"{jax.dtypes.canonicalize_dtype(arr.dtype)} because 64-bit types are disabled; "
            'enable them first with jax.config.update("jax_enable_x64", True).'
        )
    return jnp.asarray(arr)
