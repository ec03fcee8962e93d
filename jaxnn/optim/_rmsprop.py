"""RMSProp: plain, centered, and with momentum."""

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
    check_nonnegative,
    check_positive,
    scale_by_learning_rate,
)
from jaxnn.optim._momentum import trace

__all__ = ["ScaleByRmsState", "scale_by_rms", "rmsprop"]


class ScaleByRmsState(NamedTuple):
    """State of :func:`scale_by_rms`.

    Attributes:
      mu: Moving average of the gradients :math:`m_t`; ``None`` unless centered.
      nu: Moving average of the squared gradients :math:`v_t`.
    """

    mu: optax.Updates | None
    nu: optax.Updates


def scale_by_rms(
    decay: ArrayLike = 0.9,
    eps: ArrayLike = 1e-8,
    *,
    eps_in_sqrt: bool = True,
    centered: bool = False,
    initial_scale: ArrayLike = 0.0,
) -> optax.GradientTransformation:
    r"""Divides updates by the root of a moving average of squared gradients.

    .. math::

        v_t = \rho v_{t-1} + (1 - \rho) g_t^2, \quad
        m_t = \rho m_{t-1} + (1 - \rho) g_t, \qquad
        u_t = \frac{g_t}{\sqrt{s_t + \epsilon}} \;\text{or}\; \frac{g_t}{\sqrt{s_t} + \epsilon}

    with :math:`s_t = v_t` (plain) or :math:`s_t = v_t - m_t^2` (centered, an estimate
    of the variance), :math:`v_0 = \text{initial\_scale}`, :math:`m_0 = 0`.

    Args:
      decay: :math:`\rho \in [0, 1)`.
      eps: :math:`\epsilon > 0`.
      eps_in_sqrt: Add ``eps`` inside the square root (Optax, Keras) or outside (PyTorch).
      centered: Divide by the root of the variance instead of the second moment.
      initial_scale: :math:`v_0 \ge 0` (PyTorch and Optax 0, TF1 1).

    Returns:
      An ``optax.GradientTransformation`` with state :class:`ScaleByRmsState`.

    Raises:
      ValueError: If ``decay`` is outside [0, 1), ``eps <= 0`` or ``initial_scale < 0``.
    """
    check_in_unit_interval(decay, "decay")
    check_positive(eps, "eps")
    check_nonnegative(initial_scale, "initial_scale")

    # The complements are computed here, once: for Python floats in float64, as constant folding
    # did, so that a compiled program given them as runtime values (jaxnn.train.fit) rounds
    # exactly as it did with constants.
    one_minus_decay = 1 - decay

    def init(params: optax.Params) -> ScaleByRmsState:
        return ScaleByRmsState(
            mu=jax.tree.map(jnp.zeros_like, params) if centered else None,
            nu=jax.tree.map(lambda p: jnp.full_like(p, initial_scale), params),
        )

    def update(updates, state, params=None):
        del params
        # Scalars in each leaf's dtype: a traced float32 decay or eps must not promote
        # bfloat16 updates and state.
        nu = jax.tree.map(
            lambda g, v: cast_to_leaf(one_minus_decay, g) * (g * g) + cast_to_leaf(decay, v) * v,
            updates,
            state.nu,
        )
        if centered:
            mu = jax.tree.map(
                lambda g, m: cast_to_leaf(one_minus_decay, g) * g + cast_to_leaf(decay, m) * m,
                updates,
                state.mu,
            )
            # v - m^2 >= 0 in exact arithmetic (it is a weighted variance); the clamp keeps
            # rounding from producing sqrt(-tiny) = NaN when eps is outside the root.
            second = jax.tree.map(lambda v, m: jnp.maximum(v - m * m, 0.0), nu, mu)
        else:
            mu = state.mu
            second = nu
        if eps_in_sqrt:
            scaling = jax.tree.map(lambda s: jax.lax.rsqrt(s + cast_to_leaf(eps, s)), second)
        else:
            scaling = jax.tree.map(lambda s: 1 / (jnp.sqrt(s) + cast_to_leaf(eps, s)), second)
        updates = jax.tree.map(lambda c, g: c * g, scaling, updates)
        return updates, ScaleByRmsState(mu=mu, nu=nu)

    return optax.GradientTransformation(init, update)


@named_optimizer
def rmsprop(
    learning_rate: ScalarOrSchedule,
    decay: ArrayLike = 0.9,
    eps: ArrayLike = 1e-8,
    *,
    eps_in_sqrt: bool = True,
    centered: bool = False,
    momentum: ArrayLike | None = None,
    nesterov: bool = False,
    initial_scale: ArrayLike = 0.0,
) -> optax.GradientTransformation:
    r"""RMSProp (Hinton, 2012), optionally centered (Graves, 2013) and with momentum.

    .. math::

        v_t = \rho v_{t-1} + (1 - \rho) g_t^2, \qquad
        x_{t+1} = x_t - \eta_t \frac{g_t}{\sqrt{v_t + \epsilon}}

    Centered: :math:`v_t` is replaced by :math:`v_t - m_t^2` with
    :math:`m_t = \rho m_{t-1} + (1 - \rho) g_t`. With ``momentum=mu`` the scaled step is
    accumulated, :math:`b_t = \mu b_{t-1} + \eta_t g_t / \sqrt{\cdot}`,
    :math:`x_{t+1} = x_t - b_t` (the learning rate is applied before the momentum, as
    in Optax and Keras; PyTorch applies it after, which is the same trajectory for a
    constant learning rate).

    Peers and defaults (defaults match Optax):

    * Optax ``optax.rmsprop(lr, decay, eps, initial_scale, eps_in_sqrt, centered,
      momentum, nesterov)`` == ``rmsprop(lr, decay, eps, ...)`` with the same knobs
      (defaults ``decay=0.9, eps=1e-8``, eps inside the root).
    * PyTorch ``torch.optim.RMSprop(lr=lr, alpha=0.99, eps=1e-8, centered=c,
      momentum=m)`` == ``rmsprop(lr, decay=0.99, eps=1e-8, eps_in_sqrt=False,
      centered=c, momentum=m or None)``. PyTorch's default decay is 0.99, not 0.9, and
      its eps is outside the root.
    * Keras 3 ``keras.optimizers.RMSprop(lr, rho=0.9, momentum=m, epsilon=1e-7,
      centered=c)`` == ``rmsprop(lr, decay=0.9, eps=1e-7, centered=c, momentum=m or
      None)`` (eps inside the root).

    Args:
      learning_rate: :math:`\eta > 0`, a float, scalar array or schedule.
      decay: :math:`\rho \in [0, 1)`.
      eps: :math:`\epsilon > 0`.
      eps_in_sqrt: Add ``eps`` inside the square root (default) or outside (PyTorch).
      centered: Use the variance :math:`v_t - m_t^2` instead of :math:`v_t`.
      momentum: ``None`` for no momentum, or :math:`\mu \in [0, 1)`.
      nesterov: Nesterov form of the momentum (only with ``momentum``).
      initial_scale: :math:`v_0 \ge 0`.

    Returns:
      An ``optax.GradientTransformation``: ``optax.chain(scale_by_rms,
      scale_by_learning_rate[, trace])``.

    Raises:
      ValueError: If a hyperparameter is out of range, or ``nesterov=True`` without
        ``momentum``.
    """
    if momentum is None and nesterov:
        raise ValueError("nesterov=True needs momentum; pass e.g. momentum=0.9")
    parts = [
        scale_by_rms(
            decay, eps, eps_in_sqrt=eps_in_sqrt, centered=centered, initial_scale=initial_scale
        ),
        scale_by_learning_rate(learning_rate),
    ]
    if momentum is not None:
        check_in_unit_interval(momentum, "momentum")
        parts.append(trace(momentum, nesterov=nesterov))
    return optax.chain(*parts)
