"""The implementation of :mod:`jaxnn.checkpoint`: saving, and loading into a template."""

from __future__ import annotations

import dataclasses
import errno
import json
import os
import pathlib
from collections.abc import Mapping
from typing import Any, Literal

import jax
import numpy as np

from jaxnn import _atomic
from jaxnn.checkpoint import _format
from jaxnn.checkpoint._errors import CheckpointError
from jaxnn.checkpoint._leaves import NATIVE_DTYPES, decode, describe, encode, python_kind, resolve_dtype, sha256, to_jax



@dataclasses.dataclass(frozen=True)
class CheckpointMetadata:
    """What a checkpoint holds, read without loading its arrays.

    Attributes:
      file_format: ``"safetensors"`` or ``"npz"``.
      format_version: Version of the jaxnn checkpoint layout.
      jaxnn_version: Version of jaxnn that wrote the file.
      config: The ``config`` given to :func:`save`, or ``None``.
      paths: Key path of every leaf (``jax.tree_util.keystr`` notation), in the saved
        tree's ``jax.tree_util.tree_leaves`` order.
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
# Saving
# --------------------------------------------------------------------------- #


def _flatten(tree: Any) -> list[tuple[str, Any]]:
    """``(key path, leaf)`` of every leaf, refusing paths that could not be matched on load."""
    try:
        flat, _ = jax.tree_util.tree_flatten_with_path(tree)
    except ValueError as e:  # jax sorts dict keys; it cannot sort 1 and "a"
        raise ValueError(
            f"cannot flatten the tree ({e}); a dict that mixes key types cannot be sorted: "
            "use keys of one type"
        ) from e
    leaves = []
    for key_path, leaf in flat:
        for depth, entry in enumerate(key_path):
            # Other keys' key paths may not read the same in another process (a repr with
            # an address), and a template must reproduce them exactly.
            if isinstance(entry, jax.tree_util.DictKey) and type(entry.key) not in (str, int):
                raise ValueError(
                    f"dict key {entry.key!r} at {describe(jax.tree_util.keystr(key_path[:depth]))} "
                    f"has type {type(entry.key).__name__}; checkpoints support str and int dict "
                    "keys only. Rename the key."
                )
        leaves.append((jax.tree_util.keystr(key_path), leaf))
    paths = [path for path, _ in leaves]
    if len(set(paths)) != len(paths):
        twice = next(p for i, p in enumerate(paths) if p in paths[:i])
        raise ValueError(f"two leaves have the key path {describe(twice)}; a checkpoint needs distinct paths")
    return leaves


def _encode_leaves(tree: Any, file_format: str) -> tuple[dict[str, np.ndarray], list[dict[str, Any]]]:
    """The tensors to store, by name, and one metadata record per leaf."""
    tensors: dict[str, np.ndarray] = {}
    records = []
    for index, (path, leaf) in enumerate(_flatten(tree)):
        arr, python = encode(path, leaf)
        native = arr.dtype.name in NATIVE_DTYPES[file_format]
        stored = arr if native else arr.reshape(-1).view(np.uint8)
        name = f"leaf_{index}"
        tensors[name] = stored
        records.append(
            {
                "name": name,
                "path": path,
                "dtype": arr.dtype.name,
                "shape": list(arr.shape),
                "python": python,
                "sha256": sha256(stored),
            }
        )
    return tensors, records


def _resolve_format(file_format: str) -> str:
    if file_format not in ("auto", "safetensors", "npz"):
        raise ValueError(f"file_format must be 'auto', 'safetensors' or 'npz', got {file_format!r}")
    has_safetensors = _format.import_safetensors() is not None
    if file_format == "auto":
        return "safetensors" if has_safetensors else "npz"
    if file_format == "safetensors" and not has_safetensors:
        raise ImportError(f"file_format='safetensors' needs safetensors; {_format.INSTALL_HINT}")
    return file_format


def _check_target(path: Any, overwrite: bool) -> pathlib.Path:
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or os.PathLike, got {type(path).__name__}")
    target = pathlib.Path(os.fspath(path)).absolute()
    if not target.parent.is_dir():
        raise FileNotFoundError(errno.ENOENT, f"directory {str(target.parent)!r} does not exist; create it first")
    if target.is_dir():
        raise IsADirectoryError(errno.EISDIR, f"{str(target)!r} is a directory, not a file")
    if not overwrite and target.exists():
        raise FileExistsError(errno.EEXIST, f"{str(target)!r} exists; pass overwrite=True to replace it")
    return target


def _check_config(config: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """``config`` as JSON will give it back (tuples become lists), or ``ValueError``."""
    if config is None:
        return None
    if not isinstance(config, Mapping) or not all(isinstance(k, str) for k in config):
        raise ValueError(f"config must be a dict with str keys, got {type(config).__name__}")
    try:
        return json.loads(json.dumps(dict(config), allow_nan=False))
    except (TypeError, ValueError) as e:
        raise ValueError(
            f"config must be JSON-serialisable (str/int/float/bool/None, lists, dicts; no NaN/inf): {e}"
        ) from e


def save(
    path: str | os.PathLike[str],
    tree: Any,
    *,
    config: Mapping[str, Any] | None = None,
    overwrite: bool = True,
    file_format: Literal["auto", "safetensors", "npz"] = "auto",
) -> pathlib.Path:
    """Atomically writes the leaves of a pytree (and an optional config) to one file.

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
    file_format = _resolve_format(file_format)
    target = _check_target(path, overwrite)
    config = _check_config(config)
    tensors, records = _encode_leaves(tree, file_format)
    meta = {
        "format": _format.FORMAT_NAME,
        "format_version": _format.FORMAT_VERSION,
        "jaxnn_version": _format.JAXNN_VERSION,
        "config": config,
        "leaves": records,
    }
    writer = _format.write_safetensors if file_format == "safetensors" else _format.write_npz
    with _atomic.atomic_file(target, "wb") as f:
        writer(f, tensors, _format.meta_strings(meta))
    return target


# --------------------------------------------------------------------------- #
# Loading
# --------------------------------------------------------------------------- #


class _Required:
    """The default of ``load``'s ``template``: none was given, and ``load`` says how to."""

    def __repr__(self) -> str:
        return "<required>"


_REQUIRED: Any = _Required()
_TEMPLATE_NEEDED = (
    "checkpoint.load needs a template, a tree with the structure of the saved one, e.g. "
    "checkpoint.load(path, {'params': params, 'opt_state': optimizer.init(params)}) "
    "(jax.eval_shape of them will do for array leaves; keep Python-number leaves as numbers); to read the leaves by key path without one, use "
    "checkpoint.load_leaves(path)"
)
_ARRAY_LIKE = (jax.Array, np.ndarray, np.generic, jax.ShapeDtypeStruct)


def _template_leaves(template: Any) -> tuple[list[tuple[str, Any]], Any]:
    """``(key path, leaf)`` of every template leaf, and the template's treedef."""
    try:
        flat, treedef = jax.tree_util.tree_flatten_with_path(template)
    except ValueError as e:
        raise ValueError(f"template is not a valid checkpoint template: {e}") from e
    leaves = []
    for key_path, leaf in flat:
        path = jax.tree_util.keystr(key_path)
        if python_kind(leaf) is None and not isinstance(leaf, _ARRAY_LIKE):
            raise ValueError(
                f"template is not a valid checkpoint template: its leaf at {describe(path)} has "
                f"type {type(leaf).__name__}; template leaves are arrays, jax.ShapeDtypeStruct "
                "or Python bool/int/float/complex"
            )
        leaves.append((path, leaf))
    return leaves, treedef


def _some(paths: list[str]) -> str:
    """At most four key paths, for a one-line message."""
    if not paths:
        return "none"
    shown = ", ".join(describe(p) for p in paths[:4])
    return shown if len(paths) <= 4 else f"{shown} and {len(paths) - 4} more"


def _match_paths(file: str, stored: list[str], wanted: list[str]) -> None:
    """Raises CheckpointError unless the template's key paths are the recorded ones, in order."""
    if stored == wanted:
        return
    i = next(i for i, (s, w) in enumerate(zip([*stored, None], [*wanted, None])) if s != w)
    have = describe(stored[i]) if i < len(stored) else "no leaf"
    want = describe(wanted[i]) if i < len(wanted) else "no leaf"
    in_file, in_template = set(stored), set(wanted)
    missing = [p for p in wanted if p not in in_file]
    extra = [p for p in stored if p not in in_template]
    fix = (
        "the template has no leaves; to read the leaves without a template, use checkpoint.load_leaves(path)"
        if not wanted
        else "build the template with the same model and optimizer that wrote the checkpoint"
    )
    raise CheckpointError(
        f"checkpoint {file!r} does not match the template: leaf {i} is {have} in the checkpoint "
        f"but {want} in the template (missing from the checkpoint: {_some(missing)}; not in the "
        f"template: {_some(extra)}); {fix}"
    )


def _match_leaf(file: str, record: dict[str, Any], leaf: Any) -> None:
    """Raises CheckpointError unless a stored leaf's kind, shape and dtype are the template's."""
    where, stored = describe(record["path"]), record["python"]
    shape, dtype = tuple(record["shape"]), resolve_dtype(record["dtype"])
    kind = python_kind(leaf)
    if kind is not None:
        if stored != kind:
            have = f"a Python {stored}" if stored else f"a {dtype}{list(shape)} array"
            raise CheckpointError(
                f"checkpoint {file!r}, leaf {where}: the checkpoint has {have} but the template "
                f"expects a Python {kind}"
            )
        return
    want_shape, want_dtype = tuple(leaf.shape), np.dtype(leaf.dtype)
    if stored is not None or shape != want_shape or dtype != want_dtype:
        as_python = f" (a Python {stored})" if stored else ""
        raise CheckpointError(
            f"checkpoint {file!r}, leaf {where}: the checkpoint has shape {shape} dtype {dtype}"
            f"{as_python} but the template expects shape {want_shape} dtype {want_dtype}"
        )


def _match_template(file: str, records: list[dict[str, Any]], wanted: list[tuple[str, Any]]) -> None:
    """Raises CheckpointError unless the records match the template's key paths and leaves."""
    _match_paths(file, [r["path"] for r in records], [path for path, _ in wanted])
    for record, (_, leaf) in zip(records, wanted):
        _match_leaf(file, record, leaf)


def _read_leaves(
    path: Any, wanted: list[tuple[str, Any]] | None = None
) -> tuple[list[dict[str, Any]], list[np.ndarray]]:
    """The records and verified arrays of every leaf in a checkpoint file.

    With ``wanted`` (a template's key paths and leaves), the metadata is matched against
    it before any array is read.
    """
    name, data = _format.read_file(path)
    file_format, meta = _format.parse_metadata(name, data)
    records = meta["leaves"]
    if wanted is not None:
        _match_template(name, records, wanted)
    tensors = _format.read_tensors(name, data, file_format, records)
    return records, [decode(name, r, tensors[r["name"]], file_format) for r in records]


def load(path: str | os.PathLike[str], template: Any = _REQUIRED) -> Any:
    """Loads a checkpoint written by :func:`save` into the structure of ``template``.

    Every byte is verified (SHA-256 per leaf, and of the metadata) before the tree is built.

    Args:
      path: A file written by :func:`save` (either format; detected from its content).
      template: Required. A pytree with the structure of the saved tree, whose leaves
        have the saved shapes and dtypes: arrays, ``jax.ShapeDtypeStruct`` (from
        ``jax.eval_shape``), or Python scalars where Python scalars were saved. Its
        values are not used. Its key paths (``jax.tree_util.keystr``) must equal
        the recorded ones, in order; the result has its tree type, so NamedTuples
        (Optax states) and custom pytree nodes are restored.

    Returns:
      The saved tree: array leaves as ``jax.Array`` with their stored dtype and
      bit-identical values, Python-scalar leaves as Python scalars.

    Raises:
      TypeError: No ``template`` was given (the message names the fix).
      ValueError: ``template`` has a leaf that is not an array, a
        ``jax.ShapeDtypeStruct`` or a Python scalar.
      FileNotFoundError: ``path`` does not exist (the message names it).
      CheckpointError: (a ``ValueError``) the file is truncated or corrupted, is not
        a jaxnn checkpoint, is a newer format, or declares more content than it can
        hold (an ``.npz`` zip bomb, refused before inflating); the template's key
        paths differ from the recorded ones (the message names the first differing
        path and lists the missing and unexpected ones); a leaf differs from the
        template in shape, dtype or Python type (the message names its key path and
        both values); or a 64-bit leaf is loaded with ``jax_enable_x64`` off.
    """
    if template is _REQUIRED:
        raise TypeError(_TEMPLATE_NEEDED)
    wanted, treedef = _template_leaves(template)
    records, arrays = _read_leaves(path, wanted)
    values = [to_jax(r["path"], a, r["python"]) for r, a in zip(records, arrays)]
    return jax.tree_util.tree_unflatten(treedef, values)


def load_leaves(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Loads every leaf of a checkpoint by key path, without a template.

    For inspecting a checkpoint, or rebuilding a tree by hand; :func:`load` with a
    template gives the tree itself. Every leaf is verified against its SHA-256.

    Args:
      path: A file written by :func:`save` (either format).

    Returns:
      A dict from key path (``jax.tree_util.keystr`` of the saved tree, e.g.
      ``"['params'][0]['w']"``) to leaf, in the saved tree's leaf order: a
      ``jax.Array`` with its stored dtype, or a Python scalar for a leaf saved as one.

    Raises:
      FileNotFoundError: ``path`` does not exist.
      CheckpointError: The file is truncated, corrupted, not a jaxnn checkpoint or of
        a newer format; or a 64-bit leaf is loaded with ``jax_enable_x64`` off.
    """
    records, arrays = _read_leaves(path)
    return {r["path"]: to_jax(r["path"], a, r["python"]) for r, a in zip(records, arrays)}


def load_metadata(path: str | os.PathLike[str]) -> CheckpointMetadata:
    """Reads a checkpoint's metadata (versions, config, leaf paths/shapes/dtypes).

    The metadata is checked against its stored SHA-256; the arrays are neither
    decoded nor checked (use :func:`load` or :func:`load_leaves` for that). Works
    without safetensors installed, for both formats.

    Args:
      path: A file written by :func:`save`.

    Returns:
      A :class:`CheckpointMetadata`.

    Raises:
      FileNotFoundError: ``path`` does not exist.
      CheckpointError: The file is truncated, corrupted, or not a jaxnn checkpoint.
    """
    name, data = _format.read_file(path)
    file_format, meta = _format.parse_metadata(name, data)
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
