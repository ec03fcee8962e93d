"""Checks of fit's and sweep's arguments, all before anything compiles."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxnn._checks import check_finite_host, check_int, check_nonnegative, check_xy
from jaxnn.train._programs import call_with, lift_and_probe
from jaxnn.train._types import EarlyStopping, Params, Supervised


def _check_data(x: Any, y: Any, what: str) -> int:
    n = check_xy(x, y, what)
    check_finite_host(f"{what} x", x)
    check_finite_host(f"{what} y", y)
    return n


def spec(tree: Any) -> tuple:
    """A hashable description of a pytree's structure, shapes and dtypes."""
    leaves, treedef = jax.tree.flatten(tree)
    return treedef, tuple((tuple(np.shape(a)), getattr(a, "dtype", None) or jnp.result_type(a)) for a in leaves)


def _check_targets(loss_fn: Supervised, params: Params, x: Any, y: Any, what: str) -> None:
    """Host-side checks of the targets by the loss's head, with the network's output shape (before compiling)."""
    _, out = lift_and_probe(loss_fn.apply, call_with, spec(params), spec(x))
    loss_fn.head.check_targets(np.asarray(y), tuple(out.shape), what)


def check_batch_size(batch_size: int | None, n: int) -> int:
    if batch_size is None:
        return n
    return check_int(batch_size, "batch_size", maximum=n,
                     why=f"at most the {n} training samples; None for full-batch gradient descent")


def _check_early_stopping(es: EarlyStopping | None, metric_names: list[str], has_val: bool) -> None:
    if es is None:
        return
    if not has_val and es.monitor != "train_loss":
        raise ValueError("early_stopping needs validation_data=(x_val, y_val), or monitor='train_loss'")
    valid = ["train_loss"] + (["val_loss"] + [f"val_{m}" for m in metric_names] if has_val else [])
    if es.monitor not in valid:
        raise ValueError(f"early_stopping.monitor must be one of {valid}, got {es.monitor!r}")
    if es.mode not in ("min", "max"):
        raise ValueError(f"early_stopping.mode must be 'min' or 'max', got {es.mode!r}")
    check_int(es.patience, "early_stopping.patience", why="a whole number of epochs")
    check_nonnegative(es.min_delta, "early_stopping.min_delta")
    if es.reference not in ("improvement", "best"):
        raise ValueError(f"early_stopping.reference must be 'improvement' or 'best', got {es.reference!r}")
    if not isinstance(es.restore_best, (bool, np.bool_)):
        raise ValueError(f"early_stopping.restore_best must be True or False, got {es.restore_best!r}")
_MAX_EPOCHS = 10_000_000  # the history is kept on the host, 40 MB per recorded quantity


def _check_epochs(epochs: Any, name: str = "epochs") -> int:
    return check_int(epochs, name, maximum=_MAX_EPOCHS)


def validate(loss_fn, params, x, y, validation_data, batch_size, epochs, metrics, early_stopping, rows=None):
    """Checks everything before compiling; returns the sizes and the lifted loss and metrics.

    ``rows``: the number of rows each member trains on, where it is not ``len(x)`` (a
    sweep's ``rows``).
    """
    if not callable(loss_fn):
        raise TypeError("loss_fn must be callable as loss_fn(params, x, y) -> per-example losses [batch]")
    _check_epochs(epochs)
    n = _check_data(x, y, "training")
    n = n if rows is None else rows
    batch_size = check_batch_size(batch_size, n)
    has_val = validation_data is not None
    if has_val:
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
            raise ValueError("validation_data must be a pair (x_val, y_val)")
        xv, yv = validation_data
        _check_data(xv, yv, "validation")
        if xv.shape[1:] != x.shape[1:] or yv.shape[1:] != y.shape[1:]:
            raise ValueError(
                f"validation data shapes {xv.shape}, {yv.shape} do not match the training data's "
                f"{x.shape}, {y.shape} after the sample axis"
            )
    metrics = dict(metrics or {})
    if metrics and not has_val:
        raise ValueError("metrics are measured on validation data: pass validation_data=(x_val, y_val)")
    _check_early_stopping(early_stopping, list(metrics), has_val)
    if isinstance(loss_fn, Supervised):
        _check_targets(loss_fn, params, x, y, "training")
        if has_val:
            _check_targets(loss_fn, params, validation_data[0], validation_data[1], "validation")
    # Trace the loss once, abstractly: shape errors surface here as ValueErrors, not from XLA.
    batch_of = lambda a: jax.ShapeDtypeStruct((batch_size, *a.shape[1:]), a.dtype)
    loss, out = lift_and_probe(loss_fn, call_with, spec(params), spec(batch_of(x)), spec(batch_of(y)))
    if out.shape != (batch_size,):
        raise ValueError(
            f"loss_fn must return per-example losses of shape [batch] = ({batch_size},), got {out.shape}; "
            "use reduction='none' (the default of jaxnn.losses)"
        )
    lifted_metrics = {}
    for name, fn in metrics.items():
        if not callable(fn):
            raise TypeError(f"metrics[{name!r}] must be callable as fn(params, x_val, y_val) -> scalar")
        lifted_metrics[name], out = lift_and_probe(fn, call_with, spec(params), spec(validation_data[0]), spec(validation_data[1]))
        if getattr(out, "shape", None) != ():
            raise ValueError(
                f"metrics[{name!r}] must return a scalar, got {getattr(out, 'shape', type(out).__name__)}; "
                "reduce it over the batch (e.g. jnp.mean), or pass one metric per output"
            )
    return n, batch_size, has_val, loss, lifted_metrics


def check_rows(rows: Any, members: int, n: int) -> jax.Array:
    """A sweep's ``rows`` as an int32 ``[members, R]`` array of indices below ``n``, checked on the host."""
    host = np.asarray(rows)
    if host.ndim != 2 or host.shape[0] != members or host.shape[1] < 1:
        raise ValueError(f"rows must be [members, R] = ({members}, R) row indices, one row of indices per key, "
                         f"got shape {host.shape}")
    if host.dtype.kind not in "iu":
        raise ValueError(f"rows must hold integer indices into x, got dtype {host.dtype}")
    if host.size and (host.min() < 0 or host.max() >= n):
        raise ValueError(f"rows must index x's {n} rows (0 .. {n - 1}), got indices from {host.min()} to {host.max()}")
    return jnp.asarray(host, jnp.int32)


def stack_losses(first: Any, losses: list, params: Params, batch_size: int, x: Any, y: Any) -> Any:
    """The members' loss values stacked on a leading axis, after checking that every loss
    computes what the first does up to its captured floats and arrays."""
    batch_of = lambda a: jax.ShapeDtypeStruct((batch_size, *a.shape[1:]), a.dtype)
    specs = (spec(params), spec(batch_of(x)), spec(batch_of(y)))
    lifted = [first] + [lift_and_probe(fn, call_with, *specs)[0] for fn in losses[1:]]
    for i, one in enumerate(lifted):
        if one.key != first.key:
            raise ValueError(f"loss_fn[{i}] computes something else than loss_fn[0]: a sweep's losses may differ "
                             "only in the floats and arrays they capture (an L2 penalty, a margin), not in code, "
                             "structure or other values")
    return jax.tree.map(lambda *v: jnp.stack([jnp.asarray(a) for a in v]), *[one.values for one in lifted])


def out_of_memory(err: Exception, what: str) -> MemoryError | None:
    """A ``MemoryError`` naming ``what`` for XLA's out-of-memory errors, else ``None``."""
    text = str(err)
    if "RESOURCE_EXHAUSTED" not in text and "Out of memory" not in text:
        return None
    detail = text.split("\n")[0].split(": ", 1)[-1]
    return MemoryError(f"{what} did not fit in memory ({detail}); use a smaller network, batch or data set")


def check_ready(params: Params, opt_state: Any) -> None:
    """Waits for the params: a failed computation (an out-of-memory init) surfaces here.

    (Training on a buffer whose computation failed would otherwise wait for ever inside
    XLA, rather than fail.)
    """
    try:
        jax.block_until_ready((params, opt_state))
    except jax.errors.JaxRuntimeError as err:
        raise (out_of_memory(err, "the params (or opt_state) passed to fit") or err) from None


def as_data(a: Any, name: str) -> jax.Array:
    """``a`` as a jax array; text or object arrays are a ``TypeError`` naming the fix."""
    if not isinstance(a, jax.Array):
        kind = np.asarray(a).dtype.kind if not hasattr(a, "dtype") else np.dtype(a.dtype).kind
        if kind in "USOV":
            raise TypeError(
                f"{name} holds {'text' if kind in 'US' else 'Python objects'}; jaxnn trains on numbers: "
                "encode class labels as integers first, e.g. classes, y = np.unique(labels, return_inverse=True)"
            )
        # device_put, not jnp.asarray: that compiles a small copy program per shape and dtype.
        return jax.device_put(np.asarray(a))
    return a


def check_opt_state(opt_state: Any, expected: Any) -> None:
    """Raises ``ValueError`` unless ``opt_state`` has the structure, shapes and dtypes of ``expected``."""
    if jax.tree.structure(opt_state) != jax.tree.structure(expected):
        raise ValueError(
            "opt_state does not fit this optimizer and params (its tree structure differs from "
            "optimizer.init(params)); if it was loaded with jaxnn.checkpoint.load, build its template "
            "with this optimizer: {'params': params, 'opt_state': optimizer.init(params)}"
        )
    for (path, want), got in zip(jax.tree.leaves_with_path(expected), jax.tree.leaves(opt_state)):
        shape, dtype = np.shape(got), getattr(got, "dtype", None) or jnp.result_type(got)
        if shape != want.shape or jnp.dtype(dtype) != jnp.dtype(want.dtype):
            raise ValueError(
                f"opt_state{jax.tree_util.keystr(path)} has shape {shape} and dtype {dtype}, but optimizer.init(params) "
                f"gives {want.shape} {want.dtype}: this opt_state belongs to other params; resume with the params "
                "it was saved with, or leave opt_state=None to start afresh"
            )
