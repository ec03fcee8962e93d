"""sweep with members of their own: rows (folds), initial params, loss values, early stopping.

The reference is :func:`jaxnn.train.fit`, called once per member on that member's rows,
params, loss and key.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxnn import losses, nn, optim, train

NET = nn.MLP([8], 3, activation="tanh")
RNG = np.random.default_rng(0)
X = RNG.normal(size=(50, 4)).astype(np.float32)
Y = np.eye(3, dtype=np.float32)[RNG.integers(0, 3, 50)]
FOLDS = np.stack([np.arange(0, 40), np.arange(10, 50), np.r_[0:20, 30:50]])
ALPHAS = [0.0, 0.01, 0.3]
LRS = [0.01, 0.05, 0.1]


def penalized(alpha):
    def loss(params, x, y):
        l2 = sum(jnp.sum(layer["w"] ** 2) for layer in params)
        return losses.categorical_cross_entropy_with_logits(NET.apply(params, x), y) + alpha * l2

    return loss


def initial(i):
    return NET.init(jax.random.key(i), (-1, 4))[1]


def run_sweep(**overrides):
    args = dict(make_optimizer=lambda learning_rate: optim.adam(learning_rate),
                keys=jax.random.split(jax.random.key(7), 3), hyperparams={"learning_rate": jnp.array(LRS)},
                epochs=60, batch_size=16, rows=FOLDS,
                params=jax.tree.map(lambda *a: jnp.stack(a), *[initial(i) for i in range(3)]))
    args.update(overrides)
    init_fn = args.pop("init_fn", None)
    return train.sweep(init_fn, [penalized(a) for a in ALPHAS], X, Y, **args)


@pytest.mark.parametrize("batch_size", [16, None])
def test_members_with_own_rows_params_losses_and_stopping_equal_separate_fits(batch_size):
    rule = train.EarlyStopping("train_loss", "min", 3, 1e-3, False, "best")
    keys = jax.random.split(jax.random.key(7), 3)
    result = run_sweep(early_stopping=rule, batch_size=batch_size, keys=keys)
    runs = []
    for i in range(3):
        alone = train.fit(initial(i), penalized(ALPHAS[i]), X[FOLDS[i]], Y[FOLDS[i]], optimizer=optim.adam(LRS[i]),
                          key=keys[i], epochs=60, batch_size=batch_size, early_stopping=rule)
        runs.append(int(alone.history.epochs_run))
        assert int(result.history.epochs_run[i]) == runs[-1]
        for got, want in zip(jax.tree.leaves(result.params), jax.tree.leaves(alone.params)):
            np.testing.assert_allclose(got[i], want, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(result.history.train_loss[i], alone.history.train_loss, rtol=1e-5, atol=1e-6)
    if batch_size == 16:
        assert min(runs) < 60 < max(runs) + 1  # the rule stopped some member, not every one


def test_a_member_of_the_rows_sweep_differs_from_training_on_all_rows():
    # The rows are used: member 0 trained on its fold is not member 0 trained on all of x.
    on_folds = run_sweep()
    on_all = run_sweep(rows=np.tile(np.arange(50), (3, 1)), batch_size=16)
    assert not np.allclose(on_folds.params[0]["w"][0], on_all.params[0]["w"][0])


@pytest.mark.parametrize("overrides, match", [
    (dict(rows=FOLDS[:2]), r"rows must be \[members, R\]"),
    (dict(rows=FOLDS + 10), "rows must index x's 50 rows"),
    (dict(rows=FOLDS.astype(np.float32)), "integer indices"),
    (dict(batch_size=41), "batch_size"),
    (dict(params=initial(0)), "leading axis of 3 members"),
])
def test_bad_rows_and_params_are_named(overrides, match):
    with pytest.raises(ValueError, match=match):
        run_sweep(**overrides)


def test_losses_that_differ_in_code_are_refused():
    other = lambda params, x, y: losses.categorical_cross_entropy_with_logits(NET.apply(params, x), y)
    with pytest.raises(ValueError, match=r"loss_fn\[1\] computes something else"):
        train.sweep(None, [penalized(0.1), other, penalized(0.2)], X, Y,
                    make_optimizer=lambda: optim.sgd(0.1), keys=jax.random.split(jax.random.key(0), 3), epochs=2,
                    params=jax.tree.map(lambda *a: jnp.stack(a), *[initial(i) for i in range(3)]))


def test_init_fn_and_params_together_are_refused():
    with pytest.raises(ValueError, match="either init_fn or params"):
        run_sweep(init_fn=initial)
