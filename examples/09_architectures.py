"""Section 4 of the course: the four architectures on real data, with learning curves and a confusion matrix.

One dense network, four output heads (``jaxnn.heads``): regression (one linear output, mean
squared error) on the diabetes data; multivariate regression (several linear outputs) for
Iris's petal length and width from its sepals; binary classification (one logit, sigmoid,
binary cross-entropy) for versicolor against virginica; multi-class classification (one
logit per class, softmax, categorical cross-entropy) on Iris and on the handwritten digits.
Each is trained with ``jaxnn.train.fit``, compiled whole: the data are split into training,
validation and test parts (stratified for the classifications), the inputs standardized with
the training part's statistics, and training stops early when the validation loss has not
improved for 25 epochs, keeping the best weights. The metrics are measured on the test part.

Run: python examples/09_architectures.py [--out DIR] [--quick]      (needs: pip install "jaxnn[plot]")
"""

from __future__ import annotations

import argparse
import os

import jax
import jax.numpy as jnp
import numpy as np

try:
    from matplotlib.figure import Figure
except ImportError as err:  # pragma: no cover
    raise SystemExit("this example draws figures with matplotlib: pip install 'jaxnn[plot]'") from err

from jaxnn import data, datasets, heads, metrics, nn, optim, train


def _prepare(key, x, y, *, stratify):
    """Splits 60/20/20 into training, validation and test parts and standardizes the inputs
    with statistics of the training part only."""
    (x_tr, y_tr), (x_va, y_va), (x_te, y_te) = data.train_val_test_split(
        key, x, y, val_fraction=0.2, test_fraction=0.2, stratify=stratify)
    scaler = data.Standardizer.fit(x_tr)
    return scaler, (scaler.transform(x_tr), y_tr), (scaler.transform(x_va), y_va), (scaler.transform(x_te), y_te)


def _train(key, head, train_part, val_part, *, hidden, outputs, epochs, batch_size, lr, activation="relu"):
    """Builds an MLP for ``head`` and trains it with Adam, stopping early on the validation loss."""
    k_init, k_fit = jax.random.split(key)
    net = nn.MLP(hidden, outputs, activation=activation)
    _, params = net.init(k_init, (-1, train_part[0].shape[1]))
    result = train.fit(params, train.Supervised(net.apply, head), *train_part, optimizer=optim.adam(lr), key=k_fit,
                       epochs=epochs, batch_size=batch_size, validation_data=val_part,
                       early_stopping=train.EarlyStopping(monitor="val_loss", patience=25, restore_best=True))
    return net, result


def main(out_dir: str = "out", quick: bool = False) -> dict:
    """Trains the four architectures on real data and draws their learning curves.

    Args:
      out_dir: folder for the figures (created if needed).
      quick: full-batch training (faster to compile).

    Returns:
      ``{"diabetes_r2", "petals_r2", "binary_accuracy", "iris_accuracy", "digits_accuracy", "figures"}``.
    """
    os.makedirs(out_dir, exist_ok=True)
    figures = []
    # quick: full-batch Adam (one step per epoch), which compiles faster than a loop over
    # mini-batches; otherwise mini-batches.
    full = quick
    keys = jax.random.split(jax.random.key(0), 10)
    # The splits keep the kind of array they are given; NumPy arrays are split on the host.
    iris, digits, diabetes = (
        ds._replace(x=np.asarray(ds.x), y=np.asarray(ds.y))
        for ds in (datasets.load_iris(), datasets.load_digits(), datasets.load_diabetes())
    )
    curves = {}

    # 1. Regression: disease progression from 10 baseline variables (targets standardized too).
    y_scaler = data.Standardizer.fit(diabetes.y)
    _, tr, va, (x_te, y_te) = _prepare(keys[0], diabetes.x, np.asarray(y_scaler.transform(diabetes.y)), stratify=False)
    net, res = _train(keys[1], heads.regression(), tr, va, hidden=[16], outputs=1,
                      epochs=300 if full else 200, batch_size=None if full else 32, lr=3e-3, activation="tanh")
    diabetes_pred = y_scaler.inverse_transform(net.apply(res.params, x_te))
    diabetes_true = y_scaler.inverse_transform(y_te)
    diabetes_r2 = float(metrics.r2_score(diabetes_pred, diabetes_true))
    curves["regression: diabetes"] = res.history

    # 2. Multivariate regression: petal length and width (2 outputs) from the sepal measurements.
    _, tr, va, (x_te, y_te) = _prepare(keys[2], iris.x[:, :2], iris.x[:, 2:], stratify=False)
    net, res = _train(keys[3], heads.multivariate_regression(), tr, va, hidden=[16], outputs=2,
                      epochs=300 if full else 200, batch_size=None if full else 16, lr=1e-2)
    petals_pred, petals_true = net.apply(res.params, x_te), y_te
    petals_r2 = float(metrics.r2_score(petals_pred, petals_true))
    curves["multivariate regression: iris petals"] = res.history

    # 3. Binary: versicolor (0) against virginica (1), from the two petal measurements. The
    # split is stratified on the integer labels; the binary head trains on {0, 1} floats [N, 1].
    pair = np.asarray(iris.y) > 0
    x_pair, labels = iris.x[pair][:, 2:], (iris.y[pair] == 2).astype(np.int32)
    scaler, (x_tr, l_tr), (x_va, l_va), (x_te, l_te) = _prepare(keys[4], x_pair, labels, stratify=True)
    as_targets = lambda lab: lab.astype(np.float32)[:, None]
    bin_net, res = _train(keys[5], heads.binary(), (x_tr, as_targets(l_tr)), (x_va, as_targets(l_va)),
                          hidden=[8], outputs=1, epochs=300 if full else 200, batch_size=None if full else 16, lr=1e-2)
    bin_params = res.params
    binary_accuracy = float(metrics.accuracy(heads.binary().predict(bin_net.apply(bin_params, x_te))[:, 0], l_te))
    curves["binary: versicolor vs virginica"] = res.history

    # 4. Multi-class: the three Iris species, and the ten digits.
    _, tr, va, (x_te, y_te) = _prepare(keys[6], iris.x, iris.y, stratify=True)
    net, res = _train(keys[7], heads.multiclass(), tr, va, hidden=[16], outputs=3,
                      epochs=300 if full else 200, batch_size=None if full else 16, lr=1e-2)
    iris_accuracy = float(metrics.accuracy(heads.multiclass().predict(net.apply(res.params, x_te)), y_te))
    curves["multi-class: iris"] = res.history

    _, tr, va, (x_te, y_te) = _prepare(keys[8], digits.x, digits.y, stratify=True)
    net, res = _train(keys[9], heads.multiclass(), tr, va, hidden=[64], outputs=10,
                      epochs=150 if full else 40, batch_size=None if full else 64, lr=1e-2 if full else 3e-3)
    digits_pred = heads.multiclass().predict(net.apply(res.params, x_te))
    digits_accuracy = float(metrics.accuracy(digits_pred, y_te))
    confusion = np.asarray(metrics.confusion_matrix(digits_pred, y_te, 10))
    curves["multi-class: digits"] = res.history

    print(f"regression, diabetes:              test R^2 {diabetes_r2:.3f}")
    print(f"multivariate regression, petals:   test R^2 {petals_r2:.3f}")
    print(f"binary, versicolor vs virginica:   test accuracy {binary_accuracy:.1%}")
    print(f"multi-class, iris:                 test accuracy {iris_accuracy:.1%}")
    print(f"multi-class, digits:               test accuracy {digits_accuracy:.1%}")

    # Learning curves: training loss (mean over each epoch), validation loss (after each
    # epoch) and the epoch whose weights early stopping kept.
    fig = Figure(figsize=(16, 3.6))
    for ax, (title, hist) in zip(fig.subplots(1, len(curves)), curves.items()):
        ax.plot(np.asarray(hist.train_loss), label="train")
        ax.plot(np.asarray(hist.val_loss), label="validation")
        ax.axvline(int(hist.best_epoch), color="k", ls=":", lw=1, label=f"kept: epoch {int(hist.best_epoch)}")
        ax.set_title(title, fontsize=9)
        ax.set(xlabel="epoch", ylabel="loss")
        ax.legend(fontsize=8)
    fig.tight_layout()
    figures.append(os.path.join(out_dir, "09_learning_curves.png"))
    fig.savefig(figures[-1], dpi=100)

    # Regression fits (predicted against true) and the binary decision boundary.
    fig = Figure(figsize=(15, 4.4))
    ax1, ax2, ax3 = fig.subplots(1, 3)
    ax1.scatter(np.asarray(diabetes_true), np.asarray(diabetes_pred), s=12)
    lims = [float(diabetes_true.min()), float(diabetes_true.max())]
    ax1.plot(lims, lims, "k--", lw=1)
    ax1.set(xlabel="true progression", ylabel="predicted",
            title=f"Diabetes (regression): test R$^2$ = {diabetes_r2:.2f}")
    for k, name in enumerate(["petal length", "petal width"]):
        ax2.scatter(np.asarray(petals_true[:, k]), np.asarray(petals_pred[:, k]), s=14, label=name)
    ax2.plot([0, 7], [0, 7], "k--", lw=1)
    ax2.set(xlabel="true (cm)", ylabel="predicted (cm)", title=f"Iris petals from sepals: test R$^2$ = {petals_r2:.2f}")
    ax2.legend(fontsize=8)
    xp = np.asarray(x_pair)
    g1, g2 = np.meshgrid(np.linspace(xp[:, 0].min() - 0.3, xp[:, 0].max() + 0.3, 150),
                         np.linspace(xp[:, 1].min() - 0.2, xp[:, 1].max() + 0.2, 150))
    grid = scaler.transform(jnp.asarray(np.c_[g1.ravel(), g2.ravel()], jnp.float32))
    prob = np.asarray(heads.binary().output_activation(bin_net.apply(bin_params, grid))).reshape(g1.shape)
    ax3.contourf(g1, g2, prob, levels=np.linspace(0, 1, 11), cmap="RdBu_r", alpha=0.6)
    ax3.contour(g1, g2, prob, levels=[0.5], colors="k")
    lab = np.asarray(labels)
    ax3.scatter(*xp[lab == 0].T, s=14, color="C0", edgecolor="k", lw=0.3, label="versicolor")
    ax3.scatter(*xp[lab == 1].T, s=14, color="C3", edgecolor="k", lw=0.3, label="virginica")
    ax3.set(xlabel="petal length (cm)", ylabel="petal width (cm)",
            title=f"Binary: P(virginica), test accuracy {binary_accuracy:.0%}")
    ax3.legend(fontsize=8, loc="upper left")
    for ax in (ax1, ax2, ax3):
        ax.title.set_fontsize(10)
    fig.tight_layout()
    figures.append(os.path.join(out_dir, "09_regression_and_binary.png"))
    fig.savefig(figures[-1], dpi=100)

    fig = Figure(figsize=(6, 5))
    ax = fig.subplots()
    im = ax.imshow(confusion, cmap="Blues")
    for (r, c), v in np.ndenumerate(confusion):
        ax.text(c, r, str(v), ha="center", va="center", fontsize=8, color="white" if v > confusion.max() / 2 else "k")
    ax.set(xticks=range(10), yticks=range(10), xlabel="predicted digit", ylabel="true digit",
           title=f"Digits: confusion matrix on the test split ({digits_accuracy:.1%} right)")
    ax.title.set_fontsize(10)
    fig.colorbar(im, ax=ax)
    fig.tight_layout()
    figures.append(os.path.join(out_dir, "09_digits_confusion.png"))
    fig.savefig(figures[-1], dpi=100)
    return {"diabetes_r2": diabetes_r2, "petals_r2": petals_r2, "binary_accuracy": binary_accuracy,
            "iris_accuracy": iris_accuracy, "digits_accuracy": digits_accuracy, "figures": figures}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="out", help="folder for the figures (default: out)")
    parser.add_argument("--quick", action="store_true", help="a smaller, faster run")
    args = parser.parse_args()
    main(args.out, args.quick)
