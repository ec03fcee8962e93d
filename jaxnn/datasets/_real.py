"""Small real data sets shipped inside the package (no download needed).

=========  ===========  =======================  =========================================
loader     x            y                        source and license
=========  ===========  =======================  =========================================
iris       150 x 4      3 classes, 50 each       R. A. Fisher (1936), via the UCI Machine
                                                 Learning Repository; CC BY 4.0
digits     1797 x 64    10 classes (digits 0-9)  UCI "Optical Recognition of Handwritten
                                                 Digits" (E. Alpaydin, C. Kaynak, 1998),
                                                 test part; CC BY 4.0
diabetes   442 x 10     1 target (regression)    B. Efron, T. Hastie, I. Johnstone and
                                                 R. Tibshirani (2004), "Least Angle
                                                 Regression", Annals of Statistics; as
                                                 distributed by scikit-learn (BSD-3-Clause)
=========  ===========  =======================  =========================================

All three were taken from the copies bundled with scikit-learn 1.9.1
(``sklearn/datasets/data/``: ``iris.csv``, ``digits.csv.gz``, ``diabetes_data_raw.csv.gz``
and ``diabetes_target.csv.gz``) and stored losslessly as compressed ``.npz`` files in
``jaxnn/datasets/data/`` (about 56 kB together); ``jaxnn/datasets/data/README.md`` has
the details and the script that built them. scikit-learn is not needed at run time.

Notes on the data:

* Iris is Fisher's table as in R and scikit-learn; the UCI file differs from it in two
  data points (sample 35 and 38), which are wrong there.
* Digits are 8 x 8 images of pixel counts in 0..16, flattened row by row
  (``feature_names`` ``pixel_<row>_<col>``); reshape with ``x.reshape(-1, 8, 8)``.
* Diabetes is the **raw, unscaled** table (age in years, sex coded 1/2, BMI, blood
  pressure and six serum measurements in their own units), not scikit-learn's default
  mean-centred and scaled version: standardize it yourself, fitted on the training split
  (:class:`jaxnn.data.Standardizer`). The target is a measure of disease progression one
  year after baseline.

Every file's SHA-256 is checked on load against a constant below; a mismatch (a
corrupted or modified installation) raises :class:`DatasetChecksumError`.
"""

from __future__ import annotations

import hashlib
import importlib.resources
import io
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["Dataset", "DatasetChecksumError", "load_iris", "load_digits", "load_diabetes"]

# SHA-256 of the shipped files (see data/README.md for how they were built).
_SHA256 = {
    "iris.npz": "956a5836a7f7fae13d26bb4e5fad7e7774c811cf8b019173f2ffa838c61e6694",
    "digits.npz": "6f237e91b42d04c79a0e42703ca725e1600cab7cf61120d136f4d9c11eeef677",
    "diabetes.npz": "6d623cba7b8b4e15e286ccfc16cb02d263621d3b1fe2626c88b2967865edb337",
}


class DatasetChecksumError(ValueError):
    """A shipped data file does not match its recorded SHA-256 checksum."""


class Dataset(NamedTuple):
    """A loaded data set.

    Attributes:
      x: inputs, float32 ``[n, features]``.
      y: int32 class indices ``[n]`` for classification; float32 targets ``[n, 1]`` for
        regression (the shape of a one-output network's predictions).
      feature_names: one name per column of ``x``.
      class_names: one name per class (``class_names[c]`` names label ``c``), or ``None``
        for regression.
    """

    x: jax.Array
    y: jax.Array
    feature_names: tuple[str, ...]
    class_names: tuple[str, ...] | None


def _data_root() -> importlib.resources.abc.Traversable:
    """The folder holding the shipped files (a function so tests can point it elsewhere)."""
    return importlib.resources.files("jaxnn.datasets") / "data"


def _load(filename: str) -> dict[str, np.ndarray]:
    try:
        raw = (_data_root() / filename).read_bytes()
    except FileNotFoundError as e:
        raise FileNotFoundError(
            f"the data file {filename} is missing from the jaxnn installation "
            "(jaxnn/datasets/data/); reinstall jaxnn"
        ) from e
    digest = hashlib.sha256(raw).hexdigest()
    if digest != _SHA256[filename]:
        raise DatasetChecksumError(
            f"checksum mismatch for jaxnn/datasets/data/{filename}: expected SHA-256 "
            f"{_SHA256[filename]}, got {digest}; the file is corrupted or was modified, "
            "reinstall jaxnn"
        )
    with np.load(io.BytesIO(raw), allow_pickle=False) as npz:
        return {name: npz[name] for name in npz.files}


def _names(a: np.ndarray) -> tuple[str, ...]:
    return tuple(str(s) for s in a.tolist())


def _classification(filename: str, n: int, features: int, classes: int) -> Dataset:
    d = _load(filename)
    x, y = d["x"], d["y"]
    # Guaranteed by the checksum; kept as a guard for whoever rebuilds the files.
    assert x.shape == (n, features) and y.shape == (n,), (x.shape, y.shape)
    assert np.array_equal(np.unique(y), np.arange(classes)), np.unique(y)
    # The files store the smallest exact dtype (uint8 pixel counts and labels); the
    # loaders return the library's float32 inputs and int32 labels.
    return Dataset(
        x=jnp.asarray(x.astype(np.float32)),
        y=jnp.asarray(y.astype(np.int32)),
        feature_names=_names(d["feature_names"]),
        class_names=_names(d["class_names"]),
    )


def load_iris() -> Dataset:
    """Fisher's Iris flowers: 150 samples, 4 measurements in cm, 3 species (50 each).

    Features: sepal length, sepal width, petal length, petal width (cm). Classes:
    0 = setosa, 1 = versicolor, 2 = virginica. The samples are stored in the original
    order, sorted by class: shuffle (e.g. with :func:`jaxnn.data.train_test_split`)
    before splitting.

    Source: R. A. Fisher (1936), UCI Machine Learning Repository (CC BY 4.0), as bundled
    with scikit-learn.

    Returns:
      A :class:`Dataset` with ``x`` float32 ``[150, 4]`` and ``y`` int32 ``[150]``.

    >>> data = load_iris()
    >>> data.x.shape, data.class_names
    ((150, 4), ('setosa', 'versicolor', 'virginica'))
    """
    return _classification("iris.npz", 150, 4, 3)


def load_digits() -> Dataset:
    """UCI optical recognition of handwritten digits: 1797 images of 8 x 8 pixel counts.

    Each feature is the number of ink pixels (0..16) in one 4 x 4 block of a 32 x 32
    bitmap; the 64 features are the 8 x 8 blocks flattened row by row. Classes are the
    digits 0..9 (about 180 each). Scale the inputs (e.g. ``x / 16`` or a
    :class:`jaxnn.data.Standardizer`) before training.

    Source: E. Alpaydin and C. Kaynak (1998), UCI Machine Learning Repository, the test
    part of "Optical Recognition of Handwritten Digits" (CC BY 4.0), as bundled with
    scikit-learn.

    Returns:
      A :class:`Dataset` with ``x`` float32 ``[1797, 64]`` (whole numbers 0..16) and ``y``
      int32 ``[1797]``.
    """
    return _classification("digits.npz", 1797, 64, 10)


def load_diabetes() -> Dataset:
    """Diabetes progression: 442 patients, 10 raw baseline variables, 1 regression target.

    Features (raw, unscaled): ``age`` (years), ``sex`` (coded 1 or 2), ``bmi`` (body mass
    index), ``bp`` (average blood pressure), ``s1`` (total serum cholesterol), ``s2``
    (LDL), ``s3`` (HDL), ``s4`` (total cholesterol / HDL), ``s5`` (log of serum
    triglycerides, possibly), ``s6`` (blood sugar). Target: a quantitative measure of
    disease progression one year after baseline (25..346).

    Source: B. Efron, T. Hastie, I. Johnstone and R. Tibshirani (2004), "Least Angle
    Regression", Annals of Statistics 32(2), 407-499; the raw table as distributed with
    scikit-learn (BSD-3-Clause). scikit-learn's ``load_diabetes()`` returns a scaled
    version by default; this one is the unscaled data.

    Returns:
      A :class:`Dataset` with ``x`` float32 ``[442, 10]``, ``y`` float32 ``[442, 1]`` and
      ``class_names=None``.
    """
    d = _load("diabetes.npz")
    x, y = d["x"], d["y"]
    assert x.shape == (442, 10) and y.shape == (442,), (x.shape, y.shape)
    return Dataset(
        x=jnp.asarray(x, dtype=jnp.float32),
        y=jnp.asarray(y, dtype=jnp.float32).reshape(-1, 1),
        feature_names=_names(d["feature_names"]),
        class_names=None,
    )
