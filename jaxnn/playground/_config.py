"""The playground's configuration: one flat JSON object, checked field by field.

The page keeps the whole set-up in its URL and sends it here as JSON; :func:`parse_config`
turns it into a frozen :class:`Config` or raises :class:`RequestError` with a one-line
message naming the field, the value and what is allowed. Unknown fields are errors too, so
a misspelled name in a link is reported instead of silently ignored.
"""

from __future__ import annotations

import dataclasses
import inspect
import math
from typing import Any

from jaxnn import activations, datasets, optim

__all__ = [
    "RequestError",
    "Config",
    "parse_config",
    "options",
    "DATASETS",
    "FEATURES",
    "ACTIVATIONS",
    "OPTIMIZERS",
    "MODES",
    "GRID_AXES",
    "NOISE_DEFAULTS",
]


class RequestError(ValueError):
    """A bad request: its message is one line, shown by the page; ``status`` is the HTTP code."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


MODES = ("network", "perceptron", "grid")
DATASETS = ("separable", "xor", "circles", "moons", "spirals", "blobs", "regression", "plane", "gaussians",
            "upload")  # fmt: skip
#: The data sets whose target is a number, not a class.
REGRESSIONS = ("regression", "plane", "gaussians")


def _library_noise(generator: Any) -> float:
    """The ``noise`` default of a :mod:`jaxnn.datasets` generator: one source for the page and the library."""
    return float(inspect.signature(generator).parameters["noise"].default)


#: Each data set's noise when a set-up does not give one: the generator's own default, so
#: that the page shows spirals and moons as the library draws them. "separable" has no
#: noise (any noise may make it inseparable, and the perceptron then never converges);
#: "blobs" has none in the library either: the page draws blobs of std ``0.3 + noise``.
NOISE_DEFAULTS: dict[str, float] = {
    "separable": 0.0,
    "xor": _library_noise(datasets.noisy_xor),
    "circles": _library_noise(datasets.circles),
    "moons": _library_noise(datasets.two_moons),
    "spirals": _library_noise(datasets.spirals),
    "blobs": 0.2,
    "regression": _library_noise(datasets.regression_1d),
    "plane": _library_noise(datasets.regression_plane),
    "gaussians": _library_noise(datasets.regression_gaussians),
    "upload": 0.0,
}
#: Input features: name -> how the page labels it. The derived ones show why a linear
#: model on x1^2 + x2^2 separates circles, and x1 x2 separates XOR.
FEATURES = {
    "x1": "x1",
    "x2": "x2",
    "x1sq": "x1²",
    "x2sq": "x2²",
    "x1x2": "x1·x2",
    "sinx1": "sin x1",
    "sinx2": "sin x2",
}
#: Hidden activations offered: those of :data:`jaxnn.activations.HIDDEN`, and the course's
#: sign and heaviside, whose zero gradient shows why gradient descent needs a smooth activation.
ACTIVATIONS = (*activations.HIDDEN, "sign", "heaviside")
#: The optimizers of :data:`jaxnn.optim.OPTIMIZERS` with their tunable hyperparameters:
#: name -> {hyperparameter: (low, high, default)}.
OPTIMIZERS: dict[str, dict[str, tuple[float, float, float]]] = {
    name: dict(info.hyperparameters) for name, info in optim.OPTIMIZERS.items()
}
GRID_AXES = ("lr_seed", "width_activation")

MAX_LAYERS, MAX_UNITS, MAX_GRID = 6, 8, 8
MAX_SAMPLES = 2000


@dataclasses.dataclass(frozen=True)
class Config:
    """One playground set-up (every field has a default; see :func:`options` for the ranges)."""

    mode: str = "network"
    dataset: str = "xor"
    samples: int = 200
    noise: float = NOISE_DEFAULTS["xor"]  # a set-up without one takes its data set's (NOISE_DEFAULTS)
    classes: int = 2
    test_ratio: float = 0.5
    seed: int = 0
    features: tuple[str, ...] = ("x1", "x2")
    hidden: tuple[int, ...] = (4,)
    activation: str = "tanh"
    l1: float = 0.0
    l2: float = 0.0
    optimizer: str = "adam"
    lr: float = 0.03
    mu: float = 0.9
    decay: float = 0.9
    rho: float = 0.9
    b1: float = 0.9
    b2: float = 0.999
    weight_decay: float = 1e-4
    batch: int = 10  # 0 means the full batch
    epochs_per_frame: int = 5
    train_seed: int = 0
    eta: float = 1.0  # the perceptron's learning rate
    perceptron_step: str = "update"  # or "epoch"
    grid_axes: str = "lr_seed"
    grid_rows: int = 4
    grid_cols: int = 4
    lr_min: float = 0.001
    lr_max: float = 1.0
    widths: tuple[int, ...] = (1, 2, 4, 8)
    activations: tuple[str, ...] = ("tanh", "relu", "sigmoid", "identity")

    def optimizer_hyperparams(self) -> dict[str, float]:
        """The keyword arguments of this optimizer besides the learning rate."""
        return {name: getattr(self, name) for name in OPTIMIZERS[self.optimizer]}

    def to_json(self) -> dict[str, Any]:
        return {f.name: (list(v) if isinstance(v := getattr(self, f.name), tuple) else v)
                for f in dataclasses.fields(self)}


_DEFAULT = Config()


def _number(name: str, value: Any, low: float, high: float, *, integer: bool = False,
            open_low: bool = False) -> Any:
    kind = "a whole number" if integer else "a number"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise RequestError(f"{name} must be {kind}, got {value!r}")
    if integer and (isinstance(value, float) and not value.is_integer()):
        raise RequestError(f"{name} must be {kind}, got {value!r}")
    if not math.isfinite(value) or value < low or value > high or (open_low and value == low):
        bound = f"({low:g}, {high:g}]" if open_low else f"[{low:g}, {high:g}]"
        raise RequestError(f"{name} must be in {bound}, got {value!r}")
    return int(value) if integer else float(value)


def _choice(name: str, value: Any, allowed: Any) -> str:
    if not isinstance(value, str) or value not in allowed:
        raise RequestError(f"unknown {name} {value!r}; choose one of: {', '.join(allowed)}")
    return value


def _list(name: str, value: Any, low: int, high: int) -> list:
    if not isinstance(value, (list, tuple)):
        raise RequestError(f"{name} must be a list, got {value!r}")
    if not low <= len(value) <= high:
        raise RequestError(f"{name} must have {low} to {high} entries, got {len(value)}")
    return list(value)


_RANGES: dict[str, tuple[float, float, bool]] = {  # name -> (low, high, integer)
    "samples": (10, MAX_SAMPLES, True),
    "noise": (0.0, 2.0, False),
    "classes": (2, 6, True),
    "test_ratio": (0.1, 0.9, False),
    "seed": (0, 2**31 - 1, True),
    "l1": (0.0, 1.0, False),
    "l2": (0.0, 1.0, False),
    "batch": (0, MAX_SAMPLES, True),
    "epochs_per_frame": (1, 100, True),
    "train_seed": (0, 2**31 - 1, True),
    "grid_rows": (1, MAX_GRID, True),
    "grid_cols": (1, MAX_GRID, True),
}


def parse_config(raw: Any) -> Config:
    """Checks a JSON object against :class:`Config`; missing fields take their defaults.

    Raises:
      RequestError: for a field that is unknown, of the wrong type or out of range.
    """
    if not isinstance(raw, dict):
        raise RequestError(f"the configuration must be a JSON object, got {type(raw).__name__}")
    known = {f.name for f in dataclasses.fields(Config)}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise RequestError(f"unknown setting {unknown[0]!r}; known settings are: {', '.join(sorted(known))}")
    v = {**_DEFAULT.to_json(), **raw}
    out: dict[str, Any] = {}
    out["mode"] = _choice("mode", v["mode"], MODES)
    out["dataset"] = _choice("dataset", v["dataset"], DATASETS)
    if raw.get("noise") is None:  # not given: the data set's own
        v["noise"] = NOISE_DEFAULTS[out["dataset"]]
    for name, (low, high, integer) in _RANGES.items():
        out[name] = _number(name, v[name], low, high, integer=integer)
    feats = _list("features", v["features"], 1, len(FEATURES))
    for f in feats:
        _choice("feature", f, tuple(FEATURES))
    if len(set(feats)) != len(feats):
        raise RequestError("features must not repeat a feature")
    # Canonical order, so that equal sets give equal networks (and one compiled program).
    out["features"] = tuple(f for f in FEATURES if f in feats)
    hidden = _list("hidden", v["hidden"], 0, MAX_LAYERS)
    out["hidden"] = tuple(_number("hidden layer width", h, 1, MAX_UNITS, integer=True) for h in hidden)
    out["activation"] = _choice("activation", v["activation"], ACTIVATIONS)
    out["optimizer"] = _choice("optimizer", v["optimizer"], tuple(OPTIMIZERS))
    out["lr"] = _number("lr", v["lr"], 0.0, 10.0, open_low=True)
    for hp in ("mu", "decay", "rho", "b1", "b2", "weight_decay"):
        low, high = min(r[hp][0] for r in OPTIMIZERS.values() if hp in r), max(
            r[hp][1] for r in OPTIMIZERS.values() if hp in r)
        out[hp] = _number(hp, v[hp], low, high)
    out["eta"] = _number("eta", v["eta"], 0.0, 10.0, open_low=True)
    out["perceptron_step"] = _choice("perceptron_step", v["perceptron_step"], ("update", "epoch"))
    out["grid_axes"] = _choice("grid_axes", v["grid_axes"], GRID_AXES)
    out["lr_min"] = _number("lr_min", v["lr_min"], 0.0, 10.0, open_low=True)
    out["lr_max"] = _number("lr_max", v["lr_max"], 0.0, 10.0, open_low=True)
    if out["lr_min"] > out["lr_max"]:
        raise RequestError(f"lr_min ({out['lr_min']:g}) must not exceed lr_max ({out['lr_max']:g})")
    widths = _list("widths", v["widths"], 1, MAX_GRID)
    out["widths"] = tuple(_number("grid width", w, 1, MAX_UNITS, integer=True) for w in widths)
    acts = _list("activations", v["activations"], 1, MAX_GRID)
    out["activations"] = tuple(_choice("activation", a, ACTIVATIONS) for a in acts)
    return Config(**out)


def options(book_url: str | None = None) -> dict[str, Any]:
    """The choices, ranges and lessons, for the page to build its controls from.

    Args:
      book_url: where the course book's HTML lives (its ``course/<chapter>.html`` pages), or
        ``None``: the lessons then name the chapter without a link.
    """
    from jaxnn.playground._lessons import LESSONS

    return {
        "modes": list(MODES),
        "datasets": list(DATASETS),
        "regressions": list(REGRESSIONS),
        "noise_defaults": NOISE_DEFAULTS,
        "lessons": [lesson.to_json() for lesson in LESSONS],
        "book_url": book_url,
        "features": FEATURES,
        "activations": list(ACTIVATIONS),
        "optimizers": {k: {n: list(r) for n, r in hp.items()} for k, hp in OPTIMIZERS.items()},
        "grid_axes": list(GRID_AXES),
        "ranges": {k: list(r[:2]) for k, r in _RANGES.items()},
        "max_layers": MAX_LAYERS,
        "max_units": MAX_UNITS,
        "max_grid": MAX_GRID,
        "defaults": _DEFAULT.to_json(),
    }
