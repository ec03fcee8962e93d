"""Bring your own model: an Equinox and a Flax NNX network trained by jaxnn's engine.

``jaxnn.train.fit`` and ``sweep`` train any params pytree with any per-example loss, so a
model from another library needs only two things: split it into its arrays (the params
that ``fit`` updates) and the rest, and write a loss that puts them back together.

* Equinox: ``params, static = eqx.partition(model, eqx.is_inexact_array)``; the loss calls
  ``eqx.combine(params, static)``.
* Flax NNX: ``graphdef, params = nnx.split(model)``; the loss calls
  ``nnx.merge(graphdef, params)``.

Write the loss once, as a function of the static part (``make_loss(static)`` below). Then
every ``fit`` call with an equal model configuration reuses the compiled program, even when
the model, the loss and the optimizer are built anew: jaxnn keys its compiled programs on
what the functions compute (their code and the values they capture), and captured floats
such as the learning rate are arguments of the program, not constants in it.

Run: python examples/bring_your_own_model.py          (needs: pip install equinox flax)
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
from flax import nnx

from jaxnn import datasets, losses, metrics, optim, train


def moons(seed: int = 0, n: int = 200):
    """Two moons, labels {0, 1} as ``[n, 1]`` floats (the binary cross-entropy's targets)."""
    x, y = datasets.two_moons(jax.random.key(seed), n, noise=0.1)
    return x, y.astype(jnp.float32)[:, None]


# ------------------------------------------------------------------------------ Equinox


def equinox_model(key: jax.Array, width: int = 16):
    """An Equinox MLP, split into ``(params, static)``."""
    model = eqx.nn.MLP(in_size=2, out_size=1, width_size=width, depth=2, activation=jax.nn.tanh, key=key)
    return eqx.partition(model, eqx.is_inexact_array)


def equinox_loss(static):
    """The per-example loss of the Equinox model whose non-array part is ``static``."""

    def loss(params, x, y):
        model = eqx.combine(params, static)
        return losses.binary_cross_entropy_with_logits(jax.vmap(model)(x), y)

    return loss


# ----------------------------------------------------------------------------- Flax NNX


class FlaxNet(nnx.Module):
    """A two-layer tanh network in Flax NNX (defined once, at module level: a class made
    anew inside a function would be a new class, and so a new model, at every call)."""

    def __init__(self, width: int, rngs: nnx.Rngs):
        self.hidden = nnx.Linear(2, width, rngs=rngs)
        self.out = nnx.Linear(width, 1, rngs=rngs)

    def __call__(self, x):
        return self.out(jnp.tanh(self.hidden(x)))


def flax_model(key: jax.Array, width: int = 16):
    """A :class:`FlaxNet`, split into ``(graphdef, params)``."""
    return nnx.split(FlaxNet(width, nnx.Rngs(params=key)))


def flax_loss(graphdef):
    """The per-example loss of the NNX model described by ``graphdef``."""

    def loss(params, x, y):
        return losses.binary_cross_entropy_with_logits(nnx.merge(graphdef, params)(x), y)

    return loss


def accuracy(logits, y) -> float:
    return float(metrics.accuracy((logits[:, 0] >= 0).astype(jnp.int32), y[:, 0].astype(jnp.int32)))


def main(epochs: int = 300, seed: int = 0) -> dict:
    """Trains both models with ``fit``, then a small learning-rate sweep of the Equinox one."""
    x, y = moons(seed)
    out = {}

    params, static = equinox_model(jax.random.key(seed))
    fitted = train.fit(params, equinox_loss(static), x, y, optimizer=optim.adam(1e-2),
                       key=jax.random.key(seed + 1), epochs=epochs, batch_size=32)
    out["equinox_accuracy"] = accuracy(jax.vmap(eqx.combine(fitted.params, static))(x), y)

    graphdef, params = flax_model(jax.random.key(seed))
    fitted = train.fit(params, flax_loss(graphdef), x, y, optimizer=optim.adam(1e-2),
                       key=jax.random.key(seed + 1), epochs=epochs, batch_size=32)
    out["flax_accuracy"] = accuracy(nnx.merge(graphdef, fitted.params)(x), y)

    # The same Equinox model in a sweep: four learning rates, one compiled call.
    learning_rates = jnp.array([1e-3, 3e-3, 1e-2, 3e-2])
    swept = train.sweep(lambda k: equinox_model(k)[0], equinox_loss(static), x, y,
                        make_optimizer=lambda learning_rate: optim.adam(learning_rate),
                        keys=jax.random.split(jax.random.key(seed + 2), 4),
                        hyperparams={"learning_rate": learning_rates}, epochs=epochs, batch_size=32)
    out["sweep_final_loss"] = [float(v) for v in swept.history.train_loss[:, -1]]
    print(f"Equinox MLP on two moons: training accuracy {out['equinox_accuracy']:.1%}")
    print(f"Flax NNX network on two moons: training accuracy {out['flax_accuracy']:.1%}")
    for lr, loss in zip(learning_rates.tolist(), out["sweep_final_loss"]):
        print(f"  Equinox sweep, learning rate {lr:g}: final training loss {loss:.4f}")
    return out


if __name__ == "__main__":
    main()
