"""Gradient descent (GD / SGD / mini-batch SGD): the plain step ``x <- x - lr * g``."""

from __future__ import annotations

import optax

from jaxnn.optim._base import ScalarOrSchedule, named_optimizer, scale_by_learning_rate

__all__ = ["sgd"]


@named_optimizer
def sgd(learning_rate: ScalarOrSchedule) -> optax.GradientTransformation:
    r"""Gradient descent: the course's :math:`x_{n+1} = x_n - \eta \nabla f(x_n)`.

    .. math::

        u_t = -\eta_t \, g_t

    Gradient descent, stochastic gradient descent and mini-batch gradient descent are the
    *same* update rule; they differ only in which examples the training loop averages the
    gradient ``g_t`` over (all of them, one, or a batch). That choice belongs to the loop,
    not to the optimizer.

    Peers: identical to ``optax.sgd(lr)``, ``torch.optim.SGD(lr=lr)`` and
    ``keras.optimizers.SGD(lr)`` (no defaults to reconcile; momentum lives in
    :func:`jaxnn.optim.momentum`). PyTorch's ``weight_decay=wd`` is
    ``optax.chain(add_decayed_weights(wd), sgd(lr))``.

    Args:
      learning_rate: :math:`\eta > 0`, a float, scalar array (may be traced, e.g. under
        ``jax.vmap`` over learning rates) or a schedule ``count -> scalar``.

    Returns:
      An ``optax.GradientTransformation`` (state: ``ScaleByLearningRateState``).

    Raises:
      ValueError: If ``learning_rate <= 0``.

    Example:
        >>> import jax.numpy as jnp, optax
        >>> opt = sgd(0.1)
        >>> params = jnp.array([1.0, -2.0])
        >>> updates, state = opt.update(2 * params, opt.init(params))
        >>> optax.apply_updates(params, updates)
        Array([ 0.8, -1.6], dtype=float32)
    """
    return scale_by_learning_rate(learning_rate)
