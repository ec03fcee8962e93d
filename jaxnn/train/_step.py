"""The training step: one gradient of the batch loss and one optimizer update.

:func:`apply_step` is the step itself, shared by :func:`jaxnn.train.fit`'s compiled epochs
and by :func:`make_train_step`, which compiles it alone for loops written by hand.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import optax

from jaxnn.train._types import LossFn, Params


def apply_step(
    batch_loss: Callable[[Params], jax.Array], optimizer: optax.GradientTransformation, params: Params, opt_state: Any
) -> tuple[Params, Any, jax.Array]:
    """One step: the value and gradient of ``batch_loss`` at ``params``, and one optimizer update.

    Args:
      batch_loss: ``params -> scalar``, the loss of one batch.
      optimizer: an ``optax.GradientTransformation``.
      params: the parameters, a pytree.
      opt_state: the optimizer's state for ``params``.

    Returns:
      ``(new_params, new_opt_state, loss)``, ``loss`` at the old ``params``.
    """
    value, grads = jax.value_and_grad(batch_loss)(params)
    updates, opt_state = optimizer.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state, value


def make_train_step(
    loss_fn: LossFn, optimizer: optax.GradientTransformation, *, donate: bool = True
) -> Callable[[Params, Any, jax.Array, jax.Array], tuple[Params, Any, jax.Array]]:
    """One compiled training step, for loops you write yourself.

    ``step(params, opt_state, x_batch, y_batch) -> (params, opt_state, loss)`` computes the
    mean of ``loss_fn`` over the batch, its gradient with ``jax.grad``, and one optimizer
    update, as one ``jax.jit``-compiled call. :func:`fit` runs the same computation inside
    its compiled loop; this is for when the loop itself must be Python (interleaving other
    work, streaming data from disk with :func:`jaxnn.data.iterate_batches`).

    Args:
      loss_fn: per-example loss ``loss_fn(params, x, y) -> [batch]``.
      optimizer: an ``optax.GradientTransformation``.
      donate: donate ``params`` and ``opt_state`` to the step (default), so their buffers
        are reused in place; the arrays passed in must not be used after the call.

    Returns:
      The compiled ``step`` function.

    >>> import optax
    >>> step = make_train_step(lambda p, x, y: (x * p - y) ** 2, optax.sgd(0.1))
    >>> p, s = jnp.array(0.0), optax.sgd(0.1).init(jnp.array(0.0))
    >>> p, s, loss = step(p, s, jnp.array([1.0, 2.0]), jnp.array([2.0, 4.0]))
    >>> float(loss), float(p)
    (10.0, 1.0)
    """
    if not callable(loss_fn):
        raise TypeError("loss_fn must be callable as loss_fn(params, x, y) -> per-example losses [batch]")

    def step(params, opt_state, xb, yb):
        return apply_step(lambda p: jnp.mean(loss_fn(p, xb, yb)), optimizer, params, opt_state)

    return jax.jit(step, donate_argnums=(0, 1) if donate else ())
