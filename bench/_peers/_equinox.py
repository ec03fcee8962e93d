"""Equinox: an ``eqx.filter_jit`` step called in a Python loop, as Equinox's documentation trains."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from bench._peers._base import Problem, Trainer, Unsupported, device_batches, import_peer, jax_loss, optax_for


class _Setup(NamedTuple):
    """An Equinox model for a problem, and what its trainer and stepper share."""

    eqx: Any
    model0: Any  # the eqx.nn.MLP holding the problem's initial weights
    optimizer: Any
    step: Callable[..., Any]  # step(model, opt_state, x, y, idx) -> (model, opt_state, loss)
    x: Any
    y: Any
    to_numpy: Callable[[Any], list[tuple[np.ndarray, np.ndarray]]]
    note: str


def _setup(p: Problem) -> _Setup:
    eqx = import_peer("equinox")
    import jax
    import jax.numpy as jnp

    sizes = [p.params0[0][0].shape[0]] + [w.shape[1] for w, _ in p.params0]
    hidden = sizes[1:-1]
    if len(set(hidden)) > 1:
        raise Unsupported("eqx.nn.MLP needs equal hidden widths")
    act = {"relu": jax.nn.relu, "tanh": jnp.tanh}[p.activation]
    final = jnp.tanh if p.output_activation == "tanh" else (lambda z: z)
    template = eqx.nn.MLP(
        sizes[0], sizes[-1], hidden[0] if hidden else 0, len(hidden), activation=act, final_activation=final,
        key=jax.random.key(0),
    )
    model0 = eqx.tree_at(
        lambda m: [leaf for layer in m.layers for leaf in (layer.weight, layer.bias)],
        template,
        [jnp.asarray(a) for w, b in p.params0 for a in (w.T, b)],
    )
    per_example = jax_loss(p.loss)
    optimizer = optax_for(p)
    x, y = jnp.asarray(p.x), jnp.asarray(p.y)

    def loss(model, xb, yb):
        return jnp.mean(per_example(jax.vmap(model)(xb), yb))

    @eqx.filter_jit
    def step(model, opt_state, x, y, idx):
        xb, yb = (x, y) if idx is None else (x[idx], y[idx])
        value, grads = eqx.filter_value_and_grad(loss)(model, xb, yb)
        updates, opt_state = optimizer.update(grads, opt_state, eqx.filter(model, eqx.is_array))
        return eqx.apply_updates(model, updates), opt_state, value

    def to_numpy(model):
        return [(np.asarray(layer.weight).T.copy(), np.asarray(layer.bias).copy()) for layer in model.layers]

    note = f"equinox {eqx.__version__}, eqx.filter_jit step in a Python loop"
    return _Setup(eqx, model0, optimizer, step, x, y, to_numpy, note)


def trainer(p: Problem) -> Trainer:
    """Every epoch of ``p``: the jitted step in a Python loop, from ``p.params0`` each run."""
    s = _setup(p)
    eqx = s.eqx
    batches = device_batches(p)
    steps = len(p.orders) * (p.x.shape[0] // p.batch_size)
    last = {}

    def run():
        model, opt_state = s.model0, s.optimizer.init(eqx.filter(s.model0, eqx.is_array))
        for i in range(steps):
            model, opt_state, value = s.step(model, opt_state, s.x, s.y, None if batches is None else batches[i])
        last["model"] = model
        return model, value

    return Trainer(run, lambda: s.to_numpy(last["model"]), s.note)


def stepper(p: Problem) -> tuple[Callable[[], Any], str]:
    """One jitted step on all of ``p.x`` per call, the model and optimizer state carried between calls."""
    s = _setup(p)
    state = {"model": s.model0, "opt": s.optimizer.init(s.eqx.filter(s.model0, s.eqx.is_array))}

    def one():
        state["model"], state["opt"], value = s.step(state["model"], state["opt"], s.x, s.y, None)
        return value

    return one, s.note
