"""Safe, atomic checkpoints for any pytree of arrays (params, Optax states).

A checkpoint is one file holding every array leaf of a pytree plus a JSON
description of the tree, written in a tensor format that never unpickles:

* ``safetensors`` (the ecosystem's choice) when the ``safetensors`` package is
  installed (``pip install 'jaxnn[checkpoint]'``);
* otherwise NumPy ``.npz``, always read with ``allow_pickle=False``.

The format is recognised from the file's first bytes, not from its name, so
``load`` reads either kind. Example::

    import optax
    from jaxnn import checkpoint

    optimizer = optax.adam(1e-3)
    state = {"params": params, "opt_state": optimizer.init(params), "epoch": 3}
    checkpoint.save("run.ckpt", state, config={"sizes": [2, 16, 1]})
    template = {"params": params, "opt_state": optimizer.init(params), "epoch": 0}
    state = checkpoint.load("run.ckpt", template=template)
    checkpoint.load_metadata("run.ckpt").config  # {'sizes': [2, 16, 1]}

What is stored, inside the file:

* every leaf's bytes, exactly (bit-exact round trip, NaN payloads and ``-0.0``
  included), with its dtype, shape, key path and SHA-256 checksum. Dtypes the
  tensor format has no code for (``bfloat16`` and the other ``ml_dtypes``, and
  ``complex128`` in safetensors) are stored as their raw bytes (``uint8``) and
  viewed back to the recorded dtype on load;
* the tree structure as JSON: dicts (``str`` or ``int`` keys), lists, tuples,
  ``NamedTuple`` s (type name and field names) and ``None``;
* the format version, the jaxnn version and an optional user ``config``
  (a JSON-serialisable dict, e.g. model hyperparameters).

How the tree comes back:

* With ``template`` (recommended for optimizer states): the template's exact
  tree type, NamedTuples and custom pytree nodes included. The checkpoint must
  match the template's structure, and every leaf its shape and dtype, or
  :class:`CheckpointError` names the first differing key path.
* Without ``template``: dicts, lists, tuples and ``None`` are rebuilt as they
  were (enough for params). A ``NamedTuple`` (every Optax state) or a custom
  pytree node cannot be rebuilt without its class, and this module never imports
  classes named by a file, so loading one without a template raises
  :class:`CheckpointError` naming its key path and the fix (pass ``template=``).
  Rebuilding it as a ``dict`` instead would only move the failure to the first
  use, e.g. a ``fit(..., opt_state=...)`` that expects the optimizer's types.

Leaves come back as ``jax.Array`` with the stored dtype; leaves that were
Python ``bool``/``int``/``float``/``complex`` come back as those Python types.
NumPy scalars come back as 0-d ``jax.Array``. A 64-bit leaf (``float64``,
``int64``, ...) needs ``jax_enable_x64``: loading it without raises rather than
silently narrowing it.

Writes are atomic: the file is written to a temporary name in the target
directory (``.<name>.<16 hex digits>.tmp``), flushed and ``fsync`` ed, then moved
over the final name with ``os.replace``. A crash mid-save leaves the previous
checkpoint intact; the temporary file is removed on any exception. A process
killed mid-save (``kill -9``, power loss) cannot remove its temporary file, so
the next successful save to the same path removes such leftovers: temporary
siblings of that path older than the current write that no live writer holds.

Files are byte-reproducible: the same tree and ``config`` give the same bytes
on every save (the safetensors header is written with sorted keys; ``config``
keeps the caller's key order).

Loading treats the file as untrusted: nothing is unpickled, every dtype is
checked against an allow-list, and an ``.npz`` whose zip directory declares far
more content than the file could hold uncompressed (a "zip bomb"), or a leaf
larger than the metadata says, is refused before anything is inflated.
"""

from __future__ import annotations

import dataclasses
import errno
import hashlib
import io
import json
import math
import os
import pathlib
import secrets
import time
import types
import zipfile
import zlib
from collections.abc import Callable, Mapping
from typing import Any, BinaryIO, Literal

import jax
import jax.numpy as jnp
import ml_dtypes
import numpy as np

from jaxnn._version import __version__ as _JAXNN_VERSION

__all__ = [
    "CheckpointError",
    "CheckpointMetadata",
    "load",
    "load_metadata",
    "save",
]

# Bumped whenever the on-disk layout changes; load refuses newer versions.
_FORMAT_VERSION = 1
_FORMAT_NAME = "jaxnn.checkpoint"
# Metadata keys: in the safetensors header's str->str metadata, or as 0-d
# unicode members of the .npz archive.
_META_KEY = "jaxnn.checkpoint"
_META_SHA_KEY = "jaxnn.checkpoint.sha256"
_ZIP_MAGIC = b"PK\x03\x04"
# save writes .npz members stored (uncompressed), so each inflates to its stored size. A
# file someone recompressed may inflate somewhat more; one whose zip directory declares
# more than this many times its own size (plus a little for tiny files) is refused before
# anything is inflated: a 1 MB file that claims 1 GiB would otherwise cost that memory.
_NPZ_MAX_INFLATION = 64
_NPZ_INFLATION_SLACK = 1 << 20
# Longest .npy header a member may add to its data (numpy refuses longer headers too).
_NPY_MAX_HEADER = 1 << 16
# Temporary files of _atomic_write: f".{target.name}.{_TMP_TOKEN_BYTES * 2 hex}.tmp".
_TMP_TOKEN_BYTES = 8
_INSTALL_HINT = "install it with `pip install 'jaxnn[checkpoint]'` (or `pip install safetensors`)"

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
_ALLOWED_DTYPES: dict[str, np.dtype] = {name: np.dtype(name) for name in _NUMPY_DTYPES}
_ALLOWED_DTYPES.update(
    {name: np.dtype(getattr(ml_dtypes, name)) for name in _ML_DTYPES if hasattr(ml_dtypes, name)}
)
# Dtypes each format stores natively; the rest are stored as raw uint8 bytes.
_NATIVE_DTYPES = {
    "safetensors": frozenset(_NUMPY_DTYPES) - {"complex128"},
    "npz": frozenset(_NUMPY_DTYPES),
}
_PYTHON_SCALARS = {"bool": bool, "int": int, "float": float, "complex": complex}


class CheckpointError(ValueError):
    """A checkpoint file is corrupted, truncated, not a jaxnn checkpoint, or
    does not match the template it is loaded into."""


@dataclasses.dataclass(frozen=True)
class CheckpointMetadata:
    """What a checkpoint holds, read without loading its arrays.

    Attributes:
        file_format: ``"safetensors"`` or ``"npz"``.
        format_version: Version of the jaxnn checkpoint layout.
        jaxnn_version: Version of jaxnn that wrote the file.
        config: The ``config`` given to :func:`save`, or ``None``.
        paths: Key path of every leaf (``jax.tree_util.keystr`` notation), in
            ``jax.tree_util.tree_leaves`` order.
        shapes: Shape of every leaf, same order.
        dtypes: Dtype name of every leaf, same order.
    """

    file_format: str
    format_version: int
    jaxnn_version: str
    config: dict[str, Any] | None
    paths: tuple[str, ...]
    shapes: tuple[tuple[int, ...], ...]
    dtypes: tuple[str, ...]


# --------------------------------------------------------------------------- #
# Tree structure <-> JSON
# --------------------------------------------------------------------------- #


def _is_namedtuple(node: Any) -> bool:
    return isinstance(node, tuple) and hasattr(type(node), "_fields")


def _is_array_leaf(node: Any, *, allow_abstract: bool) -> bool:
    if isinstance(node, (jax.Array, np.ndarray, np.generic, bool, int, float, complex)):
        return True
    return allow_abstract and isinstance(node, jax.ShapeDtypeStruct)


def _one_level_children(node: Any) -> list[Any]:
    """Children of a registered pytree node, in jax's flattening order."""
    return jax.tree_util.tree_leaves(node, is_leaf=lambda x: x is not node)


def _encode_structure(
    node: Any, path: str, leaves: list[tuple[str, Any]], *, allow_abstract: bool = False
) -> dict[str, Any]:
    """JSON description of ``node``; appends ``(path, leaf)`` in jax leaf order."""
    if _is_array_leaf(node, allow_abstract=allow_abstract):
        leaves.append((path, node))
        return {"t": "leaf"}
    if node is None:
        return {"t": "none"}
    if type(node) is dict:  # noqa: E721 -- OrderedDict/defaultdict are other pytree types
        for key in node:
            if type(key) not in (str, int):
                raise ValueError(
                    f"dict key {key!r} at {path or 'the root'} has type {type(key).__name__}; "
                    "checkpoints support str and int dict keys only. Rename the key."
                )
        # jax flattens dicts in sorted key order; follow it so leaf indices agree.
        try:
            keys = sorted(node)
        except TypeError as e:
            raise ValueError(
                f"dict at {path or 'the root'} mixes key types ({list(node)}); JAX sorts dict "
                "keys and cannot sort these. Use keys of one type."
            ) from e
        children = [
            _encode_structure(node[k], f"{path}[{k!r}]", leaves, allow_abstract=allow_abstract)
            for k in keys
        ]
        return {"t": "dict", "keys": keys, "c": children}
    if _is_namedtuple(node):
        fields = list(type(node)._fields)
        children = [
            _encode_structure(v, f"{path}.{f}", leaves, allow_abstract=allow_abstract)
            for f, v in zip(fields, node)
        ]
        name = type(node).__qualname__
        return {"t": "namedtuple", "name": name, "fields": fields, "c": children}
    if type(node) in (list, tuple):
        children = [
            _encode_structure(v, f"{path}[{i}]", leaves, allow_abstract=allow_abstract)
            for i, v in enumerate(node)
        ]
        return {"t": type(node).__name__, "c": children}
    treedef = jax.tree_util.tree_structure(node)
    if jax.tree_util.treedef_is_leaf(treedef):
        what = "array, ShapeDtypeStruct" if allow_abstract else "array"
        raise ValueError(
            f"leaf at {path or 'the root'} has type {type(node).__name__}; checkpoints store "
            f"{what} and Python bool/int/float/complex leaves only. Convert it with "
            "np.asarray or keep it out of the saved tree (e.g. in `config`)."
        )
    # Any other registered pytree node (a custom class, OrderedDict, ...).
    children = [
        _encode_structure(v, f"{path}[{i}]", leaves, allow_abstract=allow_abstract)
        for i, v in enumerate(_one_level_children(node))
    ]
    name = f"{type(node).__module__}.{type(node).__qualname__}"
    return {"t": "custom", "name": name, "c": children}


def _describe(struct: dict[str, Any]) -> str:
    kind = struct["t"]
    if kind == "leaf":
        return "an array leaf"
    if kind == "none":
        return "None"
    if kind == "dict":
        return f"a dict with keys {struct['keys']}"
    if kind == "namedtuple":
        return f"a NamedTuple {struct['name']}({', '.join(struct['fields'])})"
    if kind == "custom":
        return f"a pytree node {struct['name']} with {len(struct['c'])} children"
    return f"a {kind} of length {len(struct['c'])}"


def _child_path(struct: dict[str, Any], index: int) -> str:
    kind = struct["t"]
    if kind == "dict":
        return f"[{struct['keys'][index]!r}]"
    if kind == "namedtuple":
        return f".{struct['fields'][index]}"
    return f"[{index}]"


def _compare_structures(stored: dict[str, Any], wanted: dict[str, Any], path: str) -> None:
    """Raises CheckpointError at the first key path where the two differ."""
    same = stored["t"] == wanted["t"] and len(stored.get("c", ())) == len(wanted.get("c", ()))
    if same and stored["t"] == "dict":
        same = stored["keys"] == wanted["keys"]
    elif same and stored["t"] in ("namedtuple", "custom"):
        same = stored["name"] == wanted["name"] and stored.get("fields") == wanted.get("fields")
    if not same:
        raise CheckpointError(
            f"checkpoint structure does not match the template at {path or 'the root'}: "
            f"the checkpoint has {_describe(stored)} but the template has {_describe(wanted)}. "
            "Build the template with the same model and optimizer that wrote the checkpoint."
        )
    for i, (s, w) in enumerate(zip(stored.get("c", ()), wanted.get("c", ()))):
        _compare_structures(s, w, path + _child_path(stored, i))


def _first_typed_node(struct: dict[str, Any], path: str) -> tuple[dict[str, Any], str] | None:
    """The first NamedTuple or custom node (in leaf order) and its key path, or None."""
    if struct["t"] in ("namedtuple", "custom"):
        return struct, path
    for i, child in enumerate(struct.get("c", ())):
        found = _first_typed_node(child, path + _child_path(struct, i))
        if found is not None:
            return found
    return None


def _template_needed(name: str, struct: dict[str, Any], path: str) -> CheckpointError:
    what = "a NamedTuple" if struct["t"] == "namedtuple" else "a custom pytree node"
    return CheckpointError(
        f"checkpoint {name!r} holds {what} {struct['name']} at {path or 'the root'} (an "
        "optimizer state?), which the file alone cannot rebuild; pass template=, a tree of "
        "the same structure, e.g. checkpoint.load(path, template={'params': params, "
        "'opt_state': optimizer.init(params)})"
    )


def _rebuild(struct: dict[str, Any], leaves: list[Any], counter: list[int]) -> Any:
    """Rebuilds a tree of dicts, lists, tuples and None from its JSON description."""
    kind = struct["t"]
    if kind == "leaf":
        counter[0] += 1
        return leaves[counter[0] - 1]
    if kind == "none":
        return None
    children = [_rebuild(c, leaves, counter) for c in struct["c"]]
    if kind == "dict":
        return dict(zip(struct["keys"], children))
    if kind == "list":
        return children
    assert kind == "tuple", kind  # load checks for NamedTuple and custom nodes first
    return tuple(children)


def _validate_structure(struct: Any, depth: int = 0) -> int:
    """Checks a JSON structure read from a file; returns its number of leaves."""
    if depth > 500 or not isinstance(struct, dict):
        raise CheckpointError("malformed tree structure in checkpoint metadata")
    kind = struct.get("t")
    if kind == "leaf":
        return 1
    if kind == "none":
        return 0
    children = struct.get("c")
    if kind not in ("dict", "namedtuple", "list", "tuple", "custom") or not isinstance(
        children, list
    ):
        raise CheckpointError("malformed tree structure in checkpoint metadata")
    if kind == "dict":
        keys = struct.get("keys")
        if not isinstance(keys, list) or len(keys) != len(children):
            raise CheckpointError("malformed dict in checkpoint structure metadata")
        if any(type(k) not in (str, int) for k in keys) or len(set(keys)) != len(keys):
            raise CheckpointError("malformed dict keys in checkpoint structure metadata")
    if kind == "namedtuple":
        fields = struct.get("fields")
        if not isinstance(fields, list) or len(fields) != len(children):
            raise CheckpointError("malformed NamedTuple in checkpoint structure metadata")
        if not all(isinstance(f, str) for f in fields) or len(set(fields)) != len(fields):
            raise CheckpointError("malformed NamedTuple fields in checkpoint structure metadata")
    if kind in ("namedtuple", "custom") and not isinstance(struct.get("name"), str):
        raise CheckpointError("malformed type name in checkpoint structure metadata")
    return sum(_validate_structure(c, depth + 1) for c in children)


# --------------------------------------------------------------------------- #
# Leaves
# --------------------------------------------------------------------------- #


def _leaf_to_numpy(path: str, leaf: Any) -> tuple[np.ndarray, str | None]:
    """Host copy of a leaf (C-contiguous, little-endian) and its Python type."""
    where = path or "the root"
    python = None
    if isinstance(leaf, (bool, int, float, complex)):
        python = type(leaf).__name__ if type(leaf).__name__ in _PYTHON_SCALARS else None
        if python is None:  # a subclass such as IntEnum: not silently coerced
            raise ValueError(
                f"leaf at {where} has type {type(leaf).__name__}; pass a plain "
                "bool/int/float/complex or an array."
            )
        try:
            arr = np.asarray(leaf)
        except OverflowError as e:
            raise ValueError(f"integer leaf at {where} does not fit in int64: {leaf}") from e
    elif isinstance(leaf, jax.Array):
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
        arr = np.asarray(leaf)
    else:
        arr = np.asarray(leaf)
    if arr.dtype.byteorder == ">":  # byte order is storage, not value: store little-endian
        arr = arr.astype(arr.dtype.newbyteorder("<"))
    if arr.dtype.name not in _ALLOWED_DTYPES or arr.dtype != _ALLOWED_DTYPES[arr.dtype.name]:
        raise ValueError(
            f"leaf at {where} has dtype {arr.dtype}; checkpoints store numeric dtypes only "
            f"({', '.join(_ALLOWED_DTYPES)})."
        )
    # Not np.ascontiguousarray: it turns 0-d arrays into shape (1,).
    return (arr if arr.flags.c_contiguous else arr.copy(order="C")), python


def _sha256(arr: np.ndarray) -> str:
    return hashlib.sha256(arr.tobytes(order="C")).hexdigest()


def _resolve_dtype(name: Any) -> np.dtype:
    if not isinstance(name, str) or name not in _ALLOWED_DTYPES:
        raise CheckpointError(f"checkpoint metadata names an unsupported dtype {name!r}")
    return _ALLOWED_DTYPES[name]


def _to_jax(path: str, arr: np.ndarray, python: str | None) -> Any:
    if python is not None:
        return _PYTHON_SCALARS[python](arr.item())
    if jax.dtypes.canonicalize_dtype(arr.dtype) != arr.dtype:
        raise CheckpointError(
            f"leaf at {path or 'the root'} has dtype {arr.dtype}, which JAX would narrow to "
            f"{jax.dtypes.canonicalize_dtype(arr.dtype)} because 64-bit types are disabled; "
            'enable them first with jax.config.update("jax_enable_x64", True).'
        )
    return jnp.asarray(arr)


# --------------------------------------------------------------------------- #
# File formats
# --------------------------------------------------------------------------- #


def _import_safetensors() -> types.ModuleType | None:
    """Returns ``safetensors.numpy`` or ``None`` when it is not installed."""
    try:
        import safetensors.numpy  # noqa: PLC0415 -- optional dependency

        return safetensors.numpy
    except ImportError:
        return None


def _write_safetensors(f: BinaryIO, tensors: dict[str, np.ndarray], meta: dict[str, str]) -> None:
    module = _import_safetensors()
    if module is None:
        raise ImportError(f"safetensors is not installed; {_INSTALL_HINT}")
    f.write(_sorted_safetensors_header(module.save(tensors, metadata=meta)))


def _sorted_safetensors_header(raw: bytes) -> bytes:
    """The same safetensors file with its JSON header's keys sorted.

    safetensors keeps the metadata in a hash map, so its key order, and with it the
    file's bytes, change from process to process. Data offsets count from the end of the
    header, so rewriting the header leaves the tensor bytes as they are.
    """
    size = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8 : 8 + size])
    text = json.dumps(header, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    encoded = text.encode("utf-8")
    encoded += b" " * (-len(encoded) % 8)  # the format pads the header to 8 bytes with spaces
    return len(encoded).to_bytes(8, "little") + encoded + raw[8 + size :]


def _write_npz(f: BinaryIO, tensors: dict[str, np.ndarray], meta: dict[str, str]) -> None:
    members = dict(tensors)
    members.update({key: np.array(value) for key, value in meta.items()})
    np.savez(f, **members)


def _read_safetensors_header(data: bytes) -> dict[str, Any]:
    # Layout: 8-byte little-endian header length, JSON header, tensor bytes.
    size = int.from_bytes(data[:8], "little")
    if len(data) < 8 or 8 + size > len(data):
        raise CheckpointError("the safetensors header is cut short: the file is truncated")
    try:
        header = json.loads(data[8 : 8 + size].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise CheckpointError(f"the safetensors header is corrupted ({e})") from e
    if not isinstance(header, dict):
        raise CheckpointError("the safetensors header is corrupted (not a JSON object)")
    return header


def _read_safetensors_meta(data: bytes) -> dict[str, str]:
    meta = _read_safetensors_header(data).get("__metadata__")
    if not isinstance(meta, dict) or _META_KEY not in meta:
        raise CheckpointError(
            "this safetensors file is not a jaxnn checkpoint (its header has no "
            f"{_META_KEY!r} metadata); was it written by jaxnn.checkpoint.save?"
        )
    return meta


def _read_safetensors_tensors(data: bytes) -> dict[str, np.ndarray]:
    module = _import_safetensors()
    if module is None:
        raise CheckpointError(f"this checkpoint is in safetensors format; {_INSTALL_HINT}")
    try:
        return module.load(data)
    except Exception as e:  # safetensors raises its own SafetensorError type
        raise CheckpointError(f"the safetensors data is corrupted or truncated ({e})") from e


def _open_npz(data: bytes) -> Any:
    # allow_pickle=False: an object array inside the archive raises, never unpickles.
    return np.load(io.BytesIO(data), allow_pickle=False)


# zipfile raises RuntimeError (e.g. "encrypted") and NotImplementedError (an
# unknown compression method) for some corrupted headers.
_NPZ_ERRORS = (
    zipfile.BadZipFile, zlib.error, ValueError, OSError, EOFError, KeyError,
    RuntimeError, NotImplementedError,
)  # fmt: skip


def _npz_members(data: bytes) -> dict[str, zipfile.ZipInfo]:
    """The archive's members by name, refusing declared sizes no checkpoint could have.

    Reads only the zip directory: nothing is inflated. ``zipfile`` never inflates a member
    past the size the directory declares, so these sizes bound what reading can cost.
    """
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        members = archive.infolist()
    declared = sum(m.file_size for m in members)
    limit = _NPZ_MAX_INFLATION * len(data) + _NPZ_INFLATION_SLACK
    if declared > limit:
        raise CheckpointError(
            f"the .npz archive declares {declared} bytes of content in a {len(data)}-byte file "
            f"(more than {_NPZ_MAX_INFLATION}x); refusing to inflate it: it is corrupted or a "
            "zip bomb, and jaxnn writes .npz members uncompressed"
        )
    return {m.filename: m for m in members}


def _check_npz_leaf_sizes(members: dict[str, zipfile.ZipInfo], records: list[dict]) -> None:
    """Each leaf's member must declare its metadata's data size plus an .npy header."""
    for record in records:
        member = members.get(f"{record['name']}.npy")
        if member is None:
            raise CheckpointError(
                f"the .npz archive is corrupted: leaf {record['path'] or 'the root'} "
                f"({record['name']}.npy) is missing"
            )
        nbytes = math.prod(record["shape"]) * _resolve_dtype(record["dtype"]).itemsize
        if not nbytes < member.file_size <= nbytes + _NPY_MAX_HEADER:
            raise CheckpointError(
                f"the .npz archive is corrupted: leaf {record['path'] or 'the root'} declares "
                f"{member.file_size} bytes but its metadata says {nbytes} bytes of data"
            )


def _read_npz_meta(data: bytes) -> dict[str, str]:
    try:
        _npz_members(data)
        with _open_npz(data) as archive:
            if _META_KEY not in archive.files:
                raise CheckpointError(
                    "this .npz file is not a jaxnn checkpoint (it has no "
                    f"{_META_KEY!r} member); was it written by jaxnn.checkpoint.save?"
                )
            meta = {}
            for key in (_META_KEY, _META_SHA_KEY):
                value = archive[key] if key in archive.files else None
                if value is None or value.shape != () or value.dtype.kind != "U":
                    raise CheckpointError(f"the .npz member {key!r} is missing or corrupted")
                meta[key] = str(value[()])
            return meta
    except CheckpointError:
        raise
    except _NPZ_ERRORS as e:
        raise CheckpointError(f"the .npz archive is corrupted or truncated ({e})") from e


def _read_npz_tensors(data: bytes, records: list[dict]) -> dict[str, np.ndarray]:
    try:
        _check_npz_leaf_sizes(_npz_members(data), records)
        with _open_npz(data) as archive:
            names = [n for n in archive.files if n not in (_META_KEY, _META_SHA_KEY)]
            tensors = {name: archive[name] for name in names}
    except CheckpointError:
        raise
    except _NPZ_ERRORS as e:
        raise CheckpointError(f"the .npz archive is corrupted or truncated ({e})") from e
    for name, value in tensors.items():
        if not isinstance(value, np.ndarray):  # NpzFile returns a non-.npy member as bytes
            raise CheckpointError(f"the .npz archive is corrupted: member {name!r} is not an array")
    return tensors


def _detect_format(data: bytes, path: str) -> str:
    if not data:
        raise CheckpointError(f"checkpoint {path!r} is empty (an interrupted copy or write?)")
    if data.startswith(_ZIP_MAGIC):
        return "npz"
    if len(data) >= 9 and data[8:9] == b"{":
        return "safetensors"
    raise CheckpointError(
        f"{path!r} is not a jaxnn checkpoint: it is neither a safetensors nor an .npz file, "
        "or its first bytes are corrupted"
    )


def _read_file(path: str | os.PathLike[str]) -> tuple[str, bytes]:
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or os.PathLike, got {type(path).__name__}")
    name = os.fspath(path)
    try:
        with open(name, "rb") as f:
            return name, f.read()
    except FileNotFoundError:
        raise FileNotFoundError(
            errno.ENOENT, f"checkpoint file not found: {name!r}", name
        ) from None


def _parse_metadata(path: str, data: bytes) -> tuple[str, dict[str, Any]]:
    """Reads, verifies and decodes the jaxnn metadata of a checkpoint file."""
    file_format = _detect_format(data, path)
    raw = _read_safetensors_meta(data) if file_format == "safetensors" else _read_npz_meta(data)
    text, digest = raw.get(_META_KEY), raw.get(_META_SHA_KEY)
    if not isinstance(text, str) or not isinstance(digest, str):
        raise CheckpointError(f"checkpoint {path!r} has incomplete jaxnn metadata")
    if hashlib.sha256(text.encode("utf-8")).hexdigest() != digest:
        raise CheckpointError(
            f"checkpoint {path!r} is corrupted: its metadata fails the SHA-256 check"
        )
    try:
        meta = json.loads(text)
        if not isinstance(meta, dict) or meta.get("format") != _FORMAT_NAME:
            raise CheckpointError(f"{path!r} is not a jaxnn checkpoint")
        version = meta["format_version"]
        if type(version) is not int:
            raise CheckpointError(f"checkpoint {path!r} has a malformed format version")
        if version > _FORMAT_VERSION:
            raise CheckpointError(
                f"checkpoint {path!r} uses format version {version} (written by jaxnn "
                f"{meta.get('jaxnn_version')}), newer than the {_FORMAT_VERSION} this jaxnn "
                f"({_JAXNN_VERSION}) reads; upgrade jaxnn to load it."
            )
        leaves = meta["leaves"]
        if not isinstance(leaves, list) or _validate_structure(meta["structure"]) != len(leaves):
            raise CheckpointError(f"checkpoint {path!r} has inconsistent structure metadata")
        for record in leaves:
            _resolve_dtype(record["dtype"])
            shape = record["shape"]
            if not isinstance(shape, list) or not all(type(d) is int and d >= 0 for d in shape):
                raise CheckpointError(f"checkpoint {path!r} has a malformed shape {shape!r}")
            if record["python"] is not None and record["python"] not in _PYTHON_SCALARS:
                raise CheckpointError(f"checkpoint {path!r} has a malformed leaf record")
            if not all(isinstance(record[k], str) for k in ("path", "name", "sha256")):
                raise CheckpointError(f"checkpoint {path!r} has a malformed leaf record")
        if meta["config"] is not None and not isinstance(meta["config"], dict):
            raise CheckpointError(f"checkpoint {path!r} has a malformed config")
    except (KeyError, TypeError, json.JSONDecodeError, RecursionError) as e:
        raise CheckpointError(f"checkpoint {path!r} has malformed jaxnn metadata ({e!r})") from e
    return file_format, meta


# --------------------------------------------------------------------------- #
# Public API
# --------------------------------------------------------------------------- #


def save(
    path: str | os.PathLike[str],
    tree: Any,
    *,
    config: Mapping[str, Any] | None = None,
    overwrite: bool = True,
    file_format: Literal["auto", "safetensors", "npz"] = "auto",
) -> pathlib.Path:
    """Atomically writes a pytree of arrays (and optional config) to one file.

    Args:
        path: Destination file. Its directory must exist. The name is free;
            ``.safetensors`` or ``.npz`` is a good suffix for the chosen format.
        tree: Any pytree whose leaves are arrays (``jax.Array``, ``np.ndarray``,
            NumPy scalars) or Python ``bool``/``int``/``float``/``complex``:
            params, an Optax optimizer state, or a dict holding both and a step
            counter. Dict keys must be ``str`` or ``int``.
        config: Optional JSON-serialisable dict stored alongside (e.g. model
            sizes and learning rate); read back with :func:`load_metadata`.
            Tuples in it come back as lists (JSON has no tuples).
        overwrite: If ``False``, refuse to replace an existing file.
        file_format: ``"safetensors"``, ``"npz"``, or ``"auto"`` (safetensors
            when the package is installed, else npz).

    Returns:
        The path written, as a ``pathlib.Path``.

    Raises:
        ValueError: A leaf, dict key or ``config`` cannot be stored.
        ImportError: ``file_format="safetensors"`` without safetensors installed.
        FileExistsError: ``path`` exists and ``overwrite`` is ``False``.
        FileNotFoundError: The directory of ``path`` does not exist.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or os.PathLike, got {type(path).__name__}")
    if file_format not in ("auto", "safetensors", "npz"):
        raise ValueError(
            f"file_format must be 'auto', 'safetensors' or 'npz', got {file_format!r}"
        )
    if file_format == "auto":
        file_format = "safetensors" if _import_safetensors() is not None else "npz"
    elif file_format == "safetensors" and _import_safetensors() is None:
        raise ImportError(f"file_format='safetensors' needs safetensors; {_INSTALL_HINT}")
    target = pathlib.Path(os.fspath(path)).absolute()
    if not target.parent.is_dir():
        raise FileNotFoundError(
            errno.ENOENT, f"directory {str(target.parent)!r} does not exist; create it first"
        )
    if target.is_dir():
        raise IsADirectoryError(errno.EISDIR, f"{str(target)!r} is a directory, not a file")
    if not overwrite and target.exists():
        raise FileExistsError(
            errno.EEXIST, f"{str(target)!r} exists; pass overwrite=True to replace it"
        )

    if config is not None:
        if not isinstance(config, Mapping) or not all(isinstance(k, str) for k in config):
            raise ValueError(
                f"config must be a dict with str keys, got {type(config).__name__}"
            )
        try:
            config = json.loads(json.dumps(dict(config), allow_nan=False))
        except (TypeError, ValueError) as e:
            raise ValueError(
                f"config must be JSON-serialisable (str/int/float/bool/None, lists, dicts; "
                f"no NaN/inf): {e}"
            ) from e

    leaves: list[tuple[str, Any]] = []
    structure = _encode_structure(tree, "", leaves)
    # Our traversal must visit leaves exactly as jax flattens them, so that
    # the template path (jax's tree_unflatten) gets them in the right order.
    jax_leaves = jax.tree_util.tree_leaves(tree)
    if len(jax_leaves) != len(leaves) or any(a is not b for a, (_, b) in zip(jax_leaves, leaves)):
        raise ValueError("tree contains a pytree node whose leaf order could not be recorded")
    paths = [jax.tree_util.keystr(p) for p, _ in jax.tree_util.tree_flatten_with_path(tree)[0]]

    tensors: dict[str, np.ndarray] = {}
    records = []
    for index, ((my_path, leaf), path_str) in enumerate(zip(leaves, paths)):
        arr, python = _leaf_to_numpy(my_path, leaf)
        native = arr.dtype.name in _NATIVE_DTYPES[file_format]
        stored = arr if native else arr.reshape(-1).view(np.uint8)
        name = f"leaf_{index}"
        tensors[name] = stored
        records.append(
            {
                "name": name,
                "path": path_str,
                "dtype": arr.dtype.name,
                "shape": list(arr.shape),
                "python": python,
                "sha256": _sha256(stored),
            }
        )
    meta = {
        "format": _FORMAT_NAME,
        "format_version": _FORMAT_VERSION,
        "jaxnn_version": _JAXNN_VERSION,
        "config": config,
        "structure": structure,
        "leaves": records,
    }
    text = json.dumps(meta, separators=(",", ":"), allow_nan=False)
    file_meta = {_META_KEY: text, _META_SHA_KEY: hashlib.sha256(text.encode("utf-8")).hexdigest()}
    writer = _write_safetensors if file_format == "safetensors" else _write_npz
    _atomic_write(target, lambda f: writer(f, tensors, file_meta))
    return target


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


def _remove_stale_temps(target: pathlib.Path, started_ns: int) -> None:
    """Removes temporary files that killed saves to ``target`` left behind.

    Only exact ``.<name>.<hex>.tmp`` siblings of ``target`` qualify, last modified before
    this write began and not locked by a writer that is still running. Best effort: a file
    that cannot be examined or removed is left alone.
    """
    try:
        entries = list(os.scandir(target.parent))
    except OSError:
        return
    for entry in entries:
        if not _is_temp_name(entry.name, target.name):
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


def _atomic_write(target: pathlib.Path, write: Callable[[BinaryIO], None]) -> None:
    """Writes via a temporary file in the same directory, fsync, os.replace.

    On success, temporary files of earlier saves to ``target`` that were killed before
    they could clean up are removed too.
    """
    tmp = target.parent / f".{target.name}.{secrets.token_hex(_TMP_TOKEN_BYTES)}.tmp"
    # A leftover was last modified before this write began (a file system's clock may lag
    # time.time_ns() by a tick, which only makes old files look older).
    started_ns = time.time_ns()
    # O_EXCL: never clobber a file; mode 0o666 lets the umask decide permissions.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    _lock_exclusive(fd, wait=True)  # our own fresh file: no one else can hold it
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    _remove_stale_temps(target, started_ns)
    # Persist the rename itself (POSIX); not possible, nor needed, everywhere.
    if hasattr(os, "O_DIRECTORY"):
        try:
            dir_fd = os.open(target.parent, os.O_RDONLY | os.O_DIRECTORY)
        except OSError:
            return
        try:
            os.fsync(dir_fd)
        except OSError:
            pass
        finally:
            os.close(dir_fd)


def load_metadata(path: str | os.PathLike[str]) -> CheckpointMetadata:
    """Reads a checkpoint's metadata (versions, config, leaf paths/shapes/dtypes).

    The metadata is checked against its stored SHA-256; the arrays are neither
    decoded nor checked (use :func:`load` for that). Works without safetensors
    installed, for both formats.

    Args:
        path: A file written by :func:`save`.

    Returns:
        A :class:`CheckpointMetadata`.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        CheckpointError: The file is truncated, corrupted, or not a jaxnn checkpoint.
    """
    name, data = _read_file(path)
    file_format, meta = _parse_metadata(name, data)
    leaves = meta["leaves"]
    return CheckpointMetadata(
        file_format=file_format,
        format_version=meta["format_version"],
        jaxnn_version=str(meta.get("jaxnn_version")),
        config=meta["config"],
        paths=tuple(r["path"] for r in leaves),
        shapes=tuple(tuple(r["shape"]) for r in leaves),
        dtypes=tuple(r["dtype"] for r in leaves),
    )


def load(path: str | os.PathLike[str], template: Any = None) -> Any:
    """Loads a checkpoint written by :func:`save`, verifying every byte.

    Args:
        path: A file written by :func:`save` (either format; detected from
            its content).
        template: Optional pytree with the expected structure and leaves with
            the expected shapes and dtypes (arrays, ``jax.ShapeDtypeStruct``
            from ``jax.eval_shape``, or Python scalars for Python-scalar
            leaves); its values are not used. The result has the template's
            tree type, so NamedTuples (Optax states) and custom pytree nodes
            are restored. Without it, dicts/lists/tuples/``None`` are rebuilt
            from the file, and a file holding a NamedTuple or custom node is
            refused (``CheckpointError`` naming its key path): pass a template.

    Returns:
        The saved tree; array leaves as ``jax.Array`` with their stored dtype
        and bit-identical values, Python-scalar leaves as Python scalars.

    Raises:
        FileNotFoundError: ``path`` does not exist (the message names it).
        CheckpointError: (a ``ValueError``) the file is truncated or corrupted
            (every leaf is checked against its SHA-256), is not a jaxnn
            checkpoint, is a newer format, needs a ``template`` that was not
            given, declares more content than it can hold (an ``.npz`` zip
            bomb, refused before inflating), or differs from ``template`` in
            structure, shape or dtype (the message names the key path and both
            values); or a 64-bit leaf is loaded with ``jax_enable_x64`` off.
    """
    name, data = _read_file(path)
    file_format, meta = _parse_metadata(name, data)
    records = meta["leaves"]
    if template is None:
        # Before reading any array: a resume that forgot template= fails here, in one line.
        typed = _first_typed_node(meta["structure"], "")
        if typed is not None:
            raise _template_needed(name, *typed)
    if file_format == "safetensors":
        tensors = _read_safetensors_tensors(data)
    else:
        tensors = _read_npz_tensors(data, records)
    expected_names = [r["name"] for r in records]
    if len(set(expected_names)) != len(expected_names) or set(tensors) != set(expected_names):
        missing = sorted(set(expected_names) - set(tensors))
        extra = sorted(set(tensors) - set(expected_names))
        raise CheckpointError(
            f"checkpoint {name!r} is corrupted: its tensors do not match its metadata "
            f"(missing {missing}, unexpected {extra})"
        )

    arrays: list[np.ndarray] = []
    for record in records:
        stored = tensors[record["name"]]
        dtype = _resolve_dtype(record["dtype"])
        shape = tuple(record["shape"])
        where = record["path"] or "the root"
        native = record["dtype"] in _NATIVE_DTYPES[file_format]
        if native:
            want_dtype, want_shape = dtype, shape
        else:  # raw bytes of a dtype the format has no code for
            want_dtype, want_shape = np.dtype(np.uint8), (math.prod(shape) * dtype.itemsize,)
        if stored.dtype != want_dtype or stored.shape != want_shape:
            raise CheckpointError(
                f"checkpoint {name!r} is corrupted: leaf {where} is stored as {stored.dtype}"
                f"{list(stored.shape)} but its metadata says {want_dtype}{list(want_shape)}"
            )
        if _sha256(stored) != record["sha256"]:
            raise CheckpointError(
                f"checkpoint {name!r} is corrupted: leaf {where} fails its SHA-256 checksum"
            )
        arrays.append(stored if native else stored.view(dtype).reshape(shape))

    if template is None:
        values = [_to_jax(r["path"], a, r["python"]) for r, a in zip(records, arrays)]
        return _rebuild(meta["structure"], values, [0])

    wanted_leaves: list[tuple[str, Any]] = []
    try:
        wanted = _encode_structure(template, "", wanted_leaves, allow_abstract=True)
    except ValueError as e:
        raise ValueError(f"template is not a valid checkpoint template: {e}") from e
    _compare_structures(meta["structure"], wanted, "")
    values = []
    for record, arr, (_, leaf) in zip(records, arrays, wanted_leaves):
        where = record["path"] or "the root"
        if isinstance(leaf, (bool, int, float, complex)):
            kind = type(leaf).__name__
            if record["python"] != kind:
                stored_kind = record["python"] or f"{arr.dtype}{list(arr.shape)} array"
                raise CheckpointError(
                    f"leaf {where}: the checkpoint has a {stored_kind} but the template "
                    f"expects a Python {kind}"
                )
        else:
            want_shape, want_dtype = tuple(np.shape(leaf)), np.dtype(leaf.dtype)
            if record["python"] is not None or arr.shape != want_shape or arr.dtype != want_dtype:
                stored_kind = f" (a Python {record['python']})" if record["python"] else ""
                raise CheckpointError(
                    f"leaf {where}: the checkpoint has shape {arr.shape} dtype {arr.dtype}"
                    f"{stored_kind} but the template expects shape {want_shape} dtype "
                    f"{want_dtype}"
                )
        values.append(_to_jax(record["path"], arr, record["python"]))
    return jax.tree_util.tree_unflatten(jax.tree_util.tree_structure(template), values)
