"""Hand-written references in raw JAX + Optax (and one in NumPy), with no jaxnn import.

These are what a JAX user would write without jaxnn: an MLP as a list of ``{"w", "b"}``
dicts, ``jax.value_and_grad``, an Optax optimizer, and a ``jax.jit``-ed ``lax.scan`` over the
steps. They compute the same thing as the jaxnn side of each workload (same initial params,
same per-epoch permutation ``permutation(fold_in(key, epoch), n)``, same mean loss), so the
suite can check that both give the same numbers before it compares their speed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

__all__ = [
    "ACTIVATIONS",
    "LOSSES",
    "mlp_init",
    "mlp_apply",
    "make_loss",
    "make_train",
    "make_step",
    "make_sweep",
    "perceptron",
    "perceptron_numpy",
    "make_matmul",
]

Params = list[dict[str, jax.Array]]

ACTIVATIONS: dict[str | None, Callable[[jax.Array], jax.Array]] = {
    "relu": jax.nn.relu,
    "tanh": jnp.tanh,
    None: lambda z: z,
}


def _softmax_ce(logits: jax.Array, y: jax.Array) -> jax.Array:
    return optax.softmax_cross_entropy_with_integer_labels(logits, y)


def _bce_logits(logits: jax.Array, y: jax.Array) -> jax.Array:
    # [batch, 1] logits and targets -> [batch] per-example losses.
    return jnp.mean(optax.sigmoid_binary_cross_entropy(logits, y), axis=-1)


def _mse(pred: jax.Array, y: jax.Array) -> jax.Array:
    return jnp.mean((pred - y) ** 2, axis=-1)


LOSSES: dict[str, Callable[[jax.Array, jax.Array], jax.Array]] = {
    "softmax_ce": _softmax_ce,
    "bce_logits": _bce_logits,
    "mse": _mse,
}


def mlp_init(key: jax.Array, sizes: Sequence[int]) -> Params:
    """Glorot-uniform weights and zero biases for a dense network ``sizes[0] -> ... -> sizes[-1]``.

    One key per layer (``split(key, layers)``), split again into a weight key and a bias key:
    the usual stax-style layout, so the same key gives the same params as jaxnn's ``MLP``.

    Args:
      key: PRNG key.
      sizes: layer widths, input first, e.g. ``[2, 8, 1]``.

    Returns:
      ``[{"w": [in, out], "b": [out]}, ...]``, one dict per layer.
    """
    params = []
    for k, fan_in, fan_out in zip(jax.random.split(key, len(sizes) - 1), sizes[:-1], sizes[1:]):
        w_key, _ = jax.random.split(k)
        w = jax.nn.initializers.glorot_uniform()(w_key, (fan_in, fan_out), jnp.float32)
        params.append({"w": w, "b": jnp.zeros((fan_out,), jnp.float32)})
    return params


def mlp_apply(params: Params, x: jax.Array, activation: str, output_activation: str | None = None) -> jax.Array:
    """``phi(... phi(x w_1 + b_1) ...) w_L + b_L``, then ``output_activation``; ``[batch, out]``."""
    hidden, out = ACTIVATIONS[activation], ACTIVATIONS[output_activation]
    for p in params[:-1]:
        x = hidden(x @ p["w"] + p["b"])
    return out(x @ params[-1]["w"] + params[-1]["b"])


def make_loss(activation: str, output_activation: str | None, loss: str) -> Callable[[Params, Any, Any], jax.Array]:
    """The scalar batch loss ``mean_i loss(mlp(params, x_i), y_i)``."""
    per_example = LOSSES[loss]

    def batch_loss(params: Params, x: jax.Array, y: jax.Array) -> jax.Array:
        return jnp.mean(per_example(mlp_apply(params, x, activation, output_activation), y))

    return batch_loss


def _update(loss_fn, optimizer, params, opt_state, x, y):
    value, grads = jax.value_and_grad(loss_fn)(params, x, y)
    updates, opt_state = optimizer.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state, value


def make_train(
    loss_fn: Callable[[Params, Any, Any], jax.Array],
    optimizer: optax.GradientTransformation,
    *,
    n: int,
    batch_size: int | None,
    epochs: int,
) -> Callable[[Params, jax.Array, jax.Array, jax.Array], tuple[Params, Any, jax.Array]]:
    """A jitted ``train(params, key, x, y) -> (params, opt_state, losses [epochs, steps])``.

    Epochs are a ``lax.scan``; within an epoch the data are permuted with
    ``permutation(fold_in(key, epoch), n)``, cut into ``n // batch_size`` batches and scanned.
    ``batch_size=None`` is full-batch gradient descent (no permutation).
    """
    full = batch_size is None or batch_size == n
    if not full and n % batch_size:
        raise ValueError(f"the reference needs n divisible by batch_size, got n={n}, batch_size={batch_size}")
    steps = 1 if full else n // batch_size

    def train(params, key, x, y):
        opt_state = optimizer.init(params)

        def epoch(carry, e):
            params, opt_state = carry
            if full:
                params, opt_state, value = _update(loss_fn, optimizer, params, opt_state, x, y)
                return (params, opt_state), value[None]
            perm = jax.random.permutation(jax.random.fold_in(key, e), n)
            xb = x[perm].reshape(steps, batch_size, *x.shape[1:])
            yb = y[perm].reshape(steps, batch_size, *y.shape[1:])

            def step(c, batch):
                p, s, v = _update(loss_fn, optimizer, *c, *batch)
                return (p, s), v

            return jax.lax.scan(step, (params, opt_state), (xb, yb))

        (params, opt_state), losses = jax.lax.scan(epoch, (params, opt_state), jnp.arange(epochs, dtype=jnp.int32))
        return params, opt_state, losses

    return jax.jit(train)


def make_step(
    loss_fn: Callable[[Params, Any, Any], jax.Array], optimizer: optax.GradientTransformation
) -> Callable[[Params, Any, jax.Array, jax.Array], tuple[Params, Any, jax.Array]]:
    """A jitted single training step ``step(params, opt_state, x, y) -> (params, opt_state, loss)``."""
    return jax.jit(lambda params, opt_state, x, y: _update(loss_fn, optimizer, params, opt_state, x, y))


def make_sweep(
    sizes: Sequence[int],
    loss_fn: Callable[[Params, Any, Any], jax.Array],
    *,
    epochs: int,
) -> Callable[[jax.Array, jax.Array, jax.Array, jax.Array], tuple[Params, jax.Array]]:
    """``jit(vmap(member))(keys, learning_rates, x, y)``: one full-batch SGD run per member.

    Member ``i`` initializes with ``mlp_init(split(keys[i])[0], sizes)`` and trains with
    ``optax.sgd(learning_rates[i])`` for ``epochs`` steps. Returns stacked params and the
    ``[members, epochs]`` losses.
    """

    def member(k, lr, x, y):
        init_key, _ = jax.random.split(k)
        params = mlp_init(init_key, sizes)
        optimizer = optax.sgd(lr)

        def step(carry, _):
            p, s, v = _update(loss_fn, optimizer, *carry, x, y)
            return (p, s), v

        (params, _), losses = jax.lax.scan(step, (params, optimizer.init(params)), None, length=epochs)
        return params, losses

    return jax.jit(jax.vmap(member, in_axes=(0, 0, None, None)))


def perceptron(X: jax.Array, y: jax.Array, *, max_epochs: int) -> tuple[jax.Array, jax.Array, jax.Array]:
    """Rosenblatt's rule (eta = 1, bias first, update when ``y <w, x> <= 0``) as while_loop + scan.

    Args:
      X: ``[N, d]`` float inputs (a column of ones is prepended here).
      y: ``[N]`` labels in {-1, +1}, ``X``'s dtype.
      max_epochs: most epochs (static).

    Returns:
      ``(weights [d + 1], epochs run, total updates)``.
    """
    return _perceptron_jit(X, y, max_epochs)


def _perceptron(X, y, max_epochs):
    X_aug = jnp.concatenate([jnp.ones((X.shape[0], 1), X.dtype), X], axis=1)

    def sample(carry, xy):
        w, count = carry
        x, yi = xy
        mistake = yi * jnp.dot(w, x) <= 0
        return (jnp.where(mistake, w + yi * x, w), count + mistake.astype(jnp.int32)), None

    def epoch(state):
        w, e, _, total = state
        (w, count), _ = jax.lax.scan(sample, (w, jnp.int32(0)), (X_aug, y))
        return w, e + 1, count, total + count

    def cond(state):
        return (state[1] < max_epochs) & (state[2] != 0)

    init = (jnp.zeros(X_aug.shape[1], X.dtype), jnp.int32(0), jnp.int32(-1), jnp.int32(0))
    w, epochs, _, total = jax.lax.while_loop(cond, epoch, init)
    return w, epochs, total


_perceptron_jit = jax.jit(_perceptron, static_argnums=2)


def perceptron_numpy(X: np.ndarray, y: np.ndarray, *, max_epochs: int) -> tuple[np.ndarray, int, int]:
    """The same rule as a plain NumPy loop over samples (the per-sample baseline of workload 5).

    Returns:
      ``(weights [d + 1], epochs run, total updates)``, in ``X``'s dtype.
    """
    X_aug = np.concatenate([np.ones((X.shape[0], 1), X.dtype), X], axis=1)
    w = np.zeros(X_aug.shape[1], X.dtype)
    epochs, total, last = 0, 0, -1
    while epochs < max_epochs and last != 0:
        last = 0
        for i in range(X_aug.shape[0]):
            if y[i] * np.dot(w, X_aug[i]) <= 0:
                w = w + y[i] * X_aug[i]
                last += 1
        epochs += 1
        total += last
    return w, epochs, total


def make_matmul(n: int, key: jax.Array) -> tuple[Callable[[], jax.Array], float]:
    """A jitted ``[n, n] @ [n, n]`` float32 matmul on fixed operands and its FLOP count ``2 n^3``."""
    ka, kb = jax.random.split(key)
    a = jax.random.normal(ka, (n, n), jnp.float32)
    b = jax.random.normal(kb, (n, n), jnp.float32)
    f = jax.jit(jnp.matmul)
    return (lambda: f(a, b)), 2.0 * n**3
