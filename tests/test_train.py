import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxnn import heads, losses, nn
from jaxnn.train import EarlyStopping, Supervised, epoch_batches, fit, make_train_step, sweep

XOR_X = jnp.array([[-1.0, -1.0], [-1.0, 1.0], [1.0, -1.0], [1.0, 1.0]])
XOR_Y = jnp.array([[0.0], [1.0], [1.0], [0.0]])


def regression_data(n=10, d=3, seed=0):
    k1, k2 = jax.random.split(jax.random.key(seed))
    x = jax.random.normal(k1, (n, d))
    y = x @ jnp.arange(1.0, d + 1)[:, None] + 0.1 * jax.random.normal(k2, (n, 1))
    return x, y


def linear_loss(params, x, y):
    return losses.mean_squared_error(x @ params["w"] + params["b"], y)


LINEAR0 = {"w": jnp.zeros((3, 1)), "b": jnp.zeros((1,))}


def test_full_batch_equals_hand_written_gradient_descent():
    net = nn.MLP([8], 1, activation="tanh")
    _, p0 = net.init(jax.random.key(0), (-1, 2))
    loss_fn = Supervised(net.apply, heads.binary())
    result = fit(p0, loss_fn, XOR_X, XOR_Y, optimizer=optax.sgd(0.5), key=jax.random.key(1), epochs=300)

    def total(p):
        return jnp.mean(losses.binary_cross_entropy_with_logits(net.apply(p, XOR_X), XOR_Y))

    p, recorded = p0, []
    step = jax.jit(lambda p: (total(p), jax.tree.map(lambda w, g: w - 0.5 * g, p, jax.grad(total)(p))))
    for _ in range(300):
        value, p = step(p)
        recorded.append(value)
    chex.assert_trees_all_close(result.params, p, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(result.history.train_loss, np.array(recorded), rtol=1e-5, atol=1e-7)
    assert int(result.history.epochs_run) == 300


def test_epoch_batches_cover_every_sample_once():
    idx, mask = epoch_batches(jax.random.key(3), 10, 3)
    assert idx.shape == (4, 3) and mask.shape == (4, 3)
    np.testing.assert_array_equal(mask.sum(axis=1), [3, 3, 3, 1])
    used = np.asarray(idx)[np.asarray(mask) == 1]
    np.testing.assert_array_equal(np.sort(used), np.arange(10))
    # Shuffled, and a different permutation for another key.
    assert not np.array_equal(used, np.arange(10))
    other = np.asarray(epoch_batches(jax.random.key(4), 10, 3)[0]).ravel()[:10]
    assert not np.array_equal(other, used)


@pytest.mark.parametrize("batch_size", [1, 3, 5])
def test_minibatch_equals_reference_loop_with_partial_last_batch(batch_size):
    x, y = regression_data()
    key, lr, epochs = jax.random.key(7), 0.05, 4
    result = fit(LINEAR0, linear_loss, x, y, optimizer=optax.sgd(lr), key=key, epochs=epochs, batch_size=batch_size)
    # Independent reference: NumPy SGD over the same per-epoch permutations, last batch smaller.
    w, b = np.zeros((3, 1)), np.zeros(1)
    xn, yn = np.asarray(x, np.float64), np.asarray(y, np.float64)
    seen = np.zeros(10, int)
    for e in range(epochs):
        perm = np.asarray(jax.random.permutation(jax.random.fold_in(key, e), 10))
        for start in range(0, 10, batch_size):
            ib = perm[start : start + batch_size]
            seen[ib] += 1
            r = xn[ib] @ w + b - yn[ib]
            w -= lr * 2 * xn[ib].T @ r / len(ib)
            b -= lr * 2 * r.sum(0) / len(ib)
    np.testing.assert_array_equal(seen, np.full(10, epochs))
    np.testing.assert_allclose(result.params["w"], w, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(result.params["b"], b, rtol=1e-4, atol=1e-5)


def test_deterministic_and_key_dependent():
    x, y = regression_data()
    run = lambda k: fit(LINEAR0, linear_loss, x, y, optimizer=optax.adam(0.01), key=jax.random.key(k), epochs=5, batch_size=3)
    a, b, c = run(0), run(0), run(1)
    np.testing.assert_array_equal(a.params["w"], b.params["w"])
    np.testing.assert_array_equal(a.history.train_loss, b.history.train_loss)
    assert not np.array_equal(a.params["w"], c.params["w"])


def test_caller_params_survive_donation():
    x, y = regression_data()
    p0 = {"w": jnp.ones((3, 1)), "b": jnp.zeros((1,))}
    fit(p0, linear_loss, x, y, optimizer=optax.sgd(0.1), key=jax.random.key(0), epochs=2)
    np.testing.assert_array_equal(p0["w"], np.ones((3, 1)))  # still readable, unchanged


def test_validation_history_and_metrics():
    x, y = regression_data(20)
    xv, yv = regression_data(8, seed=1)
    mae = lambda p, a, b: jnp.mean(jnp.abs(a @ p["w"] + p["b"] - b))
    r = fit(LINEAR0, linear_loss, x, y, optimizer=optax.sgd(0.05), key=jax.random.key(0), epochs=6,
            validation_data=(xv, yv), metrics={"mae": mae})
    # The last epoch's validation numbers equal a recomputation with the returned params.
    np.testing.assert_allclose(r.history.val_loss[-1], jnp.mean(linear_loss(r.params, xv, yv)), rtol=1e-6)
    np.testing.assert_allclose(r.history.val_metrics["mae"][-1], mae(r.params, xv, yv), rtol=1e-6)
    assert np.all(np.diff(np.asarray(r.history.val_loss)) < 0)  # GD on a convex problem improves


def test_long_run_records_every_epoch_across_loop_chunks():
    # fit runs its epochs in chunks of 128 (see jaxnn.train._epoch.CHUNK); 300 epochs end mid-chunk,
    # and a resume from epoch 131 starts mid-chunk. Every history entry must still be right.
    x, y = regression_data(20)
    xv, yv = regression_data(8, seed=1)
    mae = lambda p, a, b: jnp.mean(jnp.abs(a @ p["w"] + p["b"] - b))
    kw = dict(optimizer=optax.sgd(0.01), key=jax.random.key(0), validation_data=(xv, yv), metrics={"mae": mae})
    r = fit(LINEAR0, linear_loss, x, y, epochs=300, **kw)
    # Independent reference: float64 NumPy gradient descent, the loss before each step and the
    # validation numbers after it.
    xn, yn, xvn, yvn = (np.asarray(a, np.float64) for a in (x, y, xv, yv))
    w, b = np.zeros((3, 1)), np.zeros(1)
    train, val, val_mae = [], [], []
    for _ in range(300):
        res = xn @ w + b - yn
        train.append(np.mean(res**2))
        w, b = w - 0.01 * 2 * xn.T @ res / 20, b - 0.01 * 2 * res.sum(0) / 20
        val.append(np.mean((xvn @ w + b - yvn) ** 2))
        val_mae.append(np.mean(np.abs(xvn @ w + b - yvn)))
    np.testing.assert_allclose(r.history.train_loss, train, rtol=1e-4)
    np.testing.assert_allclose(r.history.val_loss, val, rtol=1e-4)
    np.testing.assert_allclose(r.history.val_metrics["mae"], val_mae, rtol=1e-4)
    assert int(r.history.epochs_run) == 300
    first = fit(LINEAR0, linear_loss, x, y, epochs=131, **kw)
    rest = fit(first.params, linear_loss, x, y, epochs=300, opt_state=first.opt_state, initial_epoch=131, **kw)
    np.testing.assert_array_equal(rest.history.val_loss[131:], r.history.val_loss[131:])
    assert np.all(np.isnan(np.asarray(rest.history.val_loss[:131])))
    chex.assert_trees_all_equal(rest.params, r.params)


def nan_once_w_reaches(threshold):
    """A per-example loss -w (d/dw = -1: sgd(lr) adds lr to w per step) that is NaN once w >= threshold."""

    def loss(p, xb, yb):
        return (-p["w"] + jnp.where(p["w"] >= threshold, jnp.nan, 0.0)) * jnp.ones(xb.shape[0]) + 0 * yb

    return loss


def test_nonfinite_stop_in_a_later_loop_chunk():
    x, y = jnp.ones((4, 1)), jnp.zeros((4,))
    r = fit({"w": jnp.array(0.0)}, nan_once_w_reaches(200.0), x, y, optimizer=optax.sgd(1.0), key=jax.random.key(0), epochs=300)
    assert int(r.history.nonfinite_epoch) == 200 and int(r.history.epochs_run) == 200
    assert float(r.params["w"]) == 200.0
    tl = np.asarray(r.history.train_loss)
    np.testing.assert_array_equal(tl[:200], -np.arange(200.0))
    assert np.all(np.isnan(tl[200:]))


def test_sweep_stops_a_member_in_a_later_loop_chunk_like_fit():
    # sweep runs chunks of 128 epochs without the guard and re-runs a chunk with it only when
    # a member went non-finite there; member 0 fails at epoch 200, in the second chunk.
    x, y = jnp.ones((4, 1)), jnp.zeros((4,))
    init_fn = lambda k: {"w": jnp.zeros(())}
    lrs = jnp.array([1.0, 0.5])
    r = sweep(init_fn, nan_once_w_reaches(200.0), x, y, make_optimizer=optax.sgd, keys=jax.random.split(jax.random.key(0), 2),
              hyperparams={"learning_rate": lrs}, epochs=300)
    np.testing.assert_array_equal(r.history.nonfinite_epoch, [200, -1])
    np.testing.assert_array_equal(r.history.epochs_run, [200, 300])
    np.testing.assert_array_equal(r.params["w"], [200.0, 150.0])
    tl = np.asarray(r.history.train_loss)
    np.testing.assert_array_equal(tl[0, :200], -np.arange(200.0))
    assert np.all(np.isnan(tl[0, 200:]))
    np.testing.assert_array_equal(tl[1], -0.5 * np.arange(300.0))


def test_early_stopping_returns_best_params():
    # Noisy targets and a large network overfit, so validation loss turns up at some point.
    kx, ky, kv, kw = jax.random.split(jax.random.key(0), 4)
    x = jax.random.normal(kx, (16, 2))
    y = jax.random.normal(ky, (16, 1))
    xv, yv = jax.random.normal(kv, (16, 2)), jax.random.normal(kw, (16, 1))
    net = nn.MLP([64, 64], 1, activation="tanh")
    _, p0 = net.init(jax.random.key(1), (-1, 2))
    loss_fn = Supervised(net.apply, heads.regression())
    es = EarlyStopping(patience=5, min_delta=0.0)
    r = fit(p0, loss_fn, x, y, optimizer=optax.adam(0.01), key=jax.random.key(2), epochs=500,
            validation_data=(xv, yv), early_stopping=es)
    run, best = int(r.history.epochs_run), int(r.history.best_epoch)
    vl = np.asarray(r.history.val_loss)
    assert run < 500 and run == best + 1 + es.patience
    assert np.all(np.isnan(vl[run:])) and np.all(np.isfinite(vl[:run]))
    assert vl[best] == np.min(vl[:run])
    np.testing.assert_allclose(jnp.mean(loss_fn(r.params, xv, yv)), vl[best], rtol=1e-5)
    # restore_best=False gives the last params instead.
    last = fit(p0, loss_fn, x, y, optimizer=optax.adam(0.01), key=jax.random.key(2), epochs=500,
               validation_data=(xv, yv), early_stopping=es._replace(restore_best=False))
    np.testing.assert_allclose(jnp.mean(loss_fn(last.params, xv, yv)), vl[run - 1], rtol=1e-5)


def test_early_stopping_on_metric_with_min_delta():
    x, y = regression_data(20)
    neg_mse = lambda p, a, b: -jnp.mean(linear_loss(p, a, b))
    es = EarlyStopping(monitor="val_neg_mse", mode="max", patience=2, min_delta=1e3)
    r = fit(LINEAR0, linear_loss, x, y, optimizer=optax.sgd(0.01), key=jax.random.key(0), epochs=50,
            validation_data=(x, y), metrics={"neg_mse": neg_mse}, early_stopping=es)
    # No epoch beats the first by 1e3, so training stops after 1 + patience epochs.
    assert int(r.history.epochs_run) == 3 and int(r.history.best_epoch) == 0


@pytest.mark.parametrize("reference", ["improvement", "best"])
def test_early_stopping_on_the_training_loss_follows_the_rule_on_its_history(reference):
    # No validation data: the rule reads the epoch's running training loss.
    x, y = regression_data(40)
    es = EarlyStopping(monitor="train_loss", patience=3, min_delta=1e-2, restore_best=False, reference=reference)
    r = fit(LINEAR0, linear_loss, x, y, optimizer=optax.sgd(0.05), key=jax.random.key(0), epochs=300,
            batch_size=8, early_stopping=es)
    full = fit(LINEAR0, linear_loss, x, y, optimizer=optax.sgd(0.05), key=jax.random.key(0), epochs=300, batch_size=8)
    # The rule applied by hand to the history of the run without early stopping.
    losses_ = np.asarray(full.history.train_loss)
    best, wait, stop = np.inf, 0, None
    for epoch, value in enumerate(losses_):
        wait = 0 if value < best - es.min_delta else wait + 1
        if value < best - es.min_delta or (reference == "best" and value < best):
            best = value
        if wait >= es.patience:
            stop = epoch + 1
            break
    assert stop is not None and stop < 300
    assert int(r.history.epochs_run) == stop
    np.testing.assert_array_equal(np.asarray(r.history.train_loss)[:stop], losses_[:stop])
    chex.assert_trees_all_equal(r.params, fit(LINEAR0, linear_loss, x, y, optimizer=optax.sgd(0.05),
                                              key=jax.random.key(0), epochs=stop, batch_size=8).params)


def test_progress_bar_gives_same_result(capsys):
    pytest.importorskip("tqdm")
    x, y = regression_data()
    kw = dict(optimizer=optax.sgd(0.05), key=jax.random.key(0), epochs=20, batch_size=4)
    a = fit(LINEAR0, linear_loss, x, y, **kw)
    b = fit(LINEAR0, linear_loss, x, y, progress=True, progress_chunk=3, **kw)
    np.testing.assert_array_equal(a.params["w"], b.params["w"])
    np.testing.assert_array_equal(a.history.train_loss, b.history.train_loss)
    assert "20/20" in capsys.readouterr().err


def test_sweep_matches_individual_fits_and_histories_are_distinct():
    net = nn.MLP([8], 1, activation="tanh")
    init_fn = lambda k: net.init(k, (-1, 2))[1]
    loss_fn = Supervised(net.apply, heads.binary())
    keys = jax.random.split(jax.random.key(0), 64)
    lrs = jnp.linspace(0.1, 1.0, 64)
    r = sweep(init_fn, loss_fn, XOR_X, XOR_Y, make_optimizer=lambda learning_rate: optax.sgd(learning_rate),
              keys=keys, hyperparams={"learning_rate": lrs}, epochs=200)
    assert r.history.train_loss.shape == (64, 200)
    assert len({tuple(np.asarray(h).round(7)) for h in r.history.train_loss}) == 64
    for i in (0, 37):
        init_key, shuffle_key = jax.random.split(keys[i])
        one = fit(init_fn(init_key), loss_fn, XOR_X, XOR_Y, optimizer=optax.sgd(float(lrs[i])), key=shuffle_key, epochs=200)
        np.testing.assert_allclose(r.history.train_loss[i], one.history.train_loss, rtol=1e-4, atol=1e-6)
        jax.tree.map(lambda a, b: np.testing.assert_allclose(a[i], b, rtol=1e-4, atol=1e-5), r.params, one.params)


def test_sweep_with_a_padded_last_chunk_matches_fits():
    # 257 epochs run as 3 chunks of 86 (the last padded by one epoch); mini-batches, shuffling
    # and validation metrics, each member against its own fit.
    x, y = regression_data(20)
    xv, yv = regression_data(8, seed=1)
    mae = lambda p, a, b: jnp.mean(jnp.abs(a @ p["w"] + p["b"] - b))
    keys = jax.random.split(jax.random.key(4), 3)
    lrs = jnp.array([0.001, 0.003, 0.01])
    kw = dict(epochs=257, batch_size=6, validation_data=(xv, yv), metrics={"mae": mae})
    r = sweep(lambda k: LINEAR0, linear_loss, x, y, make_optimizer=optax.sgd, keys=keys,
              hyperparams={"learning_rate": lrs}, **kw)
    np.testing.assert_array_equal(r.history.epochs_run, [257] * 3)
    np.testing.assert_array_equal(r.history.nonfinite_epoch, [-1] * 3)
    for i in range(3):
        one = fit(LINEAR0, linear_loss, x, y, optimizer=optax.sgd(float(lrs[i])), key=jax.random.split(keys[i])[1], **kw)
        np.testing.assert_allclose(r.history.train_loss[i], one.history.train_loss, rtol=1e-5)
        np.testing.assert_allclose(r.history.val_loss[i], one.history.val_loss, rtol=1e-5)
        np.testing.assert_allclose(r.history.val_metrics["mae"][i], one.history.val_metrics["mae"], rtol=1e-5)
        jax.tree.map(lambda a, b: np.testing.assert_allclose(a[i], b, rtol=1e-5, atol=1e-6), r.params, one.params)


def test_early_stopping_with_a_float64_model():
    # Under x64 the monitored score is float64; the best score is kept in float32 either way.
    with jax.enable_x64(True):
        x, y = (a.astype(jnp.float64) for a in regression_data(20))
        p0 = jax.tree.map(lambda a: a.astype(jnp.float64), LINEAR0)
        r = fit(p0, linear_loss, x, y, optimizer=optax.sgd(0.01), key=jax.random.key(0), epochs=30,
                validation_data=(x, y), early_stopping=EarlyStopping(patience=3))
        assert r.params["w"].dtype == jnp.float64
        # Gradient descent on a convex problem keeps improving, so the best epoch is the last.
        assert int(r.history.epochs_run) == 30 and int(r.history.best_epoch) == 29


# ---- bad input, each caught before compiling ----------------------------------------


@pytest.mark.parametrize(
    "change,match",
    [
        (dict(x=jnp.ones((9, 3))), "must have the same number of samples"),
        (dict(x=jnp.ones((0, 3)), y=jnp.ones((0, 1))), "empty"),
        (dict(x=jnp.ones((10, 3)).at[2, 1].set(jnp.nan)), "NaN or Inf"),
        (dict(y=jnp.ones((10, 1)).at[0, 0].set(jnp.inf)), "NaN or Inf"),
        (dict(batch_size=0), r"batch_size must be an int in \[1, 10\]"),
        (dict(batch_size=11), "at most the 10 training samples"),
        (dict(epochs=0), "epochs"),
        (dict(validation_data=(jnp.ones((4, 2)), jnp.ones((4, 1)))), "do not match"),
        (dict(metrics={"m": lambda p, a, b: 0.0}), "validation_data"),
        (dict(early_stopping=EarlyStopping()), "validation_data"),
        (dict(validation_data=regression_data(4), metrics={"m": lambda p, a, b: jnp.abs(a @ p["w"] - b).mean(0)}),
         r"metrics\['m'\] must return a scalar, got \(1,\)"),
    ],
)
def test_bad_input_raises_value_error(change, match):
    x, y = regression_data()
    kw = dict(x=x, y=y, optimizer=optax.sgd(0.1), key=jax.random.key(0), epochs=2)
    kw.update(change)
    with pytest.raises(ValueError, match=match):
        fit(LINEAR0, linear_loss, kw.pop("x"), kw.pop("y"), **kw)


def test_loss_that_is_not_per_example_is_rejected():
    x, y = regression_data()
    with pytest.raises(ValueError, match="per-example"):
        fit(LINEAR0, lambda p, a, b: jnp.mean(linear_loss(p, a, b)), x, y, optimizer=optax.sgd(0.1),
            key=jax.random.key(0), epochs=1)


def test_targets_checked_against_head():
    net = nn.MLP([4], 3)
    _, p = net.init(jax.random.key(0), (-1, 2))
    x = jnp.ones((5, 2))
    kw = dict(optimizer=optax.sgd(0.1), key=jax.random.key(0), epochs=1)
    with pytest.raises(ValueError, match=r"class labels in \[0, 3\] but the network has 3 outputs"):
        fit(p, Supervised(net.apply, heads.multiclass()), x, jnp.array([0, 1, 2, 3, 0]), **kw)
    with pytest.raises(ValueError, match=r"must have shape \(5, 3\)"):
        fit(p, Supervised(net.apply, heads.multivariate_regression()), x, jnp.ones((5, 2)), **kw)
    net1 = nn.MLP([4], 1)
    _, p1 = net1.init(jax.random.key(0), (-1, 2))
    with pytest.raises(ValueError, match=r"reshape with y\[:, None\]"):
        fit(p1, Supervised(net1.apply, heads.regression()), x, jnp.ones((5,)), **kw)
    with pytest.raises(ValueError, match="labels_to_01"):
        fit(p1, Supervised(net1.apply, heads.binary()), x, jnp.array([[-1.0], [1.0], [1.0], [-1.0], [1.0]]), **kw)
    with pytest.raises(ValueError, match=r"2 features.*x\.shape=\(5, 3\)"):
        fit(p, Supervised(net.apply, heads.multiclass()), jnp.ones((5, 3)), jnp.array([0, 1, 2, 0, 1]), **kw)


def test_make_train_step_matches_fit_full_batch():
    x, y = regression_data()
    step = make_train_step(linear_loss, optax.sgd(0.05))
    p, s = jax.tree.map(jnp.copy, LINEAR0), optax.sgd(0.05).init(LINEAR0)
    losses_seen = []
    for _ in range(5):
        p, s, value = step(p, s, x, y)
        losses_seen.append(float(value))
    r = fit(LINEAR0, linear_loss, x, y, optimizer=optax.sgd(0.05), key=jax.random.key(0), epochs=5)
    np.testing.assert_allclose(p["w"], r.params["w"], rtol=1e-6)
    np.testing.assert_allclose(losses_seen, r.history.train_loss, rtol=1e-6)
    # By hand: one GD step on the mean squared error from w = 0, b = 0.
    p1, _, _ = make_train_step(linear_loss, optax.sgd(0.05), donate=False)(LINEAR0, optax.sgd(0.05).init(LINEAR0), x, y)
    grad_w = -2 * np.asarray(x).T @ np.asarray(y) / 10
    np.testing.assert_allclose(p1["w"], -0.05 * grad_w, rtol=1e-5)
