"""The package's one vocabulary of argument checks: the same rule wherever it is used."""

import jax
import numpy as np
import pytest

from jaxnn import _checks, data, datasets, nn
from jaxnn.train import fit


@pytest.mark.parametrize("value", [1, 7, np.int32(3), np.int64(10)])
def test_check_int_accepts_python_and_numpy_ints(value):
    out = _checks.check_int(value, "n", maximum=10)
    assert out == int(value) and type(out) is int


@pytest.mark.parametrize("value", [True, np.bool_(True), 2.0, "3", None, np.array(3)])
def test_check_int_refuses_other_kinds_with_type_error(value):
    with pytest.raises(TypeError, match=r"n must be an int >= 1"):
        _checks.check_int(value, "n")


@pytest.mark.parametrize("value, kw, match", [
    (0, {}, r"n must be an int >= 1, got 0"),
    (11, {"maximum": 10}, r"n must be an int in \[1, 10\], got 11"),
    (-1, {"minimum": 0, "why": "a count"}, r"n must be an int >= 0 \(a count\), got -1"),
])
def test_check_int_range(value, kw, match):
    with pytest.raises(ValueError, match=match):
        _checks.check_int(value, "n", **kw)


def test_check_key_accepts_typed_and_raw_keys_and_nothing_else():
    _checks.check_key(jax.random.key(0))
    _checks.check_key(jax.random.PRNGKey(0))
    _checks.check_key(np.asarray(jax.random.PRNGKey(0)))
    for bad in (0, np.zeros(2, np.int32), np.zeros(3, np.uint32), None):
        with pytest.raises(TypeError, match=r"key must be a JAX PRNG key.*jax.random.key\(seed\)"):
            _checks.check_key(bad)


def test_every_entry_point_uses_the_same_key_rule():
    # One rule: an integer seed is refused everywhere with the same message.
    x, y = np.ones((4, 2), np.float32), np.zeros(4, np.int32)
    calls = [
        lambda: data.train_test_split(0, x, y),
        lambda: nn.MLP([2], 1).init(0, (-1, 2)),
        lambda: datasets.two_moons(0, 10),
        lambda: fit([], lambda p, a, b: 0.0, x, y, optimizer=None, key=0, epochs=1),
    ]
    for call in calls:
        with pytest.raises(TypeError, match=r"^key must be a JAX PRNG key, got int; create one with"):
            call()


@pytest.mark.parametrize("value, error", [(0.0, ValueError), (1.0, ValueError), (True, TypeError), ("0.2", TypeError)])
def test_check_fraction(value, error):
    with pytest.raises(error, match="test_fraction"):
        _checks.check_fraction(value, "test_fraction")
    assert _checks.check_fraction(np.float32(0.25), "f") == 0.25


@pytest.mark.parametrize("value, error", [(-1e-9, ValueError), (np.inf, ValueError), (np.nan, ValueError),
                                          (False, TypeError), (None, TypeError)])
def test_check_nonnegative(value, error):
    with pytest.raises(error, match="must be a finite number >= 0"):
        _checks.check_nonnegative(value, "margin")


@pytest.mark.parametrize("x, y, error, match", [
    ([[1.0]], np.ones(1), TypeError, "must be arrays"),
    (np.ones(()), np.ones(()), ValueError, "leading sample axis"),
    (np.ones((3, 2)), np.ones(4), ValueError, r"same number of samples.*x.shape=\(3, 2\) and y.shape=\(4,\)"),
    (np.ones((0, 2)), np.ones(0), ValueError, "hold no samples"),
])
def test_check_xy(x, y, error, match):
    with pytest.raises(error, match=match):
        _checks.check_xy(x, y, "training")
    assert _checks.check_xy(np.ones((5, 2)), np.ones((5, 1))) == 5
