"""The heads' own rules: which targets each accepts, and its default score."""

import jax
import numpy as np
import optax
import pytest

from jaxnn import heads, nn
from jaxnn.train import Supervised, fit


@pytest.mark.parametrize(
    "head, y, out_shape, message",
    [
        (heads.regression(), np.zeros(5), (5, 1), r"reshape with y\[:, None\]"),
        (heads.multivariate_regression(), np.zeros((5, 3)), (5, 2), r"must have shape \(5, 2\)"),
        (heads.binary(), np.array([[0.0], [2.0]]), (2, 1), r"in \{0, 1\}.*\[2\.0\]"),
        (heads.binary(), np.array([[-1], [1]]), (2, 1), "labels_to_01"),
        (heads.multiclass(), np.array([0, -1, 2]), (3, 3), "never negative"),
        (heads.multiclass(), np.array([0, 1, 3]), (3, 3), "give the output layer 4 units"),
        (heads.multiclass(), np.zeros((3, 1), np.int32), (3, 3), r"class indices of shape \[N\]"),
        (heads.multiclass(), np.zeros((3, 4)), (3, 3), r"one-hot y must have shape \(3, 3\)"),
    ],
)
def test_check_targets_refuses_what_the_head_cannot_train_on(head, y, out_shape, message):
    with pytest.raises(ValueError, match=message):
        head.check_targets(y, out_shape, "training")


@pytest.mark.parametrize(
    "head, y, out_shape",
    [
        (heads.regression(), np.zeros((4, 1)), (4, 1)),
        (heads.binary(), np.array([[0.0], [1.0]]), (2, 1)),
        (heads.multiclass(), np.array([0, 2, 1]), (3, 3)),
        (heads.multiclass(), np.eye(3), (3, 3)),
    ],
)
def test_check_targets_accepts_the_documented_forms(head, y, out_shape):
    assert head.check_targets(y, out_shape, "training") is None


def test_fit_asks_the_head():
    # A custom head's rule decides what fit accepts: here, targets must be positive.
    def positive(y, out_shape, what):
        if (y <= 0).any():
            raise ValueError(f"{what} y must be positive")

    head = heads.regression()._replace(name="positive", check_targets=positive)
    net = nn.Dense(1)
    params = net.init(jax.random.key(0), (-1, 2))[1]
    x = np.ones((4, 2), np.float32)
    with pytest.raises(ValueError, match="training y must be positive"):
        fit(params, Supervised(net.apply, head), x, -np.ones((4, 1), np.float32), optimizer=optax.sgd(0.1), key=jax.random.key(1),
            epochs=1)


def test_a_four_field_head_gets_the_shape_rule_and_r2():
    head = heads.Head("mine", lambda z: z, lambda z, y: (z - y) ** 2, lambda z: z)
    assert head.check_targets is heads.check_value_targets and head.score_name == "r2"


def test_scores_match_numpy():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(50, 3)).astype(np.float32)
    y = rng.integers(0, 3, 50)
    want = np.mean(np.argmax(logits, 1) == y)
    np.testing.assert_allclose(heads.multiclass().score(logits, y), want, rtol=1e-6)
    np.testing.assert_allclose(heads.multiclass().score(logits, np.eye(3)[y]), want, rtol=1e-6)

    z = logits[:, :1]
    y01 = rng.integers(0, 2, (50, 1)).astype(np.float32)
    np.testing.assert_allclose(heads.binary().score(z, y01), np.mean((z >= 0) == y01), rtol=1e-6)

    t = rng.normal(size=(50, 2))
    p = t + 0.3 * rng.normal(size=(50, 2))
    r2 = np.mean(1 - ((t - p) ** 2).sum(0) / ((t - t.mean(0)) ** 2).sum(0))
    np.testing.assert_allclose(heads.multivariate_regression().score(p.astype(np.float32), t.astype(np.float32)),
                               r2, rtol=1e-4)
    assert heads.binary().score_name == heads.multiclass().score_name == "accuracy"
