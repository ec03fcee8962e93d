"""Fitted estimators saved to, and loaded from, jaxnn's safe checkpoint format.

A file is a :mod:`jaxnn.checkpoint`: the weight arrays as its leaves, and a JSON config
holding the estimator's class, its parameters and its other fitted attributes. Loading
never unpickles: the file can come from anyone. The checkpoint's checksums catch damage;
the config is checked (the class, the parameters by scikit-learn's own validation, the
arrays' shapes against the sizes it states) before the estimator is returned.
"""

from __future__ import annotations

import os
from typing import Any

import jax
import numpy as np
from sklearn.utils.validation import check_is_fitted

from jaxnn import checkpoint

#: ``config["kind"]`` of an estimator file.
KIND = "jaxnn.sklearn.estimator"
#: The version of the config's layout.
VERSION = 1


def _json(value: Any) -> Any:
    """``value`` as JSON (NumPy scalars and arrays as numbers and lists, tuples as lists)."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [_json(v) for v in value]
    return value


class Saveable:
    """``save`` and ``load`` for an estimator that names its fitted arrays and other attributes.

    A class lists ``_SAVED_ARRAYS`` (attributes holding an array or a list of arrays) and
    ``_SAVED_VALUES`` (JSON-representable ones); ``_after_load`` checks them against one
    another and rebuilds what is derived from them.
    """

    _SAVED_ARRAYS: tuple[str, ...] = ()
    _SAVED_VALUES: tuple[str, ...] = ()

    def save(self, path: str | os.PathLike[str]) -> None:
        """Writes the fitted estimator to ``path``, a :mod:`jaxnn.checkpoint` file (no pickle).

        ``random_state`` is saved when it is ``None`` or an int (a ``RandomState`` is saved
        as ``None``); the optimizer's state is not saved: ``partial_fit`` on a loaded
        estimator starts a fresh optimizer.

        Args:
          path: the file to write (replaced atomically if it exists).

        Raises:
          sklearn.exceptions.NotFittedError: the estimator is not fitted.
        """
        check_is_fitted(self)
        params = {k: (None if isinstance(v, np.random.RandomState) else _json(v))
                  for k, v in self.get_params(deep=False).items()}
        fitted = {name: _json(getattr(self, name)) for name in self._SAVED_VALUES if hasattr(self, name)}
        if hasattr(self, "feature_names_in_"):
            fitted["feature_names_in_"] = [str(v) for v in self.feature_names_in_]
        if hasattr(self, "classes_"):
            fitted["classes_dtype"] = self.classes_.dtype.str if self.classes_.dtype.kind != "O" else "O"
        arrays = {name: getattr(self, name) for name in self._SAVED_ARRAYS}
        config = {"kind": KIND, "version": VERSION, "class": type(self).__name__, "params": params,
                  "fitted": fitted}
        checkpoint.save(path, arrays, config=config)

    @classmethod
    def load(cls, path: str | os.PathLike[str]):
        """Reads an estimator written by :meth:`save`.

        Args:
          path: a file written by ``save`` of this class.

        Returns:
          The fitted estimator; its predictions equal the saved one's.

        Raises:
          ValueError: the file is not a jaxnn checkpoint, is damaged, holds another kind of
            file or another estimator class, or its parameters or arrays are not valid
            (:class:`jaxnn.checkpoint.CheckpointError` is a ``ValueError``).
          FileNotFoundError: ``path`` does not exist.
        """
        meta = checkpoint.load_metadata(path)
        config = meta.config
        if not isinstance(config, dict) or config.get("kind") != KIND:
            raise ValueError(f"{os.fspath(path)} is a jaxnn checkpoint but not a jaxnn.sklearn estimator file; "
                             f"write one with est.save(path)")
        if config.get("version") != VERSION:
            raise ValueError(f"{os.fspath(path)} is an estimator file of version {config.get('version')!r}; "
                             f"this jaxnn reads version {VERSION}")
        if config.get("class") != cls.__name__:
            raise ValueError(f"{os.fspath(path)} holds a {config.get('class')}, not a {cls.__name__}; load it with "
                             f"jaxnn.sklearn.{config.get('class')}.load")
        try:
            est = cls()
            # JSON has no tuples: a sequence parameter (hidden_layer_sizes) comes back as one.
            est.set_params(**{k: tuple(v) if isinstance(v, list) else v for k, v in config["params"].items()})
            est._validate_params()
            fitted = dict(config["fitted"])
            # The arrays' structure from the parameters, their shapes from the file (checked
            # against the stated sizes by _after_load).
            template = jax.tree.unflatten(
                jax.tree.structure({name: est._saved_structure(name) for name in cls._SAVED_ARRAYS}),
                [jax.ShapeDtypeStruct(s, d) for s, d in zip(meta.shapes, meta.dtypes)])
            arrays = checkpoint.load(path, template)
            for name in cls._SAVED_ARRAYS:
                setattr(est, name, jax.tree.map(np.asarray, arrays[name]))
            classes_dtype = fitted.pop("classes_dtype", None)
            if classes_dtype is not None:
                fitted["classes_"] = np.asarray(fitted["classes_"], dtype=np.dtype(classes_dtype))
            if "feature_names_in_" in fitted:
                fitted["feature_names_in_"] = np.asarray(fitted["feature_names_in_"], dtype=object)
            for name, value in fitted.items():
                setattr(est, name, value)
            est._after_load()
        except (KeyError, TypeError, ValueError, IndexError) as err:
            raise ValueError(f"{os.fspath(path)} is damaged or not a valid {cls.__name__} file: {err}") from None
        return est

    def _saved_structure(self, name: str) -> Any:
        """The tree structure of the saved array attribute ``name`` (its leaves are placeholders)."""
        return 0

    def _after_load(self) -> None:
        """Checks the loaded attributes against one another and rebuilds derived ones."""
