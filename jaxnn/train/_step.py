"""``make_train_step``: one compiled training step, for loops written by hand."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import optax

from jaxnn.train._types import LossFn, Params


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
        value, grads = jax.value_and_grad(lambda p: jnp.mean(loss_fn(p, xb, yb)))(params)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, value

    return jax.jit(step, donate_argnums=(0, 1) if donate else ())
