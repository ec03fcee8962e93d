"""The playground's data: a generator of :mod:`jaxnn.datasets` (or an uploaded CSV), split
with :func:`jaxnn.data.train_test_split`, and the input features computed from it.

Everything here is a plain function of the configuration and the upload, written so that
the exported script can do the same steps with the same calls (see ``_export``).
"""

from __future__ import annotations

import csv
import io
from typing import Any, NamedTuple

import jax
import numpy as np

from jaxnn import data, datasets
from jaxnn.playground._config import Config, RequestError

__all__ = ["Data", "Upload", "parse_upload", "upload_notice", "make_data", "features", "GRID"]

GRID = 50  # the output is evaluated on GRID x GRID points of the plane (GRID points in 1-D)
MAX_UPLOAD_BYTES = 1 << 20


class Upload(NamedTuple):
    """A parsed two-feature CSV: inputs ``[N, 2]`` float32 and labels ``[N]`` (int or float)."""

    x: np.ndarray
    y: np.ndarray
    name: str


class Data(NamedTuple):
    """A data set ready for training.

    Attributes:
      task: ``"binary"``, ``"multiclass"`` or ``"regression"``.
      classes: number of classes (0 for regression).
      raw_train, raw_test: the raw inputs ``[n, 1 or 2]`` (what the plane shows).
      x_train, x_test: the selected features ``[n, F]`` float32 (what the network sees).
      y_train, y_test: targets in the head's form: ``[n, 1]`` float32 in {0, 1} (binary),
        ``[n]`` int32 (multi-class), ``[n, 1]`` float32 (regression).
      box: ``(x1_min, x1_max, x2_min, x2_max)`` of the plane shown (x2 is the target in 1-D).
      grid_raw: the raw points of the output map, ``[GRID * GRID, 2]`` or ``[GRID, 1]``.
      grid_x: their features, ``[G, F]``.
      separator: the generator's unit normal (separable data without noise), else ``None``.
    """

    task: str
    classes: int
    raw_train: np.ndarray
    raw_test: np.ndarray
    x_train: np.ndarray
    x_test: np.ndarray
    y_train: np.ndarray
    y_test: np.ndarray
    box: tuple[float, float, float, float]
    grid_raw: np.ndarray
    grid_x: np.ndarray
    separator: np.ndarray | None


def parse_upload(body: bytes, name: str = "upload.csv") -> Upload:
    """Parses a CSV of three columns, ``x1, x2, label``, with an optional header row.

    Labels that are all whole numbers with at most 6 distinct values are classes (``-1/+1``
    or ``0..C-1``); any other numbers are a regression target.

    Raises:
      RequestError: an empty, oversized, non-UTF-8 or malformed file, with the line at fault.
    """
    if len(body) > MAX_UPLOAD_BYTES:
        raise RequestError(f"the upload is {len(body)} bytes; the limit is {MAX_UPLOAD_BYTES} (1 MiB)", 413)
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise RequestError("the upload is not UTF-8 text; save the CSV as UTF-8") from None
    rows = [r for r in csv.reader(io.StringIO(text)) if any(c.strip() for c in r)]
    if rows and not _numeric_row(rows[0]):
        rows = rows[1:]  # a header
    if len(rows) < 4:
        raise RequestError("the CSV needs at least 4 data rows of x1,x2,label")
    if len(rows) > 2000:
        raise RequestError(f"the CSV has {len(rows)} rows; the playground takes at most 2000")
    values = []
    for i, r in enumerate(rows):
        if len(r) != 3 or not _numeric_row(r):
            raise RequestError(f"row {i + 1} of the data is {','.join(r)[:60]!r}; each row must be three numbers x1,x2,label")
        values.append([float(c) for c in r])
    a = np.asarray(values, np.float64)
    if not np.all(np.isfinite(a)):
        raise RequestError("the CSV holds a non-finite number (nan or inf)")
    x, labels = a[:, :2].astype(np.float32), a[:, 2]
    whole = np.all(labels == np.round(labels))
    distinct = np.unique(labels)
    if whole and len(distinct) <= 6:
        if len(distinct) < 2:
            raise RequestError("the labels hold a single class; a classification needs two or more")
        y = labels.astype(np.int32)
    else:
        y = labels.astype(np.float32)
    return Upload(x, y, name)


def upload_notice(up: Upload) -> str:
    """What the page should tell about how an upload's labels were read ("" when nothing).

    Whole-number labels with more than 6 values look like classes but are more than the
    playground classifies; they are read as a regression target, and the student is told so
    (with the fix) instead of finding a regression they did not ask for.
    """
    labels = up.y
    if labels.dtype.kind == "f" and np.all(labels == np.round(labels)):
        k = len(np.unique(labels))
        return (f"the labels are {k} different whole numbers: more classes than the playground's 6, so they are "
                "read as a regression target; to classify, relabel them into at most 6 classes 0..5")
    return ""


def _numeric_row(row: list[str]) -> bool:
    try:
        [float(c) for c in row]
    except ValueError:
        return False
    return bool(row)


def generate(cfg: Config, upload: Upload | None) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """The raw data ``(x [n, 1 or 2], labels [n], separator)`` of the configuration."""
    key = jax.random.fold_in(jax.random.key(cfg.seed), 0)
    n, noise, separator = cfg.samples, cfg.noise, None
    if cfg.dataset == "upload":
        if upload is None:
            raise RequestError("no data uploaded in this tab yet; choose a CSV file first", 409)
        return upload.x, upload.y, None
    if cfg.dataset == "separable":
        gen_key, noise_key = jax.random.split(key)
        x, y, w = datasets.linearly_separable(gen_key, n, margin=0.1)
        if noise > 0:
            x = x + noise * jax.random.normal(noise_key, x.shape)
        else:
            separator = np.asarray(w)
    elif cfg.dataset == "xor":
        x, y = datasets.noisy_xor(key, n, noise=noise)
    elif cfg.dataset == "circles":
        x, y = datasets.circles(key, n, noise=noise, factor=0.5)
    elif cfg.dataset == "moons":
        x, y = datasets.two_moons(key, n, noise=noise)
    elif cfg.dataset == "spirals":
        x, y = datasets.spirals(key, n, num_classes=cfg.classes, noise=noise)
    elif cfg.dataset == "blobs":
        x, y = datasets.blobs(key, n, num_classes=cfg.classes, std=0.3 + noise, spread=3.0)
    elif cfg.dataset == "plane":
        x, y = datasets.regression_plane(key, n, noise=noise)
        y = y[:, 0]
    elif cfg.dataset == "gaussians":
        x, y = datasets.regression_gaussians(key, n, noise=noise)
        y = y[:, 0]
    else:  # regression
        x, y = datasets.regression_1d(key, n, noise=noise)
        y = y[:, 0]
    return np.asarray(x, np.float32), np.asarray(y), separator


def features(raw: np.ndarray, names: tuple[str, ...]) -> np.ndarray:
    """The selected input features of raw points ``[n, 1 or 2]``, as float32 ``[n, F]``.

    In 1-D (regression) only ``x1``, ``x1sq`` and ``sinx1`` exist.
    """
    x1 = raw[:, 0]
    x2 = raw[:, 1] if raw.shape[1] > 1 else None
    table = {"x1": lambda: x1, "x1sq": lambda: x1 * x1, "sinx1": lambda: np.sin(x1)}
    if x2 is not None:
        table |= {"x2": lambda: x2, "x2sq": lambda: x2 * x2, "x1x2": lambda: x1 * x2, "sinx2": lambda: np.sin(x2)}
    missing = [f for f in names if f not in table]
    if missing:
        raise RequestError(f"feature {missing[0]!r} needs two inputs; this data set has one (use x1, x1sq, sinx1)")
    return np.stack([table[f]() for f in names], axis=1).astype(np.float32)


def make_data(cfg: Config, upload: Upload | None = None) -> Data:
    """Generates (or takes the upload), splits, encodes the targets and computes the features.

    Raises:
      RequestError: a set-up that cannot work (a feature the data lack, a perceptron on a
        multi-class or regression task, a batch larger than the training set).
    """
    x, labels, separator = generate(cfg, upload)
    split_key = jax.random.fold_in(jax.random.key(cfg.seed), 1)
    regression = np.issubdtype(labels.dtype, np.floating)
    if regression:
        task, classes = "regression", 0
        targets = labels.astype(np.float32)
    else:
        values = np.unique(labels)
        if set(values.tolist()) <= {-1, 1}:
            labels = np.asarray(data.labels_to_01(labels))
        elif values.min() < 0 or values.max() >= 6:
            raise RequestError("class labels must be -1/+1 or 0..5")
        classes = int(labels.max()) + 1
        task = "binary" if classes == 2 else "multiclass"
        targets = labels.astype(np.int32)
    try:
        (raw_tr, t_tr), (raw_te, t_te) = data.train_test_split(
            split_key, x, targets, test_fraction=cfg.test_ratio, stratify=not regression
        )
    except ValueError as e:
        raise RequestError(f"cannot split the data: {e}") from None
    if task != "multiclass":
        t_tr, t_te = t_tr.reshape(-1, 1).astype(np.float32), t_te.reshape(-1, 1).astype(np.float32)
    if cfg.mode == "perceptron" and task != "binary":
        raise RequestError(f"the perceptron separates two classes; this data set is a {task} task")
    if cfg.batch > len(raw_tr):
        raise RequestError(f"batch {cfg.batch} is larger than the {len(raw_tr)} training samples; use 0 for the full batch")
    box = _box(x, labels if regression else None)
    grid_raw = _grid(box, x.shape[1])
    names = cfg.features
    return Data(
        task, classes, raw_tr, raw_te, features(raw_tr, names), features(raw_te, names), t_tr, t_te,
        box, grid_raw, features(grid_raw, names), separator,
    )


def _box(x: np.ndarray, y: np.ndarray | None) -> tuple[float, float, float, float]:
    """A box around the data with a 10% margin: the plane (2-D) or the x-y plot (1-D)."""
    second = x[:, 1] if x.shape[1] > 1 else y
    out = []
    for v in (x[:, 0], second):
        lo, hi = float(np.min(v)), float(np.max(v))
        pad = 0.1 * max(hi - lo, 1e-3)
        out += [round(lo - pad, 4), round(hi + pad, 4)]
    return tuple(out)  # type: ignore[return-value]


def _grid(box: tuple[float, float, float, float], dim: int) -> np.ndarray:
    """Row-major grid points: row 0 is the top of the plane (largest x2), as a canvas draws."""
    a = np.linspace(box[0], box[1], GRID, dtype=np.float32)
    if dim == 1:
        return a[:, None]
    b = np.linspace(box[3], box[2], GRID, dtype=np.float32)
    g1, g2 = np.meshgrid(a, b)
    return np.stack([g1.ravel(), g2.ravel()], axis=1)


def to_list(a: Any) -> list:
    """Rounded floats for the page (4 significant digits are plenty to draw)."""
    return np.round(np.asarray(a, np.float64), 4).tolist()
