"""Keras 3 on its JAX backend: ``model.fit`` (and ``train_on_batch`` for one step)."""

from __future__ import annotations

import numpy as np

from bench._peers._base import Problem, Trainer, import_peer


def _keras_setup(p: Problem):
    keras = import_peer("keras")
    layers = [keras.Input(shape=(p.x.shape[1],))]
    for i, (w, _) in enumerate(p.params0):
        last = i == len(p.params0) - 1
        activation = (p.output_activation or "linear") if last else p.activation
        layers.append(keras.layers.Dense(w.shape[1], activation=activation))
    model = keras.Sequential(layers)
    loss = {
        "softmax_ce": lambda: keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        "bce_logits": lambda: keras.losses.BinaryCrossentropy(from_logits=True),
        "mse": keras.losses.MeanSquaredError,
    }[p.loss]()
    if p.optimizer == "adam":
        # Keras adds eps to the uncorrected sqrt(v) (the paper's eps-hat form); with eps=1e-8
        # both forms agree once sqrt(v) >> 1e-8.
        optimizer = keras.optimizers.Adam(p.lr, beta_1=0.9, beta_2=0.999, epsilon=1e-8)
    else:
        optimizer = keras.optimizers.SGD(p.lr)
    model.compile(optimizer=optimizer, loss=loss, jit_compile=True)
    weights0 = [a for w, b in p.params0 for a in (w, b)]
    # Snapshot the optimizer's fresh state (step count, moments, and the learning rate, which
    # Keras keeps as a variable too) so that every run starts from it.
    optimizer.build(model.trainable_variables)
    opt0 = [np.array(v.value) for v in optimizer.variables]

    def reset():
        model.set_weights(weights0)
        for v, v0 in zip(optimizer.variables, opt0):
            v.assign(v0)

    def params():
        flat = model.get_weights()
        return [(flat[2 * i].copy(), flat[2 * i + 1].copy()) for i in range(len(flat) // 2)]

    note = f"keras {keras.__version__} on {keras.backend.backend()}, model.fit"
    return model, reset, params, note


def trainer(p: Problem) -> Trainer:
    """Every epoch of ``p`` through ``model.fit``, weights and optimizer state reset each run."""
    model, reset, params, note = _keras_setup(p)
    same_order = all(np.array_equal(o, p.orders[0]) for o in p.orders)
    # Keras's own shuffle cannot replay jaxnn's permutations, so each epoch's data go in
    # already in that epoch's order (one host gather per epoch, inside the timing).
    def run():
        reset()
        if same_order:
            o = p.orders[0]
            h = model.fit(p.x[o], p.y[o], batch_size=p.batch_size, epochs=len(p.orders), shuffle=False, verbose=0)
        else:
            for o in p.orders:
                h = model.fit(p.x[o], p.y[o], batch_size=p.batch_size, epochs=1, shuffle=False, verbose=0)
        return h.history["loss"][-1]

    return Trainer(run, params, note)


def stepper(p: Problem):
    """One ``train_on_batch`` on all of ``p.x`` per call."""
    model, reset, params, note = _keras_setup(p)
    reset()
    return (lambda: model.train_on_batch(p.x, p.y)), note.replace("model.fit", "train_on_batch")
