"""AdaDelta: RMSProp with the step size replaced by a moving RMS of past steps."""

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
    check_positive,
    scale_by_learning_rate,
)

__all__ = ["ScaleByAdaDeltaState", "scale_by_adadelta", "adadelta"]


class ScaleByAdaDeltaState(NamedTuple):
    """State of :func:`scale_by_adadelta`.

    Attributes:
      e_g: :math:`E[g^2]_t`, moving average of squared gradients.
      e_x: :math:`E[\\Delta x^2]_t`, moving average of squared (unscaled) steps.
    """

    e_g: optax.Updates
    e_x: optax.Updates


def scale_by_adadelta(rho: ArrayLike = 0.9, eps: ArrayLike = 1e-6) -> optax.GradientTransformation:
    r"""Rescales updates by AdaDelta's ratio of RMS(step) to RMS(gradient).

    .. math::

        E[g^2]_t = \rho E[g^2]_{t-1} + (1 - \rho) g_t^2, \quad
        \Delta_t = \frac{\sqrt{E[\Delta^2]_{t-1} + \epsilon}}{\sqrt{E[g^2]_t + \epsilon}} g_t,
        \quad E[\Delta^2]_t = \rho E[\Delta^2]_{t-1} + (1 - \rho) \Delta_t^2

    and :math:`u_t = \Delta_t`. Same as ``optax.scale_by_adadelta``. It does **not**
    flip the sign: chain it with :func:`scale_by_learning_rate` (as :func:`adadelta`
    does) to descend.

    Args:
      rho: :math:`\rho \in [0, 1)`.
      eps: :math:`\epsilon > 0`.

    Returns:
      An ``optax.GradientTransformation`` with state :class:`ScaleByAdaDeltaState`.

    Raises:
      ValueError: If ``rho`` is outside [0, 1) or ``eps <= 0``.
    """
    check_in_unit_interval(rho, "rho")
    check_positive(eps, "eps")

    # The complements are computed here, once: for Python floats in float64, as constant folding
    # did, so that a compiled program given them as runtime values (jaxnn.train.fit) rounds
    # exactly as it did with constants.
    one_minus_rho = 1 - rho

    def init(params: optax.Params) -> ScaleByAdaDeltaState:
        zeros = jax.tree.map(jnp.zeros_like, params)
        return ScaleByAdaDeltaState(e_g=zeros, e_x=zeros)

    def update(updates, state, params=None):
        del params
        # rho, 1 - rho and eps in each leaf's dtype: traced float32 ones must not promote
        # bfloat16 updates and state.
        def average(x, e):
            return cast_to_leaf(one_minus_rho, x) * (x * x) + cast_to_leaf(rho, e) * e

        def rescale(g, eg, ex):
            eps_ = cast_to_leaf(eps, g)
            return jnp.sqrt(ex + eps_) / jnp.sqrt(eg + eps_) * g

        e_g = jax.tree.map(average, updates, state.e_g)
        delta = jax.tree.map(rescale, updates, e_g, state.e_x)
        e_x = jax.tree.map(average, delta, state.e_x)
        return delta, ScaleByAdaDeltaState(e_g=e_g, e_x=e_x)

    return optax.GradientTransformation(init, update)


@named_optimizer
def adadelta(
    learning_rate: ScalarOrSchedule = 1.0,
    rho: ArrayLike = 0.9,
    eps: ArrayLike = 1e-6,
) -> optax.GradientTransformation:
    r"""AdaDelta (Zeiler, 2012).

    .. math::

        E[g^2]_t = \rho E[g^2]_{t-1} + (1 - \rho) g_t^2, \qquad
        \Delta_t = \frac{\sqrt{E[\Delta^2]_{t-1} + \epsilon}}{\sqrt{E[g^2]_t + \epsilon}} g_t,

        E[\Delta^2]_t = \rho E[\Delta^2]_{t-1} + (1 - \rho) \Delta_t^2, \qquad
        x_{t+1} = x_t - \eta_t \Delta_t

    Zeiler's algorithm has no learning rate (:math:`\eta = 1`, the default). The
    units of :math:`\Delta` match those of :math:`x`, so the first steps are about
    :math:`\sqrt{\epsilon}` long and AdaDelta starts slowly.

    Peers and defaults (defaults match PyTorch):

    * PyTorch ``torch.optim.Adadelta()`` (``lr=1.0, rho=0.9, eps=1e-6``) ==
      ``adadelta()``.
    * Optax ``optax.adadelta(learning_rate=lr)`` (``rho=0.9, eps=1e-6``) ==
      ``adadelta(lr)``. Beware: Optax's default ``learning_rate=None`` skips the
      learning-rate step *and its sign flip*, so ``optax.adadelta()`` ascends;
      ``adadelta()`` here always descends.
    * Keras 3 ``keras.optimizers.Adadelta()`` (``learning_rate=0.001, rho=0.95,
      epsilon=1e-7``) == ``adadelta(0.001, rho=0.95, eps=1e-7)``.

    Args:
      learning_rate: :math:`\eta > 0`, a float, scalar array or schedule.
      rho: :math:`\rho \in [0, 1)`.
      eps: :math:`\epsilon > 0`.

    Returns:
      An ``optax.GradientTransformation``: ``optax.chain(scale_by_adadelta,
      scale_by_learning_rate)``.

    Raises:
      ValueError: If ``learning_rate <= 0``, ``rho`` is outside [0, 1) or ``eps <= 0``.
    """
    return optax.chain(scale_by_adadelta(rho, eps), scale_by_learning_rate(learning_rate))
