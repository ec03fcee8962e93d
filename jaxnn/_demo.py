"""``jaxnn demo``: every section of the course at a small size, a summary table and figures.

Each section trains (or computes) one thing, returns rows for the summary table and, when
matplotlib is installed, draws a figure with :class:`matplotlib.figure.Figure` (no pyplot,
so no global state and no GUI backend). The fuller, commented versions of the same
sections are the scripts in ``examples/`` of the source repository.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import time
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxnn import (
    backprop,
    combining,
    data,
    datasets,
    descent,
    heads,
    losses,
    metrics,
    nn,
    optim,
    perceptron,
    testfunctions,
    train,
)

__all__ = ["Row", "run", "sections"]


@dataclasses.dataclass
class Row:
    """One line of the summary table.

    Attributes:
      section: the course section (e.g. ``"2 Perceptron"``).
      what: what was trained or computed.
      data: on what.
      result: the metric reached.
    """

    section: str
    what: str
    data: str
    result: str


@dataclasses.dataclass
class _Ctx:
    out: str
    quick: bool
    figure: Any  # matplotlib.figure.Figure, or None without matplotlib
    written: list[str]

    def save(self, fig: Any, name: str) -> None:
        path = os.path.join(self.out, name)
        fig.savefig(path, dpi=100)
        self.written.append(path)


def _init(net: nn.Layer, key: jax.Array, features: int) -> Any:
    # One compiled call instead of a small compilation per eager operation.
    return jax.jit(lambda k: net.init(k, (-1, features))[1])(key)


# ----------------------------------------------------------------------------- 2. perceptron


def _perceptron(ctx: _Ctx) -> list[Row]:
    n = 80
    offset = np.array([3.0, 2.0], np.float32)  # off the origin, so the bias must be learned too
    z, y, w_true = datasets.linearly_separable(jax.random.key(0), n, dim=2, margin=0.05)
    x = z + offset
    res = perceptron.perceptron(x, y, max_epochs=200)
    # Novikoff's bound (R / gamma)^2, gamma from the data's own (normalized, augmented) separator.
    x_aug = np.concatenate([np.ones((n, 1)), np.asarray(x)], axis=1)
    w_aug = np.r_[-np.asarray(w_true) @ offset, np.asarray(w_true)]
    gamma = float(np.min(np.asarray(y) * (x_aug @ w_aug)) / np.linalg.norm(w_aug))
    bound = (np.max(np.linalg.norm(x_aug, axis=1)) / gamma) ** 2
    rows = [
        Row("2 Perceptron", "perceptron (Rosenblatt)", f"{n} separable 2-D points",
            f"{'converged' if bool(res.converged) else 'NOT converged'} in {int(res.epochs)} epochs, "
            f"{int(res.updates)} updates (Novikoff bound {bound:.0f})"),
    ]
    xs, ys = datasets.xor()
    bad = perceptron.perceptron(xs, ys, max_epochs=20)
    pocket = perceptron.pocket_perceptron(xs, ys, max_epochs=20)
    proof = combining.certifies_not_separable(xs, ys, jnp.ones(4))
    mistakes = np.asarray(bad.mistakes)
    rows.append(Row("2 Limitations", "perceptron, pocket", "the 4 XOR points",
                    f"{'converged' if bool(bad.converged) else 'never converges'}: >= {mistakes.min()} mistakes "
                    f"in each of 20 epochs; best line {int(pocket.errors)}/4 wrong"
                    f"{'; proof: not separable' if proof else ''}"))
    if ctx.figure is not None:
        fig = ctx.figure(figsize=(10, 4))
        ax, ax2 = fig.subplots(1, 2)
        xn, yn = np.asarray(x), np.asarray(y)
        ax.scatter(*xn[yn > 0].T, marker="o", label="+1")
        ax.scatter(*xn[yn < 0].T, marker="x", label="-1")
        grid = np.linspace(xn[:, 0].min() - 0.3, xn[:, 0].max() + 0.3, 2)
        epochs = int(res.epochs)
        for e in range(1, epochs + 1):
            w = np.asarray(perceptron.perceptron_numpy(x, y, max_epochs=e).weights)
            last = e == epochs
            if abs(w[2]) > 1e-12:
                ax.plot(grid, -(w[0] + w[1] * grid) / w[2], color="k" if last else "C2",
                        alpha=1.0 if last else 0.15 + 0.6 * e / epochs, lw=2 if last else 1,
                        label="final line" if last else ("after each epoch" if e == 1 else None))
        ax.set(title=f"Perceptron: the line after each of {epochs} epochs", xlabel="$x_1$", ylabel="$x_2$",
               xlim=(grid[0], grid[1]), ylim=(xn[:, 1].min() - 0.5, xn[:, 1].max() + 0.5))
        ax.legend(fontsize=8)
        ax2.bar(np.arange(1, 21), mistakes, color="C3")
        ax2.set(title="XOR: mistakes per epoch never reach 0", xlabel="epoch", ylabel="mistakes (of 4)")
        fig.tight_layout()
        ctx.save(fig, "01_perceptron_and_xor.png")
    return rows


# ----------------------------------------------------------------------------- 2. combining


def _combining(ctx: _Ctx) -> list[Row]:
    xs, ys = datasets.xor()
    y_col = ys.astype(jnp.float32)[:, None]
    linear = nn.MLP([2], 1, activation="identity")
    params = _init(linear, jax.random.key(2), 2)
    fitted = train.fit(params, train.Supervised(linear.apply, heads.regression()), xs, y_col,
                       optimizer=optim.sgd(0.1), key=jax.random.key(3), epochs=300)
    collapsed = combining.collapse_linear(fitted.params)
    lin_acc = float(jnp.mean(jnp.where(linear.apply(fitted.params, xs)[:, 0] >= 0, 1, -1) == ys))
    tanh_params, tanh_loss = combining.train_xor_tanh(jax.random.key(4), hidden_size=4, steps=500)
    tanh_net = nn.MLP([4], 1, activation="tanh")
    tanh_acc = float(jnp.mean(jnp.where(tanh_net.apply(tanh_params, xs)[:, 0] >= 0, 1, -1) == ys))
    rows = [
        Row("2 Combining", "2-2-1, linear hidden layer", "XOR",
            f"accuracy {lin_acc:.0%}: one layer in disguise (|w| = {float(jnp.linalg.norm(collapsed['w'])):.0e})"),
        Row("2 Combining", "2-4-1, tanh hidden layer", "XOR",
            f"accuracy {tanh_acc:.0%}, loss {float(tanh_loss[0]):.3f} -> {float(tanh_loss[-1]):.1e}"),
    ]
    if ctx.figure is not None:
        g = np.linspace(-2, 2, 101)
        gx, gy = np.meshgrid(g, g)
        grid = np.stack([gx.ravel(), gy.ravel()], axis=1).astype(np.float32)
        sign_net, sign_params = combining.xor_sign_network()
        outs = jax.jit(lambda g: (linear.apply(fitted.params, g), sign_net.apply(sign_params, g),
                                  tanh_net.apply(tanh_params, g)))(grid)
        titles = ["linear hidden layer: one half-plane", "hand-set sign units (OR and not AND)",
                  "trained tanh hidden layer"]
        panels = list(zip(titles, outs))
        fig = ctx.figure(figsize=(12, 4))
        for ax, (title, out) in zip(fig.subplots(1, 3), panels):
            ax.contourf(gx, gy, np.where(np.asarray(out)[:, 0] >= 0, 1.0, -1.0).reshape(gx.shape),
                        levels=[-2, 0, 2], colors=["#f4a6a6", "#a6c8f4"])
            xn, yn = np.asarray(xs), np.asarray(ys)
            ax.scatter(*xn[yn > 0].T, c="C0", marker="o", s=80, label="+1")
            ax.scatter(*xn[yn < 0].T, c="C3", marker="x", s=80, label="-1")
            ax.set(title=title, xlabel="$x_1$", ylabel="$x_2$")
        fig.tight_layout()
        ctx.save(fig, "02_combining_xor.png")
    return rows


# ----------------------------------------------------------------------------- 3. gradient descent


def _descent(ctx: _Ctx) -> list[Row]:
    curvature = jnp.array([1.0, 10.0])
    bowl = lambda p: testfunctions.quadratic_bowl(p, curvature)
    etas = np.array([0.02, 0.1, 0.22], np.float32)  # 2 / L = 0.2 is the stability limit
    steps = 40
    runs = descent.sweep_learning_rates(bowl, jnp.array([-4.0, 1.5]), optim.sgd, etas, steps, max_growth=1e3)
    finals = []
    for i, eta in enumerate(etas):
        if bool(runs.diverged[i]):
            finals.append(f"diverges (step {int(runs.diverged_at[i])})")
        else:
            finals.append(f"{float(runs.values[i, -1]):.2g}")
    well = jax.vmap(lambda x0: descent.minimize(testfunctions.double_well, x0, optim.sgd(0.02), 60))(
        jnp.array([-0.5, 2.0]))
    ends = np.asarray(well.x)
    rows = [
        Row("3 Gradient descent", f"GD, eta {' / '.join(f'{e:g}' for e in etas)}", "(x^2 + 10 y^2) / 2",
            f"f after {steps} steps: {' / '.join(finals)}"),
        Row("3 Gradient descent", "GD from x0 = -0.5 and 2", "x^4 - 3x^2 + x",
            f"ends at {ends[0]:.3f} (global min), {ends[1]:.3f} (local min: trapped)"),
    ]
    if ctx.figure is not None:
        fig = ctx.figure(figsize=(11, 4))
        ax, ax2 = fig.subplots(1, 2)
        g1, g2 = np.meshgrid(np.linspace(-4.5, 4.5, 121), np.linspace(-2.5, 2.5, 121))
        z = 0.5 * (g1**2 + 10 * g2**2)
        ax.contour(g1, g2, z, levels=np.geomspace(0.05, 60, 12), colors="0.7", linewidths=0.8)
        traj = np.asarray(runs.xs)
        for i, (eta, label) in enumerate(zip(etas, ["too small", "right", "too large"])):
            stop = int(runs.diverged_at[i]) if bool(runs.diverged[i]) else steps + 1
            ax.plot(*traj[i, :stop].T, "o-", ms=2.5, lw=1, label=f"eta={eta:g} ({label})")
        ax.set(title="Gradient descent on an elongated bowl", xlabel="x", ylabel="y",
               xlim=(-4.5, 4.5), ylim=(-2.5, 2.5))
        ax.legend(fontsize=8, loc="lower right")
        xx = np.linspace(-2.0, 2.1, 200)
        ax2.plot(xx, xx**4 - 3 * xx**2 + xx, color="0.4")
        for i, c in enumerate(["C0", "C3"]):
            path = np.asarray(well.xs[i])
            ax2.plot(path, path**4 - 3 * path**2 + path, "o", color=c, ms=3,
                     label=f"from x0={path[0]:g} -> {path[-1]:.2f}")
        ax2.set(title="The local-minimum trap", xlabel="x", ylabel="f(x)")
        ax2.legend(fontsize=8)
        fig.tight_layout()
        ctx.save(fig, "03_gradient_descent.png")
    return rows


# ----------------------------------------------------------------------------- 3. losses


def _losses(ctx: _Ctx) -> list[Row]:
    m = r = jnp.linspace(-3, 3, 241)  # margins y f (label +1) and errors f - y (target 0)

    @jax.jit
    def curves(m):
        ones, zeros = jnp.ones_like(m), jnp.zeros_like(m)
        margin = {
            "0/1": losses.zero_one_loss(m, ones),
            "perceptron": losses.perceptron_loss(m, ones),
            "hinge": losses.hinge_loss(m, ones),
            "squared hinge": losses.squared_hinge_loss(m, ones),
            "logistic (BCE)": losses.binary_cross_entropy_with_logits(m, ones),
        }
        error = {
            "squared (MSE)": losses.mean_squared_error(m, zeros),
            "absolute (MAE)": losses.mean_absolute_error(m, zeros),
            "Huber": losses.huber_loss(m, zeros),
            "log-cosh": losses.log_cosh(m, zeros),
        }
        return margin, error

    margin, error = curves(m)
    order = ["0/1", "perceptron", "hinge", "squared hinge", "logistic (BCE)"]
    margin = {k: margin[k] for k in order}  # jit returns dicts with sorted keys
    error = {k: error[k] for k in ["squared (MSE)", "absolute (MAE)", "Huber", "log-cosh"]}
    at_zero = {k: float(v[120]) for k, v in margin.items()}
    rows = [Row("3 Loss functions", f"{len(margin) + len(error)} losses", "margins, errors",
                "at margin 0: " + ", ".join(f"{k} {at_zero[k]:.3g}"
                                            for k in ("perceptron", "hinge", "logistic (BCE)")))]
    if ctx.figure is not None:
        fig = ctx.figure(figsize=(11, 4))
        ax, ax2 = fig.subplots(1, 2)
        for k, v in margin.items():
            ax.plot(m, v, label=k)
        ax.set(title="Classification losses against the margin y f(x)", xlabel="margin y f(x)", ylabel="loss",
               ylim=(-0.1, 4))
        ax.legend(fontsize=8)
        for k, v in error.items():
            ax2.plot(r, v, label=k)
        ax2.set(title="Regression losses against the error f(x) - y", xlabel="error", ylabel="loss", ylim=(-0.1, 4))
        ax2.legend(fontsize=8)
        fig.tight_layout()
        ctx.save(fig, "04_losses.png")
    return rows


# ----------------------------------------------------------------------------- 3. optimizers


_RACE = {
    "sgd": lambda: optim.sgd(1e-3),
    "momentum": lambda: optim.momentum(1e-3, 0.9),
    "rmsprop": lambda: optim.rmsprop(1e-2),
    "adagrad": lambda: optim.adagrad(0.3),
    "adam": lambda: optim.adam(5e-2),
}


def _optimizers(ctx: _Ctx) -> list[Row]:
    steps = 300 if ctx.quick else 1000
    x0 = jnp.array([-1.2, 1.0])
    # Every race in one compiled program.
    runs = jax.jit(lambda x0: {name: descent.minimize(testfunctions.rosenbrock, x0, make(), steps)
                               for name, make in _RACE.items()})(x0)
    runs = {name: runs[name] for name in _RACE}
    dist = {k: float(jnp.linalg.norm(r.x - jnp.asarray(testfunctions.ROSENBROCK_MINIMUM, jnp.float32)))
            for k, r in runs.items()}
    rows = [Row("3 Optimizers", f"{len(runs)} optimizers, {steps} steps", "Rosenbrock",
                "|x - x*|: " + ", ".join(f"{k} {v:.2g}" for k, v in dist.items()))]
    if ctx.figure is not None:
        fig = ctx.figure(figsize=(11, 4.5))
        ax, ax2 = fig.subplots(1, 2)
        g1, g2 = np.meshgrid(np.linspace(-2, 2, 161), np.linspace(-1, 3, 161))
        z = 100 * (g2 - g1**2) ** 2 + (1 - g1) ** 2
        ax.contour(g1, g2, z, levels=np.geomspace(0.5, 2000, 14), colors="0.75", linewidths=0.7)
        for k, r in runs.items():
            ax.plot(*np.asarray(r.xs).T, lw=1.2, label=k)
            ax2.semilogy(np.maximum(np.asarray(r.values), 1e-12), label=k)
        ax.plot(1, 1, "k*", ms=12)
        ax.set(title="Optimizers racing on Rosenbrock", xlabel="x", ylabel="y", xlim=(-2, 2), ylim=(-1, 3))
        ax.legend(fontsize=8)
        ax2.set(title="f along the way", xlabel="step", ylabel="f(x)")
        fig.tight_layout()
        ctx.save(fig, "05_optimizers.png")
    return rows


# ----------------------------------------------------------------------------- 3. backprop, 4. matrix form


def _backprop_and_matrix(ctx: _Ctx) -> list[Row]:
    w = backprop.CourseWeights(0.3, -0.8, 0.1, 0.5, -0.4)
    x, y = jnp.array([1.0, 2.0]), jnp.array(1.0)
    hand = jax.jit(backprop.course_gradients)(w, x, y)
    auto = jax.jit(jax.grad(backprop.course_error))(w, x, y)
    course_diff = max(abs(float(a) - float(b)) for a, b in zip(hand, auto))

    net = nn.MLP([8, 8], 3, activation="tanh")
    params = _init(net, jax.random.key(5), 4)
    xb = jax.random.normal(jax.random.key(6), (16, 4))
    yb = jax.random.randint(jax.random.key(7), (16,), 0, 3)

    @jax.jit
    def compare(params, xb, yb):
        _, g_hand = backprop.backprop(params, xb, yb, activation="tanh", loss="categorical_cross_entropy_with_logits")
        loss = lambda p: losses.categorical_cross_entropy_with_logits(net.apply(p, xb), yb, reduction="mean")
        g_auto = jax.grad(loss)(params)
        diffs = [jnp.max(jnp.abs(a - b)) for a, b in zip(jax.tree.leaves(g_hand), jax.tree.leaves(g_auto))]
        return jnp.max(jnp.stack(diffs))

    mlp_diff = float(compare(params, xb, yb))

    course = nn.MLP([5], 4, activation="tanh", output_activation="sigmoid")
    p3 = _init(course, jax.random.key(8), 3)
    x3 = jax.random.normal(jax.random.key(9), (10, 3))

    @jax.jit
    def matrix_form(p, x3):
        weights = [nn.to_augmented(layer) for layer in p]
        return nn.forward_matrix_form(x3, weights, ["tanh", "sigmoid"]), course.apply(p, x3), weights

    o_matrix, o_apply, weights = matrix_form(p3, x3)
    shape = lambda a: "x".join(map(str, a.shape))
    return [
        Row("3 Backpropagation", "gradients by hand", "course's 2-1-1 net",
            f"max |hand - jax.grad| = {course_diff:.1e}"),
        Row("3 Backpropagation", "manual backprop, 4-8-8-3 MLP", "16 random examples",
            f"max |hand - jax.grad| = {mlp_diff:.1e}"),
        Row("4 Matrix form", "3-5-4 net in matrix form", "10 random inputs",
            f"W1 {shape(weights[0])}, W2 {shape(weights[1])}, O {shape(o_matrix)}; "
            f"max |matrix - MLP.apply| = {float(jnp.max(jnp.abs(o_matrix - o_apply))):.1e}"),
    ]


# ----------------------------------------------------------------------------- 4. architectures


def _split(key: jax.Array, x: Any, y: Any, stratify: bool, binary: bool) -> tuple[Any, ...]:
    (x_tr, y_tr), (x_te, y_te) = data.train_test_split(key, x, y, test_fraction=0.25, stratify=stratify)
    scaler = data.Standardizer.fit(x_tr)
    if binary:  # split on the class labels [N], train on {0, 1} floats [N, 1]
        y_tr, y_te = y_tr.astype(np.float32)[:, None], y_te.astype(np.float32)[:, None]
    return scaler.transform(x_tr), y_tr, scaler.transform(x_te), y_te


def _architectures(ctx: _Ctx) -> list[Row]:
    q = ctx.quick
    key = jax.random.key(10)
    # NumPy arrays: the splits then run on the host.
    iris, digits, diabetes = (ds._replace(x=np.asarray(ds.x), y=np.asarray(ds.y))
                              for ds in (datasets.load_iris(), datasets.load_digits(), datasets.load_diabetes()))
    dy = (diabetes.y - diabetes.y.mean()) / diabetes.y.std()
    pair = iris.y > 0  # versicolor (1) against virginica (2): the two that overlap
    # quick: full-batch Adam (faster to compile); otherwise mini-batches.
    batch = (lambda b: None) if q else (lambda b: b)
    problems = [
        # kind, data, (x, y), head, hidden, outputs, epochs, batch, lr, stratify
        ("regression", "diabetes (442 x 10)", (diabetes.x, dy), heads.regression(),
         [16], 1, 300 if q else 100, batch(32), 3e-3, False),
        ("multivariate regression", "iris petals from sepals",
         (iris.x[:, :2], iris.x[:, 2:]), heads.multivariate_regression(), [16], 2, 300 if q else 200, batch(16), 1e-2,
         False),
        ("binary", "iris versicolor/virginica",
         (iris.x[pair], (iris.y[pair] == 2).astype(np.int32)), heads.binary(), [8], 1, 100 if q else 20, batch(16),
         1e-2, True),
        ("multi-class", "iris (150 x 4, 3 classes)", (iris.x, iris.y), heads.multiclass(), [16], 3,
         300 if q else 150, batch(16), 1e-2, True),
        ("multi-class", "digits (1797 x 64, 10)", (digits.x, digits.y), heads.multiclass(), [32], 10,
         150 if q else 30, batch(64), 1e-2 if q else 3e-3, True),
    ]
    rows, curves, digits_cm = [], [], None
    for i, (kind, what, (x, y), head, hidden, outputs, epochs, bs, lr, strat) in enumerate(problems):
        k_split, k_init, k_fit = jax.random.split(jax.random.fold_in(key, i), 3)
        x_tr, y_tr, x_te, y_te = _split(k_split, x, y, strat, head.name == "binary")
        net = nn.MLP(hidden, outputs, activation="relu" if kind != "regression" else "tanh")
        params = _init(net, k_init, x.shape[1])
        res = train.fit(params, train.Supervised(net.apply, head), x_tr, y_tr, optimizer=optim.adam(lr), key=k_fit,
                        epochs=epochs, batch_size=bs, validation_data=(x_te, y_te))

        @jax.jit
        def evaluate(params, x_te, y_te):
            out = net.apply(params, x_te)
            if head.name in ("regression", "multivariate_regression"):
                return metrics.r2_score(out, y_te), None
            pred, true = head.predict(out), y_te.astype(jnp.int32)
            if head.name == "binary":
                pred, true = pred[:, 0], true[:, 0]
            cm = metrics.confusion_matrix(pred, true, outputs) if outputs == 10 else None
            return metrics.accuracy(pred, true), cm

        value, cm = evaluate(res.params, x_te, y_te)
        if head.name in ("regression", "multivariate_regression"):
            score = f"test R^2 {float(value):.3f}"
        else:
            score = f"test accuracy {float(value):.1%}"
        if cm is not None:
            digits_cm = np.asarray(cm)
        arch = "-".join(map(str, [x.shape[1], *hidden, outputs]))
        rows.append(Row("4 Architectures", f"{kind}, {arch} MLP", what, f"{score} ({epochs} epochs)"))
        curves.append((f"{kind}: {what.split(' (')[0]}", np.asarray(res.history.train_loss),
                       np.asarray(res.history.val_loss)))
    if ctx.figure is not None:
        fig = ctx.figure(figsize=(15, 3.4))
        for ax, (title, tr, va) in zip(fig.subplots(1, len(curves)), curves):
            ax.plot(tr, label="train")
            ax.plot(va, label="test")
            ax.set(title=title, xlabel="epoch", ylabel="loss")
            ax.title.set_fontsize(9)
            ax.legend(fontsize=8)
        fig.tight_layout()
        ctx.save(fig, "06_learning_curves.png")
        if digits_cm is not None:
            fig = ctx.figure(figsize=(5, 4.5))
            ax = fig.subplots()
            im = ax.imshow(digits_cm, cmap="Blues")
            for (r, c), v in np.ndenumerate(digits_cm):
                ax.text(c, r, str(v), ha="center", va="center", fontsize=7,
                        color="white" if v > digits_cm.max() / 2 else "black")
            ax.set(title="Digits: confusion matrix (test)", xlabel="predicted", ylabel="true",
                   xticks=range(10), yticks=range(10))
            fig.colorbar(im, ax=ax)
            fig.tight_layout()
            ctx.save(fig, "07_digits_confusion.png")
    return rows


# ----------------------------------------------------------------------------- 4. sweep


def _sweep(ctx: _Ctx) -> list[Row]:
    seeds = 4 if ctx.quick else 8
    lrs = np.geomspace(1e-3, 300.0, 6 if ctx.quick else 12).astype(np.float32)
    x, y = datasets.two_moons(jax.random.key(11), 200, noise=0.15)
    y = y.astype(jnp.float32)[:, None]
    net = nn.MLP([16], 1, activation="tanh")
    members = len(lrs) * seeds
    keys = jax.random.split(jax.random.key(12), members)
    lr_of = np.repeat(lrs, seeds)
    epochs = 60 if ctx.quick else 150
    res = train.sweep(lambda k: net.init(k, (-1, 2))[1], train.Supervised(net.apply, heads.binary()), x, y,
                      make_optimizer=lambda learning_rate: optim.sgd(learning_rate), keys=keys,
                      hyperparams={"learning_rate": lr_of}, epochs=epochs)
    last = np.asarray(res.history.train_loss)[np.arange(members), np.asarray(res.history.epochs_run) - 1]
    stopped = np.asarray(res.history.nonfinite_epoch) >= 0
    final = np.where(stopped | ~np.isfinite(last), np.inf, last).reshape(len(lrs), seeds)
    median = np.median(final, axis=1)
    best = int(np.argmin(median))
    rows = [Row("4 Sweep", f"{members} 2-16-1 nets in one call", "two moons (200)",
                f"{len(lrs)} lrs x {seeds} seeds; best lr {lrs[best]:.3g}: median loss {median[best]:.3f} "
                f"(lr {lrs[0]:.0e}: {median[0]:.3f})")]
    if ctx.figure is not None:
        fig = ctx.figure(figsize=(6, 4))
        ax = fig.subplots()
        ceiling = np.max(final[np.isfinite(final)]) * 3  # where diverged runs are drawn
        for s in range(seeds):
            ax.loglog(lrs, np.where(np.isfinite(final[:, s]), final[:, s], ceiling), "o", color="C0", alpha=0.35, ms=4)
        ax.loglog(lrs, np.where(np.isfinite(median), median, ceiling), "-", color="C3", lw=2, label="median over seeds")
        ax.set(title=f"Final loss after {epochs} epochs of GD, {members} models in one call",
               xlabel="learning rate", ylabel="final training loss")
        ax.title.set_fontsize(9)
        ax.legend()
        fig.tight_layout()
        ctx.save(fig, "08_sweep.png")
    return rows


def sections() -> dict[str, tuple[str, Callable[[_Ctx], list[Row]]]]:
    """The demo's sections in course order: ``{key: (title, function)}``."""
    return {
        "perceptron": ("the perceptron and its limit", _perceptron),
        "combining": ("combining perceptrons", _combining),
        "descent": ("gradient descent", _descent),
        "losses": ("loss functions", _losses),
        "optimizers": ("optimizers", _optimizers),
        "backprop": ("backpropagation and the matrix form", _backprop_and_matrix),
        "architectures": ("the four architectures on real data", _architectures),
        "sweep": ("a learning-rate sweep", _sweep),
    }


def _format_table(rows: list[Row]) -> str:
    header = ["section", "trained / computed", "on", "result"]
    cells = [[r.section, r.what, r.data, r.result] for r in rows]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(header)]
    line = lambda c: "| " + " | ".join(s.ljust(w) for s, w in zip(c, widths)) + " |"
    sep = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(header), sep, *(line(c) for c in cells)])


def run(out: str, *, quick: bool = False, only: list[str] | None = None) -> int:
    """Runs the sections, prints the summary table and writes the figures to ``out``.

    Args:
      out: folder for the figures (created if needed).
      quick: smaller sizes and fewer epochs.
      only: keys of :func:`sections` to run (``None``: all, in course order).

    Returns:
      0 (the exit status).

    Raises:
      ValueError: for an unknown section key.
    """
    todo = sections()
    if only is not None:
        unknown = [k for k in only if k not in todo]
        if unknown:
            raise ValueError(f"unknown demo section(s) {', '.join(unknown)}; choose from {', '.join(todo)}")
        todo = {k: v for k, v in todo.items() if k in only}
    try:
        from matplotlib.figure import Figure
    except ImportError:
        Figure = None
        print("note: matplotlib is not installed, so no figures are drawn (pip install 'jaxnn[plot]')",
              file=sys.stderr)
    if Figure is not None:
        os.makedirs(out, exist_ok=True)
    ctx = _Ctx(out, quick, Figure, [])
    rows: list[Row] = []
    start = time.perf_counter()
    for i, (title, fn) in enumerate(todo.values(), 1):
        t = time.perf_counter()
        print(f"[{i}/{len(todo)}] {title} ...", end="", file=sys.stderr, flush=True)
        rows.extend(fn(ctx))
        print(f" {time.perf_counter() - t:.1f} s", file=sys.stderr, flush=True)
    print(_format_table(rows))
    print(f"\n{len(rows)} results in {time.perf_counter() - start:.0f} s"
          + (f"; {len(ctx.written)} figures in {os.path.abspath(out)}" if ctx.written else "; no figures"))
    return 0
