"""The same training problems in PyTorch (eager), Flax NNX, Equinox, Keras 3 (JAX backend) and scikit-learn.

Each peer is imported lazily, when a workload first asks for it, and a missing one raises
:class:`PeerUnavailable` with an install hint; the suite turns that into a "skipped" record.
A :class:`Problem` fixes everything the peers must share: the initial weights, the hidden
and output activations, the loss, the optimizer and its learning rate, the data, the batch
size and the order in which the samples are visited in each epoch. Every peer except
scikit-learn (which initializes its own weights) starts from the same weights and visits
the same batches, so its trained weights can be compared with jaxnn's.

Each peer is written the way its documentation trains a model: PyTorch's eager loop
(``zero_grad``/``backward``/``step``), a jitted step function called in a Python loop for
Equinox (``eqx.filter_jit``) and Flax (``nnx.jit``), ``model.fit`` for Keras and for
scikit-learn. The batch gather happens inside the jitted step for Equinox and Flax, as it
does inside jaxnn's compiled loop.
"""

from __future__ import annotations

import importlib
import os
import sys
import warnings
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

__all__ = [
    "PEERS",
    "PeerUnavailable",
    "Unsupported",
    "Problem",
    "Trainer",
    "version",
    "threads",
    "make_trainer",
    "make_stepper",
    "sklearn_perceptron",
]

PEERS: tuple[str, ...] = ("torch", "flax", "equinox", "keras", "sklearn")

_MODULES = {"torch": "torch", "flax": "flax.nnx", "equinox": "equinox", "keras": "keras", "sklearn": "sklearn"}
_PIP = {"torch": "torch", "flax": "flax", "equinox": "equinox", "keras": "keras", "sklearn": "scikit-learn"}


class PeerUnavailable(ImportError):
    """A peer library is not installed (or cannot be used in this process)."""


class Unsupported(NotImplementedError):
    """The peer has no faithful version of this problem (e.g. scikit-learn with a tanh output)."""


class Problem(NamedTuple):
    """One training problem, shared by jaxnn, the reference and every peer.

    Attributes:
      params0: initial weights, one ``(w [in, out], b [out])`` pair of float32 arrays per layer.
      activation: hidden activation, ``"relu"`` or ``"tanh"``.
      output_activation: ``None`` (logits) or ``"tanh"``.
      loss: ``"softmax_ce"`` (integer labels ``[N]``), ``"bce_logits"`` (``[N, 1]`` in {0, 1})
        or ``"mse"`` (``[N, out]``).
      optimizer: ``"adam"`` (b1 0.9, b2 0.999, eps 1e-8) or ``"sgd"`` (plain).
      lr: learning rate.
      x: inputs ``[N, in]`` float32.
      y: targets, as ``loss`` says.
      batch_size: samples per step; ``N`` is full-batch gradient descent.
      orders: one sample order ``[N]`` per epoch; epoch ``e`` visits
        ``orders[e][i * batch_size:(i + 1) * batch_size]`` at step ``i``.
    """

    params0: list[tuple[np.ndarray, np.ndarray]]
    activation: str
    output_activation: str | None
    loss: str
    optimizer: str
    lr: float
    x: np.ndarray
    y: np.ndarray
    batch_size: int
    orders: list[np.ndarray]

    @property
    def full_batch(self) -> bool:
        """True when every step sees all the data (no gather)."""
        return self.batch_size == self.x.shape[0]

    def batches(self) -> list[np.ndarray]:
        """The index array of every step, in order, over all epochs."""
        b, n = self.batch_size, self.x.shape[0]
        return [order[i * b : (i + 1) * b] for order in self.orders for i in range(n // b)]


class Trainer(NamedTuple):
    """A peer's training run.

    Attributes:
      run: trains from ``params0`` over every epoch of the problem and returns something
        to block on (each call starts again from ``params0`` with a fresh optimizer state).
      params: the weights after the last ``run``, as ``[(w [in, out], b [out]), ...]``,
        or ``None`` when the peer cannot start from ``params0`` (scikit-learn).
      note: how the peer was set up (version, threads, deviations).
    """

    run: Callable[[], Any]
    params: Callable[[], list[tuple[np.ndarray, np.ndarray]] | None]
    note: str


def _import(name: str) -> Any:
    if name == "keras":
        return _import_keras()
    try:
        return importlib.import_module(_MODULES[name])
    except ImportError as err:
        raise PeerUnavailable(f"{name} is not installed (pip install {_PIP[name]}, or jaxnn[bench])") from err


def _import_keras() -> Any:
    if "keras" not in sys.modules:
        # Keras picks its backend once, at import: ask for JAX for this import only.
        previous = os.environ.get("KERAS_BACKEND")
        os.environ["KERAS_BACKEND"] = "jax"
        try:
            importlib.import_module("keras")
        except ImportError as err:
            raise PeerUnavailable("keras is not installed (pip install keras, or jaxnn[bench])") from err
        finally:
            if previous is None:
                del os.environ["KERAS_BACKEND"]
            else:
                os.environ["KERAS_BACKEND"] = previous
    keras = sys.modules["keras"]
    if keras.backend.backend() != "jax":
        raise PeerUnavailable(
            f"keras was already imported with the {keras.backend.backend()!r} backend; "
            "run the suite in a fresh process (it sets KERAS_BACKEND=jax itself)"
        )
    return keras


def version(name: str) -> str:
    """The installed version of peer ``name``; raises :class:`PeerUnavailable` if missing."""
    module = _import(name)
    if name == "flax":
        module = importlib.import_module("flax")
    return str(getattr(module, "__version__", "?"))


def threads(name: str) -> int | None:
    """Intra-op threads the peer computes with (PyTorch is set to ``os.cpu_count()``)."""
    if name == "torch":
        torch = _import("torch")
        torch.set_num_threads(os.cpu_count() or 1)
        return torch.get_num_threads()
    return os.cpu_count()


def make_trainer(name: str, problem: Problem, *, torch_threads: int | None = None) -> Trainer:
    """Builds peer ``name``'s training run for ``problem`` (see :class:`Trainer`).

    Args:
      name: one of :data:`PEERS`.
      problem: what to train.
      torch_threads: PyTorch's intra-op threads for this trainer (set at the start of every
        run); ``None`` is ``os.cpu_count()``, as the issue asks.

    Raises:
      PeerUnavailable: the peer is not installed.
      Unsupported: the peer cannot express this problem faithfully.
    """
    if name not in PEERS:
        raise ValueError(f"unknown peer {name!r}; valid peers are {PEERS}")
    if name == "torch":
        return _torch_trainer(problem, torch_threads)
    return _TRAINERS[name](problem)


def make_stepper(name: str, problem: Problem, *, torch_threads: int | None = None) -> tuple[Callable[[], Any], str]:
    """Peer ``name``'s single training step on the whole of ``problem.x`` (state kept between calls).

    ``torch_threads`` is as in :func:`make_trainer`.

    Returns:
      ``(step, note)``; ``step()`` makes one optimizer step and returns something to block on.
    """
    if name not in PEERS:
        raise ValueError(f"unknown peer {name!r}; valid peers are {PEERS}")
    if name == "torch":
        return _torch_stepper(problem, torch_threads)
    return _STEPPERS[name](problem)


# ------------------------------------------------------------------------------ PyTorch


def _torch_model(p: Problem, threads: int | None = None):
    torch = _import("torch")
    threads = threads or os.cpu_count() or 1
    torch.set_num_threads(threads)
    nn = torch.nn
    act = {"relu": nn.ReLU, "tanh": nn.Tanh}[p.activation]
    layers, linears = [], []
    for i, (w, _) in enumerate(p.params0):
        lin = nn.Linear(w.shape[0], w.shape[1])
        layers.append(lin)
        linears.append(lin)
        if i < len(p.params0) - 1:
            layers.append(act())
    if p.output_activation == "tanh":
        layers.append(nn.Tanh())
    model = nn.Sequential(*layers)

    def load() -> None:
        with torch.no_grad():
            for lin, (w, b) in zip(linears, p.params0):
                lin.weight.copy_(torch.from_numpy(np.array(w.T)))
                lin.bias.copy_(torch.from_numpy(np.array(b)))

    def params():
        return [(lin.weight.detach().numpy().T.copy(), lin.bias.detach().numpy().copy()) for lin in linears]

    loss_fn = {"softmax_ce": nn.CrossEntropyLoss, "bce_logits": nn.BCEWithLogitsLoss, "mse": nn.MSELoss}[p.loss]()
    x = torch.from_numpy(np.array(p.x))
    y = torch.from_numpy(np.array(p.y, np.int64 if p.loss == "softmax_ce" else p.y.dtype))

    def make_optimizer():
        if p.optimizer == "adam":
            return torch.optim.Adam(model.parameters(), lr=p.lr, betas=(0.9, 0.999), eps=1e-8)
        return torch.optim.SGD(model.parameters(), lr=p.lr)

    note = f"torch {torch.__version__}, eager, {threads} thread{'s' if threads > 1 else ''}"
    return torch, model, load, params, loss_fn, x, y, make_optimizer, note


def _torch_trainer(p: Problem, threads: int | None = None) -> Trainer:
    torch, model, load, params, loss_fn, x, y, make_optimizer, note = _torch_model(p, threads)
    threads = threads or os.cpu_count() or 1
    batches = None if p.full_batch else [torch.from_numpy(idx.astype(np.int64)) for idx in p.batches()]
    steps = len(p.orders) * (p.x.shape[0] // p.batch_size)

    def run():
        torch.set_num_threads(threads)  # another trainer may have changed the global setting
        load()
        opt = make_optimizer()
        for i in range(steps):
            xb, yb = (x, y) if batches is None else (x[batches[i]], y[batches[i]])
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(xb), yb)
            loss.backward()
            opt.step()
        return loss.detach()

    return Trainer(run, params, note)


def _torch_stepper(p: Problem, threads: int | None = None):
    torch, model, load, params, loss_fn, x, y, make_optimizer, note = _torch_model(p, threads)
    threads = threads or os.cpu_count() or 1
    load()
    opt = make_optimizer()

    def step():
        if torch.get_num_threads() != threads:
            torch.set_num_threads(threads)
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss.detach()

    return step, note


# --------------------------------------------------------------------- JAX-based helpers


def _jax_loss(name: str):
    from bench import _reference as ref

    return ref.LOSSES[name]


def _optax(p: Problem):
    import optax

    return optax.adam(p.lr, b1=0.9, b2=0.999, eps=1e-8) if p.optimizer == "adam" else optax.sgd(p.lr)


def _device_batches(p: Problem):
    import jax.numpy as jnp

    return None if p.full_batch else [jnp.asarray(idx, jnp.int32) for idx in p.batches()]


# ------------------------------------------------------------------------------ Equinox


def _equinox_setup(p: Problem):
    eqx = _import("equinox")
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
    per_example = _jax_loss(p.loss)
    optimizer = _optax(p)
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
    return eqx, model0, optimizer, step, x, y, to_numpy, note


def _equinox_trainer(p: Problem) -> Trainer:
    eqx, model0, optimizer, step, x, y, to_numpy, note = _equinox_setup(p)
    batches = _device_batches(p)
    steps = len(p.orders) * (p.x.shape[0] // p.batch_size)
    last = {}

    def run():
        model, opt_state = model0, optimizer.init(eqx.filter(model0, eqx.is_array))
        for i in range(steps):
            model, opt_state, value = step(model, opt_state, x, y, None if batches is None else batches[i])
        last["model"] = model
        return model, value

    return Trainer(run, lambda: to_numpy(last["model"]), note)


def _equinox_stepper(p: Problem):
    eqx, model0, optimizer, step, x, y, to_numpy, note = _equinox_setup(p)
    state = {"model": model0, "opt": optimizer.init(eqx.filter(model0, eqx.is_array))}

    def one():
        state["model"], state["opt"], value = step(state["model"], state["opt"], x, y, None)
        return value

    return one, note


# ------------------------------------------------------------------------------ Flax NNX


def _flax_setup(p: Problem):
    nnx = _import("flax")
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
    per_example = _jax_loss(p.loss)
    x, y = jnp.asarray(p.x), jnp.asarray(p.y)

    def load():
        for layer, (w, b) in zip(model.layers, p.params0):
            layer.kernel[...] = jnp.asarray(w)
            layer.bias[...] = jnp.asarray(b)

    def make_optimizer():
        return nnx.Optimizer(model, _optax(p), wrt=nnx.Param)

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
    return model, load, make_optimizer, step, x, y, params, note


def _flax_trainer(p: Problem) -> Trainer:
    model, load, make_optimizer, step, x, y, params, note = _flax_setup(p)
    nnx = _import("flax")
    batches = _device_batches(p)
    steps = len(p.orders) * (p.x.shape[0] // p.batch_size)
    load()
    # One optimizer object, reset to its initial state for every run: a new nnx.Optimizer
    # would make nnx.jit compile the step again.
    optimizer = make_optimizer()
    import jax

    # A host copy of the start: NNX variables may hold mutable references.
    start = jax.tree.map(np.array, nnx.state((model, optimizer)))

    def run():
        nnx.update((model, optimizer), jax.tree.map(jax.numpy.asarray, start))
        for i in range(steps):
            value = step(model, optimizer, x, y, None if batches is None else batches[i])
        return value

    return Trainer(run, params, note)


def _flax_stepper(p: Problem):
    model, load, make_optimizer, step, x, y, params, note = _flax_setup(p)
    load()
    optimizer = make_optimizer()
    return (lambda: step(model, optimizer, x, y, None)), note


# ------------------------------------------------------------------------------- Keras 3


def _keras_setup(p: Problem):
    keras = _import("keras")
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


def _keras_trainer(p: Problem) -> Trainer:
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


def _keras_stepper(p: Problem):
    model, reset, params, note = _keras_setup(p)
    reset()
    return (lambda: model.train_on_batch(p.x, p.y)), note.replace("model.fit", "train_on_batch")


# -------------------------------------------------------------------------- scikit-learn


def _sklearn_classifier(p: Problem, max_iter: int):
    _import("sklearn")
    import sklearn
    from sklearn.neural_network import MLPClassifier

    if p.loss not in ("softmax_ce", "bce_logits") or p.output_activation is not None:
        raise Unsupported("scikit-learn's MLPClassifier has a softmax/logistic output only")
    hidden = tuple(w.shape[1] for w, _ in p.params0[:-1])
    clf = MLPClassifier(
        hidden_layer_sizes=hidden,
        activation=p.activation,
        solver=p.optimizer,
        alpha=0.0,
        batch_size=p.batch_size,
        learning_rate_init=p.lr,
        learning_rate="constant",
        momentum=0.0,
        nesterovs_momentum=False,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        max_iter=max_iter,
        shuffle=not p.full_batch,
        tol=0.0,
        n_iter_no_change=10**9,
        random_state=0,
    )
    y = p.y.reshape(-1).astype(np.int64)
    note = f"scikit-learn {sklearn.__version__} MLPClassifier (own init and shuffling; float32 data)"
    return clf, y, note


def _sklearn_trainer(p: Problem) -> Trainer:
    clf, y, note = _sklearn_classifier(p, max_iter=len(p.orders))

    def run():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # ConvergenceWarning: max_iter is the budget here
            clf.fit(p.x, y)
        return clf.loss_

    return Trainer(run, lambda: None, note)


def _sklearn_stepper(p: Problem):
    clf, y, note = _sklearn_classifier(p, max_iter=1)
    classes = np.unique(y)
    clf.partial_fit(p.x, y, classes=classes)
    return (lambda: clf.partial_fit(p.x, y)), note.replace("MLPClassifier", "MLPClassifier.partial_fit")


def sklearn_perceptron(X: np.ndarray, y: np.ndarray, max_epochs: int) -> tuple[Callable[[], np.ndarray], str]:
    """scikit-learn's ``Perceptron`` set up as Rosenblatt's rule: eta 1, no penalty, no shuffling.

    Returns:
      ``(run, note)``; ``run()`` fits and returns the augmented weights ``[d + 1]`` (bias first).
    """
    _import("sklearn")
    import sklearn
    from sklearn.linear_model import Perceptron

    clf = Perceptron(penalty=None, alpha=0.0, fit_intercept=True, max_iter=max_epochs, tol=None, shuffle=False, eta0=1.0)

    def run():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            clf.fit(X, y)
        return np.concatenate([clf.intercept_, clf.coef_[0]])

    return run, f"scikit-learn {sklearn.__version__} Perceptron (Cython, float64, {max_epochs} epochs, no early stop)"


_TRAINERS = {
    "torch": _torch_trainer,
    "flax": _flax_trainer,
    "equinox": _equinox_trainer,
    "keras": _keras_trainer,
    "sklearn": _sklearn_trainer,
}
_STEPPERS = {
    "torch": _torch_stepper,
    "flax": _flax_stepper,
    "equinox": _equinox_stepper,
    "keras": _keras_stepper,
    "sklearn": _sklearn_stepper,
}
