"""Safe, atomic checkpoints for any pytree of arrays (params, Optax states).

A checkpoint is one file holding every leaf of a pytree with its key path, written in a
tensor format that never unpickles:

* ``safetensors`` (the ecosystem's choice) when the ``safetensors`` package is
  installed (``pip install 'jaxnn[checkpoint]'``);
* otherwise NumPy ``.npz``, always read with ``allow_pickle=False``.

The format is recognised from the file's first bytes, not from its name. The tree's
structure is not stored: as with equinox's ``tree_deserialise_leaves(path, like)``,
:func:`load` fills a *template*, a tree of the same structure (fresh params and
``optimizer.init(params)``, or ``jax.eval_shape`` of them), with the stored leaves.
Example::

    import optax
    from jaxnn import checkpoint

    optimizer = optax.adam(1e-3)
    state = {"params": params, "opt_state": optimizer.init(params), "epoch": 3}
    checkpoint.save("run.ckpt", state, config={"sizes": [2, 16, 1]})
    template = {"params": params, "opt_state": optimizer.init(params), "epoch": 0}
    state = checkpoint.load("run.ckpt", template)
    checkpoint.load_metadata("run.ckpt").config  # {'sizes': [2, 16, 1]}
    checkpoint.load_leaves("run.ckpt")["['epoch']"]  # 3

What is stored, inside the file:

* every leaf's bytes, exactly (bit-exact round trip, NaN payloads and ``-0.0``
  included), with its key path (``jax.tree_util.keystr``), dtype, shape, whether it was
  a Python ``bool``/``int``/``float``/``complex``, and SHA-256 checksum. Dtypes the
  tensor format has no code for (``bfloat16`` and the other ``ml_dtypes``, and
  ``complex128`` in safetensors) are stored as their raw bytes (``uint8``) and viewed
  back to the recorded dtype on load;
* the format version, the jaxnn version and an optional user ``config`` (a
  JSON-serialisable dict, e.g. model hyperparameters).

How the tree comes back:

* :func:`load` ``(path, template)`` returns a tree of the template's type (NamedTuples,
  custom pytree nodes and ``None`` included). The template's key paths must equal the
  recorded ones, in order, and each template leaf must match its stored leaf's shape and
  dtype (arrays, ``jax.ShapeDtypeStruct``) or Python scalar type, or
  :class:`CheckpointError` names the first differing key path and both values. Key paths
  do not tell a list from a tuple (both read ``[0]``, ``[1]``, ...): the template's
  container wins.
* :func:`load_leaves` ``(path)`` needs no template: a dict from key path to leaf, in the
  saved tree's leaf order, for inspection or for rebuilding a tree by hand.

The template is required because a ``NamedTuple`` (every Optax state) or a custom pytree
node cannot be rebuilt without its class, and this module never imports classes named by
a file; rebuilding one as a ``dict`` would only move the failure to its first use.
Files of format version 1, which also stored the structure as JSON, load the same way
(their stored structure is ignored).

Leaves come back as ``jax.Array`` with the stored dtype; leaves that were Python
``bool``/``int``/``float``/``complex`` come back as those Python types. NumPy scalars
come back as 0-d ``jax.Array``. A 64-bit leaf (``float64``, ``int64``, ...) needs
``jax_enable_x64``: loading it without raises rather than silently narrowing it.

Writes are atomic (``jaxnn/_atomic.py``): the file is written to a
temporary name in the target directory (``.<name>.<16 hex digits>.tmp``), flushed and
``fsync`` ed, then moved over the final name with ``os.replace``. A crash mid-save leaves
the previous checkpoint intact; the temporary file is removed on any exception. A process
killed mid-save (``kill -9``, power loss) cannot remove its temporary file, so the next
successful save to the same path removes such leftovers: temporary siblings of that path
older than the current write that no live writer holds.

Files are byte-reproducible: the same tree and ``config`` give the same bytes on every
save (the safetensors header is written with sorted keys; ``config`` keeps the caller's
key order).

Loading treats the file as untrusted: nothing is unpickled, every dtype is checked
against an allow-list, and an ``.npz`` whose zip directory declares far more content
than the file could hold uncompressed (a "zip bomb"), or a leaf larger than the metadata
says, is refused before anything is inflated.
"""

from jaxnn.checkpoint._api import CheckpointMetadata, load, load_leaves, load_metadata, save
from jaxnn.checkpoint._errors import CheckpointError

__all__ = [
    "CheckpointError",
    "CheckpointMetadata",
    "load",
    "load_leaves",
    "load_metadata",
    "save",
]
