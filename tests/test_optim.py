"""Tests of jaxnn.optim: closed-form first steps, agreement with Optax, convergence,
chaining, schedules and hyperparameter validation."""

from __future__ import annotations

import functools
import pathlib

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxnn import optim

# Three fixed gradients of a 3-parameter model, and a start. float64 NumPy references.
P0 = np.array([0.5, -1.0, 2.0])
G = np.array([[0.3, -1.2, 0.05], [-0.7, -0.4, 0.02], [1.1, 0.6, -0.03]])


def _three_steps(opt, use_jit):
    """Applies ``opt`` to the fixed gradients G; returns the params after steps 1, 2, 3."""
    update = jax.jit(opt.update) if use_jit else opt.update
    params = jnp.asarray(P0, jnp.float32)
    state = opt.init(params)
    out = []
    for g in G:
        updates, state = update(jnp.asarray(g, jnp.float32), state, params)
        params = optax.apply_updates(params, updates)
        out.append(np.asarray(params))
    return np.stack(out)


def _close(actual, expected):
    np.testing.assert_allclose(actual, expected, rtol=2e-5, atol=1e-6)


g1, g2, g3 = G


# ------------------------------------------------------------------ first three steps


@pytest.mark.parametrize("use_jit", [False, True])
class TestFirstThreeSteps:
    def test_sgd(self, use_jit):
        lr = 0.1
        p1 = P0 - lr * g1
        p2 = p1 - lr * g2
        p3 = p2 - lr * g3
        _close(_three_steps(optim.sgd(lr), use_jit), [p1, p2, p3])

    def test_momentum(self, use_jit):
        lr, mu = 0.1, 0.9
        v1 = g1
        v2 = mu * g1 + g2
        v3 = mu**2 * g1 + mu * g2 + g3
        p1 = P0 - lr * v1
        p2 = p1 - lr * v2
        p3 = p2 - lr * v3
        _close(_three_steps(optim.momentum(lr, mu), use_jit), [p1, p2, p3])

    def test_nesterov(self, use_jit):
        lr, mu = 0.1, 0.8
        v1 = g1
        v2 = mu * g1 + g2
        v3 = mu**2 * g1 + mu * g2 + g3
        p1 = P0 - lr * (g1 + mu * v1)
        p2 = p1 - lr * (g2 + mu * v2)
        p3 = p2 - lr * (g3 + mu * v3)
        _close(_three_steps(optim.momentum(lr, mu, nesterov=True), use_jit), [p1, p2, p3])

    def test_momentum_forms_under_a_schedule(self, use_jit):
        # eta_t = 0.1, 0.05, 0.025. PyTorch/Optax form: v = mu v + g, x -= eta_t v.
        # Keras form: v = mu v - eta_t g, x += v. They differ once eta changes.
        mu = 0.9
        schedule = optax.exponential_decay(0.1, transition_steps=1, decay_rate=0.5)
        e0, e1, e2 = 0.1, 0.05, 0.025
        torch_p1 = P0 - e0 * g1
        torch_p2 = torch_p1 - e1 * (mu * g1 + g2)
        torch_p3 = torch_p2 - e2 * (mu**2 * g1 + mu * g2 + g3)
        _close(_three_steps(optim.momentum(schedule, mu), use_jit), [torch_p1, torch_p2, torch_p3])
        k1 = -e0 * g1
        k2 = mu * k1 - e1 * g2
        k3 = mu * k2 - e2 * g3
        keras = [P0 + k1, P0 + k1 + k2, P0 + k1 + k2 + k3]
        _close(_three_steps(optim.momentum(schedule, mu, lr_in_velocity=True), use_jit), keras)
        # Keras Nesterov: x += mu v - eta_t g.
        kn = [P0 + mu * k1 - e0 * g1]
        kn.append(kn[0] + mu * k2 - e1 * g2)
        kn.append(kn[1] + mu * k3 - e2 * g3)
        opt = optim.momentum(schedule, mu, nesterov=True, lr_in_velocity=True)
        _close(_three_steps(opt, use_jit), kn)

    @pytest.mark.parametrize("eps_in_sqrt", [True, False])
    def test_adagrad(self, use_jit, eps_in_sqrt):
        lr, acc0, eps = 0.5, 0.1, 0.05  # a large eps, so inside vs outside the root differs
        s1 = acc0 + g1**2
        s2 = acc0 + g1**2 + g2**2
        s3 = acc0 + g1**2 + g2**2 + g3**2
        root = (lambda s: np.sqrt(s + eps)) if eps_in_sqrt else (lambda s: np.sqrt(s) + eps)
        p1 = P0 - lr * g1 / root(s1)
        p2 = p1 - lr * g2 / root(s2)
        p3 = p2 - lr * g3 / root(s3)
        opt = optim.adagrad(lr, acc0, eps, eps_in_sqrt=eps_in_sqrt)
        _close(_three_steps(opt, use_jit), [p1, p2, p3])

    def test_adagrad_pytorch_form(self, use_jit):
        lr, eps = 0.5, 1e-10  # accumulator starts at 0: the first step is lr * sign(g)
        p1 = P0 - lr * g1 / (np.sqrt(g1**2) + eps)
        p2 = p1 - lr * g2 / (np.sqrt(g1**2 + g2**2) + eps)
        p3 = p2 - lr * g3 / (np.sqrt(g1**2 + g2**2 + g3**2) + eps)
        opt = optim.adagrad(lr, 0.0, eps, eps_in_sqrt=False)
        _close(_three_steps(opt, use_jit), [p1, p2, p3])

    @pytest.mark.parametrize("eps_in_sqrt", [True, False])
    @pytest.mark.parametrize("centered", [False, True])
    def test_rmsprop(self, use_jit, eps_in_sqrt, centered):
        lr, rho, eps, v0 = 0.01, 0.9, 0.01, 0.2
        v1 = rho * v0 + (1 - rho) * g1**2
        v2 = rho * v1 + (1 - rho) * g2**2
        v3 = rho * v2 + (1 - rho) * g3**2
        if centered:
            m1 = (1 - rho) * g1
            m2 = rho * m1 + (1 - rho) * g2
            m3 = rho * m2 + (1 - rho) * g3
            s1, s2, s3 = v1 - m1**2, v2 - m2**2, v3 - m3**2
        else:
            s1, s2, s3 = v1, v2, v3
        root = (lambda s: np.sqrt(s + eps)) if eps_in_sqrt else (lambda s: np.sqrt(s) + eps)
        p1 = P0 - lr * g1 / root(s1)
        p2 = p1 - lr * g2 / root(s2)
        p3 = p2 - lr * g3 / root(s3)
        opt = optim.rmsprop(
            lr, rho, eps, eps_in_sqrt=eps_in_sqrt, centered=centered, initial_scale=v0
        )
        _close(_three_steps(opt, use_jit), [p1, p2, p3])

    @pytest.mark.parametrize("nesterov", [False, True])
    def test_rmsprop_momentum(self, use_jit, nesterov):
        lr, rho, eps, mu = 0.01, 0.99, 1e-8, 0.9  # PyTorch's decay
        v1 = (1 - rho) * g1**2
        v2 = rho * v1 + (1 - rho) * g2**2
        v3 = rho * v2 + (1 - rho) * g3**2
        c1 = lr * g1 / np.sqrt(v1 + eps)
        c2 = lr * g2 / np.sqrt(v2 + eps)
        c3 = lr * g3 / np.sqrt(v3 + eps)
        b1 = c1
        b2 = mu * b1 + c2
        b3 = mu * b2 + c3
        if nesterov:
            p1 = P0 - (c1 + mu * b1)
            p2 = p1 - (c2 + mu * b2)
            p3 = p2 - (c3 + mu * b3)
        else:
            p1 = P0 - b1
            p2 = p1 - b2
            p3 = p2 - b3
        opt = optim.rmsprop(lr, rho, eps, momentum=mu, nesterov=nesterov)
        _close(_three_steps(opt, use_jit), [p1, p2, p3])

    def test_adadelta(self, use_jit):
        lr, rho, eps = 1.0, 0.9, 1e-6
        eg1 = (1 - rho) * g1**2
        d1 = np.sqrt(0.0 + eps) / np.sqrt(eg1 + eps) * g1
        ex1 = (1 - rho) * d1**2
        eg2 = rho * eg1 + (1 - rho) * g2**2
        d2 = np.sqrt(ex1 + eps) / np.sqrt(eg2 + eps) * g2
        ex2 = rho * ex1 + (1 - rho) * d2**2
        eg3 = rho * eg2 + (1 - rho) * g3**2
        d3 = np.sqrt(ex2 + eps) / np.sqrt(eg3 + eps) * g3
        p1 = P0 - lr * d1
        p2 = p1 - lr * d2
        p3 = p2 - lr * d3
        _close(_three_steps(optim.adadelta(), use_jit), [p1, p2, p3])

    def test_adam(self, use_jit):
        lr, b1, b2, eps = 0.01, 0.9, 0.999, 1e-3
        m1 = (1 - b1) * g1
        m2 = b1 * m1 + (1 - b1) * g2
        m3 = b1 * m2 + (1 - b1) * g3
        v1 = (1 - b2) * g1**2
        v2 = b2 * v1 + (1 - b2) * g2**2
        v3 = b2 * v2 + (1 - b2) * g3**2
        p1 = P0 - lr * (m1 / (1 - b1)) / (np.sqrt(v1 / (1 - b2)) + eps)
        p2 = p1 - lr * (m2 / (1 - b1**2)) / (np.sqrt(v2 / (1 - b2**2)) + eps)
        p3 = p2 - lr * (m3 / (1 - b1**3)) / (np.sqrt(v3 / (1 - b2**3)) + eps)
        _close(_three_steps(optim.adam(lr, b1, b2, eps), use_jit), [p1, p2, p3])

    def test_adam_eps_hat_is_keras_form(self, use_jit):
        # Keras: alpha_t = lr sqrt(1 - b2^t) / (1 - b1^t); x -= alpha_t m / (sqrt(v) + eps).
        lr, b1, b2, eps = 0.01, 0.9, 0.999, 1e-2  # a large eps makes the two forms differ
        m1 = (1 - b1) * g1
        m2 = b1 * m1 + (1 - b1) * g2
        m3 = b1 * m2 + (1 - b1) * g3
        v1 = (1 - b2) * g1**2
        v2 = b2 * v1 + (1 - b2) * g2**2
        v3 = b2 * v2 + (1 - b2) * g3**2
        alpha = [lr * np.sqrt(1 - b2**t) / (1 - b1**t) for t in (1, 2, 3)]
        p1 = P0 - alpha[0] * m1 / (np.sqrt(v1) + eps)
        p2 = p1 - alpha[1] * m2 / (np.sqrt(v2) + eps)
        p3 = p2 - alpha[2] * m3 / (np.sqrt(v3) + eps)
        opt = optim.adam(lr, b1, b2, eps, eps_hat=True)
        _close(_three_steps(opt, use_jit), [p1, p2, p3])
        # ... and it is a different optimizer from the default form at this eps.
        assert not np.allclose(_three_steps(optim.adam(lr, b1, b2, eps), use_jit)[0], p1)

    def test_adamw(self, use_jit):
        lr, b1, b2, eps, wd = 0.01, 0.9, 0.999, 1e-8, 0.5
        m1 = (1 - b1) * g1
        m2 = b1 * m1 + (1 - b1) * g2
        m3 = b1 * m2 + (1 - b1) * g3
        v1 = (1 - b2) * g1**2
        v2 = b2 * v1 + (1 - b2) * g2**2
        v3 = b2 * v2 + (1 - b2) * g3**2
        p1 = P0 - lr * ((m1 / (1 - b1)) / (np.sqrt(v1 / (1 - b2)) + eps) + wd * P0)
        p2 = p1 - lr * ((m2 / (1 - b1**2)) / (np.sqrt(v2 / (1 - b2**2)) + eps) + wd * p1)
        p3 = p2 - lr * ((m3 / (1 - b1**3)) / (np.sqrt(v3 / (1 - b2**3)) + eps) + wd * p2)
        opt = optim.adamw(lr, b1, b2, eps, weight_decay=wd)
        _close(_three_steps(opt, use_jit), [p1, p2, p3])

    def test_schedule(self, use_jit):
        # eta_t = 0.2 / (1 + t): PyTorch Adagrad's lr_decay=1 written as a schedule.
        schedule = lambda t: 0.2 / (1.0 + t)
        p1 = P0 - 0.2 * g1
        p2 = p1 - 0.1 * g2
        p3 = p2 - (0.2 / 3) * g3
        _close(_three_steps(optim.sgd(schedule), use_jit), [p1, p2, p3])


# ------------------------------------------------------------- agreement with Optax

PAIRS = {
    "sgd": (lambda: optim.sgd(0.05), lambda: optax.sgd(0.05)),
    "momentum": (lambda: optim.momentum(0.02, 0.9), lambda: optax.sgd(0.02, momentum=0.9)),
    "momentum_keras_form": (
        lambda: optim.momentum(0.02, 0.9, lr_in_velocity=True),
        lambda: optax.sgd(0.02, momentum=0.9),
    ),
    "nesterov": (
        lambda: optim.momentum(0.02, 0.9, nesterov=True),
        lambda: optax.sgd(0.02, momentum=0.9, nesterov=True),
    ),
    "adagrad": (lambda: optim.adagrad(0.1), lambda: optax.adagrad(0.1)),
    "rmsprop": (lambda: optim.rmsprop(0.005), lambda: optax.rmsprop(0.005)),
    "rmsprop_torch": (
        lambda: optim.rmsprop(0.005, 0.99, 1e-8, eps_in_sqrt=False),
        lambda: optax.rmsprop(0.005, 0.99, 1e-8, eps_in_sqrt=False),
    ),
    "rmsprop_centered_momentum": (
        lambda: optim.rmsprop(0.002, centered=True, momentum=0.9, nesterov=True),
        lambda: optax.rmsprop(0.002, centered=True, momentum=0.9, nesterov=True),
    ),
    "rmsprop_initial_scale": (
        lambda: optim.rmsprop(0.005, initial_scale=1.0),
        lambda: optax.rmsprop(0.005, initial_scale=1.0),
    ),
    "adadelta": (lambda: optim.adadelta(1.0), lambda: optax.adadelta(1.0)),
    "adam": (lambda: optim.adam(0.01), lambda: optax.adam(0.01)),
    "adam_eps_root": (
        lambda: optim.adam(0.01, 0.8, 0.99, 1e-6, 1e-8),
        lambda: optax.adam(0.01, 0.8, 0.99, 1e-6, 1e-8),
    ),
    "adam_schedule": (
        lambda: optim.adam(optax.cosine_decay_schedule(0.02, 500)),
        lambda: optax.adam(optax.cosine_decay_schedule(0.02, 500)),
    ),
    "adamw": (lambda: optim.adamw(0.01), lambda: optax.adamw(0.01)),
    "adamw_torch_decay": (
        lambda: optim.adamw(0.01, weight_decay=0.01),
        lambda: optax.adamw(0.01, weight_decay=0.01),
    ),
}

STEPS = 500


def _quadratic_problem():
    """f(x) = 1/2 x^T A x - b^T x with A symmetric positive definite, eigenvalues in [0.1, ~5]."""
    ka, kb, kx = jax.random.split(jax.random.key(0), 3)
    q = jax.random.normal(ka, (8, 8))
    a = q @ q.T / 8 + 0.1 * jnp.eye(8)
    b = jax.random.normal(kb, (8,))
    loss = lambda x: 0.5 * x @ a @ x - b @ x
    return loss, jax.random.normal(kx, (8,))


def _mlp_problem():
    """A 3-16-1 tanh MLP regressing a fixed nonlinear target; mean squared error."""
    kx, k1, k2 = jax.random.split(jax.random.key(1), 3)
    x = jax.random.normal(kx, (64, 3))
    y = jnp.sin(x[:, :1]) + 0.5 * x[:, 1:2] * x[:, 2:3]
    params = {
        "w1": jax.random.normal(k1, (3, 16)) / jnp.sqrt(3.0),
        "b1": jnp.zeros(16),
        "w2": jax.random.normal(k2, (16, 1)) / 4.0,
        "b2": jnp.zeros(1),
    }

    def loss(p):
        hidden = jnp.tanh(x @ p["w1"] + p["b1"])
        return jnp.mean((hidden @ p["w2"] + p["b2"] - y) ** 2)

    return loss, params


def _train_impl(loss, opt, params, steps=STEPS):
    """Runs ``steps`` full-batch steps of ``opt`` on ``loss``; returns (params, losses)."""
    def step(carry, _):
        params, state = carry
        value, grads = jax.value_and_grad(loss)(params)
        updates, state = opt.update(grads, state, params)
        return (optax.apply_updates(params, updates), state), value

    (params, _), values = jax.lax.scan(step, (params, opt.init(params)), None, length=steps)
    return params, values


_train = jax.jit(_train_impl, static_argnums=(0, 1, 3))


@functools.partial(jax.jit, static_argnums=(0, 1, 2))
def _train_both(loss, ours, theirs, params):
    """Both trainings in one compiled call (half the compile time of two calls)."""
    return _train_impl(loss, ours, params), _train_impl(loss, theirs, params)


# One MLP comparison per optimizer by default (each compiles a 500-step scan twice); the
# remaining variants run on the MLP under -m slow, and all of them on the quadratic.
MLP_DEFAULT = {"sgd", "nesterov", "adagrad", "rmsprop_centered_momentum", "adadelta", "adam", "adamw"}
CASES = [pytest.param(name, _quadratic_problem, id=f"{name}-quadratic") for name in PAIRS] + [
    pytest.param(
        name,
        _mlp_problem,
        id=f"{name}-mlp",
        marks=() if name in MLP_DEFAULT else pytest.mark.slow,
    )
    for name in PAIRS
]


@pytest.mark.parametrize("name,problem", CASES)
def test_matches_optax_over_500_steps(name, problem):
    ours, theirs = PAIRS[name]
    loss, params0 = problem()
    (p_ours, v_ours), (p_theirs, v_theirs) = _train_both(loss, ours(), theirs(), params0)
    np.testing.assert_allclose(v_ours, v_theirs, rtol=1e-5, atol=1e-6)
    for a, b in zip(jax.tree.leaves(p_ours), jax.tree.leaves(p_theirs)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    # The comparison is not vacuous: training moved the loss.
    assert float(v_ours[-1]) < 0.9 * float(v_ours[0])


def test_optax_adadelta_default_ascends_ours_descends():
    loss, x0 = _quadratic_problem()
    _, v_theirs = _train(loss, optax.adadelta(), x0)  # learning_rate=None: no sign flip
    _, v_ours = _train(loss, optim.adadelta(), x0)
    assert float(v_theirs[-1]) > float(v_theirs[0])
    assert float(v_ours[-1]) < float(v_ours[0])


# --------------------------------------------------------------- convergence

CONVERGENT = {
    "sgd": (optim.sgd(0.3), 300),
    "momentum": (optim.momentum(0.1, 0.9), 300),
    "nesterov": (optim.momentum(0.1, 0.9, nesterov=True), 300),
    "adagrad": (optim.adagrad(0.5), 2000),
    # RMSProp's steps stay about lr long near the minimum (g / rms(g) ~ 1): decay the lr.
    "rmsprop": (optim.rmsprop(optax.cosine_decay_schedule(0.01, 2000), momentum=0.9), 2000),
    "rmsprop_centered": (optim.rmsprop(optax.cosine_decay_schedule(0.05, 2000), centered=True), 2000),
    "adadelta": (optim.adadelta(), 3000),
    "adam": (optim.adam(0.05), 2000),
    "adamw": (optim.adamw(0.05, weight_decay=0.0), 2000),
}


@pytest.mark.parametrize("name", list(CONVERGENT))
def test_converges_on_convex_quadratic(name):
    opt, steps = CONVERGENT[name]
    # f(x) = 1/2 sum L_i (x_i - c_i)^2 with L = (1, 3), minimum at c.
    curv = jnp.array([1.0, 3.0])
    c = jnp.array([1.0, -2.0])
    loss = lambda x: 0.5 * jnp.sum(curv * (x - c) ** 2)
    x, _ = _train(loss, opt, jnp.zeros(2), steps)
    np.testing.assert_allclose(x, c, atol=2e-3)


def test_adamw_weight_decay_shrinks_the_minimizer():
    # With decoupled decay the fixed point solves m_hat/(sqrt(v_hat)+eps) = -wd x, so it
    # sits between 0 and the loss minimizer.
    loss = lambda x: 0.5 * jnp.sum((x - 1.0) ** 2)
    x, _ = _train(loss, optim.adamw(0.01, weight_decay=0.5), jnp.zeros(3), 400)
    assert np.all((np.asarray(x) > 0.5) & (np.asarray(x) < 1.0))


# ------------------------------------------------------------- protocol, chaining


@pytest.mark.parametrize(
    "opt",
    [optim.sgd(0.1), optim.momentum(0.1), optim.adagrad(0.1), optim.rmsprop(0.1),
     optim.adadelta(), optim.adam(0.1), optim.adamw(0.1)],
    ids=["sgd", "momentum", "adagrad", "rmsprop", "adadelta", "adam", "adamw"],
)
def test_chains_with_optax_clipping(opt):
    clipped = optax.chain(optax.clip_by_global_norm(1.0), opt)
    params = {"a": jnp.array([1.0, 2.0]), "b": jnp.array(3.0)}
    grads = {"a": jnp.array([30.0, -40.0]), "b": jnp.array(0.0)}  # norm 50
    updates, _ = clipped.update(grads, clipped.init(params), params)
    # Reference: clip by hand, then our optimizer alone.
    small = jax.tree.map(lambda g: g / 50.0, grads)
    expected, _ = opt.update(small, opt.init(params), params)
    for a, b in zip(jax.tree.leaves(updates), jax.tree.leaves(expected)):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_primitives_mix_with_optax_primitives():
    # Our Adam scaling + Optax's learning-rate step is optax.adam.
    lr = 0.01
    mixed = optax.chain(optim.scale_by_adam(), optax.scale_by_learning_rate(lr))
    loss, x0 = _quadratic_problem()
    p_mixed, _ = _train(loss, mixed, x0)
    p_optax, _ = _train(loss, optax.adam(lr), x0)
    np.testing.assert_allclose(p_mixed, p_optax, rtol=1e-5, atol=1e-6)


def test_pytorch_weight_decay_is_a_chain():
    # PyTorch SGD(weight_decay=wd): x -= lr (g + wd x).
    lr, wd = 0.1, 0.3
    opt = optax.chain(optim.add_decayed_weights(wd), optim.sgd(lr))
    params = jnp.asarray(P0, jnp.float32)
    updates, _ = opt.update(jnp.asarray(g1, jnp.float32), opt.init(params), params)
    _close(optax.apply_updates(params, updates), P0 - lr * (g1 + wd * P0))


def test_weight_decay_needs_params():
    opt = optim.adamw(0.1)
    params = jnp.ones(2)
    with pytest.raises(ValueError, match="params"):
        opt.update(params, opt.init(params))


def test_state_is_namedtuples_with_int32_count():
    params = jnp.ones(3)
    state = optim.adam(optax.linear_schedule(0.1, 0.0, 10)).init(params)
    adam_state, lr_state = state
    assert isinstance(adam_state, optim.ScaleByAdamState)
    assert isinstance(lr_state, optim.ScaleByLearningRateState)
    assert adam_state.count.dtype == jnp.int32 and lr_state.count.dtype == jnp.int32


def test_keeps_dtype():
    params = jnp.ones(3, jnp.bfloat16)
    for opt in [optim.sgd(0.1), optim.adam(0.1), optim.rmsprop(0.1, momentum=0.9)]:
        updates, _ = opt.update(params, opt.init(params), params)
        assert updates.dtype == jnp.bfloat16


def test_traced_learning_rate_under_vmap():
    lrs = jnp.array([0.1, 0.2, 0.4])

    def one_step(lr):
        opt = optim.momentum(lr, 0.5)
        updates, _ = opt.update(jnp.asarray(g1, jnp.float32), opt.init(jnp.zeros(3)))
        return updates

    _close(jax.vmap(one_step)(lrs), -np.asarray(lrs)[:, None] * g1)


# ------------------------------------------------------------------ validation

BAD = [
    (optim.sgd, dict(learning_rate=0.0), "learning_rate"),
    (optim.sgd, dict(learning_rate=-0.1), "learning_rate"),
    (optim.sgd, dict(learning_rate=jnp.array([0.1, 0.2])), "learning_rate"),
    (optim.sgd, dict(learning_rate=True), "learning_rate"),
    (optim.momentum, dict(learning_rate=0.1, mu=1.0), "mu"),
    (optim.momentum, dict(learning_rate=0.1, mu=-0.1), "mu"),
    (optim.adagrad, dict(learning_rate=0.1, eps=0.0), "eps"),
    (optim.adagrad, dict(learning_rate=0.1, initial_accumulator_value=-1.0), "initial_accumulator_value"),
    (optim.adagrad, dict(learning_rate=-1.0), "learning_rate"),
    (optim.rmsprop, dict(learning_rate=0.1, decay=1.0), "decay"),
    (optim.rmsprop, dict(learning_rate=0.1, decay=float("nan")), "decay"),
    (optim.rmsprop, dict(learning_rate=0.1, eps=-1e-8), "eps"),
    (optim.rmsprop, dict(learning_rate=0.1, momentum=1.5), "momentum"),
    (optim.rmsprop, dict(learning_rate=0.1, nesterov=True), "momentum"),
    (optim.adadelta, dict(rho=1.0), "rho"),
    (optim.adadelta, dict(eps=0.0), "eps"),
    (optim.adadelta, dict(learning_rate=0.0), "learning_rate"),
    (optim.adam, dict(learning_rate=0.1, b1=1.0), "b1"),
    (optim.adam, dict(learning_rate=0.1, b2=-0.5), "b2"),
    (optim.adam, dict(learning_rate=0.1, eps=0.0), "eps"),
    (optim.adam, dict(learning_rate=0.1, eps_root=-1.0), "eps_root"),
    (optim.adamw, dict(learning_rate=0.1, weight_decay=-0.1), "weight_decay"),
    (optim.adamw, dict(learning_rate=0.0), "learning_rate"),
]


@pytest.mark.parametrize("factory,kwargs,name", BAD, ids=[f"{f.__name__}-{n}-{i}" for i, (f, _, n) in enumerate(BAD)])
def test_bad_hyperparameters_raise(factory, kwargs, name):
    with pytest.raises(ValueError, match=name):
        factory(**kwargs)


@pytest.mark.parametrize("name", optim.__all__)
def test_public_api_is_documented(name):
    obj = getattr(optim, name)
    if name in ("Schedule", "ScalarOrSchedule", "OPTIMIZERS"):  # type aliases and the registry: data, described
        before = pathlib.Path(optim.__file__).read_text().split(f"\n{name} = ")[0]  # by a #: comment where
        assert before.splitlines()[-1].startswith("#: "), name  # the package re-exports them
        return
    doc = obj.__doc__ or ""
    assert ("Attributes:" if isinstance(obj, type) else "Args:") in doc, name
