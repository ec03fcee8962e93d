"""Adam and AdamW."""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax
from jax.typing import ArrayLike

from jaxnn.optim._base import (
    named_optimizer,
    ScalarOrSchedule,
    add_decayed_weights,
    cast_to_leaf,
    check_in_unit_interval,
    check_nonnegative,
    check_positive,
    scale_by_learning_rate,
)

__all__ = ["ScaleByAdamState", "scale_by_adam", "adam", "adamw"]


class ScaleByAdamState(NamedTuple):
    """State of :func:`scale_by_adam`.

    Attributes:
      count: int32 scalar, number of updates so far (for the bias correction).
      mu: First moment :math:`m_t`, shaped like the parameters.
      nu: Second moment :math:`v_t`, shaped like the parameters.
    """

    count: jax.Array
    mu: optax.Updates
    nu: optax.Updates


def scale_by_adam(
    b1: ArrayLike = 0.9,
    b2: ArrayLike = 0.999,
    eps: ArrayLike = 1e-8,
    eps_root: ArrayLike = 0.0,
    *,
    eps_hat: bool = False,
) -> optax.GradientTransformation:
    r"""Rescales updates by Adam's bias-corrected moment estimates.

    .. math::

        m_t = \beta_1 m_{t-1} + (1 - \beta_1) g_t, \quad
        v_t = \beta_2 v_{t-1} + (1 - \beta_2) g_t^2, \quad
        \hat m_t = \frac{m_t}{1 - \beta_1^t}, \quad \hat v_t = \frac{v_t}{1 - \beta_2^t},

        u_t = \frac{\hat m_t}{\sqrt{\hat v_t + \bar\epsilon} + \epsilon}
        \quad\text{or, with eps\_hat,}\quad
        u_t = \frac{\hat m_t}{\sqrt{\hat v_t + \bar\epsilon} + \epsilon / \sqrt{1 - \beta_2^t}}

    The ``eps_hat`` form is the paper's :math:`\hat\epsilon` variant used by Keras:
    :math:`\alpha_t = \eta \sqrt{1 - \beta_2^t} / (1 - \beta_1^t)`,
    :math:`u_t = \alpha_t m_t / (\sqrt{v_t} + \hat\epsilon)`, i.e. eps added to the
    *uncorrected* root. Both agree once :math:`\sqrt{v_t} \gg \epsilon`.

    Args:
      b1: :math:`\beta_1 \in [0, 1)`.
      b2: :math:`\beta_2 \in [0, 1)`.
      eps: :math:`\epsilon > 0`, outside the root.
      eps_root: :math:`\bar\epsilon \ge 0`, inside the root (Optax's ``eps_root``;
        makes the update differentiable at :math:`v = 0`).
      eps_hat: Add ``eps`` to the uncorrected root (Keras) instead of the corrected one.

    Returns:
      An ``optax.GradientTransformation`` with state :class:`ScaleByAdamState`.

    Raises:
      ValueError: If a beta is outside [0, 1), ``eps <= 0`` or ``eps_root < 0``.
    """
    check_in_unit_interval(b1, "b1")
    check_in_unit_interval(b2, "b2")
    check_positive(eps, "eps")
    check_nonnegative(eps_root, "eps_root")

    # The complements are computed here, once: for Python floats in float64, as constant folding
    # did, so that a compiled program given them as runtime values (jaxnn.train.fit) rounds
    # exactly as it did with constants.
    one_minus_b1, one_minus_b2 = 1 - b1, 1 - b2

    def init(params: optax.Params) -> ScaleByAdamState:
        return ScaleByAdamState(
            count=jnp.zeros([], jnp.int32),
            mu=jax.tree.map(jnp.zeros_like, params),
            nu=jax.tree.map(jnp.zeros_like, params),
        )

    def update(updates, state, params=None):
        del params
        # Scalars are cast to each leaf's dtype (cast_to_leaf) so that a traced float32
        # hyperparameter or a count-dependent scalar never promotes the updates or state.
        mu = jax.tree.map(
            lambda g, m: cast_to_leaf(one_minus_b1, g) * g + cast_to_leaf(b1, m) * m, updates, state.mu
        )
        nu = jax.tree.map(
            lambda g, v: cast_to_leaf(one_minus_b2, g) * (g * g) + cast_to_leaf(b2, v) * v,
            updates,
            state.nu,
        )
        count = optax.safe_increment(state.count)
        # With a Python or float32 beta the corrections are computed in float32 (float64
        # under x64) and cast per leaf only afterwards: b**t in bfloat16 rounds to 1
        # (bfloat16(0.999) == 1).
        correction1 = 1 - b1**count
        correction2 = 1 - b2**count
        denominator_eps = eps / jnp.sqrt(correction2) if eps_hat else eps

        def step(m, v):
            m_hat = m / cast_to_leaf(correction1, m)
            v_hat = v / cast_to_leaf(correction2, v)
            root = jnp.sqrt(v_hat + cast_to_leaf(eps_root, v))
            return m_hat / (root + cast_to_leaf(denominator_eps, v))

        updates = jax.tree.map(step, mu, nu)
        return updates, ScaleByAdamState(count=count, mu=mu, nu=nu)

    return optax.GradientTransformation(init, update)


@named_optimizer
def adam(
    learning_rate: ScalarOrSchedule,
    b1: ArrayLike = 0.9,
    b2: ArrayLike = 0.999,
    eps: ArrayLike = 1e-8,
    eps_root: ArrayLike = 0.0,
    *,
    eps_hat: bool = False,
) -> optax.GradientTransformation:
    r"""Adam (Kingma & Ba, 2015): momentum on the gradient, RMSProp on its scale.

    .. math::

        m_t = \beta_1 m_{t-1} + (1 - \beta_1) g_t, \qquad
        v_t = \beta_2 v_{t-1} + (1 - \beta_2) g_t^2,

        x_{t+1} = x_t - \eta_t \frac{m_t / (1 - \beta_1^t)}
                                   {\sqrt{v_t / (1 - \beta_2^t)} + \epsilon}

    Peers and defaults (defaults match Optax and PyTorch):

    * Optax ``optax.adam(lr, b1, b2, eps, eps_root)`` == ``adam(lr, b1, b2, eps,
      eps_root)`` (defaults ``0.9, 0.999, 1e-8, 0``).
    * PyTorch ``torch.optim.Adam(lr=lr, betas=(b1, b2), eps=1e-8)`` == ``adam(lr, b1,
      b2, 1e-8)``. Its ``weight_decay=wd`` (an L2 term, not AdamW) is
      ``optax.chain(add_decayed_weights(wd), adam(lr))``.
    * Keras 3 ``keras.optimizers.Adam(lr, beta_1=b1, beta_2=b2, epsilon=1e-7)`` ==
      ``adam(lr, b1, b2, eps=1e-7, eps_hat=True)``: Keras adds its epsilon to the
      uncorrected :math:`\sqrt{v_t}` (the paper's :math:`\hat\epsilon`) and defaults
      it to 1e-7.

    Args:
      learning_rate: :math:`\eta > 0`, a float, scalar array or schedule.
      b1: :math:`\beta_1 \in [0, 1)`.
      b2: :math:`\beta_2 \in [0, 1)`.
      eps: :math:`\epsilon > 0`.
      eps_root: :math:`\ge 0`, added inside the root (Optax's ``eps_root``).
      eps_hat: Keras's :math:`\hat\epsilon` form, see :func:`scale_by_adam`.

    Returns:
      An ``optax.GradientTransformation``: ``optax.chain(scale_by_adam,
      scale_by_learning_rate)``.

    Raises:
      ValueError: If ``learning_rate <= 0``, a beta is outside [0, 1), ``eps <= 0``
        or ``eps_root < 0``.
    """
    return optax.chain(
        scale_by_adam(b1, b2, eps, eps_root, eps_hat=eps_hat),
        scale_by_learning_rate(learning_rate),
    )


@named_optimizer
def adamw(
    learning_rate: ScalarOrSchedule,
    b1: ArrayLike = 0.9,
    b2: ArrayLike = 0.999,
    eps: ArrayLike = 1e-8,
    eps_root: ArrayLike = 0.0,
    weight_decay: float = 1e-4,
    *,
    eps_hat: bool = False,
) -> optax.GradientTransformation:
    r"""AdamW (Loshchilov & Hutter, 2019): Adam with decoupled weight decay.

    .. math::

        x_{t+1} = x_t - \eta_t \left( \frac{\hat m_t}{\sqrt{\hat v_t} + \epsilon}
                                      + \lambda x_t \right)

    The decay :math:`\lambda x_t` bypasses Adam's rescaling (unlike an L2 term in the
    loss, which Adam would divide by :math:`\sqrt{\hat v_t}`), and is multiplied by the
    learning rate, as in Optax, PyTorch and Keras.

    Peers and defaults (defaults match Optax):

    * Optax ``optax.adamw(lr, b1, b2, eps, eps_root, weight_decay=1e-4)`` ==
      ``adamw(lr, b1, b2, eps, eps_root, 1e-4)``.
    * PyTorch ``torch.optim.AdamW(lr=lr, betas=(b1, b2), eps=1e-8,
      weight_decay=0.01)`` == ``adamw(lr, b1, b2, weight_decay=0.01)``: PyTorch's
      default decay is 100 times larger.
    * Keras 3 ``keras.optimizers.AdamW(lr, weight_decay=0.004, epsilon=1e-7)`` ==
      ``adamw(lr, eps=1e-7, weight_decay=0.004, eps_hat=True)``.

    To exempt biases from the decay, build the chain yourself:
    ``optax.chain(scale_by_adam(), optax.masked(add_decayed_weights(wd), mask),
    scale_by_learning_rate(lr))``.

    Args:
      learning_rate: :math:`\eta > 0`, a float, scalar array or schedule.
      b1: :math:`\beta_1 \in [0, 1)`.
      b2: :math:`\beta_2 \in [0, 1)`.
      eps: :math:`\epsilon > 0`.
      eps_root: :math:`\ge 0`, added inside the root.
      weight_decay: :math:`\lambda \ge 0`.
      eps_hat: Keras's :math:`\hat\epsilon` form, see :func:`scale_by_adam`.

    Returns:
      An ``optax.GradientTransformation``: ``optax.chain(scale_by_adam,
      add_decayed_weights, scale_by_learning_rate)``; its ``update`` needs ``params``.

    Raises:
      ValueError: If a hyperparameter is out of range.
    """
    return optax.chain(
        scale_by_adam(b1, b2, eps, eps_root, eps_hat=eps_hat),
        add_decayed_weights(weight_decay),
        scale_by_learning_rate(learning_rate),
    )
