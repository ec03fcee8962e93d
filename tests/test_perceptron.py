"""Rosenblatt's perceptron: the course's facts as tests, checked against a NumPy loop."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxnn import losses
from jaxnn import perceptron as P

XOR_X = np.array([[-1.0, -1.0], [-1.0, 1.0], [1.0, -1.0], [1.0, 1.0]], np.float32)
XOR_Y = np.array([-1.0, 1.0, 1.0, -1.0], np.float32)


def separable(seed, n, d, margin=0.1):
    """Points on the grid k/8 in [-2, 2]^d, labelled by a random unit augmented separator u.

    Grid values keep every sum and product exact in float32 (so the compiled and the NumPy
    loop agree bit for bit whatever their summation order). Points closer than ``margin`` to
    the hyperplane are dropped. Returns X, y, R = max ||(1, x)|| and gamma = min y <u, (1, x)>.
    """
    rng = np.random.default_rng(seed)
    u = rng.normal(size=d + 1)
    u[0] *= 0.25  # a hyperplane through the cloud, so both classes are well populated
    u /= np.linalg.norm(u)
    X = rng.integers(-16, 17, size=(3 * n, d)) / 8.0
    X_aug = np.concatenate([np.ones((3 * n, 1)), X], axis=1)
    s = X_aug @ u
    keep = np.flatnonzero(np.abs(s) >= margin)[:n]
    X, X_aug, s = X[keep], X_aug[keep], s[keep]
    y = np.where(s > 0, 1.0, -1.0)
    assert len(y) == n and 0 < (y > 0).sum() < n
    R = np.linalg.norm(X_aug, axis=1).max()
    gamma = (y * (X_aug @ u)).min()
    return X.astype(np.float32), y.astype(np.float32), R, gamma


def noisy(seed, n, d, flips):
    X, y, _, _ = separable(seed, n, d)
    y = y.copy()
    y[np.random.default_rng(seed + 100).choice(n, flips, replace=False)] *= -1
    return X, y


def assert_same_result(a, b):
    np.testing.assert_array_equal(np.asarray(a.weights), np.asarray(b.weights))
    assert int(a.epochs) == int(b.epochs)
    assert bool(a.converged) == bool(b.converged)
    np.testing.assert_array_equal(np.asarray(a.mistakes), np.asarray(b.mistakes))
    assert int(a.updates) == int(b.updates)


def check_bookkeeping(res, max_epochs):
    epochs, mistakes = int(res.epochs), np.asarray(res.mistakes)
    assert mistakes.shape == (max_epochs,) and mistakes.dtype == np.int32
    assert 1 <= epochs <= max_epochs
    np.testing.assert_array_equal(mistakes[epochs:], -1)  # epochs not run
    assert np.all(mistakes[: epochs - 1] > 0)  # it only stops after a clean epoch or at the bound
    assert int(res.updates) == mistakes[:epochs].sum()
    assert bool(res.converged) == (mistakes[epochs - 1] == 0)


# ----------------------------------------------------------------------------- the course's facts


@pytest.mark.parametrize("seed,n,d", [(0, 60, 2), (1, 200, 5), (2, 300, 10)])
def test_converges_on_separable_data_within_novikoff_bound(seed, n, d):
    X, y, R, gamma = separable(seed, n, d)
    bound = (R / gamma) ** 2
    # Novikoff: at most (R/gamma)^2 updates, hence at most that many + 1 epochs.
    max_epochs = int(bound) + 2
    res = P.perceptron(X, y, 1.0, max_epochs=max_epochs)
    assert bool(res.converged)
    assert 1 <= int(res.updates) <= bound
    check_bookkeeping(res, max_epochs)
    w = np.asarray(res.weights, np.float64)
    X_aug = np.concatenate([np.ones((n, 1)), X], axis=1)
    assert np.all(y * (X_aug @ w) > 0)  # every point strictly on its side
    np.testing.assert_array_equal(P.predict(res.weights, X), y)


def test_xor_never_converges_and_never_classifies_all_four():
    max_epochs = 50
    res = P.perceptron(XOR_X, XOR_Y, 1.0, max_epochs=max_epochs)
    assert not bool(res.converged)
    assert int(res.epochs) == max_epochs
    assert np.all(np.asarray(res.mistakes) >= 1)  # every epoch ran and had a mistake
    check_bookkeeping(res, max_epochs)
    assert not np.array_equal(np.asarray(P.predict(res.weights, XOR_X)), XOR_Y)
    # After any number of epochs the weights misclassify a point ...
    for k in range(1, 9):
        w = P.perceptron(XOR_X, XOR_Y, 1.0, max_epochs=k).weights
        assert np.sum(np.asarray(P.predict(w, XOR_X)) != XOR_Y) >= 1
    # ... and so does every weight vector met on the way: the pocket's best still errs once.
    pocket = P.pocket_perceptron(XOR_X, XOR_Y, 1.0, max_epochs=max_epochs)
    assert int(pocket.errors) == 1


def test_weights_scale_with_eta_and_mistakes_do_not():
    X, y, _, _ = separable(3, 80, 3)
    ref = P.perceptron(X, y, 1.0, max_epochs=500)
    for eta in (0.25, 2.0, 8.0):  # powers of two: scaling is exact in float32
        res = P.perceptron(X, y, eta, max_epochs=500)
        np.testing.assert_array_equal(np.asarray(res.weights), eta * np.asarray(ref.weights))
        np.testing.assert_array_equal(np.asarray(res.mistakes), np.asarray(ref.mistakes))


# ----------------------------------------------------------------------------- reference and variants


@pytest.mark.parametrize(
    "data,eta,max_epochs",
    [
        (separable(4, 150, 4)[:2], 1.0, 400),
        (separable(5, 100, 10)[:2], 0.5, 400),
        (noisy(6, 100, 3, flips=5), 1.0, 30),  # not separable: runs to the bound
        ((XOR_X, XOR_Y), 0.25, 20),
    ],
)
def test_matches_numpy_reference(data, eta, max_epochs):
    X, y = data
    ref = P.perceptron_numpy(X, y, eta, max_epochs)
    res = P.perceptron(X, y, eta, max_epochs=max_epochs)
    assert_same_result(res, ref)
    assert res.weights.dtype == jnp.float32 and res.weights.shape == (X.shape[1] + 1,)


def test_numpy_reference_by_hand():
    # x = (2), y = +1 and x = (-1), y = -1: the first sample is an update from w = 0,
    # w = (1, 2); then 1 + 4 > 0 and -(1 - 2) > 0: a clean second epoch.
    res = P.perceptron_numpy(np.array([[2.0], [-1.0]], np.float32), np.array([1, -1]), 1.0, 5)
    np.testing.assert_array_equal(res.weights, [1.0, 2.0])
    assert int(res.epochs) == 2 and bool(res.converged) and int(res.updates) == 1
    np.testing.assert_array_equal(res.mistakes, [1, 0, -1, -1, -1])


@pytest.mark.parametrize("data", [separable(7, 120, 3)[:2], noisy(8, 120, 3, flips=4), (XOR_X, XOR_Y)])
def test_surrogate_sgd_gives_identical_updates(data):
    X, y = data
    assert_same_result(P.perceptron_surrogate_sgd(X, y, 0.5, max_epochs=25), P.perceptron(X, y, 0.5, max_epochs=25))


def test_surrogate_gradient_is_the_perceptron_update():
    x = jnp.array([1.0, 2.0, -3.0])
    y = jnp.array(-1.0)

    def loss(w):
        return losses.perceptron_loss(jnp.sum(w * x)[None], y[None])[0]

    # A mistake (y <w, x> < 0): the gradient is -y x, so w - eta grad = w + eta y x.
    np.testing.assert_allclose(jax.grad(loss)(jnp.array([0.0, 1.0, 0.0])), -y * x)
    # Well classified: zero gradient, no update.
    np.testing.assert_allclose(jax.grad(loss)(jnp.array([0.0, -1.0, 0.0])), 0.0)
    # On the kink jax.grad returns half of the subgradient -y x; the surrogate SGD takes the
    # whole one there (Rosenblatt updates when y <w, x> = 0), which the test above relies on.
    np.testing.assert_allclose(jax.grad(loss)(jnp.zeros(3)), -0.5 * y * x)


def numpy_pocket(X, y, eta, max_epochs):
    """Independent pocket: every weight vector the perceptron holds, the first with fewest errors."""
    X_aug = np.concatenate([np.ones((len(y), 1), np.float32), X], axis=1)

    def errors(w):
        return int(np.sum(np.where(X_aug @ w >= 0, 1.0, -1.0) != y))

    w = np.zeros(X_aug.shape[1], np.float32)
    best_w, best_e = w, errors(w)
    for _ in range(max_epochs):
        count = 0
        for i in range(len(y)):
            if y[i] * np.dot(w, X_aug[i]) <= 0:
                w = w + np.float32(eta * y[i]) * X_aug[i]
                count += 1
                if errors(w) < best_e:
                    best_w, best_e = w, errors(w)
        if count == 0:
            break
    return best_w, best_e, w


@pytest.mark.parametrize("data", [noisy(9, 80, 2, flips=6), noisy(10, 60, 5, flips=3), (XOR_X, XOR_Y)])
def test_pocket_keeps_the_best_weights_seen(data):
    X, y = data
    res = P.pocket_perceptron(X, y, 1.0, max_epochs=15)
    best_w, best_e, last_w = numpy_pocket(X, y, 1.0, 15)
    np.testing.assert_array_equal(np.asarray(res.weights), best_w)
    assert int(res.errors) == best_e
    np.testing.assert_array_equal(np.asarray(res.last_weights), last_w)
    # Its error count is the classification errors of its weights, never more than the last weights'.
    assert int(res.errors) == int(np.sum(np.asarray(P.predict(res.weights, X)) != y))
    assert int(res.errors) <= int(np.sum(np.asarray(P.predict(res.last_weights, X)) != y))
    plain = P.perceptron(X, y, 1.0, max_epochs=15)
    np.testing.assert_array_equal(np.asarray(res.last_weights), np.asarray(plain.weights))
    np.testing.assert_array_equal(np.asarray(res.mistakes), np.asarray(plain.mistakes))


def test_pocket_on_separable_data_reaches_zero_errors():
    X, y, _, _ = separable(11, 100, 3)
    res = P.pocket_perceptron(X, y, 1.0, max_epochs=1000)
    assert bool(res.converged) and int(res.errors) == 0
    np.testing.assert_array_equal(P.predict(res.weights, X), y)


# ----------------------------------------------------------------------------- jit and vmap


def test_vmap_over_learning_rates_equals_separate_calls():
    X, y = noisy(12, 70, 3, flips=2)
    etas = jnp.array([0.1, 0.5, 1.0, 3.0])
    batched = jax.vmap(lambda e: P.perceptron(X, y, e, max_epochs=20))(etas)
    assert batched.weights.shape == (4, 4) and batched.mistakes.shape == (4, 20)
    for i, eta in enumerate(etas):
        assert_same_result(jax.tree.map(lambda a: a[i], batched), P.perceptron(X, y, eta, max_epochs=20))


def test_vmap_over_datasets_equals_separate_calls():
    sets = [separable(13, 50, 2)[:2], noisy(14, 50, 2, flips=3), separable(15, 50, 2)[:2]]
    Xs = jnp.stack([s[0] for s in sets])
    ys = jnp.stack([s[1] for s in sets])
    run = jax.jit(jax.vmap(functools.partial(P.perceptron, max_epochs=60), in_axes=(0, 0, None)))
    batched = run(Xs, ys, 1.0)
    for i, (X, y) in enumerate(sets):
        single = P.perceptron(X, y, 1.0, max_epochs=60)
        assert_same_result(jax.tree.map(lambda a: a[i], batched), single)
    # Datasets converge after different numbers of epochs; the batched loop keeps each one's.
    assert len(set(np.asarray(batched.epochs).tolist())) > 1


@pytest.mark.parametrize("fn", [P.perceptron, P.pocket_perceptron, P.perceptron_surrogate_sgd])
def test_vmap_pocket_and_surrogate_and_jit(fn):
    X, y = noisy(16, 40, 2, flips=2)
    etas = jnp.array([0.5, 2.0])
    batched = jax.vmap(lambda e: fn(X, y, e, max_epochs=10))(etas)
    jitted = jax.jit(lambda X, y, e: fn(X, y, e, max_epochs=10))
    for i, eta in enumerate(etas):
        single = fn(X, y, eta, max_epochs=10)
        for a, b, c in zip(batched, single, jitted(X, y, eta)):
            np.testing.assert_array_equal(np.asarray(a)[i], np.asarray(b))
            np.testing.assert_array_equal(np.asarray(c), np.asarray(b))


def test_integer_labels_are_accepted_and_give_the_same_result():
    X, y, _, _ = separable(17, 40, 2)
    assert_same_result(P.perceptron(X, y.astype(np.int32), max_epochs=200), P.perceptron(X, y, max_epochs=200))


# ----------------------------------------------------------------------------- predict and errors


def test_predict_values_and_sign_at_zero():
    w = jnp.array([0.5, -1.0, 2.0])
    X = jnp.array([[0.5, 0.0], [0.0, -1.0], [1.0, 1.0], [2.5, 1.0]])
    # scores: 0.5 - 0.5 = 0 -> +1; 0.5 - 2 < 0 -> -1; 0.5 - 1 + 2 > 0 -> +1; 0.5 - 2.5 + 2 = 0 -> +1
    np.testing.assert_array_equal(P.predict(w, X), [1.0, -1.0, 1.0, 1.0])
    with pytest.raises(ValueError, match=r"weights.shape=\(3,\) and X.shape=\(4, 3\)"):
        P.predict(w, jnp.ones((4, 3)))


FUNCS = [P.perceptron, P.pocket_perceptron, P.perceptron_surrogate_sgd]


@pytest.mark.parametrize("fn", [*FUNCS, P.perceptron_numpy])
@pytest.mark.parametrize(
    "X,y,eta,max_epochs,match",
    [
        (XOR_X, np.array([0.0, 1.0, 1.0, 0.0]), 1.0, 5, "labels_to_pm1"),
        (XOR_X, np.array([-1.0, 1.0, 2.0, -1.0]), 1.0, 5, r"labels must be -1 or \+1"),
        (XOR_X, XOR_Y[:3], 1.0, 5, r"X.shape=\(4, 2\) and y.shape=\(3,\)"),
        (np.where(XOR_X == 1, np.nan, XOR_X), XOR_Y, 1.0, 5, "NaN or Inf"),
        (np.where(XOR_X == 1, np.inf, XOR_X), XOR_Y, 1.0, 5, "NaN or Inf"),
        (XOR_X, np.array([-1.0, np.nan, 1.0, -1.0]), 1.0, 5, "NaN or Inf"),
        (XOR_X, XOR_Y, 1.0, 0, "max_epochs must be an int >= 1"),
        (XOR_X, XOR_Y, 0.0, 5, "eta must be a finite number > 0"),
        (XOR_X, XOR_Y, -1.0, 5, "eta must be a finite number > 0"),
        (XOR_X, XOR_Y, float("nan"), 5, "eta must be a finite number > 0"),
        (XOR_X, XOR_Y, np.ones(2), 5, "eta must be a scalar"),
        (XOR_X[:, 0], XOR_Y, 1.0, 5, r"X must have shape \[N, d\]"),
        (XOR_X, XOR_Y[:, None], 1.0, 5, r"y must have shape \[N\]"),
        (XOR_X[:0], XOR_Y[:0], 1.0, 5, "X is empty"),
    ],
)
def test_bad_input_raises_value_error(fn, X, y, eta, max_epochs, match):
    with pytest.raises(ValueError, match=match):
        if fn is P.perceptron_numpy:
            fn(X, y, eta, max_epochs)
        else:
            fn(X, y, eta, max_epochs=max_epochs)


@pytest.mark.parametrize("fn", FUNCS)
def test_host_checks_see_the_values_the_compiled_run_sees(fn):
    # float64 data are converted to float32 before the run; 1e39 becomes Inf there, so the
    # finiteness check must look at the converted values, not the float64 input.
    X = np.array([[1e39], [1.0]])
    with pytest.warns(RuntimeWarning, match="overflow"), pytest.raises(ValueError, match="1 NaN or Inf"):
        fn(X, np.array([1.0, -1.0]), max_epochs=3)
    # Lists and NumPy inputs give the same result as jax arrays (the +-1 labels cast exactly).
    X, y = [[2.0], [-1.0]], [1, -1]
    ref = fn(jnp.asarray(X), jnp.asarray(y, jnp.float32), 1.0, max_epochs=5)
    for a, b in zip(fn(X, y, 1, max_epochs=5), ref):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


@pytest.mark.parametrize("fn", FUNCS)
def test_wrong_dtypes_raise_type_error(fn):
    with pytest.raises(TypeError, match="floating-point"):
        fn(XOR_X.astype(np.int32), XOR_Y, max_epochs=3)
    with pytest.raises(TypeError, match="labels_to_pm1"):
        fn(XOR_X, XOR_Y > 0, max_epochs=3)
    with pytest.raises(TypeError, match="eta must be a number"):
        fn(XOR_X, XOR_Y, True, max_epochs=3)
    with pytest.raises(TypeError, match=r"max_epochs must be an int >= 1 \(static"):
        fn(XOR_X, XOR_Y, 1.0, max_epochs=2.5)
