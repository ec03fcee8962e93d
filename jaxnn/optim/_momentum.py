"""Momentum (heavy ball) and Nesterov momentum."""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax
from jax.typing import ArrayLike

from jaxnn.optim._base import (
    named_optimizer,
    ScalarOrSchedule,
    cast_to_leaf,
    check_in_unit_interval,
    scale_by_learning_rate,
)

__all__ = ["TraceState", "trace", "momentum"]


class TraceState(NamedTuple):
    """State of :func:`trace`.

    Attributes:
      trace: The velocity ``v``, a pytree shaped like the parameters.
    """

    trace: optax.Updates


def trace(decay: ArrayLike, *, nesterov: bool = False) -> optax.GradientTransformation:
    r"""Accumulates a velocity of past updates (the momentum primitive).

    .. math::

        v_t = \mu v_{t-1} + g_t, \qquad
        u_t = \begin{cases} v_t & \text{heavy ball} \\
                            g_t + \mu v_t & \text{Nesterov} \end{cases}

    with :math:`v_0 = 0`. Same as ``optax.trace``.

    Args:
      decay: :math:`\mu \in [0, 1)`.
      nesterov: Use the Nesterov look-ahead form.

    Returns:
      An ``optax.GradientTransformation`` with state :class:`TraceState`.

    Raises:
      ValueError: If ``decay`` is outside [0, 1).
    """
    check_in_unit_interval(decay, "decay")

    def init(params: optax.Params) -> TraceState:
        return TraceState(trace=jax.tree.map(jnp.zeros_like, params))

    def update(updates, state, params=None):
        del params
        # decay in each leaf's dtype: a traced float32 mu must not promote a bfloat16 velocity.
        velocity = jax.tree.map(lambda g, v: g + cast_to_leaf(decay, v) * v, updates, state.trace)
        if nesterov:
            updates = jax.tree.map(lambda g, v: g + cast_to_leaf(decay, v) * v, updates, velocity)
        else:
            updates = velocity
        return updates, TraceState(trace=velocity)

    return optax.GradientTransformation(init, update)


@named_optimizer
def momentum(
    learning_rate: ScalarOrSchedule,
    mu: ArrayLike = 0.9,
    *,
    nesterov: bool = False,
    lr_in_velocity: bool = False,
) -> optax.GradientTransformation:
    r"""Gradient descent with momentum (heavy ball) or Nesterov momentum.

    Default form (PyTorch ``SGD(momentum=mu)``, ``optax.sgd(lr, momentum=mu)``):

    .. math::

        v_t = \mu v_{t-1} + g_t, \qquad
        x_{t+1} = x_t - \eta_t v_t
        \quad(\text{Nesterov: } x_{t+1} = x_t - \eta_t (g_t + \mu v_t))

    With ``lr_in_velocity=True`` (Keras ``SGD(momentum=mu)``) the velocity stores
    learning-rate-scaled steps:

    .. math::

        v_t = \mu v_{t-1} - \eta_t g_t, \qquad
        x_{t+1} = x_t + v_t
        \quad(\text{Nesterov: } x_{t+1} = x_t + \mu v_t - \eta_t g_t)

    The two forms give the same trajectory for a constant learning rate (Keras's
    :math:`v` is :math:`-\eta` times PyTorch's); under a schedule they differ, since
    Keras's velocity keeps the old learning rates of the steps it remembers.

    Peers and defaults: every peer turns momentum off by default; ``mu=0.9`` is the
    customary value (Sutskever et al., 2013). PyTorch's ``dampening`` is not supported
    (use 0, its default).

    * Optax: ``optax.sgd(lr, momentum=mu, nesterov=n)`` == ``momentum(lr, mu, nesterov=n)``.
    * PyTorch: ``torch.optim.SGD(lr=lr, momentum=mu, nesterov=n)`` == the same.
    * Keras: ``keras.optimizers.SGD(lr, momentum=mu, nesterov=n)`` ==
      ``momentum(lr, mu, nesterov=n, lr_in_velocity=True)``.

    Args:
      learning_rate: :math:`\eta > 0`, a float, scalar array or schedule.
      mu: Momentum coefficient :math:`\mu \in [0, 1)`.
      nesterov: Use Nesterov's accelerated form.
      lr_in_velocity: Scale by the learning rate before accumulating (Keras form).

    Returns:
      An ``optax.GradientTransformation``: ``optax.chain(trace, scale_by_learning_rate)``
      (swapped when ``lr_in_velocity``).

    Raises:
      ValueError: If ``learning_rate <= 0`` or ``mu`` is outside [0, 1).
    """
    check_in_unit_interval(mu, "mu")
    velocity = trace(mu, nesterov=nesterov)
    step = scale_by_learning_rate(learning_rate)
    if lr_in_velocity:
        return optax.chain(step, velocity)
    return optax.chain(velocity, step)
