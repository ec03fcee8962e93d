"""The bytes of a checkpoint: safetensors or ``.npz``, and the jaxnn metadata inside.

Both formats hold tensors named ``leaf_<i>`` and two strings: the metadata JSON and its
SHA-256 (in the safetensors header's str->str metadata, or as 0-d unicode members of the
``.npz`` archive). The format is recognised from the file's first bytes. Reading treats
the file as untrusted: ``.npz`` is read with ``allow_pickle=False``, and an archive whose
zip directory declares more content than the file could hold is refused before anything
is inflated.
"""

from __future__ import annotations

import errno
import hashlib
import io
import json
import math
import os
import types
import zipfile
import zlib
from typing import Any, BinaryIO

import numpy as np

from jaxnn._version import __version__ as JAXNN_VERSION
from jaxnn.checkpoint._errors import CheckpointError
from jaxnn.checkpoint._leaves import PYTHON_SCALARS, resolve_dtype

__all__ = [
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "INSTALL_HINT",
    "JAXNN_VERSION",
    "import_safetensors",
    "meta_strings",
    "parse_metadata",
    "read_file",
    "read_tensors",
    "write_npz",
    "write_safetensors",
]

# Bumped whenever the on-disk layout changes; load refuses newer versions. Version 1 also
# stored the tree structure as JSON ("structure"); loading ignores it, as the template
# gives the structure now.
FORMAT_VERSION = 2
FORMAT_NAME = "jaxnn.checkpoint"
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
INSTALL_HINT = "install it with `pip install 'jaxnn[checkpoint]'` (or `pip install safetensors`)"


def import_safetensors() -> types.ModuleType | None:
    """Returns ``safetensors.numpy`` or ``None`` when it is not installed."""
    try:
        import safetensors.numpy  # noqa: PLC0415 -- optional dependency

        return safetensors.numpy
    except ImportError:
        return None


# --------------------------------------------------------------------------- #
# Writing
# --------------------------------------------------------------------------- #


def meta_strings(meta: dict[str, Any]) -> dict[str, str]:
    """The metadata JSON and its SHA-256, as both formats store them."""
    text = json.dumps(meta, separators=(",", ":"), allow_nan=False)
    return {_META_KEY: text, _META_SHA_KEY: hashlib.sha256(text.encode("utf-8")).hexdigest()}


def write_safetensors(f: BinaryIO, tensors: dict[str, np.ndarray], meta: dict[str, str]) -> None:
    """Writes ``tensors`` and the ``meta`` strings as a safetensors file."""
    module = import_safetensors()
    if module is None:
        raise ImportError(f"safetensors is not installed; {INSTALL_HINT}")
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


def write_npz(f: BinaryIO, tensors: dict[str, np.ndarray], meta: dict[str, str]) -> None:
    """Writes ``tensors`` and the ``meta`` strings as an uncompressed ``.npz`` archive."""
    members = dict(tensors)
    members.update({key: np.array(value) for key, value in meta.items()})
    np.savez(f, **members)


# --------------------------------------------------------------------------- #
# Reading
# --------------------------------------------------------------------------- #


def read_file(path: Any) -> tuple[str, bytes]:
    """The name and bytes of a checkpoint file; ``FileNotFoundError`` names a missing one."""
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or os.PathLike, got {type(path).__name__}")
    name = os.fspath(path)
    try:
        with open(name, "rb") as f:
            return name, f.read()
    except FileNotFoundError:
        raise FileNotFoundError(errno.ENOENT, f"checkpoint file not found: {name!r}", name) from None


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


def _read_safetensors_meta(data: bytes) -> dict[str, str]:
    # Layout: 8-byte little-endian header length, JSON header, tensor bytes.
    size = int.from_bytes(data[:8], "little")
    if len(data) < 8 or 8 + size > len(data):
        raise CheckpointError("the safetensors header is cut short: the file is truncated")
    try:
        header = json.loads(data[8 : 8 + size].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise CheckpointError(f"the safetensors header is corrupted ({e})") from e
    meta = header.get("__metadata__") if isinstance(header, dict) else None
    if not isinstance(meta, dict) or _META_KEY not in meta:
        raise CheckpointError(
            "this safetensors file is not a jaxnn checkpoint (its header has no "
            f"{_META_KEY!r} metadata); was it written by jaxnn.checkpoint.save?"
        )
    return meta


def _read_safetensors_tensors(data: bytes) -> dict[str, np.ndarray]:
    module = import_safetensors()
    if module is None:
        raise CheckpointError(f"this checkpoint is in safetensors format; {INSTALL_HINT}")
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
        where = record["path"] or "the root"
        member = members.get(f"{record['name']}.npy")
        if member is None:
            raise CheckpointError(
                f"the .npz archive is corrupted: leaf {where} ({record['name']}.npy) is missing"
            )
        nbytes = math.prod(record["shape"]) * resolve_dtype(record["dtype"]).itemsize
        if not nbytes < member.file_size <= nbytes + _NPY_MAX_HEADER:
            raise CheckpointError(
                f"the .npz archive is corrupted: leaf {where} declares "
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


def read_tensors(path: str, data: bytes, file_format: str, records: list[dict]) -> dict[str, np.ndarray]:
    """The stored tensors by name, exactly the ones ``records`` name.

    Raises:
      CheckpointError: the data is corrupted or truncated, a tensor is missing or
        unexpected, safetensors is needed but not installed, or (``.npz``) a member
        declares more bytes than its record's shape and dtype hold.
    """
    if file_format == "safetensors":
        tensors = _read_safetensors_tensors(data)
    else:
        tensors = _read_npz_tensors(data, records)
    expected = [r["name"] for r in records]
    if set(tensors) != set(expected):
        missing = sorted(set(expected) - set(tensors))
        extra = sorted(set(tensors) - set(expected))
        raise CheckpointError(
            f"checkpoint {path!r} is corrupted: its tensors do not match its metadata "
            f"(missing {missing}, unexpected {extra})"
        )
    return tensors


def _check_records(path: str, records: Any) -> None:
    if not isinstance(records, list):
        raise CheckpointError(f"checkpoint {path!r} has malformed leaf metadata")
    for record in records:
        resolve_dtype(record["dtype"])
        shape = record["shape"]
        if not isinstance(shape, list) or not all(type(d) is int and d >= 0 for d in shape):
            raise CheckpointError(f"checkpoint {path!r} has a malformed shape {shape!r}")
        if record["python"] is not None and record["python"] not in PYTHON_SCALARS:
            raise CheckpointError(f"checkpoint {path!r} has a malformed leaf record")
        if not all(isinstance(record[k], str) for k in ("path", "name", "sha256")):
            raise CheckpointError(f"checkpoint {path!r} has a malformed leaf record")
    for key in ("name", "path"):
        if len({r[key] for r in records}) != len(records):
            raise CheckpointError(f"checkpoint {path!r} records the same leaf {key} twice")


def parse_metadata(path: str, data: bytes) -> tuple[str, dict[str, Any]]:
    """Reads, verifies and decodes the jaxnn metadata of a checkpoint file.

    Returns:
      ``(file_format, meta)``: ``meta`` holds ``format_version``, ``jaxnn_version``,
      ``config`` and ``leaves``, one record per leaf (``name``, ``path``, ``dtype``,
      ``shape``, ``python``, ``sha256``), all checked for type.

    Raises:
      CheckpointError: the file is not a jaxnn checkpoint, is of a newer format, or its
        metadata is missing, fails its SHA-256 or is malformed.
    """
    file_format = _detect_format(data, path)
    raw = _read_safetensors_meta(data) if file_format == "safetensors" else _read_npz_meta(data)
    text, digest = raw.get(_META_KEY), raw.get(_META_SHA_KEY)
    if not isinstance(text, str) or not isinstance(digest, str):
        raise CheckpointError(f"checkpoint {path!r} has incomplete jaxnn metadata")
    if hashlib.sha256(text.encode("utf-8")).hexdigest() != digest:
        raise CheckpointError(f"checkpoint {path!r} is corrupted: its metadata fails the SHA-256 check")
    try:
        meta = json.loads(text)
        if not isinstance(meta, dict) or meta.get("format") != FORMAT_NAME:
            raise CheckpointError(f"{path!r} is not a jaxnn checkpoint")
        version = meta["format_version"]
        if type(version) is not int or version < 1:
            raise CheckpointError(f"checkpoint {path!r} has a malformed format version")
        if version > FORMAT_VERSION:
            raise CheckpointError(
                f"checkpoint {path!r} uses format version {version} (written by jaxnn "
                f"{meta.get('jaxnn_version')}), newer than the {FORMAT_VERSION} this jaxnn "
                f"({JAXNN_VERSION}) reads; upgrade jaxnn to load it."
            )
        _check_records(path, meta["leaves"])
        if meta["config"] is not None and not isinstance(meta["config"], dict):
            raise CheckpointError(f"checkpoint {path!r} has a malformed config")
    except (KeyError, TypeError, json.JSONDecodeError, RecursionError) as e:
        raise CheckpointError(f"checkpoint {path!r} has malformed jaxnn metadata ({e!r})") from e
    return file_format, meta
