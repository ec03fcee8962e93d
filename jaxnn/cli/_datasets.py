"""``jaxnn train --dataset NAME``: the built-in data sets as tables, like a CSV file read."""

from __future__ import annotations

import jax
import numpy as np

from jaxnn import datasets
from jaxnn import _tabular as tabular

#: ``--dataset`` choices: the bundled real data sets and a few synthetic ones (500 samples
#: drawn with ``--seed``).
DATASETS = ("iris", "digits", "diabetes", "moons", "circles", "spirals", "sine")

_SYNTHETIC_SAMPLES = 500


def table(name: str, seed: int) -> tabular.Table:
    """The data set ``name`` as a table, its target the last column.

    Args:
      name: one of :data:`DATASETS`.
      seed: draws the synthetic data sets (the real ones are fixed).

    Returns:
      The table: the real data sets keep their feature names and name the target
      ``species`` (iris, text labels), ``digit`` or ``progression``; the synthetic ones
      have features ``x1, x2, ...`` and a target ``label`` (``y`` for ``sine``).
    """
    if name in ("iris", "digits", "diabetes"):
        return _real(name)
    key = jax.random.key(seed)
    n = _SYNTHETIC_SAMPLES
    if name == "moons":
        x, y = datasets.two_moons(key, n, noise=0.15)
    elif name == "circles":
        x, y = datasets.circles(key, n, noise=0.08)
    elif name == "spirals":
        x, y = datasets.spirals(key, n, num_classes=3, noise=0.03)
    else:
        x, y = datasets.regression_1d(key, n, noise=0.1)
    x, y = np.asarray(x), np.asarray(y).reshape(n)
    names = [f"x{j + 1}" for j in range(x.shape[1])]
    return tabular.from_arrays(f"the {name} data set", [*names, "y" if name == "sine" else "label"], [*x.T, y])


def _real(name: str) -> tabular.Table:
    """A bundled real data set: iris, digits or diabetes."""
    ds = {"iris": datasets.load_iris, "digits": datasets.load_digits, "diabetes": datasets.load_diabetes}[name]()
    x, y = np.asarray(ds.x), np.asarray(ds.y)
    cols = [x[:, j] for j in range(x.shape[1])]
    if name == "iris":
        target, tname = np.asarray(ds.class_names, dtype=object)[y], "species"
    elif name == "digits":
        target, tname = y, "digit"
    else:
        target, tname = y[:, 0], "progression"
    return tabular.from_arrays(f"the {name} data set", [*ds.feature_names, tname], [*cols, target])
