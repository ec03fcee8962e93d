"""Data sets: synthetic generators drawn from a key, and small real data shipped inside jaxnn.

Synthetic (each takes a PRNG key first; see ``jaxnn/datasets/_synthetic.py`` for the
conventions): :func:`linearly_separable`, :func:`xor`, :func:`noisy_xor`, :func:`blobs`,
:func:`two_moons`, :func:`circles`, :func:`spirals`, :func:`regression_1d`,
:func:`regression_multi`, :func:`regression_plane`,
:func:`regression_gaussians`.

Real (no download; SHA-256 checked on load): :func:`load_iris` (150 x 4, 3 classes),
:func:`load_digits` (1797 x 64, 10 classes), :func:`load_diabetes` (442 x 10,
regression). Sources: the UCI Machine Learning Repository (Iris, optical digits;
CC BY 4.0) and Efron et al. (2004) (diabetes), all as bundled with scikit-learn
(BSD-3-Clause); details in ``jaxnn/datasets/_real.py`` and ``jaxnn/datasets/data/README.md``.

>>> import jax
>>> from jaxnn import datasets
>>> x, y = datasets.two_moons(jax.random.key(0), 100)
>>> x.shape, y.dtype
((100, 2), dtype('int32'))
"""

from jaxnn.datasets._real import (
    Dataset,
    DatasetChecksumError,
    load_diabetes,
    load_digits,
    load_iris,
)
from jaxnn.datasets._synthetic import (
    blobs,
    circles,
    linearly_separable,
    noisy_xor,
    regression_1d,
    regression_gaussians,
    regression_multi,
    regression_plane,
    spirals,
    two_moons,
    xor,
)

__all__ = [
    "Dataset",
    "DatasetChecksumError",
    "load_iris",
    "load_digits",
    "load_diabetes",
    "linearly_separable",
    "xor",
    "noisy_xor",
    "blobs",
    "two_moons",
    "circles",
    "spirals",
    "regression_1d",
    "regression_multi",
    "regression_plane",
    "regression_gaussians",
]
