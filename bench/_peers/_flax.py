"""Flax NNX: an ``nnx.jit`` step called in a Python loop, as Flax's documentation trains."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from bench._peers._base import Problem, Trainer, device_batches, import_peer, jax_loss, optax_for


class _Setup(NamedTuple):
    """A Flax NNX model for a problem, and what its trainer and stepper share."""

    model: Any
    load: Callable[[], None]  # copies the problem's initial weights in
    make_optimizer: Callable[[], Any]
    step: Callable[..., Any]  # step(model, optimizer, x, y, idx) -> loss, updating both in place
    x: Any
    y: Any
    params: Callable[[], list[tuple[np.ndarray, np.ndarray]]]
    note: str


def _setup(p: Problem) -> _Setup:
    nnx = import_peer("flax")
    import flax
    import jax
    import jax.numpy as jnp

    act = {"relu": jax.nn.relu, "tanh": jnp.tanh}[p.activation]
    sizes = [p.params0[0][0].shape[0]] + [w.shape[1] for w, _ in p.params0]
    container = getattr(nnx, "List", list)

    class MLP(nnx.Module):
        def __init__(self, rngs):
            self.layers = container([nnx.Linear(i, o, rngs=rngs) for i, o in zip(sizes[:-1], sizes[1:])])

        def __call__(self, x):
            for layer in self.layers[:-1]:
                x = act(layer(x))
            x = self.layers[-1](x)
            return jnp.tanh(x) if p.output_activation == "tanh" else x

    model = MLP(nnx.Rngs(0))
    per_example = jax_loss(p.loss)
    x, y = jnp.asarray(p.x), jnp.asarray(p.y)

    def load():
        for layer, (w, b) in zip(model.layers, p.params0):
            layer.kernel[...] = jnp.asarray(w)
            layer.bias[...] = jnp.asarray(b)

    def make_optimizer():
        return nnx.Optimizer(model, optax_for(p), wrt=nnx.Param)

    @nnx.jit
    def step(model, optimizer, x, y, idx):
        xb, yb = (x, y) if idx is None else (x[idx], y[idx])

        def loss(model):
            return jnp.mean(per_example(model(xb), yb))

        value, grads = nnx.value_and_grad(loss)(model)
        optimizer.update(model, grads)
        return value

    def params():
        return [(np.array(layer.kernel[...]), np.array(layer.bias[...])) for layer in model.layers]

    note = f"flax {flax.__version__} (NNX), nnx.jit step in a Python loop"
    return _Setup(model, load, make_optimizer, step, x, y, params, note)


def trainer(p: Problem) -> Trainer:
    """Every epoch of ``p``: the ``nnx.jit`` step in a Python loop, from ``p.params0`` each run."""
    s = _setup(p)
    nnx = import_peer("flax")
    batches = device_batches(p)
    steps = len(p.orders) * (p.x.shape[0] // p.batch_size)
    s.load()
    # One optimizer object, reset to its initial state for every run: a new nnx.Optimizer
    # would make nnx.jit compile the step again.
    optimizer = s.make_optimizer()
    import jax

    # A host copy of the start: NNX variables may hold mutable references.
    start = jax.tree.map(np.array, nnx.state((s.model, optimizer)))

    def run():
        nnx.update((s.model, optimizer), jax.tree.map(jax.numpy.asarray, start))
        for i in range(steps):
            value = s.step(s.model, optimizer, s.x, s.y, None if batches is None else batches[i])
        return value

    return Trainer(run, s.params, s.note)


def stepper(p: Problem) -> tuple[Callable[[], Any], str]:
    """One ``nnx.jit`` step on all of ``p.x`` per call, the model and optimizer updated in place."""
    s = _setup(p)
    s.load()
    optimizer = s.make_optimizer()
    return (lambda: s.step(s.model, optimizer, s.x, s.y, None)), s.note
