"""Preparing data for training: splits, standardization, label encodings and batches.

The splits, the checks and the batch iterator run on the host, once, before training
compiles anything, so the data-dependent problems (different lengths, empty data, label
values) raise a clear ``ValueError`` instead of surfacing as an XLA error later.

Conventions:

* Randomness always comes from an explicit ``key`` (``jax.random.key(seed)``); the same
  key and data give the same result.
* The splits and the batch iterator keep the kind of array they are given: NumPy in,
  NumPy out (the data stay on the host, which is what you want for data sets larger
  than device memory); ``jax.Array`` in, ``jax.Array`` out; Python lists become NumPy
  arrays. :class:`Standardizer`, :func:`one_hot` and the label conversions compute
  with ``jax.numpy`` and return ``jax.Array``.
* Nothing is converted silently. Labels in {0, 1} and labels in {-1, +1} are converted
  with :func:`labels_to_pm1` / :func:`labels_to_01`; class indices become one-hot rows
  with :func:`one_hot`.
"""

from jaxnn.data._batches import iterate_batches
from jaxnn.data._labels import labels_to_01, labels_to_pm1, one_hot
from jaxnn.data._split import train_test_split, train_val_test_split
from jaxnn.data._standardize import Standardizer

__all__ = [
    "train_test_split",
    "train_val_test_split",
    "Standardizer",
    "one_hot",
    "labels_to_pm1",
    "labels_to_01",
    "iterate_batches",
]
