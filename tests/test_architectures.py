"""The course's four architectures trained end to end with fit: tests that fail if training breaks."""

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxnn import data, datasets, heads, metrics, nn
from jaxnn.train import Supervised, fit, sweep


def standardized_split(ds, key, stratify=True):
    (xtr, ytr), (xte, yte) = data.train_test_split(key, ds.x, ds.y, test_fraction=0.25, stratify=stratify)
    scaler = data.Standardizer.fit(xtr)  # fitted on the training split only
    return scaler.transform(xtr), ytr, scaler.transform(xte), yte


def test_xor_solved_by_tanh_hidden_layer_from_most_seeds():
    x, y = datasets.xor()
    y01 = data.labels_to_01(y).astype(jnp.float32)[:, None]
    net = nn.MLP([8], 1, activation="tanh")
    loss = Supervised(net.apply, heads.binary())
    keys = jax.random.split(jax.random.key(0), 10)
    r = sweep(lambda k: net.init(k, (-1, 2))[1], loss, x, y01, make_optimizer=lambda: optax.sgd(0.5),
              keys=keys, epochs=2000)
    logits = jax.vmap(net.apply, in_axes=(0, None))(r.params, x)
    solved = jnp.all(heads.binary().predict(logits) == y01.astype(jnp.int32), axis=(1, 2))
    assert int(solved.sum()) >= 9, solved


def test_iris_multiclass():
    # 38 test samples make one split's accuracy a coarse number (one sample is 2.6%), so the
    # criterion is the mean over five stratified splits.
    ds = datasets.load_iris()
    net = nn.MLP([16], 3, activation="tanh")
    loss = Supervised(net.apply, heads.multiclass())
    optimizer = optax.adam(1e-2)
    accs = []
    for split in range(5):
        xtr, ytr, xte, yte = standardized_split(ds, jax.random.key(split))
        p0 = net.init(jax.random.key(1), (-1, 4))[1]
        r = fit(p0, loss, xtr, ytr, optimizer=optimizer, key=jax.random.key(2), epochs=50, batch_size=16)
        accs.append(float(metrics.accuracy(heads.multiclass().predict(net.apply(r.params, xte)), yte)))
    assert np.mean(accs) >= 0.93 and min(accs) >= 0.9, accs


def test_digits_multiclass():
    xtr, ytr, xte, yte = standardized_split(datasets.load_digits(), jax.random.key(0))
    net = nn.MLP([64], 10, activation="relu", w_init="he_normal")
    p0 = net.init(jax.random.key(1), (-1, 64))[1]
    r = fit(p0, Supervised(net.apply, heads.multiclass()), xtr, ytr, optimizer=optax.adam(1e-3),
            key=jax.random.key(2), epochs=30, batch_size=32)
    acc = metrics.accuracy(heads.multiclass().predict(net.apply(r.params, xte)), yte)
    assert float(acc) >= 0.95


def test_binary_classification_two_moons():
    x, y = datasets.two_moons(jax.random.key(0), 400, noise=0.1)
    y01 = data.labels_to_01(y).astype(jnp.float32)[:, None] if jnp.min(y) < 0 else y.astype(jnp.float32)[:, None]
    (xtr, ytr), (xte, yte) = data.train_test_split(jax.random.key(1), x, y01, test_fraction=0.25)
    net = nn.MLP([16, 16], 1, activation="tanh")
    p0 = net.init(jax.random.key(2), (-1, 2))[1]
    r = fit(p0, Supervised(net.apply, heads.binary()), xtr, ytr, optimizer=optax.adam(3e-2),
            key=jax.random.key(3), epochs=300)
    acc = metrics.accuracy(heads.binary().predict(net.apply(r.params, xte))[:, 0], yte[:, 0].astype(jnp.int32))
    assert float(acc) >= 0.95


def test_regression_r2_on_held_out_data():
    x, y = datasets.regression_1d(jax.random.key(0), 400, noise=0.1)
    (xtr, ytr), (xte, yte) = data.train_test_split(jax.random.key(1), x, y, test_fraction=0.25)
    net = nn.MLP([32, 32], 1, activation="tanh")
    p0 = net.init(jax.random.key(2), (-1, x.shape[1]))[1]
    r = fit(p0, Supervised(net.apply, heads.regression()), xtr, ytr, optimizer=optax.adam(3e-2),
            key=jax.random.key(3), epochs=500)
    assert float(metrics.r2_score(net.apply(r.params, xte), yte)) >= 0.95


def test_multivariate_regression_r2_on_held_out_data():
    x, y = datasets.regression_multi(jax.random.key(0), 600, dim=3, outputs=2, noise=0.05)
    (xtr, ytr), (xte, yte) = data.train_test_split(jax.random.key(1), x, y, test_fraction=0.25)
    net = nn.MLP([64], 2, activation="tanh")
    p0 = net.init(jax.random.key(2), (-1, 3))[1]
    r = fit(p0, Supervised(net.apply, heads.multivariate_regression()), xtr, ytr, optimizer=optax.adam(3e-2),
            key=jax.random.key(3), epochs=300)
    pred = net.apply(r.params, xte)
    assert pred.shape == yte.shape == (150, 2)
    for j in range(2):
        assert float(metrics.r2_score(pred[:, j], yte[:, j])) >= 0.95


def test_sweep_of_64_seeds_returns_64_distinct_correct_histories():
    x, y = datasets.xor()
    y01 = data.labels_to_01(y).astype(jnp.float32)[:, None]
    net = nn.MLP([4], 1, activation="tanh")
    loss = Supervised(net.apply, heads.binary())
    keys = jax.random.split(jax.random.key(1), 64)
    r = sweep(lambda k: net.init(k, (-1, 2))[1], loss, x, y01, make_optimizer=lambda: optax.sgd(0.5),
              keys=keys, epochs=100)
    h = np.asarray(r.history.train_loss)
    assert h.shape == (64, 100) and len({tuple(row) for row in h}) == 64
    # Each history is the one that member's own params produce: its last entry is the loss
    # before the last update, recomputed here from scratch for three members.
    for i in (0, 31, 63):
        init_key, _ = jax.random.split(keys[i])
        one = fit(net.init(init_key, (-1, 2))[1], loss, x, y01, optimizer=optax.sgd(0.5), key=keys[i], epochs=100)
        np.testing.assert_allclose(h[i], one.history.train_loss, rtol=1e-4, atol=1e-6)
