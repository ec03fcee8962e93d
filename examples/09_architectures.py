"""Section 4 of the course: the four architectures on real data, with learning curves and a confusion matrix.

One dense network, four output heads (``jaxnn.heads``): regression (one linear output, mean
squared error) on the diabetes data; multivariate regression (several linear outputs) for
Iris's petal length and width from its sepals; binary classification (one logit, sigmoid,
binary cross-entropy) for versicolor against virginica; multi-class classification (one
logit per class, softmax, categorical cross-entropy) on Iris and on the handwritten digits.
Each is trained with ``jaxnn.train.fit``, compiled whole: the data are split into training,
validation and test parts (stratified for the classifications), the inputs standardized with
the training part's statistics, and training stops early when the validation loss has not
improved for 25 epochs, keeping the best weights. The metrics are measured on the test part,
each by its head's own test metric (``head.score``: R^2 or accuracy).

``compute`` does the work and returns a :class:`Result`; ``plot_learning_curves``,
``plot_regression_and_binary`` and ``plot_confusion`` draw its three figures; ``main`` does
both and writes the figures. Each problem is a :class:`Problem`, listed by ``problems``.

Run: python examples/09_architectures.py [--out DIR] [--quick]      (needs: pip install "jaxnn[plot]")
"""

from __future__ import annotations

import argparse
import dataclasses
import os
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from jaxnn import data, datasets, heads, metrics, nn, optim, train

# How each head's test metric (``head.score_name``) is printed.
SCORE_FORMAT = {"r2": "R^2 {:.3f}", "accuracy": "accuracy {:.1%}"}


@dataclasses.dataclass(frozen=True, eq=False)
class Problem:
    """One architecture on one data set: what is learned, from what, and how it is trained.

    Attributes:
      key: a short name, e.g. ``"digits"``.
      kind: the architecture, e.g. ``"multi-class"``.
      data: what the data are, e.g. ``"digits (1797 x 64, 10 classes)"``.
      x: inputs, ``[n, features]``.
      y: targets as the split sees them: values ``[n, outputs]``, or class labels ``[n]``.
      head: the output head (loss, predictions and test metric).
      outputs: the network's outputs.
      hidden: the hidden layers' widths.
      epochs: at most this many epochs (early stopping usually ends sooner).
      batch_size: mini-batch size, or ``None`` for full-batch training.
      learning_rate: Adam's.
      activation: the hidden layers' activation.
      stratify: split keeping the class proportions of ``y`` (class labels only).
      targets: turns a part of ``y`` into what the head trains on (the binary head takes
        {0, 1} floats ``[n, 1]``, while the split needs labels ``[n]``).
    """

    key: str
    kind: str
    data: str
    x: np.ndarray
    y: np.ndarray
    head: heads.Head
    outputs: int
    hidden: tuple[int, ...]
    epochs: int
    batch_size: int | None
    learning_rate: float
    activation: str = "relu"
    stratify: bool = False
    targets: Callable[[np.ndarray], np.ndarray] = np.asarray

    @property
    def architecture(self) -> str:
        """The layer widths, e.g. ``"64-64-10"``."""
        return "-".join(map(str, [self.x.shape[1], *self.hidden, self.outputs]))


def _as_binary_targets(labels: np.ndarray) -> np.ndarray:
    return labels.astype(np.float32)[:, None]


def problems(quick: bool = False) -> tuple[Problem, ...]:
    """The course's four architectures on five problems.

    Args:
      quick: full-batch Adam (one step per epoch), which compiles faster than a loop over
        mini-batches; otherwise mini-batches.

    Returns:
      The problems, regression first.
    """
    full = quick
    # The splits keep the kind of array they are given; NumPy arrays are split on the host.
    iris, digits, diabetes = (
        ds._replace(x=np.asarray(ds.x), y=np.asarray(ds.y))
        for ds in (datasets.load_iris(), datasets.load_digits(), datasets.load_diabetes())
    )
    pair = iris.y > 0  # versicolor (1) against virginica (2), the two species that overlap
    batch = lambda size: None if full else size
    return (
        # Disease progression from 10 baseline variables (targets standardized too).
        Problem("diabetes", "regression", "diabetes (442 x 10)", diabetes.x,
                np.asarray(data.Standardizer.fit(diabetes.y).transform(diabetes.y)), heads.regression(), 1, (16,),
                epochs=300 if full else 200, batch_size=batch(32), learning_rate=3e-3, activation="tanh"),
        # Petal length and width (2 outputs) from the sepal measurements.
        Problem("petals", "multivariate regression", "iris petals from sepals", iris.x[:, :2], iris.x[:, 2:],
                heads.multivariate_regression(), 2, (16,), epochs=300 if full else 200, batch_size=batch(16),
                learning_rate=1e-2),
        # From the two petal measurements, so that the decision boundary can be drawn.
        Problem("binary", "binary", "iris versicolor / virginica", iris.x[pair][:, 2:],
                (iris.y[pair] == 2).astype(np.int32), heads.binary(), 1, (8,), epochs=300 if full else 200,
                batch_size=batch(16), learning_rate=1e-2, stratify=True, targets=_as_binary_targets),
        Problem("iris", "multi-class", "iris (150 x 4, 3 classes)", iris.x, iris.y, heads.multiclass(), 3, (16,),
                epochs=300 if full else 200, batch_size=batch(16), learning_rate=1e-2, stratify=True),
        Problem("digits", "multi-class", "digits (1797 x 64, 10 classes)", digits.x, digits.y, heads.multiclass(),
                10, (64,), epochs=150 if full else 40, batch_size=batch(64), learning_rate=1e-2 if full else 3e-3,
                stratify=True),
    )


@dataclasses.dataclass(frozen=True)
class Fit:
    """One problem trained and tested.

    Attributes:
      problem: the :class:`Problem`.
      score: the head's test metric on the test part (``problem.head.score_name``).
      train_loss: mean training loss of each epoch run, ``[epochs_run]``.
      val_loss: validation loss after each epoch run, ``[epochs_run]``.
      best_epoch: the epoch whose weights early stopping kept.
      test_outputs: the network's outputs (logits) on the test part.
      test_targets: the test part's targets, as the head takes them.
      predict: inputs in the problem's units -> the trained network's outputs (standardized first).
    """

    problem: Problem
    score: float
    train_loss: np.ndarray
    val_loss: np.ndarray
    best_epoch: int
    test_outputs: np.ndarray
    test_targets: np.ndarray
    predict: Callable[[np.ndarray], np.ndarray]


@jax.jit
def _standardize(x_train: jax.Array, x_val: jax.Array) -> tuple[data.Standardizer, jax.Array, jax.Array]:
    # One compiled call: run eagerly, each of the standardizer's operations would be
    # compiled on its own, for each problem's shapes.
    scaler = data.Standardizer.fit(x_train)
    return scaler, scaler.transform(x_train), scaler.transform(x_val)


def train_and_test(problem: Problem, split_key: jax.Array, train_key: jax.Array) -> Fit:
    """Splits 60/20/20, standardizes the inputs, trains with Adam and early stopping, and tests.

    Args:
      problem: what to train.
      split_key: for the split.
      train_key: for the initialization and the shuffles.

    Returns:
      The :class:`Fit`.
    """
    k_init, k_fit = jax.random.split(train_key)
    (x_tr, y_tr), (x_va, y_va), (x_te, y_te) = data.train_val_test_split(
        split_key, problem.x, problem.y, val_fraction=0.2, test_fraction=0.2, stratify=problem.stratify)
    # Inputs standardized with the statistics of the training part only.
    scaler, x_tr, x_va = _standardize(x_tr, x_va)
    y_tr, y_va, y_te = (problem.targets(part) for part in (y_tr, y_va, y_te))
    net = nn.MLP(list(problem.hidden), problem.outputs, activation=problem.activation)
    _, params = net.init(k_init, (-1, problem.x.shape[1]))
    result = train.fit(params, train.Supervised(net.apply, problem.head), x_tr, y_tr,
                       optimizer=optim.adam(problem.learning_rate), key=k_fit, epochs=problem.epochs,
                       batch_size=problem.batch_size, validation_data=(x_va, y_va),
                       early_stopping=train.EarlyStopping(monitor="val_loss", patience=25, restore_best=True))
    predict = jax.jit(lambda x: net.apply(result.params, scaler.transform(x)))
    outputs = predict(x_te)
    hist, run = result.history, int(result.history.epochs_run)
    return Fit(problem=problem, score=float(problem.head.score(outputs, y_te)),
               train_loss=np.asarray(hist.train_loss[:run]), val_loss=np.asarray(hist.val_loss[:run]),
               best_epoch=int(hist.best_epoch), test_outputs=np.asarray(outputs), test_targets=np.asarray(y_te),
               predict=lambda x: np.asarray(predict(jnp.asarray(x, jnp.float32))))


@dataclasses.dataclass(frozen=True)
class Result:
    """What :func:`compute` found.

    Attributes:
      fits: each problem trained and tested, ``{problem.key: Fit}`` in the order of :func:`problems`.
      diabetes_true: the diabetes test targets in the data's units, ``[n_test, 1]``.
      diabetes_pred: the network's predictions in the same units.
      binary_grid: the petal (length, width) plane, ``([g], [g])``.
      binary_prob: P(virginica) over it, ``[g, g]``.
      confusion: the digits' confusion matrix on the test part, ``[10, 10]`` (rows: true digits).
    """

    fits: dict[str, Fit]
    diabetes_true: np.ndarray
    diabetes_pred: np.ndarray
    binary_grid: tuple[np.ndarray, np.ndarray]
    binary_prob: np.ndarray
    confusion: np.ndarray


def compute(quick: bool = False) -> Result:
    """Trains the four architectures on real data and tests them.

    Args:
      quick: full-batch training (faster to compile).

    Returns:
      The :class:`Result`.
    """
    todo = problems(quick)
    keys = jax.random.split(jax.random.key(0), 2 * len(todo))  # a split key and a training key each
    fits = {p.key: train_and_test(p, keys[2 * i], keys[2 * i + 1]) for i, p in enumerate(todo)}

    # The diabetes fit in the data's own units: undo the targets' standardization (the
    # scaler of problems(), fit again on the same targets).
    y_scaler = data.Standardizer.fit(datasets.load_diabetes().y)
    diabetes = fits["diabetes"]
    diabetes_true, diabetes_pred = (np.asarray(y_scaler.inverse_transform(v))
                                    for v in (diabetes.test_targets, diabetes.test_outputs))
    # The binary network's probability over the petal plane (the features it was trained on).
    binary = fits["binary"]
    xp = binary.problem.x
    g1 = np.linspace(xp[:, 0].min() - 0.3, xp[:, 0].max() + 0.3, 150)
    g2 = np.linspace(xp[:, 1].min() - 0.2, xp[:, 1].max() + 0.2, 150)
    grid = np.stack(np.meshgrid(g1, g2), axis=-1).reshape(-1, 2)
    prob = np.asarray(binary.problem.head.output_activation(binary.predict(grid))).reshape(len(g2), len(g1))
    digits = fits["digits"]
    confusion = metrics.confusion_matrix(digits.problem.head.predict(digits.test_outputs), digits.test_targets, 10)
    return Result(fits=fits, diabetes_true=diabetes_true, diabetes_pred=diabetes_pred, binary_grid=(g1, g2),
                  binary_prob=prob, confusion=np.asarray(confusion))


def _title(problem: Problem) -> str:
    return f"{problem.kind}: {problem.data.split(' (')[0]}"


def plot_learning_curves(result: Result, fig) -> None:
    """Draws each problem's training and validation loss and the epoch kept into ``fig`` (one axes each)."""
    for ax, f in zip(fig.subplots(1, len(result.fits)), result.fits.values()):
        ax.plot(f.train_loss, label="train")
        ax.plot(f.val_loss, label="validation")
        ax.axvline(f.best_epoch, color="k", ls=":", lw=1, label=f"kept: epoch {f.best_epoch}")
        ax.set_title(_title(f.problem), fontsize=9)
        ax.set(xlabel="epoch", ylabel="loss")
        ax.legend(fontsize=8)


def plot_regression_and_binary(result: Result, fig) -> None:
    """Draws both regressions' predictions against the truth and the binary decision surface (three axes)."""
    ax1, ax2, ax3 = fig.subplots(1, 3)
    diabetes, petals, binary = (result.fits[k] for k in ("diabetes", "petals", "binary"))
    ax1.scatter(result.diabetes_true, result.diabetes_pred, s=12)
    lims = [float(result.diabetes_true.min()), float(result.diabetes_true.max())]
    ax1.plot(lims, lims, "k--", lw=1)
    ax1.set(xlabel="true progression", ylabel="predicted",
            title=f"Diabetes (regression): test R$^2$ = {diabetes.score:.2f}")
    for k, name in enumerate(["petal length", "petal width"]):
        ax2.scatter(petals.test_targets[:, k], petals.test_outputs[:, k], s=14, label=name)
    ax2.plot([0, 7], [0, 7], "k--", lw=1)
    ax2.set(xlabel="true (cm)", ylabel="predicted (cm)", title=f"Iris petals from sepals: test R$^2$ = {petals.score:.2f}")
    ax2.legend(fontsize=8)
    g1, g2 = result.binary_grid
    ax3.contourf(g1, g2, result.binary_prob, levels=np.linspace(0, 1, 11), cmap="RdBu_r", alpha=0.6)
    ax3.contour(g1, g2, result.binary_prob, levels=[0.5], colors="k")
    xp, lab = binary.problem.x, binary.problem.y
    ax3.scatter(*xp[lab == 0].T, s=14, color="C0", edgecolor="k", lw=0.3, label="versicolor")
    ax3.scatter(*xp[lab == 1].T, s=14, color="C3", edgecolor="k", lw=0.3, label="virginica")
    ax3.set(xlabel="petal length (cm)", ylabel="petal width (cm)",
            title=f"Binary: P(virginica), test accuracy {binary.score:.0%}")
    ax3.legend(fontsize=8, loc="upper left")
    for ax in (ax1, ax2, ax3):
        ax.title.set_fontsize(10)


def plot_confusion(result: Result, fig) -> None:
    """Draws the digits' confusion matrix on the test part into ``fig`` (one axes and a color bar)."""
    ax = fig.subplots()
    confusion = result.confusion
    im = ax.imshow(confusion, cmap="Blues")
    for (r, c), v in np.ndenumerate(confusion):
        ax.text(c, r, str(v), ha="center", va="center", fontsize=8, color="white" if v > confusion.max() / 2 else "k")
    ax.set(xticks=range(10), yticks=range(10), xlabel="predicted digit", ylabel="true digit",
           title=f"Digits: confusion matrix on the test split ({result.fits['digits'].score:.1%} right)")
    ax.title.set_fontsize(10)
    fig.colorbar(im, ax=ax)


# Each figure main writes: file name, size (inches) and what draws it.
FIGURES = {
    "09_learning_curves.png": ((16, 3.6), plot_learning_curves),
    "09_regression_and_binary.png": ((15, 4.4), plot_regression_and_binary),
    "09_digits_confusion.png": ((6, 5), plot_confusion),
}


def main(out_dir: str = "out", quick: bool = False) -> dict:
    """Trains the four architectures on real data and draws their learning curves.

    Args:
      out_dir: folder for the figures (created if needed).
      quick: full-batch training (faster to compile).

    Returns:
      ``{"diabetes_r2", "petals_r2", "binary_accuracy", "iris_accuracy", "digits_accuracy", "figures"}``.
    """
    try:
        from matplotlib.figure import Figure
    except ImportError as err:  # pragma: no cover
        raise SystemExit("this example draws figures with matplotlib: pip install 'jaxnn[plot]'") from err
    r = compute(quick)
    scores = {}
    for f in r.fits.values():
        p = f.problem
        scores[f"{p.key}_{p.head.score_name}"] = f.score
        print(f"{p.kind}, {p.data}: test {SCORE_FORMAT[p.head.score_name].format(f.score)} "
              f"(kept epoch {f.best_epoch} of {len(f.train_loss)} run)")

    os.makedirs(out_dir, exist_ok=True)
    figures = []
    for name, (size, draw) in FIGURES.items():
        fig = Figure(figsize=size, layout="constrained")
        draw(r, fig)
        figures.append(os.path.join(out_dir, name))
        fig.savefig(figures[-1], dpi=100)
    return {**scores, "figures": figures}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="out", help="folder for the figures (default: out)")
    parser.add_argument("--quick", action="store_true", help="a smaller, faster run")
    args = parser.parse_args()
    main(args.out, args.quick)
