"""Gradient descent on any differentiable function, compiled whole with ``lax.scan``.

:func:`minimize` runs an optimizer (any ``optax.GradientTransformation``, ours or
Optax's) on ``f`` from ``x0`` and returns the whole trajectory, so the course's

.. math::

    x_{n+1} = x_n - \\eta f'(x_n) \\qquad\\text{and}\\qquad
    \\mathbf x_{n+1} = \\mathbf x_n - \\eta \\nabla f(\\mathbf x_n)

can be watched, plotted and checked. Divergence is reported as data
(:attr:`MinimizeResult.diverged`), never handed back as silent NaNs.

Many runs in one compiled call: vmap over learning rates with
:func:`sweep_learning_rates`, or over starting points with ``jax.vmap``::

    run = lambda x0: minimize(f, x0, optim.sgd(0.1), steps=100)
    results = jax.jit(jax.vmap(run))(x0s)    # every field gets a leading [n] axis
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.typing import ArrayLike

from jaxnn._checks import check_int
from jaxnn._typing import PyTree

__all__ = ["MinimizeResult", "minimize", "sweep_learning_rates"]


class MinimizeResult(NamedTuple):
    """What :func:`minimize` returns. All arrays are finite when ``x0`` and ``f(x0)`` are.

    Attributes:
      x: The final point, a pytree like ``x0``. After a divergence, the last point
        that was accepted (see ``diverged``).
      xs: The trajectory: a pytree like ``x0`` whose leaves have shape
        ``[steps + 1, *leaf.shape]``; ``xs[0]`` is ``x0``.
      values: ``f`` along the trajectory, shape ``[steps + 1]``.
      diverged: bool scalar. True if some step produced a non-finite point or value,
        or a value with ``|f| > max_growth * (1 + |f(x0)|)``; a run whose value grows
        more slowly (a learning rate just past ``2 / L``) is not flagged until it passes
        that bound, so read ``values`` too. That step and all later
        ones are rejected: from ``diverged_at`` on, ``xs`` and ``values`` repeat
        the last accepted point, so cut plots at ``diverged_at``.
      diverged_at: int32 scalar, the first rejected step (1 ..= steps), or -1.
    """

    x: PyTree
    xs: PyTree
    values: jax.Array
    diverged: jax.Array
    diverged_at: jax.Array


def _check_x0(x0: PyTree) -> PyTree:
    """Returns ``x0`` with every leaf a floating jax array; raises ``ValueError`` otherwise."""
    leaves, treedef = jax.tree.flatten(x0)
    if not leaves:
        raise ValueError("x0 has no array leaves; pass a float, an array or a pytree of arrays")
    paths = [jax.tree_util.keystr(p) for p, _ in jax.tree_util.tree_flatten_with_path(x0)[0]]
    checked = []
    for path, leaf in zip(paths, leaves):
        dtype = getattr(leaf, "dtype", None)
        if dtype is None:
            dtype = np.asarray(leaf).dtype
        if not jnp.issubdtype(dtype, jnp.floating):
            where = f"x0{path}" if path else "x0"
            raise ValueError(
                f"{where} must be floating point (gradients need it), got {leaf!r} of dtype "
                f"{dtype}; write it as a float, e.g. 2.0 or jnp.asarray(x0, jnp.float32)"
            )
        checked.append(jnp.asarray(leaf))
    # Data-dependent check, on the host and only when the values exist (not under vmap).
    for path, leaf in zip(paths, checked):
        if not isinstance(leaf, jax.core.Tracer) and not np.all(np.isfinite(np.asarray(leaf))):
            raise ValueError(f"x0{path} contains NaN or Inf; start from a finite point")
    return jax.tree.unflatten(treedef, checked)


def _check_objective(f: Callable[[PyTree], ArrayLike], x0: PyTree) -> None:
    if not callable(f):
        raise TypeError(f"f must be a callable x -> scalar, got {type(f).__name__}")
    out = jax.eval_shape(f, x0)
    if not isinstance(out, jax.ShapeDtypeStruct):
        raise ValueError(
            f"f must return one scalar array, got the pytree {jax.tree.structure(out)}; "
            "return only the value to minimize"
        )
    if out.shape != ():
        raise ValueError(
            f"f must return a scalar, got shape {out.shape}; reduce it, e.g. with jnp.sum "
            "or jnp.mean"
        )
    if not jnp.issubdtype(out.dtype, jnp.floating):
        raise ValueError(f"f must return a floating-point scalar, got dtype {out.dtype}")


def _all_finite(tree: PyTree) -> jax.Array:
    return jnp.all(jnp.asarray([jnp.all(jnp.isfinite(leaf)) for leaf in jax.tree.leaves(tree)]))


def _run(
    f: Callable[[PyTree], ArrayLike],
    optimizer: optax.GradientTransformation,
    steps: int,
    max_growth: float,
    x0: PyTree,
) -> MinimizeResult:
    value_and_grad = jax.value_and_grad(f)
    value0, grad0 = value_and_grad(x0)
    limit = max_growth * (1.0 + jnp.abs(value0))

    def step(carry, t):
        x, state, value, grad, diverged, diverged_at = carry
        updates, new_state = optimizer.update(grad, state, x)
        new_x = optax.apply_updates(x, updates)
        new_value, new_grad = value_and_grad(new_x)
        bad = ~jnp.isfinite(new_value) | (jnp.abs(new_value) > limit) | ~_all_finite(new_x)
        stop = diverged | bad
        # Once stopped, keep the last accepted iterate (and optimizer state) for good.
        keep = functools.partial(jax.tree.map, lambda new, old: jnp.where(stop, old, new))
        new = (new_x, new_state, new_value, new_grad)
        x, state, value, grad = keep(new, (x, state, value, grad))
        diverged_at = jnp.where(bad & ~diverged, t, diverged_at)
        return (x, state, value, grad, stop, diverged_at), (x, value)

    carry0 = (
        x0,
        optimizer.init(x0),
        value0,
        grad0,
        jnp.zeros([], bool),
        jnp.full([], -1, jnp.int32),
    )
    ts = jnp.arange(1, steps + 1, dtype=jnp.int32)
    (x, _, _, _, diverged, diverged_at), (xs, values) = jax.lax.scan(step, carry0, ts)
    prepend = lambda first, rest: jnp.concatenate([jnp.asarray(first)[None], rest])
    return MinimizeResult(
        x=x,
        xs=jax.tree.map(prepend, x0, xs),
        values=prepend(value0, values),
        diverged=diverged,
        diverged_at=diverged_at,
    )


def minimize(
    f: Callable[[PyTree], ArrayLike],
    x0: PyTree,
    optimizer: optax.GradientTransformation,
    steps: int,
    *,
    max_growth: float = 1e6,
) -> MinimizeResult:
    r"""Runs ``steps`` optimizer steps on ``f`` from ``x0``, compiled as one ``lax.scan``.

    With ``optimizer=jaxnn.optim.sgd(eta)`` this is the course's gradient descent,
    :math:`x_{n+1} = x_n - \eta \nabla f(x_n)`; any other ``optax.GradientTransformation``
    (``jaxnn.optim.adam(1e-2)``, ``optax.chain(...)``) runs the same way. Each step
    evaluates ``f`` and its gradient once.

    Divergence is data, not NaNs: a step whose point or value is non-finite, or whose
    value exceeds ``max_growth * (1 + |f(x0)|)`` in absolute value, is rejected, the run
    stops there (later steps repeat the last accepted point) and ``result.diverged`` /
    ``result.diverged_at`` say so.

    ``minimize`` works under ``jax.vmap`` and ``jax.jit``, so many runs share one
    compiled call: build the optimizer *inside* the mapped function, so the learning
    rate may be a traced array (see :func:`sweep_learning_rates`)::

        x0s = jnp.linspace(-2.0, 2.0, 9)
        runs = jax.jit(jax.vmap(lambda x0: minimize(f, x0, optim.sgd(0.1), 50)))(x0s)
        runs.values.shape  # (9, 51)

    Args:
      f: The objective, ``x -> scalar`` (shape ``[]``, floating), differentiable;
        ``x`` has the structure of ``x0``.
      x0: The start: a float, a floating array of any shape, or a pytree of them.
        Integers are rejected, not converted.
      optimizer: An ``optax.GradientTransformation`` (``init``/``update`` pair).
        Its ``update`` receives the current point as ``params``.
      steps: Number of steps, a Python int >= 1.
      max_growth: Blow-up factor for the divergence test, > 0 (``jnp.inf`` to only
        catch non-finite values).

    Returns:
      A :class:`MinimizeResult`: final point ``x``, trajectory ``xs`` (leaves
      ``[steps + 1, ...]``), ``values`` ``[steps + 1]``, ``diverged``, ``diverged_at``.

    Raises:
      ValueError: If ``steps < 1``, ``x0`` has a non-floating or non-finite leaf, ``f``
        does not return a floating scalar, or ``max_growth <= 0``.
      TypeError: If ``f`` is not callable or ``optimizer`` has no ``init``/``update``.

    Example:
        >>> from jaxnn import optim
        >>> r = minimize(lambda x: (x - 3.0) ** 2, 0.0, optim.sgd(0.25), steps=20)
        >>> round(float(r.x), 4), r.values.shape, bool(r.diverged)
        (3.0, (21,), False)
    """
    steps = check_int(steps, "steps")
    has = lambda attr: callable(getattr(optimizer, attr, None))
    if not (has("init") and has("update")):
        raise TypeError(
            f"optimizer must be an optax.GradientTransformation (init/update), got "
            f"{type(optimizer).__name__}; e.g. jaxnn.optim.sgd(0.1)"
        )
    if not (isinstance(max_growth, (int, float)) and max_growth > 0):
        raise ValueError(f"max_growth must be a number > 0, got {max_growth!r}")
    x0 = _check_x0(x0)
    _check_objective(f, x0)
    return jax.jit(functools.partial(_run, f, optimizer, steps, float(max_growth)))(x0)


def sweep_learning_rates(
    f: Callable[[PyTree], ArrayLike],
    x0: PyTree,
    make_optimizer: Callable[[jax.Array], optax.GradientTransformation],
    learning_rates: ArrayLike,
    steps: int,
    *,
    max_growth: float = 1e6,
) -> MinimizeResult:
    """Runs :func:`minimize` once per learning rate, all in one compiled, vmapped call.

    The picture of the course: eta too small (slow), right (fast), too large (diverges),
    side by side.

    Args:
      f: The objective, as in :func:`minimize`.
      x0: The common start, as in :func:`minimize`.
      make_optimizer: ``learning_rate -> optimizer``, e.g. ``jaxnn.optim.sgd`` or
        ``lambda lr: jaxnn.optim.momentum(lr, 0.9)``. It receives a traced scalar.
      learning_rates: Shape ``[n]``, floating, all finite and > 0.
      steps: Number of steps, a Python int >= 1.
      max_growth: As in :func:`minimize`.

    Returns:
      A :class:`MinimizeResult` whose every field has a leading ``[n]`` axis:
      ``values`` is ``[n, steps + 1]``, ``diverged`` is ``[n]``, and so on.

    Raises:
      ValueError: If ``learning_rates`` is not a non-empty 1-D floating array of finite
        positive numbers, or for any reason :func:`minimize` would.
    """
    lrs = np.asarray(learning_rates)
    if lrs.ndim != 1 or lrs.shape[0] == 0:
        raise ValueError(f"learning_rates must have shape [n] with n >= 1, got shape {lrs.shape}")
    if not np.issubdtype(lrs.dtype, np.floating):
        raise ValueError(
            f"learning_rates must be floating point, got dtype {lrs.dtype}; e.g. "
            "jnp.asarray(learning_rates, jnp.float32)"
        )
    if not np.all(np.isfinite(lrs) & (lrs > 0)):
        raise ValueError(f"learning_rates must all be finite and > 0, got {lrs}")
    run = lambda lr: minimize(f, x0, make_optimizer(lr), steps, max_growth=max_growth)
    return jax.jit(jax.vmap(run))(jnp.asarray(lrs))
