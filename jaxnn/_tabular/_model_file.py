"""Model files: a :mod:`jaxnn.checkpoint` holding an MLP's params and a config that rebuilds
the network, its preprocessing and its table schema. ``jaxnn train`` and the playground's
model download write them with :func:`model_config` and :func:`write_model`; ``jaxnn
predict`` reads them with :func:`load_model`.

A model file is untrusted input. The checkpoint's checksums catch damage, not edits, so the
config is validated against the schema below (types, ranges, and lengths consistent with
one another and with the arrays) before anything uses it, and a bad file is refused with
"model file is damaged or not a jaxnn model: <what>". Nothing is ever unpickled: the
checkpoint format holds only arrays and JSON.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from jaxnn import activations

from jaxnn._tabular import _schema
from jaxnn._tabular._errors import TableError
from jaxnn._tabular._numbers import FLOAT32_MAX, NumberFormat
from jaxnn._tabular._table import Table

__all__ = ["MODEL_KIND", "MODEL_VERSION", "HIDDEN_ACTIVATIONS", "TASKS", "ModelFileError", "Model", "load_model",
           "validate_config", "number_format", "model_config", "write_model"]

#: ``config["kind"]`` of a model file (the name is the command line's, which wrote the first ones).
MODEL_KIND = "jaxnn.cli.model"
#: Version 2 added ``number_format`` and ``label_kind``; version 1 files (which lack them)
#: were written with the defaults they stand for, so they load unchanged.
MODEL_VERSION = 2

#: ``--activation`` choices, and the activations a model file may name: those of
#: :data:`jaxnn.activations.HIDDEN`, the ones that suit hidden layers trained by gradient
#: descent.
HIDDEN_ACTIVATIONS = activations.HIDDEN

TASKS = ("regression", "binary", "multiclass")
_MAX_WIDTH = 10**7


class ModelFileError(ValueError):
    """A model file that cannot be used (one-line message naming the file)."""


class _Bad(Exception):
    """One failed check of a config; its message says what."""


def _require(ok: bool, what: str) -> None:
    if not ok:
        raise _Bad(what)


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _str_list(config: dict[str, Any], key: str, *, allow_empty: bool = False) -> list[str]:
    v = config.get(key)
    _require(isinstance(v, list) and all(isinstance(s, str) for s in v), f"{key!r} must be a list of strings")
    _require(allow_empty or len(v) > 0, f"{key!r} is empty")
    _require(len(set(v)) == len(v), f"{key!r} names something twice")
    return v


def _number_list(config: dict[str, Any], key: str, length: int, *, positive: bool = False) -> None:
    v = config.get(key)
    _require(isinstance(v, list) and all(_is_number(x) for x in v), f"{key!r} must be a list of finite numbers")
    _require(len(v) == length, f"{key!r} has {len(v)} values but the model has {length}")
    _require(not positive or all(x > 0 for x in v), f"{key!r} must be > 0")


def validate_config(config: Any) -> None:
    """Checks a ``jaxnn train`` config against its schema.

    Raises:
      _Bad: naming the first inconsistency (the caller adds the file's name).
    """
    _require(isinstance(config, dict), "its config is not a JSON object")
    version = config.get("model_version", 1)
    _require(_is_int(version) and version >= 1, f"'model_version' is {version!r}, not a version number")
    task = config.get("task")
    _require(task in TASKS, f"'task' is {task!r}, not one of {', '.join(TASKS)}")
    sizes = config.get("sizes")
    _require(isinstance(sizes, list) and len(sizes) >= 2 and all(_is_int(s) and 1 <= s <= _MAX_WIDTH for s in sizes),
             f"'sizes' must be a list of at least 2 layer widths in [1, {_MAX_WIDTH}], got {sizes!r}"[:300])
    _require(config.get("activation") in HIDDEN_ACTIVATIONS,
             f"'activation' is {config.get('activation')!r}, not a hidden activation jaxnn trains with")

    features = config.get("features")
    _require(isinstance(features, list) and len(features) > 0, "'features' must be a non-empty list")
    names = []
    for f in features:
        _require(isinstance(f, dict) and isinstance(f.get("name"), str), "each entry of 'features' needs a 'name'")
        kind = f.get("kind")
        _require(kind in ("numeric", "categorical"), f"feature {f['name']!r} has the unknown kind {kind!r}")
        if kind == "categorical":
            cats = f.get("categories")
            _require(isinstance(cats, list) and len(cats) > 0 and all(isinstance(c, str) for c in cats)
                     and len(set(cats)) == len(cats),
                     f"feature {f['name']!r} needs a list of distinct category strings")
        names.append(f["name"])
    _require(len(set(names)) == len(names), "'features' names a column twice")
    encoded = _schema.encoded_names(features)
    _require(config.get("encoded_features", encoded) == encoded,
             "'encoded_features' does not match 'features'")
    _require(sizes[0] == len(encoded),
             f"'sizes' starts with {sizes[0]} inputs but 'features' encode to {len(encoded)}")

    targets = _str_list(config, "targets")
    _require(not set(targets) & set(names), "a column is both a feature and a target")
    classes = config.get("class_names")
    head = config.get("head")
    if task == "regression":
        _require(classes is None, "'class_names' must be null for a regression")
        _require(sizes[-1] == len(targets),
                 f"'sizes' ends with {sizes[-1]} outputs but there are {len(targets)} targets")
        want = "regression" if len(targets) == 1 else "multivariate_regression"
        _require(head == want, f"'head' is {head!r} but a regression on {len(targets)} target(s) uses {want!r}")
        _number_list(config, "y_mean", len(targets))
        _number_list(config, "y_std", len(targets), positive=True)
    else:
        _require(len(targets) == 1, f"a {task} model has one target, not {len(targets)}")
        classes = _str_list(config, "class_names")
        if task == "binary":
            _require(len(classes) == 2, f"a binary model has 2 class names, not {len(classes)}")
            _require(sizes[-1] == 1, f"'sizes' ends with {sizes[-1]} outputs but a binary model has 1")
        else:
            _require(len(classes) >= 2, "'class_names' needs at least 2 classes")
            _require(sizes[-1] == len(classes),
                     f"'sizes' ends with {sizes[-1]} outputs but there are {len(classes)} class names")
        _require(head == task, f"'head' is {head!r} but the task is {task!r}")
        _require(config.get("label_kind", "text") in ("number", "text"), "'label_kind' must be 'number' or 'text'")
        for key in ("y_mean", "y_std"):
            _require(config.get(key) is None, f"{key!r} must be null for a classification")
    _number_list(config, "x_mean", sizes[0])
    _number_list(config, "x_std", sizes[0], positive=True)
    fmt = config.get("number_format", {"decimal": ".", "thousands": None})
    _require(isinstance(fmt, dict) and set(fmt) == {"decimal", "thousands"}, "'number_format' is malformed")
    try:
        NumberFormat(fmt["decimal"], fmt["thousands"])
    except (TableError, TypeError) as e:
        raise _Bad(f"'number_format': {e}") from None


def model_config(
    *, task: str, head: str, sizes: Sequence[int], activation: str, features: Sequence[dict[str, Any]],
    targets: Sequence[str], class_names: Sequence[str] | None, label_kind: str | None, number_format: Any,
    x_mean: Sequence[float], x_std: Sequence[float], y_mean: Sequence[float] | None,
    y_std: Sequence[float] | None, training: dict[str, Any],
) -> dict[str, Any]:
    """The config of a model file at the current :data:`MODEL_VERSION`, validated.

    Args:
      task: ``"regression"``, ``"binary"`` or ``"multiclass"``.
      head: the :mod:`jaxnn.heads` name of the task's head.
      sizes: the MLP's layer widths, inputs first.
      activation: its hidden activation (one of :data:`HIDDEN_ACTIVATIONS`).
      features: the table schema of the inputs (``{"name", "kind"[, "categories"]}`` each).
      targets: the target column(s).
      class_names: a classification's class names, ``None`` for a regression.
      label_kind: ``"number"`` (labels compared by value) or ``"text"``; ``None`` for a regression.
      number_format: the :class:`~jaxnn._tabular._numbers.NumberFormat` the table's numbers use.
      x_mean, x_std: the inputs' standardization.
      y_mean, y_std: a regression's target standardization, ``None`` for a classification.
      training: how it was trained (free-form JSON, shown to the user, never checked).

    Raises:
      ValueError: the arguments do not make a valid model (the first inconsistency).
    """
    config = {
        "kind": MODEL_KIND,
        "model_version": MODEL_VERSION,
        "task": task,
        "head": head,
        "sizes": [int(s) for s in sizes],
        "activation": activation,
        "features": list(features),
        "encoded_features": _schema.encoded_names(features),
        "targets": list(targets),
        "class_names": None if class_names is None else list(class_names),
        "label_kind": label_kind,
        "number_format": number_format.to_config(),
        "x_mean": [float(v) for v in x_mean],
        "x_std": [float(v) for v in x_std],
        "y_mean": None if y_mean is None else [float(v) for v in y_mean],
        "y_std": None if y_std is None else [float(v) for v in y_std],
        "training": training,
    }
    try:
        validate_config(config)
    except _Bad as e:
        raise ValueError(f"not a valid model config: {e}") from None
    return config


def write_model(path: str, params: Any, config: dict[str, Any]) -> None:
    """Writes a model file (atomically, with :func:`jaxnn.checkpoint.save`): ``params`` and a
    ``config`` made by :func:`model_config`, both checked first.

    Raises:
      ModelFileError: the params do not match the config.
      OSError: the file cannot be written.
    """
    from jaxnn import checkpoint

    try:
        validate_config(config)
        _check_params(params, config["sizes"])
    except _Bad as e:
        raise ModelFileError(f"{path}: not a valid model: {e}") from None
    checkpoint.save(path, params, config=config)


def number_format(config: dict[str, Any]) -> NumberFormat:
    """The :class:`~jaxnn._tabular._numbers.NumberFormat` a validated config was trained with."""
    fmt = config.get("number_format", {"decimal": ".", "thousands": None})
    return NumberFormat(fmt["decimal"], fmt["thousands"])


def _check_params(params: Any, sizes: Sequence[int]) -> None:
    _require(isinstance(params, list) and len(params) == len(sizes) - 1,
             f"it holds {type(params).__name__ if not isinstance(params, list) else len(params)} layers "
             f"but 'sizes' says {len(sizes) - 1}")
    for i, (layer, a, b) in enumerate(zip(params, sizes[:-1], sizes[1:])):
        _require(isinstance(layer, dict) and set(layer) == {"w", "b"}, f"layer {i} is not a {{'w', 'b'}} dict")
        for key, shape in (("w", (a, b)), ("b", (b,))):
            arr = layer[key]
            _require(tuple(np.shape(arr)) == shape and np.dtype(getattr(arr, "dtype", None)) == np.float32,
                     f"layer {i} {key!r} is {getattr(arr, 'dtype', '?')}{list(np.shape(arr))} but 'sizes' says "
                     f"float32{list(shape)}")
            _require(bool(np.all(np.isfinite(np.asarray(arr)))), f"layer {i} {key!r} holds NaN or Inf")


def _params_template(config: dict[str, Any]) -> list[dict[str, Any]]:
    """The params a validated ``config`` stands for, as ``jax.ShapeDtypeStruct``: those
    :func:`jaxnn.nn.MLP` ``.init`` makes (a list of ``{"w", "b"}`` dicts), traced, not computed."""
    import jax

    from jaxnn import nn

    sizes = config["sizes"]
    net = nn.MLP(sizes[1:-1], sizes[-1], activation=config["activation"])
    return jax.eval_shape(lambda key: net.init(key, (-1, sizes[0]))[1], jax.random.key(0))


def _check_layout(paths: Sequence[str], shapes: Sequence[tuple[int, ...]], dtypes: Sequence[str],
                  template: list[dict[str, Any]]) -> None:
    """Checks a model file's recorded leaves against ``template`` before any array is read,
    in the words of :func:`_check_params`."""
    layers: dict[int, dict[str, tuple[tuple[int, ...], str]]] = {}
    for path, shape, dtype in zip(paths, shapes, dtypes):
        m = re.fullmatch(r"\[(\d+)\]\['(\w+)'\]", path)
        _require(m is not None, f"its params are not a list of layers (it holds a leaf at {path or 'the root'})")
        layers.setdefault(int(m[1]), {})[m[2]] = (shape, dtype)
    _require(sorted(layers) == list(range(len(template))),
             f"it holds {len(layers)} layers but 'sizes' says {len(template)}")
    for i, want in enumerate(template):
        _require(set(layers[i]) == set(want), f"layer {i} is not a {{'w', 'b'}} dict")
        for key, leaf in want.items():
            shape, dtype = layers[i][key]
            _require(shape == leaf.shape and dtype == leaf.dtype.name,
                     f"layer {i} {key!r} is {dtype}{list(shape)} but 'sizes' says {leaf.dtype}{list(leaf.shape)}")


class Model:
    """A model written by ``jaxnn train``, validated: the network, its params and its config.

    Attributes:
      path: the model file.
      config: the config stored with it (JSON), validated.
      params: the MLP params (a list of ``{"w", "b"}`` dicts).
      net: the :func:`jaxnn.nn.MLP` that ``params`` belong to.
      head: the :class:`jaxnn.heads.Head` of its task.
    """

    def __init__(self, path: str, config: dict[str, Any], params: Any) -> None:
        """Builds the network from ``config`` after checking ``config`` and ``params``.

        Raises:
          ModelFileError: the config or the params fail a check.
        """
        from jaxnn import heads, nn

        try:
            validate_config(config)
            _check_params(params, config["sizes"])
        except _Bad as e:
            raise ModelFileError(f"{path}: model file is damaged or not a jaxnn model: {e}") from None
        self.path, self.config, self.params = path, config, params
        sizes = config["sizes"]
        self.net = nn.MLP(sizes[1:-1], sizes[-1], activation=config["activation"])
        self.head = heads.get(config["head"])
        self._forward: Any = None

    @property
    def number_format(self) -> NumberFormat:
        """How the training file wrote its numbers."""
        return number_format(self.config)

    def features(self, table: Table, fmt: NumberFormat | None = None) -> np.ndarray:
        """The standardized inputs ``float32 [rows, features]`` of ``table`` for this model,
        its numbers read with ``fmt`` (default: the training file's format)."""
        def encoded() -> np.ndarray:
            return _schema.encode_features(table, self.config["features"], fmt or self.number_format, model=self.path)

        x = encoded()
        mean = np.asarray(self.config["x_mean"], np.float64)
        std = np.asarray(self.config["x_std"], np.float64)
        z = np.subtract(x, mean, out=x if x.flags.writeable else None)  # x is ours: no second copy
        z /= std
        # A value far outside the training data can standardize beyond float32's range; the
        # network would then print inf or NaN predictions.
        if not (z.max(initial=0.0) <= FLOAT32_MAX and z.min(initial=0.0) >= -FLOAT32_MAX):
            far = ~(np.abs(z) <= FLOAT32_MAX)
            x = encoded()  # the values again, for the message (z was computed in their place)
            i, j = np.argwhere(far)[0]
            name = self.config["encoded_features"][j] if "encoded_features" in self.config else f"feature {j}"
            raise TableError(
                f"{table.source}: column {name!r} holds {x[i, j]:g} on line {table.lines[i]}, too far outside "
                f"the training data (mean {mean[j]:g}, standard deviation {std[j]:g}) for float32")
        return z.astype(np.float32)

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Outputs for standardized inputs ``x``: values ``[N, T]`` (original units, float64)
        for a regression, class probabilities ``[N, C]`` for a classification."""
        import jax

        task = self.config["task"]
        if self._forward is None:  # compiled once per shape, for every chunk of a file

            def forward(params: Any, x: Any) -> Any:
                out = self.head.output_activation(self.net.apply(params, x))
                return out[:, 0] if task == "binary" else out

            self._forward = jax.jit(forward)
        out = np.asarray(self._forward(self.params, np.asarray(x, np.float32)))
        if task == "regression":
            return out * np.asarray(self.config["y_std"], np.float64) + np.asarray(self.config["y_mean"], np.float64)
        if task == "binary":
            return np.stack([1.0 - out, out], axis=1)
        return out


def load_model(path: str) -> Model:
    """Loads and validates a model file written by ``jaxnn train``.

    The config is validated first, then the file's recorded leaves are checked against the
    params its ``sizes`` stand for (the template the arrays are loaded into), before any
    array is decoded.

    Args:
      path: the model file.

    Returns:
      A :class:`Model`.

    Raises:
      ModelFileError: one-line messages for a missing file, a folder, a file that is not a
        jaxnn checkpoint, a checkpoint that is not a ``jaxnn train`` model, a model from a
        newer jaxnn, or a config or params that fail validation.
    """
    from jaxnn import checkpoint

    if not os.path.exists(path):
        raise ModelFileError(f"no such model file: {path}")
    if os.path.isdir(path):
        raise ModelFileError(f"{path} is a folder, not a model file")
    damaged = f"{path}: model file is damaged or not a jaxnn model"
    try:
        meta = checkpoint.load_metadata(path)
    except checkpoint.CheckpointError as e:
        raise ModelFileError(f"{damaged}: {e}") from None
    config = meta.config
    if not isinstance(config, dict) or config.get("kind") != MODEL_KIND:
        raise ModelFileError(f"{damaged}: it is a jaxnn checkpoint but not a model written by 'jaxnn train' "
                             f"(its config has no kind={MODEL_KIND!r})")
    version = config.get("model_version", 1)
    if _is_int(version) and version > MODEL_VERSION:
        raise ModelFileError(f"{path} was written by a newer jaxnn (model version {version}); upgrade jaxnn")
    try:
        validate_config(config)  # before the arrays are decoded
        template = _params_template(config)
        _check_layout(meta.paths, meta.shapes, meta.dtypes, template)
    except _Bad as e:
        raise ModelFileError(f"{damaged}: {e}") from None
    try:
        params = checkpoint.load(path, template)
    except checkpoint.CheckpointError as e:
        raise ModelFileError(f"{damaged}: {e}") from None
    return Model(path, config, params)
