"""Adagrad: per-coordinate step sizes shrinking with the sum of squared gradients."""

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
    check_nonnegative,
    check_positive,
    scale_by_learning_rate,
)

__all__ = ["ScaleByRssState", "scale_by_rss", "adagrad"]


class ScaleByRssState(NamedTuple):
    """State of :func:`scale_by_rss`.

    Attributes:
      sum_of_squares: :math:`G_t`, the running sum of squared gradients (plus the
        initial accumulator value), shaped like the parameters.
    """

    sum_of_squares: optax.Updates


def scale_by_rss(
    initial_accumulator_value: ArrayLike = 0.1,
    eps: ArrayLike = 1e-7,
    *,
    eps_in_sqrt: bool = True,
) -> optax.GradientTransformation:
    r"""Divides updates by the root of the sum of squared gradients (Adagrad's scaling).

    .. math::

        G_t = G_{t-1} + g_t^2, \quad G_0 = \text{initial\_accumulator\_value}, \qquad
        u_t = \frac{g_t}{\sqrt{G_t + \epsilon}} \;\text{or}\; \frac{g_t}{\sqrt{G_t} + \epsilon}

    Args:
      initial_accumulator_value: :math:`G_0 \ge 0`.
      eps: :math:`\epsilon > 0`.
      eps_in_sqrt: Add ``eps`` inside the square root (Optax, Keras) or outside (PyTorch).

    Returns:
      An ``optax.GradientTransformation`` with state :class:`ScaleByRssState`.

    Raises:
      ValueError: If ``initial_accumulator_value < 0`` or ``eps <= 0``.
    """
    check_nonnegative(initial_accumulator_value, "initial_accumulator_value")
    check_positive(eps, "eps")

    def init(params: optax.Params) -> ScaleByRssState:
        return ScaleByRssState(
            sum_of_squares=jax.tree.map(
                lambda p: jnp.full_like(p, initial_accumulator_value), params
            )
        )

    def update(updates, state, params=None):
        del params
        sum_of_squares = jax.tree.map(lambda g, s: s + g * g, updates, state.sum_of_squares)
        if eps_in_sqrt:
            scaling = jax.tree.map(
                lambda s: jax.lax.rsqrt(s + cast_to_leaf(eps, s)), sum_of_squares
            )
        else:
            scaling = jax.tree.map(
                lambda s: 1 / (jnp.sqrt(s) + cast_to_leaf(eps, s)), sum_of_squares
            )
        updates = jax.tree.map(lambda c, g: c * g, scaling, updates)
        return updates, ScaleByRssState(sum_of_squares=sum_of_squares)

    return optax.GradientTransformation(init, update)


@named_optimizer
def adagrad(
    learning_rate: ScalarOrSchedule,
    initial_accumulator_value: ArrayLike = 0.1,
    eps: ArrayLike = 1e-7,
    *,
    eps_in_sqrt: bool = True,
) -> optax.GradientTransformation:
    r"""Adagrad (Duchi et al., 2011).

    .. math::

        G_t = G_{t-1} + g_t^2, \qquad
        x_{t+1} = x_t - \eta_t \frac{g_t}{\sqrt{G_t + \epsilon}}

    Each coordinate's effective learning rate :math:`\eta / \sqrt{G_t + \epsilon}` can
    only shrink, since :math:`G_t` only grows: Adagrad needs no tuning of the decay but
    eventually stops moving (the course's "decreases the learning rate aggressively and
    monotonically").

    Peers and defaults (defaults match Optax and Keras 3):

    * Optax ``optax.adagrad(lr)`` (``initial_accumulator_value=0.1, eps=1e-7``, eps
      inside the root) == ``adagrad(lr)``.
    * Keras 3 ``keras.optimizers.Adagrad(lr)`` (``initial_accumulator_value=0.1,
      epsilon=1e-7``, eps inside the root) == ``adagrad(lr)``.
    * PyTorch ``torch.optim.Adagrad(lr=lr)`` (accumulator starts at 0, ``eps=1e-10``
      outside the root) == ``adagrad(lr, 0.0, 1e-10, eps_in_sqrt=False)``. Its
      ``lr_decay=d`` is the schedule ``learning_rate=lambda t: lr / (1 + t * d)``; its
      ``weight_decay=wd`` is ``optax.chain(add_decayed_weights(wd), adagrad(...))``.

    Args:
      learning_rate: :math:`\eta > 0`, a float, scalar array or schedule.
      initial_accumulator_value: :math:`G_0 \ge 0`.
      eps: :math:`\epsilon > 0`.
      eps_in_sqrt: Add ``eps`` inside the square root (default) or outside.

    Returns:
      An ``optax.GradientTransformation``: ``optax.chain(scale_by_rss,
      scale_by_learning_rate)``.

    Raises:
      ValueError: If ``learning_rate <= 0``, ``initial_accumulator_value < 0`` or
        ``eps <= 0``.
    """
    return optax.chain(
        scale_by_rss(initial_accumulator_value, eps, eps_in_sqrt=eps_in_sqrt),
        scale_by_learning_rate(learning_rate),
    )
