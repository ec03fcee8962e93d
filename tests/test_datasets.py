"""Tests for jaxnn.datasets: shipped real data (with checksums) and synthetic generators."""

import doctest
import shutil

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxnn.datasets as datasets
from jaxnn.datasets import _real, _synthetic

KEY = jax.random.key(0)


@pytest.fixture(autouse=True)
def _no_rank_promotion():
    with jax.numpy_rank_promotion("raise"):
        yield


# ----------------------------------------------------------------------------- real data


def test_iris():
    d = datasets.load_iris()
    assert d.x.shape == (150, 4) and d.x.dtype == jnp.float32
    assert d.y.shape == (150,) and d.y.dtype == jnp.int32
    np.testing.assert_array_equal(np.bincount(np.asarray(d.y)), [50, 50, 50])
    assert d.class_names == ("setosa", "versicolor", "virginica")
    assert d.feature_names == (
        "sepal length (cm)",
        "sepal width (cm)",
        "petal length (cm)",
        "petal width (cm)",
    )
    np.testing.assert_allclose(d.x[0], [5.1, 3.5, 1.4, 0.2], rtol=1e-6)
    # Fisher's published column means.
    np.testing.assert_allclose(np.mean(d.x, 0), [5.8433, 3.0573, 3.7580, 1.1993], atol=1e-4)
    # Fisher's values (R / scikit-learn), not UCI's erroneous samples 35 and 38.
    np.testing.assert_allclose(d.x[34], [4.9, 3.1, 1.5, 0.2], rtol=1e-6)
    np.testing.assert_allclose(d.x[37], [4.9, 3.6, 1.4, 0.1], rtol=1e-6)


def test_digits():
    d = datasets.load_digits()
    assert d.x.shape == (1797, 64) and d.x.dtype == jnp.float32
    assert d.y.shape == (1797,) and d.y.dtype == jnp.int32
    counts = np.bincount(np.asarray(d.y))
    np.testing.assert_array_equal(
        counts, [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
    )
    x = np.asarray(d.x)
    assert x.min() == 0 and x.max() == 16 and np.all(x == np.round(x))
    assert d.class_names == tuple(str(i) for i in range(10))
    assert len(d.feature_names) == 64 and d.feature_names[9] == "pixel_1_1"


def test_diabetes_raw_unscaled():
    d = datasets.load_diabetes()
    assert d.x.shape == (442, 10) and d.x.dtype == jnp.float32
    assert d.y.shape == (442, 1) and d.y.dtype == jnp.float32
    assert d.class_names is None
    assert d.feature_names == ("age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6")
    np.testing.assert_allclose(d.x[0], [59, 2, 32.1, 101, 157, 93.2, 38, 4, 4.8598, 87], rtol=1e-6)
    np.testing.assert_allclose(d.y[:3, 0], [151, 75, 141])
    assert set(np.unique(np.asarray(d.x[:, 1]))) == {1.0, 2.0}  # raw sex coding
    np.testing.assert_allclose(np.mean(d.y), 152.1335, atol=1e-3)


def test_real_data_matches_scikit_learn_if_installed():
    skd = pytest.importorskip("sklearn.datasets")
    iris = skd.load_iris()
    np.testing.assert_array_equal(datasets.load_iris().x, iris.data.astype(np.float32))
    np.testing.assert_array_equal(datasets.load_iris().y, iris.target)
    digits = skd.load_digits()
    np.testing.assert_array_equal(datasets.load_digits().x, digits.data)
    np.testing.assert_array_equal(datasets.load_digits().y, digits.target)
    diab = skd.load_diabetes(scaled=False)
    np.testing.assert_array_equal(datasets.load_diabetes().x, diab.data.astype(np.float32))
    np.testing.assert_array_equal(datasets.load_diabetes().y[:, 0], diab.target)


def test_every_shipped_file_has_a_checksum():
    root = _real._data_root()
    shipped = sorted(p.name for p in root.iterdir() if p.name.endswith(".npz"))
    assert shipped == sorted(_real._SHA256)
    total = sum(len((root / name).read_bytes()) for name in shipped)
    assert total < 200_000  # keep the package small


def _copy_data(tmp_path):
    dest = tmp_path / "data"
    shutil.copytree(str(_real._data_root()), dest)
    return dest


def test_corrupted_file_raises_checksum_error(tmp_path, monkeypatch):
    dest = _copy_data(tmp_path)
    raw = bytearray((dest / "iris.npz").read_bytes())
    raw[len(raw) // 2] ^= 0xFF  # flip one byte
    (dest / "iris.npz").write_bytes(bytes(raw))
    monkeypatch.setattr(_real, "_data_root", lambda: dest)
    with pytest.raises(datasets.DatasetChecksumError, match="checksum mismatch for .*iris.npz"):
        datasets.load_iris()
    assert issubclass(datasets.DatasetChecksumError, ValueError)
    datasets.load_digits()  # the intact copies still load


def test_replaced_file_raises_checksum_error(tmp_path, monkeypatch):
    # A valid .npz with the right content layout but other values is rejected too.
    dest = _copy_data(tmp_path)
    with np.load(dest / "iris.npz") as f:
        arrays = {k: f[k] for k in f.files}
    arrays["x"] = arrays["x"] + np.float32(0.1)
    np.savez_compressed(dest / "iris.npz", **arrays)
    monkeypatch.setattr(_real, "_data_root", lambda: dest)
    with pytest.raises(datasets.DatasetChecksumError):
        datasets.load_iris()


def test_missing_file_raises(tmp_path, monkeypatch):
    dest = _copy_data(tmp_path)
    (dest / "diabetes.npz").unlink()
    monkeypatch.setattr(_real, "_data_root", lambda: dest)
    with pytest.raises(FileNotFoundError, match="diabetes.npz"):
        datasets.load_diabetes()


# ----------------------------------------------------------------------------- synthetic


CLASSIFICATION = {
    "noisy_xor": (lambda k: datasets.noisy_xor(k, 101), 2, (-1, 1)),
    "blobs": (lambda k: datasets.blobs(k, 101, num_classes=4, dim=3), 3, (0, 1, 2, 3)),
    "two_moons": (lambda k: datasets.two_moons(k, 101), 2, (0, 1)),
    "circles": (lambda k: datasets.circles(k, 101), 2, (0, 1)),
    "spirals": (lambda k: datasets.spirals(k, 101, num_classes=3), 2, (0, 1, 2)),
}


@pytest.mark.parametrize("name", sorted(CLASSIFICATION))
def test_classification_generators(name):
    make, dim, classes = CLASSIFICATION[name]
    x, y = make(KEY)
    assert x.shape == (101, dim) and x.dtype == jnp.float32
    assert y.shape == (101,) and y.dtype == jnp.int32
    values, counts = np.unique(np.asarray(y), return_counts=True)
    np.testing.assert_array_equal(values, classes)
    assert counts.max() - counts.min() <= 1  # balanced
    assert not np.all(np.diff(np.asarray(y)) >= 0)  # not grouped by class
    x2, y2 = make(KEY)
    np.testing.assert_array_equal(x, x2)
    np.testing.assert_array_equal(y, y2)
    x3, _ = make(jax.random.key(1))
    assert not np.allclose(x, x3)


@pytest.mark.parametrize("dim,margin", [(2, 0.1), (2, 1.0), (5, 0.01), (20, 0.5), (3, 0.0)])
def test_linearly_separable_margin(dim, margin):
    x, y, w = datasets.linearly_separable(KEY, 500, dim, margin)
    assert x.shape == (500, dim) and x.dtype == jnp.float32
    assert y.shape == (500,) and y.dtype == jnp.int32 and w.shape == (dim,)
    assert set(np.unique(np.asarray(y))) == {-1, 1}
    np.testing.assert_allclose(np.linalg.norm(np.asarray(w, np.float64)), 1.0, rtol=1e-6)
    # Distance of every point to the hyperplane, in float64 and in float32 arithmetic.
    dist64 = np.asarray(y) * (np.asarray(x, np.float64) @ np.asarray(w, np.float64))
    dist64 /= np.linalg.norm(np.asarray(w, np.float64))
    assert dist64.min() >= margin
    assert float(jnp.min(y * (x @ w))) >= margin
    # The margin is tight-ish: some point lies close to it (not a trivially wide gap).
    assert dist64.min() < margin + 0.05


def test_linearly_separable_is_deterministic():
    a = datasets.linearly_separable(KEY, 50, 3, 0.2)
    b = datasets.linearly_separable(KEY, 50, 3, 0.2)
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)


def test_xor_points_and_labels():
    x, y = datasets.xor()
    np.testing.assert_array_equal(x, [[-1, -1], [-1, 1], [1, -1], [1, 1]])
    np.testing.assert_array_equal(y, [-1, 1, 1, -1])
    assert x.dtype == jnp.float32 and y.dtype == jnp.int32
    # +1 exactly when the inputs differ.
    np.testing.assert_array_equal(np.asarray(y) == 1, np.asarray(x[:, 0]) != np.asarray(x[:, 1]))


def test_noisy_xor_keeps_corner_labels():
    x, y = datasets.noisy_xor(KEY, 400, noise=0.1)
    # With small noise every point stays in its corner's quadrant: y = -sign(x1) sign(x2).
    np.testing.assert_array_equal(y, -np.sign(x[:, 0]) * np.sign(x[:, 1]))
    x0, _ = datasets.noisy_xor(KEY, 8, noise=0.0)
    assert set(map(tuple, np.asarray(x0).tolist())) <= {(-1, -1), (-1, 1), (1, -1), (1, 1)}


def test_noise_free_geometry():
    x, y = datasets.circles(KEY, 200, noise=0.0, factor=0.3)
    r = np.linalg.norm(np.asarray(x), axis=1)
    np.testing.assert_allclose(r, np.where(np.asarray(y) == 0, 1.0, 0.3), rtol=1e-5)

    x, y = datasets.two_moons(KEY, 200, noise=0.0)
    x, y = np.asarray(x), np.asarray(y)
    np.testing.assert_allclose(np.linalg.norm(x[y == 0], axis=1), 1.0, rtol=1e-5)
    assert np.all(x[y == 0, 1] >= -1e-6)  # upper half circle
    centre = np.array([1.0, 0.5])
    np.testing.assert_allclose(np.linalg.norm(x[y == 1] - centre, axis=1), 1.0, rtol=1e-5)
    assert np.all(x[y == 1, 1] <= 0.5 + 1e-6)  # lower half circle

    x, y = datasets.spirals(KEY, 300, num_classes=3, noise=0.0, turns=0.5)
    x, y = np.asarray(x, np.float64), np.asarray(y)
    r = np.linalg.norm(x, axis=1)
    theta = 2 * np.pi * (0.5 * r + y / 3)
    expected = r[:, None] * np.stack([np.cos(theta), np.sin(theta)], 1)
    np.testing.assert_allclose(x, expected, atol=1e-5)


def test_blobs_cluster_around_their_centres():
    x, y = datasets.blobs(KEY, 3000, num_classes=3, std=0.5)
    x, y = np.asarray(x), np.asarray(y)
    for c in range(3):
        pts = x[y == c]
        np.testing.assert_allclose(pts.std(0), 0.5, rtol=0.1)
        assert np.all(np.abs(pts.mean(0)) <= 10.0 + 0.1)


def test_regression_1d():
    x, y = datasets.regression_1d(KEY, 200, noise=0.0)
    assert x.shape == (200, 1) and y.shape == (200, 1)
    assert x.dtype == jnp.float32 and y.dtype == jnp.float32
    assert float(jnp.min(x)) >= -1.0 and float(jnp.max(x)) <= 1.0
    np.testing.assert_allclose(y, np.sin(np.pi * np.asarray(x)), atol=1e-6)
    xn, yn = datasets.regression_1d(KEY, 5000, noise=0.3)
    resid = np.asarray(yn) - np.sin(np.pi * np.asarray(xn))
    np.testing.assert_allclose(resid.std(), 0.3, rtol=0.05)
    xl, yl = datasets.regression_1d(KEY, 10, noise=0.0, fn=lambda v: 2 * v + 1)
    np.testing.assert_allclose(yl, 2 * np.asarray(xl) + 1, rtol=1e-6)
    with pytest.raises(ValueError, match="same shape"):
        datasets.regression_1d(KEY, 10, fn=lambda v: v[:, 0])


def _bumps_reference(x):
    """The six bumps written out from the docstring: centres, signs and width 0.25."""
    centres = np.array([[-0.6, 0.4], [0.0, 0.4], [0.6, 0.4], [-0.6, -0.4], [0.0, -0.4], [0.6, -0.4]])
    signs = np.array([1, -1, 1, -1, 1, -1])
    total = np.zeros(len(x))
    for c, s in zip(centres, signs):
        total += s * np.exp(-np.sum((x - c) ** 2, axis=1) / (2 * 0.25**2))
    return total[:, None]


@pytest.mark.parametrize("name,formula", [
    ("regression_plane", lambda x: (x[:, :1] + x[:, 1:]) / 2),
    ("regression_gaussians", _bumps_reference),
])
def test_two_input_regressions_match_their_formula(name, formula):
    gen = getattr(datasets, name)
    x, y = gen(KEY, 300, noise=0.0)
    assert x.shape == (300, 2) and y.shape == (300, 1)
    assert x.dtype == jnp.float32 and y.dtype == jnp.float32
    x64 = np.asarray(x, np.float64)
    assert x64.min() >= -1.0 and x64.max() <= 1.0
    np.testing.assert_allclose(np.asarray(y), formula(x64), atol=1e-5)
    xn, yn = gen(KEY, 5000, noise=0.3)
    resid = np.asarray(yn, np.float64) - formula(np.asarray(xn, np.float64))
    np.testing.assert_allclose(resid.std(), 0.3, rtol=0.05)
    np.testing.assert_array_equal(gen(KEY, 20)[0], gen(KEY, 20)[0])  # the key alone decides
    with pytest.raises(ValueError, match="noise"):
        gen(KEY, 10, noise=-1.0)


def test_regression_multi():
    x, y = datasets.regression_multi(KEY, 4000, dim=4, outputs=3, noise=0.0)
    assert x.shape == (4000, 4) and y.shape == (4000, 3)
    assert x.dtype == jnp.float32 and y.dtype == jnp.float32
    y = np.asarray(y)
    np.testing.assert_allclose(y.mean(0), 0.0, atol=0.1)
    np.testing.assert_allclose(y.std(0), 1.0, rtol=0.1)
    # Noise is added on top of the same teacher.
    _, yn = datasets.regression_multi(KEY, 4000, dim=4, outputs=3, noise=0.5)
    np.testing.assert_allclose((np.asarray(yn) - y).std(0), 0.5, rtol=0.1)
    # The teacher is nonlinear: a linear least-squares fit leaves part of it unexplained.
    xa = np.c_[np.asarray(x), np.ones(4000)]
    coef, *_ = np.linalg.lstsq(xa, y, rcond=None)
    r2_linear = 1 - ((y - xa @ coef) ** 2).sum(0) / ((y - y.mean(0)) ** 2).sum(0)
    assert np.all(r2_linear < 0.999)


def test_generators_validate_arguments():
    with pytest.raises(ValueError, match="n must be an int >= 1"):
        datasets.two_moons(KEY, 0)
    with pytest.raises(TypeError, match="n must be an int"):
        datasets.blobs(KEY, 10.0)
    with pytest.raises(ValueError, match="noise"):
        datasets.circles(KEY, 10, noise=-0.1)
    with pytest.raises(ValueError, match="factor"):
        datasets.circles(KEY, 10, factor=1.5)
    with pytest.raises(ValueError, match="margin"):
        datasets.linearly_separable(KEY, 10, 2, -1.0)
    with pytest.raises(TypeError, match="key"):
        datasets.spirals(42, 10)
    with pytest.raises(ValueError, match="turns"):
        datasets.spirals(KEY, 10, turns=0.0)


def test_public_api_and_doctests():
    for name in datasets.__all__:
        obj = getattr(datasets, name)
        assert obj.__doc__, name
    for module in (datasets, _real, _synthetic):
        assert doctest.testmod(module).failed == 0
