"""Compiled programs are reused across calls that are equal in configuration.

The compilations are counted with ``jax.monitoring`` (XLA's backend-compile event), never
timed. Each reuse test also checks that the reused program computes what a freshly
compiled one computes, so a reuse can never mean a stale program. The counter is the
``count_compiles`` fixture of ``conftest.py``.
"""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxnn import heads, losses, nn, optim, train
from jaxnn._structure import config_key, lift
from jaxnn.train._fit import _Bar
from jaxnn.train._programs import PROGRAMS


def blobs(seed=0, n=60):
    k1, k2 = jax.random.split(jax.random.key(seed))
    y = jax.random.randint(k1, (n,), 0, 3)
    x = jax.random.normal(k2, (n, 4)) + 2.0 * jax.nn.one_hot(y, 4)
    return x, y


X, Y = blobs()


def readme_run(seed, lr, epochs, width=8, **kw):
    """One run written as the README writes it: every object new."""
    net, head = nn.MLP([width], 3, activation="tanh"), heads.multiclass()
    _, params = net.init(jax.random.key(seed), (-1, 4))
    return train.fit(params, train.Supervised(net.apply, head), X, Y, optimizer=optim.adam(lr),
                     key=jax.random.key(seed + 1), epochs=epochs, batch_size=16, **kw)


def assert_trees_equal(a, b):
    chex.assert_trees_all_equal(a, b)


def test_equal_configurations_compare_and_hash_alike():
    same = [
        (nn.MLP([8, 4], 3, activation="tanh"), nn.MLP([8, 4], 3, activation="tanh")),
        (nn.Dense(3), nn.Dense(3)),
        (nn.Activation("relu"), nn.Activation("relu")),
        (nn.serial(nn.Dense(4), nn.Activation("tanh")), nn.serial(nn.Dense(4), nn.Activation("tanh"))),
        (heads.binary(), heads.binary()),
        (optim.adam(1e-3, b1=0.8), optim.adam(1e-3, b1=0.8)),
        (optim.momentum(0.1, 0.9, nesterov=True), optim.momentum(0.1, 0.9, nesterov=True)),
    ]
    for a, b in same:
        assert a is not b and a == b and hash(a) == hash(b), a
    net_a, net_b = nn.MLP([8], 1), nn.MLP([8], 1)
    assert train.Supervised(net_a.apply, heads.binary()) == train.Supervised(net_b.apply, heads.binary())
    different = [
        (nn.MLP([8, 4], 3), nn.MLP([8, 5], 3)),
        (nn.MLP([8], 3, activation="tanh"), nn.MLP([8], 3, activation="relu")),
        (nn.Dense(3), nn.Dense(3, dtype=jnp.bfloat16)),
        (optim.adam(1e-3), optim.adam(3e-3)),
        (optim.adam(1e-3), optim.adamw(1e-3)),
        (optim.momentum(0.1, 0.9), optim.momentum(0.1, 0.9, nesterov=True)),
        (train.Supervised(net_a.apply, heads.binary()), train.Supervised(net_a.apply, heads.regression())),
    ]
    for a, b in different:
        assert a != b, (a, b)


def test_program_keys_ignore_floats_but_not_structure():
    assert lift(optim.adam(1e-3)).key == lift(optim.adam(3e-3, b1=0.5, eps=1e-6)).key
    assert lift(optax.adam(1e-3)).key == lift(optax.adam(2e-3)).key
    assert lift(optim.sgd(optax.exponential_decay(0.1, 10, 0.9))).key == lift(
        optim.sgd(optax.exponential_decay(0.5, 10, 0.3))
    ).key
    # The transition steps are an int: structure, not data.
    assert lift(optim.sgd(optax.exponential_decay(0.1, 10, 0.9))).key != lift(
        optim.sgd(optax.exponential_decay(0.1, 20, 0.9))
    ).key
    assert lift(optim.adam(1e-3)).key != lift(optim.adam(1e-3, eps_hat=True)).key
    assert lift(optim.adam(1e-3)).key != lift(optim.rmsprop(1e-3)).key


def test_second_fit_with_new_equal_objects_compiles_nothing(count_compiles):
    readme_run(0, 1e-2, 20)
    with count_compiles() as compiles:
        second = readme_run(5, 3e-3, 35, early_stopping=None)
    assert compiles == []
    # The reused program computes what a fresh one does.
    PROGRAMS.clear()
    fresh = readme_run(5, 3e-3, 35)
    assert_trees_equal(second.params, fresh.params)
    assert_trees_equal(second.history, fresh.history)
    assert int(second.history.epochs_run) == 35


def test_reused_program_uses_the_new_learning_rate_and_betas():
    x, y = X[:16], Y[:16]
    net = nn.MLP([4], 3)
    _, p0 = net.init(jax.random.key(0), (-1, 4))
    loss = train.Supervised(net.apply, heads.multiclass())
    for lr, b1 in [(0.1, 0.9), (0.01, 0.5)]:
        r = train.fit(p0, loss, x, y, optimizer=optim.adam(lr, b1=b1), key=jax.random.key(0), epochs=3)
        tx = optax.adam(lr, b1=b1)
        p, s = p0, tx.init(p0)
        for _ in range(3):
            g = jax.grad(lambda q: jnp.mean(loss(q, x, y)))(p)
            u, s = tx.update(g, s, p)
            p = optax.apply_updates(p, u)
        chex.assert_trees_all_close(r.params, p, rtol=1e-4, atol=1e-5)


def test_early_stopping_patience_and_min_delta_are_data(count_compiles):
    xv, yv = blobs(1, 30)
    es = train.EarlyStopping(patience=3, min_delta=1e-3)
    readme_run(0, 1e-2, 40, validation_data=(xv, yv), early_stopping=es)
    with count_compiles() as compiles:
        r = readme_run(1, 5e-2, 60, validation_data=(xv, yv), early_stopping=train.EarlyStopping(patience=7))
    assert compiles == []
    vl = np.asarray(r.history.val_loss)
    run, best = int(r.history.epochs_run), int(r.history.best_epoch)
    # Stopped exactly 7 epochs after the best one, unless it ran out of epochs.
    assert run == 60 or run == best + 1 + 7
    assert best == int(np.nanargmin(vl))


def test_raw_optax_optimizer_and_user_closure_are_reused(count_compiles):
    net = nn.MLP([4], 1)
    _, p0 = net.init(jax.random.key(0), (-1, 4))
    x, y = X, (Y == 1).astype(jnp.float32)[:, None]

    def run(lr, margin):
        # A fresh closure capturing a float each call, as a notebook cell would make.
        loss = lambda p, xb, yb: losses.binary_cross_entropy_with_logits(net.apply(p, xb) * margin, yb)
        return train.fit(p0, loss, x, y, optimizer=optax.sgd(lr), key=jax.random.key(0), epochs=5)

    run(0.1, 1.0)
    with count_compiles() as compiles:
        r = run(0.3, 2.0)
    assert compiles == []
    PROGRAMS.clear()
    assert_trees_equal(r.params, run(0.3, 2.0).params)


_SCALE = 1.0


def scaled_loss(p, x, y):
    return _SCALE * losses.mean_squared_error(x @ p, y)


def test_a_changed_global_is_never_served_a_stale_program():
    global _SCALE
    x = jnp.arange(12.0).reshape(6, 2) / 6
    y = x @ jnp.array([1.0, -1.0])
    p0 = jnp.zeros(2)
    results = []
    for scale in (1.0, 4.0):
        _SCALE = scale
        fn = lambda p, xb, yb: scaled_loss(p, xb, yb)  # noqa: E731 - a new closure each time
        results.append(train.fit(p0, fn, x, y, optimizer=optim.sgd(0.1), key=jax.random.key(0), epochs=1).params)
    _SCALE = 1.0
    grad = jax.grad(lambda p: jnp.mean(losses.mean_squared_error(x @ p, y)))(p0)
    np.testing.assert_allclose(results[0], -0.1 * grad, rtol=1e-6)
    np.testing.assert_allclose(results[1], -0.4 * grad, rtol=1e-6)


def test_code_that_branches_on_a_float_falls_back_to_compiling_per_value():
    x = jnp.ones((4, 1))
    y = jnp.zeros(4)

    def make_loss(power):
        def loss(p, xb, yb):
            if power > 1.5:  # Python control flow on a captured float: it cannot be traced
                return (xb[:, 0] * p - yb) ** 2
            return jnp.abs(xb[:, 0] * p - yb)

        return loss

    p0 = jnp.asarray(1.0)
    abs_fit = train.fit(p0, make_loss(1.0), x, y, optimizer=optim.sgd(0.1), key=jax.random.key(0), epochs=1)
    sq_fit = train.fit(p0, make_loss(2.0), x, y, optimizer=optim.sgd(0.1), key=jax.random.key(0), epochs=1)
    assert float(abs_fit.params) == pytest.approx(0.9)  # d|p|/dp = 1
    assert float(sq_fit.params) == pytest.approx(0.8)  # d p^2/dp = 2


def test_captured_arrays_are_arguments_too(count_compiles):
    x = jnp.ones((4, 2))
    y = jnp.zeros(4)

    def run(weights):
        loss = lambda p, xb, yb: (xb @ (p * weights) - yb) ** 2
        return train.fit(jnp.ones(2), loss, x, y, optimizer=optim.sgd(0.1), key=jax.random.key(0), epochs=1)

    run(jnp.array([1.0, 1.0]))
    with count_compiles() as compiles:
        r = run(jnp.array([0.0, 2.0]))
    assert compiles == []
    # loss = (2 w2)^2 per sample, gradient 8 w2 = 8 in w2, 0 in w1.
    np.testing.assert_allclose(r.params, [1.0, 1.0 - 0.8], rtol=1e-6)


def test_second_sweep_with_new_equal_objects_compiles_nothing(count_compiles):
    def run(seed, lrs, epochs):
        net = nn.MLP([8], 3, activation="tanh")
        return train.sweep(
            lambda k: net.init(k, (-1, 4))[1], train.Supervised(net.apply, heads.multiclass()), X, Y,
            make_optimizer=lambda learning_rate: optim.adam(learning_rate),
            keys=jax.random.split(jax.random.key(seed), len(lrs)),
            hyperparams={"learning_rate": jnp.asarray(lrs)}, epochs=epochs, batch_size=16,
        )

    run(0, [1e-2, 3e-2], 20)
    with count_compiles() as compiles:
        r = run(3, [3e-3, 1e-1], 150)
    assert compiles == []
    assert r.history.train_loss.shape == (2, 150)
    PROGRAMS.clear()
    assert_trees_equal(r.params, run(3, [3e-3, 1e-1], 150).params)


def test_first_fit_compiles_at_most_three_programs(count_compiles):
    # The training loop, its set-up, and at most one small eager helper: nothing per epoch,
    # chunk or dispatch.
    net = nn.MLP([7], 3, activation="tanh")
    _, params = net.init(jax.random.key(0), (-1, 4))
    jax.block_until_ready(params)
    with count_compiles() as compiles:
        train.fit(params, train.Supervised(net.apply, heads.multiclass()), X, Y, optimizer=optim.rmsprop(1e-2),
                  key=jax.random.key(1), epochs=300, batch_size=16)
    assert 2 <= len(compiles) <= 3, compiles


def test_interrupted_fit_hands_back_the_last_finished_epochs(monkeypatch):
    net = nn.MLP([8], 3, activation="tanh")
    _, p0 = net.init(jax.random.key(0), (-1, 4))
    loss = train.Supervised(net.apply, heads.multiclass())
    shown = []

    def interrupt_on_third(self, now, records, ran):
        shown.append(now)
        if len(shown) == 3:
            raise KeyboardInterrupt

    monkeypatch.setattr(_Bar, "show", interrupt_on_third)
    with pytest.raises(KeyboardInterrupt) as info:
        train.fit(p0, loss, X, Y, optimizer=optim.adam(1e-2), key=jax.random.key(1), epochs=50, batch_size=16,
                  progress=True, progress_chunk=4)
    partial = info.value.fit_result
    done = int(partial.history.epochs_run)
    # The run stops after the dispatch in flight when the interrupt came (at most one more).
    assert shown[-1] <= done < 50 and done - shown[-1] <= 4
    monkeypatch.undo()
    straight = train.fit(p0, loss, X, Y, optimizer=optim.adam(1e-2), key=jax.random.key(1), epochs=done,
                         batch_size=16)
    assert_trees_equal(partial.params, straight.params)
    np.testing.assert_array_equal(partial.history.train_loss[:done], straight.history.train_loss)
    assert np.isnan(np.asarray(partial.history.train_loss[done:])).all()


def test_config_key_holds_arrays_by_identity_and_floats_by_value():
    a = jnp.ones(3)
    assert config_key((a, 1.0)) == config_key((a, 1.0))
    assert config_key((a, 1.0)) != config_key((jnp.ones(3), 1.0))
    assert config_key((a, 1.0)) != config_key((a, 2.0))
    assert config_key(float("nan")) == config_key(float("nan"))


def test_fits_from_several_threads_share_the_cache_safely(monkeypatch):
    # The demo runs examples on two threads. With more distinct programs than the cache holds,
    # fits from four threads evict each other's programs and still equal the same fits run alone.
    import concurrent.futures

    from jaxnn.train import _programs

    monkeypatch.setattr(_programs, "_PROGRAMS_MAX", 2)
    x = np.random.default_rng(0).normal(size=(32, 2)).astype(np.float32)
    y = (x[:, :1] > 0).astype(np.float32)

    def job(i):
        net = nn.MLP([2 + i], 1)
        p = net.init(jax.random.key(i), (-1, 2))[1]
        r = train.fit(p, train.Supervised(net.apply, heads.binary()), x, y, optimizer=optax.sgd(0.1),
                      key=jax.random.key(0), epochs=3)
        return np.asarray(r.history.train_loss)

    alone = [job(i) for i in range(3)]
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        together = list(pool.map(job, list(range(3)) * 3))
    for a, b in zip(alone * 3, together):
        np.testing.assert_array_equal(a, b)
    assert len(_programs.PROGRAMS) <= 2
