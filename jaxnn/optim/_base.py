"""Shared pieces of the optimizers: hyperparameter checks, dtype casts, the learning-rate step.

Every named optimizer in :mod:`jaxnn.optim` is an ``optax.chain`` of small primitives
(``scale_by_X``) that end in :func:`scale_by_learning_rate`. That last primitive is the
only place where the learning rate is applied and the sign is flipped (descent), as in
Optax, so a schedule, a clipping transform or weight decay can be slotted in anywhere.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import NamedTuple, Union

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.typing import ArrayLike

from jaxnn import _structure

__all__ = [
    "Optimizer",
    "named_optimizer",
    "Schedule",
    "ScalarOrSchedule",
    "ScaleByLearningRateState",
    "scale_by_learning_rate",
    "add_decayed_weights",
]

Schedule = Callable[[jax.Array], ArrayLike]
"""A learning-rate schedule: maps the int32 step count (0, 1, 2, ...) to a scalar."""

ScalarOrSchedule = Union[float, jax.Array, Schedule]
"""A constant learning rate (a Python float or a scalar array) or a :data:`Schedule`."""



class Optimizer(optax.GradientTransformationExtraArgs):
    """An ``optax.GradientTransformation`` that compares and hashes by its configuration.

    Every named optimizer of :mod:`jaxnn.optim` returns one. It is Optax's
    ``(init, update)`` pair, usable wherever an Optax optimizer is, and two of them are
    equal when they are the same optimizer with the same hyperparameters:
    ``adam(1e-3) == adam(1e-3)``, while ``adam(1e-3) != adam(3e-3)``. (Optax's own
    optimizers compare by the identity of their functions.) :func:`jaxnn.train.fit` goes
    further and reuses one compiled program for every learning rate, beta and epsilon.

    Attributes:
      init: ``init(params) -> state``, as in Optax.
      update: ``update(updates, state, params=None, **extra_args) -> (updates, state)``.
    """

    __slots__ = ()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, tuple) and _structure.config_key(tuple(self)) == _structure.config_key(tuple(other))

    def __ne__(self, other: object) -> bool:
        return not self == other

    def __hash__(self) -> int:
        return hash(_structure.config_key(tuple(self)))


def named_optimizer(factory: Callable[..., optax.GradientTransformation]) -> Callable[..., Optimizer]:
    """Makes ``factory`` return an :class:`Optimizer` (compared by configuration)."""

    @functools.wraps(factory)
    def build(*args, **kwargs) -> Optimizer:
        tx = optax.with_extra_args_support(factory(*args, **kwargs))
        return Optimizer(tx.init, tx.update)

    return build


# --------------------------------------------------------------------------- checks


def _scalar_or_none(name: str, value: object) -> float | None:
    """Returns ``value`` as a Python float, or ``None`` when it is a tracer.

    A traced hyperparameter (``optim.sgd(lr)`` inside ``jax.vmap``/``jax.jit`` over ``lr``)
    has no value at construction time, so only its shape can be checked.
    """
    if isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be a real number, got the bool {value!r}")
    if isinstance(value, jax.core.Tracer):
        if value.shape != ():
            raise ValueError(f"{name} must be a scalar, got an array of shape {value.shape}")
        if not jnp.issubdtype(value.dtype, jnp.floating):
            raise ValueError(
                f"{name} must be a float, got a traced array of dtype {value.dtype}; "
                f"cast it, e.g. jnp.asarray({name}, jnp.float32)"
            )
        return None
    try:
        array = np.asarray(value)
    except Exception as exc:  # noqa: BLE001 - anything not array-like
        raise ValueError(f"{name} must be a real number, got {value!r}") from exc
    if array.shape != ():
        raise ValueError(
            f"{name} must be a scalar, got an array of shape {array.shape}; "
            "per-parameter hyperparameters are not supported"
        )
    if not (np.issubdtype(array.dtype, np.floating) or np.issubdtype(array.dtype, np.integer)):
        raise ValueError(f"{name} must be a real number, got {value!r} of dtype {array.dtype}")
    return float(array)


def check_learning_rate(learning_rate: ScalarOrSchedule, name: str = "learning_rate") -> None:
    """Raises ``ValueError`` unless ``learning_rate`` is a callable or a number > 0."""
    if callable(learning_rate):
        return
    value = _scalar_or_none(name, learning_rate)
    if value is not None and not value > 0:
        raise ValueError(
            f"{name} must be > 0, got {value}; gradient descent steps along -grad, so a "
            "non-positive learning rate does not descend"
        )


def check_in_unit_interval(value: ArrayLike, name: str) -> None:
    """Raises ``ValueError`` unless ``0 <= value < 1`` (decay rates, betas, rho, momentum)."""
    v = _scalar_or_none(name, value)
    if v is not None and not 0.0 <= v < 1.0:
        raise ValueError(
            f"{name} must be in [0, 1), got {v}; it is the weight of the past in a moving "
            "average, and 1 or more would never forget (or grow without bound)"
        )


def check_positive(value: ArrayLike, name: str) -> None:
    """Raises ``ValueError`` unless ``value > 0`` (eps)."""
    v = _scalar_or_none(name, value)
    if v is not None and not v > 0.0:
        raise ValueError(f"{name} must be > 0, got {v}; use a small number such as 1e-8")


def check_nonnegative(value: ArrayLike, name: str) -> None:
    """Raises ``ValueError`` unless ``value >= 0`` (initial accumulators, weight decay)."""
    v = _scalar_or_none(name, value)
    if v is not None and not v >= 0.0:
        raise ValueError(f"{name} must be >= 0, got {v}")


# --------------------------------------------------------------------------- dtypes


def cast_to_leaf(value: ArrayLike, leaf: jax.Array) -> jax.Array:
    """Returns the scalar ``value`` in ``leaf``'s dtype, so that it cannot promote ``leaf``.

    Every primitive multiplies or adds its scalars (hyperparameters, and scalars computed
    from them and the int32 step count) through this. A Python float is weakly typed and
    would take the leaf's dtype anyway, so for it nothing changes. A float32 *array* is
    strongly typed: a hyperparameter traced by ``jax.jit``/``jax.vmap`` (as
    ``jaxnn.train.sweep`` passes them), or ``1 - b**count`` / ``eps / sqrt(1 - b2**count)``
    computed under ``jit`` (float64 under x64), would promote bfloat16 updates and state
    to float32, or float32 ones to float64, and a ``lax.scan`` carry would change type.

    Cast a *computed* scalar after computing it, not its inputs before: ``1 - b2`` for
    ``b2 = 0.999`` is 1e-3 in float32 but 0 in bfloat16, since bfloat16(0.999) == 1.

    Args:
      value: A scalar: a Python number or a (possibly traced) 0-d array.
      leaf: The array the scalar is combined with (an update, moment or parameter).

    Returns:
      ``value`` as a 0-d array of ``leaf.dtype``; ``value`` unchanged when ``leaf`` is
      not floating point (an integer leaf is left to JAX's promotion rather than have
      0.9 truncated to 0).
    """
    if not jnp.issubdtype(leaf.dtype, jnp.inexact):
        return jnp.asarray(value)
    return jnp.asarray(value, dtype=leaf.dtype)


# ------------------------------------------------------------------ learning rate


class ScaleByLearningRateState(NamedTuple):
    """State of :func:`scale_by_learning_rate`.

    Attributes:
      count: int32 scalar, the number of updates made so far (the schedule's input).
    """

    count: jax.Array


def scale_by_learning_rate(learning_rate: ScalarOrSchedule) -> optax.GradientTransformation:
    r"""Multiplies updates by the negative learning rate: the descent step.

    .. math::

        u_t = -\eta_t \, g_t, \qquad \eta_t = \text{learning\_rate}(t) \text{ or constant}

    where ``t = count`` starts at 0. This is the only place in :mod:`jaxnn.optim` where
    the sign is flipped, so every named optimizer descends.

    Args:
      learning_rate: A float > 0, a scalar (possibly traced) array, or a schedule
        ``count -> scalar`` (any Optax schedule works).

    Returns:
      An ``optax.GradientTransformation`` whose state is
      :class:`ScaleByLearningRateState`.

    Raises:
      ValueError: If ``learning_rate`` is a number <= 0 or not a scalar.
    """
    check_learning_rate(learning_rate)

    def init(params: optax.Params) -> ScaleByLearningRateState:
        del params
        return ScaleByLearningRateState(count=jnp.zeros([], jnp.int32))

    def update(updates, state, params=None):
        del params
        step = learning_rate(state.count) if callable(learning_rate) else learning_rate
        # Cast the step to each leaf's dtype so a float32 (or bfloat16) model stays in it.
        updates = jax.tree.map(lambda g: -cast_to_leaf(step, g) * g, updates)
        return updates, ScaleByLearningRateState(count=optax.safe_increment(state.count))

    return optax.GradientTransformation(init, update)


def add_decayed_weights(weight_decay: float = 0.0) -> optax.GradientTransformation:
    r"""Adds ``weight_decay * params`` to the updates (L2 / decoupled weight decay).

    .. math::

        u_t = g_t + \lambda \, \theta_t

    Placed before a ``scale_by_X`` it is PyTorch's ``weight_decay=`` argument (an L2
    penalty folded into the gradient); placed after it and before
    :func:`scale_by_learning_rate` it is AdamW's decoupled decay. To skip some leaves
    (biases), wrap it: ``optax.masked(add_decayed_weights(wd), mask)``.

    Args:
      weight_decay: The decay rate :math:`\lambda \ge 0`.

    Returns:
      An ``optax.GradientTransformation`` with empty state; its ``update`` needs
      ``params``.

    Raises:
      ValueError: If ``weight_decay < 0``, or at update time if ``params`` is None.
    """
    check_nonnegative(weight_decay, "weight_decay")

    def init(params: optax.Params) -> optax.EmptyState:
        del params
        return optax.EmptyState()

    def update(updates, state, params=None):
        if params is None:
            raise ValueError(
                "add_decayed_weights needs the parameters: call "
                "optimizer.update(grads, state, params)"
            )
        updates = jax.tree.map(lambda g, p: g + cast_to_leaf(weight_decay, p) * p, updates, params)
        return updates, state

    return optax.GradientTransformation(init, update)
