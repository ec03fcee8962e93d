"""Quickstart: a 2-8-1 tanh network learns XOR with gradient descent, all under jit.

Run: python examples/quickstart.py
"""

import jax
import jax.numpy as jnp

from jaxnn import heads, nn


def main(steps: int = 2000, learning_rate: float = 0.5, seed: int = 0) -> float:
    """Trains XOR and returns the final training accuracy."""
    x = jnp.array([[-1.0, -1.0], [-1.0, 1.0], [1.0, -1.0], [1.0, 1.0]])
    y = jnp.array([[0.0], [1.0], [1.0], [0.0]])
    net, head = nn.MLP([8], 1, activation="tanh"), heads.binary()
    _, params = net.init(jax.random.key(seed), x.shape)

    def loss(p):
        return jnp.mean(head.loss(net.apply(p, x), y))

    @jax.jit
    def train(p):
        def step(p, _):
            value, g = jax.value_and_grad(loss)(p)
            return jax.tree.map(lambda w, d: w - learning_rate * d, p, g), value

        return jax.lax.scan(step, p, length=steps)

    params, history = train(params)
    accuracy = float(jnp.mean(head.predict(net.apply(params, x)) == y.astype(jnp.int32)))
    print(f"XOR with a 2-8-1 tanh network: loss {history[0]:.4f} -> {history[-1]:.4f}, accuracy {accuracy:.0%}")
    return accuracy


if __name__ == "__main__":
    main()
