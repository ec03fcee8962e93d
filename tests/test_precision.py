"""Precision: float32 by default; float64 (under ``jax.enable_x64``) and bfloat16 through the
forward pass, the losses, the heads and the optimizers.

Every case checks two things: the result keeps the input dtype (nothing silently promoted or
demoted), and its value is close to a float64 reference computed from the *same rounded*
inputs, with a tolerance that fits the dtype. The references are NumPy float64 formulas
(forward pass, losses, heads) and Optax in float64 (optimizers).

Cases run in up to five settings: bfloat16 and float32 with x64 off (the default), float64 with
x64 on, and bfloat16 and float32 with x64 on, where a stray float64 constant or a scalar that
loses its weak type under ``jit`` would promote them. Everything that decides a dtype is run
under ``jit``, where weak typing is stricter than eagerly.

Bugs found here are marked ``xfail(strict=True)`` with the reason (file, function, input,
expected and actual); the marker comes off with the fix.
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxnn import activations as A
from jaxnn import heads as H
from jaxnn import losses as L
from jaxnn import nn
from jaxnn import optim as O

BF16, F32, F64 = jnp.bfloat16, jnp.float32, jnp.float64

# (dtype, x64): float64 needs x64; float32 and bfloat16 must also survive x64 being on.
CASES = [
    pytest.param(BF16, False, id="bfloat16"),
    pytest.param(F32, False, id="float32"),
    pytest.param(F64, True, id="float64"),
    pytest.param(BF16, True, id="bfloat16-x64"),
    pytest.param(F32, True, id="float32-x64"),
]

# The x64 variants matter where library code mixes in its own scalars (activations, losses,
# optimizers: float32-x64; the Adam eps_hat case: all five); networks, heads and training loops
# only compose those, so the three plain settings are enough there and keep the file fast.
CORE_CASES = CASES[:3]
WITH_X64_CASES = CORE_CASES + [CASES[4]]

# bfloat16 has 8 significand bits (eps 2^-7 = 7.8e-3): a chain of a few rounded ops is good to
# about 1e-2 relative. float32 (eps 1.2e-7) to about 1e-5 after a few dozen ops.
TOL = {
    BF16: dict(rtol=2e-2, atol=2e-2),
    F32: dict(rtol=1e-5, atol=1e-6),
    F64: dict(rtol=1e-12, atol=1e-13),
}


def name_of(dtype) -> str:
    return jnp.dtype(dtype).name


def rounded(x, dtype) -> tuple[jax.Array, np.ndarray]:
    """``x`` as a ``dtype`` array, and the float64 NumPy value of that rounded array (the reference input).

    Rounded on the host (NumPy knows bfloat16 through ml_dtypes): an XLA conversion would compile
    once per shape and dtype.
    """
    host = np.asarray(x).astype(np.dtype(dtype))
    return jnp.asarray(host), host.astype(np.float64)


def assert_dtype(tree, dtype, what: str) -> None:
    for leaf in jax.tree.leaves(tree):
        if jnp.issubdtype(leaf.dtype, jnp.floating):
            assert leaf.dtype == dtype, f"{what}: expected {name_of(dtype)}, got {leaf.dtype}"


def assert_close(actual, expected, dtype, **override) -> None:
    tol = {**TOL[dtype], **override}
    np.testing.assert_allclose(np.asarray(actual).astype(np.float64), expected, **tol)


# ---- float32 is the default ---------------------------------------------------------------

HIDDEN = ("tanh", "relu")
# One layout, [4] -> 8 -> 8 -> 3, for every network here: initializing another shape compiles
# the random sampler again.
_MLP = nn.MLP([8, 8], 3, activation=HIDDEN, output_activation="sigmoid")
_LOGITS_MLP = nn.MLP([8, 8], 3, activation=HIDDEN)


@functools.cache
def _params32():
    return _MLP.init(jax.random.key(0), (-1, 4))[1]


def test_float32_is_the_default():
    params = _params32()
    assert_dtype(params, F32, "MLP.init params")
    # Python lists and NumPy float64 arrays become float32 (JAX's default), not float64.
    y = _MLP.apply(params, [[1.0, 2.0, 3.0, 4.0]])
    assert y.dtype == F32
    assert L.mean_squared_error([1.0, 2.0], np.array([0.0, 1.0])).dtype == F32
    assert A.sigmoid(np.linspace(-1, 1, 3)).dtype == F32
    assert H.binary().loss(y[:, :1], jnp.ones((1, 1))).dtype == F32
    opt = O.adam(1e-3)
    state = opt.init(params)
    assert_dtype(state, F32, "adam state")
    updates, _ = opt.update(params, state, params)
    assert_dtype(updates, F32, "adam updates")


def test_initializers_stay_float32_under_x64():
    # jaxnn.init defaults to float32 even with x64 on: a float64 model is opted into by casting.
    net = nn.MLP([], 1)
    with jax.enable_x64(True):
        _, params = net.init(jax.random.key(0), (-1, 1))
        assert_dtype(params, F32, "MLP.init params under x64")
        params64 = jax.tree.map(lambda p: p.astype(F64), params)
        assert net.apply(params64, jnp.ones((1, 1), F64)).dtype == F64


def test_mixed_dtypes_promote_by_jax_rules():
    # Documented behaviour, not a jaxnn choice: a bfloat16 input to float32 params gives float32
    # (jnp.matmul's promotion); cast the params to run the network in bfloat16.
    assert _MLP.apply(_params32(), jnp.ones((1, 4), BF16)).dtype == F32


# ---- forward pass ---------------------------------------------------------------------------

NP_ACTIVATIONS = {
    "tanh": np.tanh,
    "relu": lambda x: np.maximum(x, 0.0),
    "sigmoid": lambda x: 1.0 / (1.0 + np.exp(-x)),
    "gelu": lambda x: 0.5 * x * (1.0 + np.vectorize(math.erf)(x / math.sqrt(2.0))),
    "softplus": lambda x: np.logaddexp(x, 0.0),
    "elu": lambda x: np.where(x > 0, x, np.expm1(np.minimum(x, 0.0))),
    "silu": lambda x: x / (1.0 + np.exp(-x)),
    "softsign": lambda x: x / (1.0 + np.abs(x)),
    "leaky_relu": lambda x: np.where(x >= 0, x, 0.01 * x),
    "hard_sigmoid": lambda x: np.clip(x / 6.0 + 0.5, 0.0, 1.0),
    "identity": lambda x: x,
}


@pytest.mark.parametrize("dtype,x64", WITH_X64_CASES)
def test_activations_keep_dtype_and_value(dtype, x64):
    # All of them in one compiled function per setting (one compilation, not one per activation).
    x_np = np.linspace(-4.0, 4.0, 33)
    names = sorted(NP_ACTIVATIONS)
    with jax.enable_x64(x64):
        x, x_ref = rounded(x_np, dtype)
        outs = jax.jit(lambda v: [A.get(n)(v) for n in names] + [A.softmax(v), A.log_softmax(v)])(x)
        for n, out in zip(names, outs):
            assert out.dtype == dtype, f"{n}: {out.dtype}"
            assert_close(out, NP_ACTIVATIONS[n](x_ref), dtype)
        assert outs[-2].dtype == outs[-1].dtype == dtype
        assert_close(outs[-2], np.exp(_np_log_softmax(x_ref)), dtype)
        # log_softmax of 33 logits in [-4, 4] is about -6: bfloat16 holds it to 2^-8 * 8.
        assert_close(outs[-1], _np_log_softmax(x_ref), dtype, atol=4 * TOL[dtype]["atol"])
        derivs = jax.jit(lambda v: [A.derivative(n)(v) for n in ("tanh", "sigmoid", "relu", "gelu")])(x)
        assert all(d.dtype == dtype for d in derivs)


def np_forward(params, x, hidden, output):
    for i, p in enumerate(params):
        x = x @ p["w"] + p["b"]
        x = NP_ACTIVATIONS[hidden[i]](x) if i < len(params) - 1 else output(x)
    return x


@jax.jit
def _mlp_forward_and_grad(params, x):
    """Outputs, the mean squared error to 0 and its gradient (compiled once per dtype)."""

    def loss(p):
        y = _MLP.apply(p, x)
        return L.mean_squared_error(y, jnp.zeros_like(y), reduction="mean"), y

    (value, y), grads = jax.value_and_grad(loss, has_aux=True)(params)
    return y, value, grads


@pytest.mark.parametrize("dtype,x64", CORE_CASES)
def test_mlp_forward_and_gradient(dtype, x64):
    params32 = _params32()
    x_np = np.random.default_rng(0).normal(size=(5, 4))
    is_pair = lambda t: isinstance(t, tuple)
    with jax.enable_x64(x64):
        pairs = jax.tree.map(lambda p: rounded(p, dtype), params32)
        params = jax.tree.map(lambda pr: pr[0], pairs, is_leaf=is_pair)
        params_ref = jax.tree.map(lambda pr: pr[1], pairs, is_leaf=is_pair)
        x, x_ref = rounded(x_np, dtype)
        y, value, grads = _mlp_forward_and_grad(params, x)
        assert y.dtype == value.dtype == dtype and y.shape == (5, 3)
        assert_close(y, np_forward(params_ref, x_ref, HIDDEN, NP_ACTIVATIONS["sigmoid"]), dtype)
        # The gradient of a loss through the network keeps every leaf in the params' dtype.
        assert_dtype(grads, dtype, "MLP gradient")
    # Reference gradient: the same computation in float64 on the rounded inputs.
    with jax.enable_x64(True):
        _, _, ref = _mlp_forward_and_grad(jax.tree.map(jnp.asarray, params_ref), jnp.asarray(x_ref))
    for g, r in zip(jax.tree.leaves(grads), jax.tree.leaves(ref)):
        assert_close(g, np.asarray(r), dtype, atol=TOL[dtype]["atol"] * max(1.0, float(np.abs(r).max())))


# ---- losses -----------------------------------------------------------------------------------


def _np_per_example(values, how="mean"):
    axes = tuple(range(1, values.ndim))
    if not axes:
        return values
    return values.mean(axis=axes) if how == "mean" else values.sum(axis=axes)


def _np_log_softmax(z):
    m = z.max(-1, keepdims=True)
    return z - m - np.log(np.exp(z - m).sum(-1, keepdims=True))


# name -> (make inputs from a rng, NumPy float64 reference of the per-example loss)
LOSS_CASES = {
    "zero_one": (
        lambda r: (r.normal(size=6), r.choice([-1.0, 1.0], size=6)),
        lambda f, y: (np.where(f >= 0, 1.0, -1.0) != y).astype(float),
    ),
    "perceptron": (
        lambda r: (r.normal(size=(6, 1)), r.choice([-1.0, 1.0], size=(6, 1))),
        lambda f, y: _np_per_example(np.maximum(0.0, -y * f)),
    ),
    "hinge": (
        lambda r: (r.normal(size=6), r.choice([-1.0, 1.0], size=6)),
        lambda f, y: np.maximum(0.0, 1.0 - y * f),
    ),
    "squared_hinge": (
        lambda r: (r.normal(size=6), r.choice([-1.0, 1.0], size=6)),
        lambda f, y: np.maximum(0.0, 1.0 - y * f) ** 2,
    ),
    "mse": (
        lambda r: (r.normal(size=(6, 3)), r.normal(size=(6, 3))),
        lambda p, t: _np_per_example((p - t) ** 2),
    ),
    "mae": (
        lambda r: (r.normal(size=(6, 3)), r.normal(size=(6, 3))),
        lambda p, t: _np_per_example(np.abs(p - t)),
    ),
    "huber": (
        lambda r: (2 * r.normal(size=(6, 3)), r.normal(size=(6, 3))),
        lambda p, t: _np_per_example(np.where(np.abs(p - t) <= 1, 0.5 * (p - t) ** 2, np.abs(p - t) - 0.5)),
    ),
    "log_cosh": (
        lambda r: (2 * r.normal(size=(6, 3)), r.normal(size=(6, 3))),
        lambda p, t: _np_per_example(np.log(np.cosh(p - t))),
    ),
    "binary_cross_entropy": (
        lambda r: (r.uniform(0.02, 0.98, size=(6, 1)), r.choice([0.0, 1.0], size=(6, 1))),
        lambda p, y: _np_per_example(-(y * np.log(p) + (1 - y) * np.log(1 - p))),
    ),
    "binary_cross_entropy_with_logits": (
        lambda r: (3 * r.normal(size=6), r.uniform(0, 1, size=6)),
        lambda z, y: np.logaddexp(0.0, z) - y * z,
    ),
    "categorical_cross_entropy": (
        lambda r: (r.dirichlet(np.ones(4), size=6), r.integers(0, 4, size=6).astype(np.int32)),
        lambda p, c: -np.log(p[np.arange(len(c)), c]),
    ),
    "categorical_cross_entropy_with_logits": (
        lambda r: (3 * r.normal(size=(6, 4)), r.integers(0, 4, size=6).astype(np.int32)),
        lambda z, c: -_np_log_softmax(z)[np.arange(len(c)), c],
    ),
    "kl_divergence": (
        lambda r: (r.dirichlet(np.ones(4), size=6), r.dirichlet(np.ones(4), size=6)),
        lambda p, t: (t * (np.log(t) - np.log(p))).sum(-1),
    ),
}


def test_loss_cases_cover_every_loss():
    assert sorted(LOSS_CASES) == sorted(L.names())


def _cast_inputs(pred, target, dtype):
    p, p_ref = rounded(pred, dtype)
    if np.issubdtype(np.asarray(target).dtype, np.integer):
        return p, p_ref, jnp.asarray(target), np.asarray(target)
    t, t_ref = rounded(target, dtype)
    return p, p_ref, t, t_ref


def _all_losses(inputs):
    """Per-example values, the mean and its gradient for every loss (one compiled function)."""
    out = {}
    for name, (q, t) in inputs.items():
        loss = L.get(name)
        mean = lambda q, t=t, loss=loss: loss(q, t, reduction="mean")
        out[name] = (loss(q, t), mean(q), jax.grad(mean)(q))
    return out


_jit_all_losses = jax.jit(_all_losses)


@pytest.mark.parametrize("dtype,x64", WITH_X64_CASES)
def test_losses_keep_dtype_and_match_float64(dtype, x64):
    inputs, references = {}, {}
    with jax.enable_x64(x64):
        for name, (make, reference) in LOSS_CASES.items():
            p, p_ref, t, t_ref = _cast_inputs(*make(np.random.default_rng(1)), dtype)
            if name == "kl_divergence":  # rows renormalized after rounding, so they are distributions
                p_ref, t_ref = p_ref / p_ref.sum(-1, keepdims=True), t_ref / t_ref.sum(-1, keepdims=True)
            inputs[name], references[name] = (p, t), reference(p_ref, t_ref)
        # Under jit, where weak types are stricter than eagerly (see the Adam eps_hat case).
        results = _jit_all_losses(inputs)
    failures = []
    for name, (per_example, mean, grad) in results.items():
        expected = references[name]
        try:
            assert per_example.dtype == dtype, per_example.dtype
            assert per_example.shape == (6,), per_example.shape
            assert mean.dtype == dtype and mean.shape == (), (mean.dtype, mean.shape)
            assert grad.dtype == dtype, grad.dtype
            assert np.all(np.isfinite(np.asarray(grad, np.float32)))
            # bfloat16 KL: t (log t - log p) sums terms of both signs, each rounded to 2^-8.
            tol = {"atol": 3e-2} if dtype == BF16 and name == "kl_divergence" else {}
            assert_close(per_example, expected, dtype, **tol)
            assert_close(mean, expected.mean(), dtype)
        except AssertionError as err:
            failures.append(f"{name}: {err}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize(
    "dtype,x64,residuals",
    [(F32, False, np.geomspace(1e-5, 1e-1, 9)), (F64, True, np.geomspace(1e-9, 1e-1, 9))],
    ids=["float32", "float64"],
)
def test_log_cosh_small_residuals_are_accurate(dtype, x64, residuals):
    with jax.enable_x64(x64):
        r, r_ref = rounded(residuals, dtype)
        got = np.asarray(L.log_cosh(r, jnp.zeros_like(r)), np.float64)
    # cosh(r) = 1 + 2 sinh(r/2)^2: accurate in float64 for every r here (log(cosh(r)) is not,
    # since cosh(1e-9) rounds to 1).
    expected = np.log1p(2.0 * np.sinh(r_ref / 2.0) ** 2)
    assert np.all(got >= 0)
    np.testing.assert_allclose(got, expected, rtol=1e-4 if dtype == F32 else 1e-10)


# ---- heads ------------------------------------------------------------------------------------


def _np_sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


HEAD_CASES = {
    # name -> (logits shape, targets from rng, reference activation, loss and class prediction)
    "regression": ((6, 1), lambda r: r.normal(size=(6, 1)), lambda z: z, lambda z, t: ((z - t) ** 2).mean(-1), None),
    "multivariate_regression": (
        (6, 3), lambda r: r.normal(size=(6, 3)), lambda z: z, lambda z, t: ((z - t) ** 2).mean(-1), None,
    ),
    "binary": (
        (6, 1),
        lambda r: r.choice([0.0, 1.0], size=(6, 1)),
        _np_sigmoid,
        lambda z, y: (np.logaddexp(0.0, z) - y * z).mean(-1),
        lambda z: (z >= 0).astype(np.int32),
    ),
    "multiclass": (
        (6, 4),
        lambda r: r.integers(0, 4, size=6).astype(np.int32),
        lambda z: np.exp(_np_log_softmax(z)),
        lambda z, c: -_np_log_softmax(z)[np.arange(len(c)), c],
        lambda z: z.argmax(-1).astype(np.int32),
    ),
}


@jax.jit
def _all_heads(inputs):
    """Outputs, per-example loss and predictions of every head (one compiled function)."""
    out = {}
    for name, (z, t) in inputs.items():
        head = H.get(name)
        out[name] = (head.output_activation(z), head.loss(z, t), head.predict(z))
    return out


@pytest.mark.parametrize("dtype,x64", CORE_CASES)
def test_heads_keep_dtype_and_match_float64(dtype, x64):
    inputs, refs = {}, {}
    rng = np.random.default_rng(2)
    with jax.enable_x64(x64):
        for name, (shape, make_targets, *_) in HEAD_CASES.items():
            z, z_ref, t, t_ref = _cast_inputs(2 * rng.normal(size=shape), make_targets(rng), dtype)
            inputs[name], refs[name] = (z, t), (z_ref, t_ref)
        results = _all_heads(inputs)
    failures = []
    for name, (out, loss, predicted) in results.items():
        shape, _, act_ref, loss_ref, predict_ref = HEAD_CASES[name]
        z_ref, t_ref = refs[name]
        try:
            assert out.dtype == dtype and out.shape == shape, (out.dtype, out.shape)
            assert_close(out, act_ref(z_ref), dtype)
            assert loss.dtype == dtype and loss.shape == (6,), (loss.dtype, loss.shape)
            assert_close(loss, loss_ref(z_ref, t_ref), dtype)
            if name in ("binary", "multiclass"):
                assert predicted.dtype == jnp.int32, predicted.dtype
                np.testing.assert_array_equal(predicted, predict_ref(z_ref))
            else:  # regression heads predict the outputs themselves
                assert predicted.dtype == dtype, predicted.dtype
                assert_close(predicted, z_ref, dtype)
        except AssertionError as err:
            failures.append(f"{name}: {err}")
    assert not failures, "\n".join(failures)


# ---- optimizers -------------------------------------------------------------------------------


# name -> (jaxnn optimizer, Optax reference with the same hyperparameters, run in float64)
OPTIMIZERS = {
    "sgd": (lambda: O.sgd(0.1), lambda: optax.sgd(0.1)),
    "momentum": (lambda: O.momentum(0.1, 0.9), lambda: optax.sgd(0.1, momentum=0.9)),
    "nesterov": (
        lambda: O.momentum(0.1, 0.9, nesterov=True),
        lambda: optax.sgd(0.1, momentum=0.9, nesterov=True),
    ),
    "momentum_keras": (lambda: O.momentum(0.1, 0.9, lr_in_velocity=True), lambda: optax.sgd(0.1, momentum=0.9)),
    "adagrad": (lambda: O.adagrad(0.1), lambda: optax.adagrad(0.1)),
    "rmsprop": (lambda: O.rmsprop(0.01), lambda: optax.rmsprop(0.01)),
    "rmsprop_centered_momentum": (
        lambda: O.rmsprop(0.01, centered=True, momentum=0.9),
        lambda: optax.rmsprop(0.01, centered=True, momentum=0.9),
    ),
    "adadelta": (lambda: O.adadelta(1.0), lambda: optax.adadelta(1.0)),
    "adam": (lambda: O.adam(0.01), lambda: optax.adam(0.01)),
    "adamw": (lambda: O.adamw(0.01, weight_decay=0.1), lambda: optax.adamw(0.01, weight_decay=0.1)),
}
STEPS = 3
SHAPES = {"w": (3, 2), "b": (2,)}


def _scan_steps(opt, params, grads):
    """``opt`` applied to the stacked ``grads`` with ``lax.scan``; returns (final params, state), updates.

    ``lax.scan`` also checks that the state keeps its dtypes from step to step.
    """

    def step(carry, g):
        params, state = carry
        updates, state = opt.update(g, state, params)
        return (optax.apply_updates(params, updates), state), updates

    return jax.lax.scan(step, (params, opt.init(params)), grads)


def _optimizer_inputs(dtype):
    """Params and ``STEPS`` stacked gradients in ``dtype``, and their float64 values."""
    rng = np.random.default_rng(3)
    p_pairs = {k: rounded(rng.normal(size=s), dtype) for k, s in SHAPES.items()}
    g_pairs = {k: rounded(rng.normal(size=(STEPS, *s)), dtype) for k, s in SHAPES.items()}
    pick = lambda pairs, i: {k: v[i] for k, v in pairs.items()}
    return pick(p_pairs, 0), pick(g_pairs, 0), pick(p_pairs, 1), pick(g_pairs, 1)


# All optimizers in one compiled function (per setting): one compilation instead of eleven.
_run_all = jax.jit(lambda p, g: {n: _scan_steps(make(), p, g) for n, (make, _) in OPTIMIZERS.items()})
_run_all_references = jax.jit(
    lambda p, g: {n: _scan_steps(ref(), p, g) for n, (_, ref) in OPTIMIZERS.items()}
)


def _check_run(name, dtype, run, reference) -> None:
    (final, state), updates = run
    (ref_final, _), ref_updates = reference
    assert_dtype(updates, dtype, f"{name} updates")
    assert_dtype(state, dtype, f"{name} state after {STEPS} steps")
    assert_dtype(final, dtype, f"{name} params after {STEPS} steps")
    for k in SHAPES:
        # The first update: the optimizer's arithmetic on exact inputs, relative to its size.
        scale = float(np.abs(ref_updates[k][0]).max())
        assert_close(updates[k][0], np.asarray(ref_updates[k][0]), dtype, atol=TOL[dtype]["atol"] * scale)
        # After STEPS steps the params carry STEPS roundings of their own.
        assert_close(final[k], np.asarray(ref_final[k]), dtype)


@pytest.mark.parametrize("dtype,x64", WITH_X64_CASES)
def test_optimizers_keep_dtype_and_match_optax_in_float64(dtype, x64):
    with jax.enable_x64(x64):
        params, grads, p_ref, g_ref = _optimizer_inputs(dtype)
        for name, (make, _) in OPTIMIZERS.items():
            assert_dtype(make().init(params), dtype, f"{name}.init state")
        runs = _run_all(params, grads)
    with jax.enable_x64(True):
        references = _run_all_references(p_ref, g_ref)
    failures = []
    for name in OPTIMIZERS:
        try:
            _check_run(name, dtype, runs[name], references[name])
        except AssertionError as err:
            failures.append(f"{name}: {err}")
    assert not failures, "\n".join(failures)


def _np_adam_eps_hat(p, grads, lr=0.01, b1=0.9, b2=0.999, eps=1e-8):
    """Keras-form Adam (eps added to the uncorrected root) in NumPy float64: final params and updates."""
    m, v, updates = np.zeros_like(p), np.zeros_like(p), []
    for t, g in enumerate(grads, start=1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        alpha = lr * math.sqrt(1 - b2**t) / (1 - b1**t)
        updates.append(-alpha * m / (np.sqrt(v) + eps))
        p = p + updates[-1]
    return p, np.stack(updates)


@pytest.mark.parametrize("dtype,x64", CASES)
def test_adam_eps_hat_keeps_dtype_and_matches_keras_form(dtype, x64):
    with jax.enable_x64(x64):
        params, grads, p_ref, g_ref = _optimizer_inputs(dtype)
        run = jax.jit(lambda p, g: _scan_steps(O.adam(0.01, eps_hat=True), p, g))(params, grads)
    reference = {k: _np_adam_eps_hat(p_ref[k], g_ref[k]) for k in SHAPES}
    reference = ({k: r[0] for k, r in reference.items()}, None), {k: r[1] for k, r in reference.items()}
    _check_run("adam_eps_hat", dtype, run, reference)


# sweep() (jaxnn.train) passes hyperparameters as traced float32 scalars: none of them may promote
# bfloat16 updates or state (a lax.scan/while_loop carry would change type).
TRACED = {
    "sgd-learning_rate": lambda h: O.sgd(h),
    "adagrad-initial_accumulator_value": lambda h: O.adagrad(0.1, h),
    "momentum-mu": lambda h: O.momentum(0.1, h),
    "rmsprop-decay": lambda h: O.rmsprop(0.1, h),
    "rmsprop-eps": lambda h: O.rmsprop(0.1, eps=h * 1e-7),
    "adadelta-rho": lambda h: O.adadelta(1.0, h),
    "adam-b1": lambda h: O.adam(0.1, b1=h),
    "adam-b2": lambda h: O.adam(0.1, b2=h),
    "adamw-weight_decay": lambda h: O.adamw(0.1, weight_decay=h * 0.01),
}


@pytest.mark.parametrize("name", list(TRACED))
def test_traced_float32_hyperparameter_keeps_bfloat16(name):
    make = TRACED[name]
    params = jnp.linspace(-1.0, 1.0, 4, dtype=BF16)

    @jax.jit
    def one_step(h, params):
        opt = make(h)
        updates, state = opt.update(params, opt.init(params), params)
        return updates, state

    updates, state = one_step(jnp.float32(0.9), params)
    assert_dtype(updates, BF16, f"{name} updates")
    assert_dtype(state, BF16, f"{name} state")


# ---- a training step end to end -----------------------------------------------------------------


_HEAD = H.multiclass()


@jax.jit
def _train(params, x, labels):
    """Twenty Adam steps of a 3-class classifier; returns the final params, per-step losses and updates."""
    opt = O.adam(0.05)

    def step(carry, _):
        params, state = carry
        loss, grads = jax.value_and_grad(lambda p: _HEAD.loss(_LOGITS_MLP.apply(p, x), labels).mean())(params)
        updates, state = opt.update(grads, state, params)
        return (optax.apply_updates(params, updates), state), (loss, updates)

    (final, _), (losses, updates) = jax.lax.scan(step, (params, opt.init(params)), None, length=20)
    return final, losses, updates


# float32 training is what every test of jaxnn.train exercises; here the other two.
@pytest.mark.parametrize("dtype,x64", [CASES[0], CASES[2]])
def test_training_steps_keep_dtype_and_track_float64(dtype, x64):
    """Loss, grads, updates and params of a training loop stay in dtype, and the loss curve follows
    the float64 run from the same rounded start."""
    rng = np.random.default_rng(4)
    x_np = rng.normal(size=(32, 4))
    labels = (x_np @ rng.normal(size=(4, 3))).argmax(-1).astype(np.int32)
    is_pair = lambda t: isinstance(t, tuple)
    with jax.enable_x64(x64):
        pairs = jax.tree.map(lambda p: rounded(p, dtype), _params32())
        params = jax.tree.map(lambda pr: pr[0], pairs, is_leaf=is_pair)
        x, x_ref = rounded(x_np, dtype)
        final, losses, updates = _train(params, x, jnp.asarray(labels))
        assert losses.dtype == dtype
        assert_dtype(updates, dtype, "updates")
        assert_dtype(final, dtype, "params")
    with jax.enable_x64(True):
        params_ref = jax.tree.map(lambda pr: jnp.asarray(pr[1]), pairs, is_leaf=is_pair)
        _, ref_losses, _ = _train(params_ref, jnp.asarray(x_ref), jnp.asarray(labels))
    losses = np.asarray(losses).astype(np.float64)
    assert losses[-1] < 0.8 * losses[0]
    # Twenty steps compound roundings (and Adam's normalized steps amplify them in bfloat16).
    tol = {BF16: dict(rtol=5e-2, atol=5e-2), F64: dict(rtol=1e-10, atol=1e-12)}[dtype]
    np.testing.assert_allclose(losses, np.asarray(ref_losses), **tol)
