"""``jaxnn demo``: every section of the course, a summary table and figures.

The sections are the course's examples (``examples/01_perceptron.py`` .. ``10_sweep.py`` of
the source repository, which a wheel ships as ``jaxnn._examples``): each section calls its
examples' ``compute(quick)``, builds its rows of the summary table from the results and,
when matplotlib is installed, draws its figures with the examples' ``plot`` functions into a
:class:`matplotlib.figure.Figure` (no pyplot, so no global state and no GUI backend). The
table therefore reports the examples' own numbers. The examples compute two at a time, on
threads; rows and figures are made in course order.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import errno
import importlib.util
import os
import pathlib
import sys
import time
import types
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

__all__ = ["Row", "Section", "run", "sections"]

# The example that tells a folder of examples apart from any other folder called `examples`.
_MARKER = "01_perceptron.py"


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


# ----------------------------------------------------------------------------- the examples


def _examples_folder() -> pathlib.Path:
    """The examples next to this copy of jaxnn: in an installed wheel, ``jaxnn/_examples``;
    in a source checkout (an editable install, or ``PYTHONPATH``), ``examples/`` beside ``jaxnn/``."""
    package = pathlib.Path(__file__).resolve().parent
    candidates = [package / "_examples", package.parent / "examples"]
    for folder in candidates:
        if (folder / _MARKER).is_file():
            return folder
    raise FileNotFoundError(
        errno.ENOENT,
        "jaxnn demo runs the course's examples, which this installation of jaxnn lacks (a checkout has them in "
        "examples/, an installed wheel in jaxnn/_examples); reinstall jaxnn from its source repository "
        "(pip install .) or run it from a checkout. Missing folder",
        str(candidates[0]),
    )


def _example(stem: str) -> types.ModuleType:
    """The example ``<stem>.py`` as a module, loaded once.

    The examples are loaded by path, not imported by name: their names start with digits,
    and in a source checkout they sit outside the package.
    """
    name = f"jaxnn._examples.{stem}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, _examples_folder() / f"{stem}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # while the file runs, its dataclasses look their module up there
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


class _Run(NamedTuple):
    """An example and what its ``compute`` returned."""

    example: types.ModuleType
    result: Any


@dataclasses.dataclass
class _Ctx:
    out: str
    figure: Any  # matplotlib.figure.Figure, or None without matplotlib
    written: list[str]

    def draw(self, name: str, size: tuple[float, float], *drawings: tuple[Callable[[Any, Any], None], Any],
             across: bool = False, ratios: tuple[float, ...] | None = None) -> None:
        """Writes the figure ``name``: each drawing, a pair ``(plot, result)``, fills a part of it.

        Several drawings are stacked (``across``: side by side), each in its own
        :class:`matplotlib.figure.SubFigure`, ``ratios`` their heights (widths).
        """
        if self.figure is None:
            return
        fig = self.figure(figsize=size, layout="constrained")
        if len(drawings) == 1:
            parts = [fig]
        elif across:
            parts = fig.subfigures(1, len(drawings), width_ratios=ratios)
        else:
            parts = fig.subfigures(len(drawings), 1, height_ratios=ratios)
        for part, (plot, result) in zip(parts, drawings):
            plot(result, part)
        path = os.path.join(self.out, name)
        fig.savefig(path, dpi=100)
        self.written.append(path)


@dataclasses.dataclass(frozen=True)
class Section:
    """One section of the demo.

    Attributes:
      title: what it shows, e.g. ``"gradient descent"``.
      examples: the examples whose ``compute`` it runs, e.g. ``("04_gradient_descent",)``.
      report: ``report(ctx, *runs) -> rows``: builds the section's rows of the table from
        the runs (one per example, in order) and draws its figures with ``ctx.draw``.
    """

    title: str
    examples: tuple[str, ...]
    report: Callable[..., list[Row]]


# ----------------------------------------------------------------------------- the sections


def _perceptron(ctx: _Ctx, perceptron: _Run, xor: _Run) -> list[Row]:
    p, x = perceptron.result, xor.result
    proof = "; proof: not separable" if x.certificate else ""
    ctx.draw("01_perceptron_and_xor.png", (14, 8.5), (perceptron.example.plot, p), (xor.example.plot, x))
    return [
        Row("2 Perceptron", "perceptron (Rosenblatt)", f"{len(p.y)} separable 2-D points",
            f"{'converged' if p.converged else 'NOT converged'} in {p.epochs} epochs, {p.updates} updates "
            f"(Novikoff bound {p.bound:.0f})"),
        Row("2 Limitations", "perceptron, pocket", "the 4 XOR points",
            f"{'converged' if x.converged else 'never converges'}: >= {x.mistakes.min()} mistakes in each of "
            f"{x.epochs} epochs; best line {x.pocket_errors}/4 wrong{proof}"),
    ]


def _combining(ctx: _Ctx, run: _Run) -> list[Row]:
    r = run.result
    ctx.draw("02_combining_xor.png", (16, 4.2), (run.example.plot, r))
    return [
        Row("2 Combining", "2-2-1, linear hidden layer", "XOR",
            f"accuracy {r.linear_accuracy:.0%}: one layer in disguise (|w| = {np.linalg.norm(r.one_layer_w):.0e})"),
        Row("2 Combining", "2-4-1, tanh hidden layer", "XOR",
            f"accuracy {r.tanh_accuracy:.0%}, loss {r.tanh_losses[0]:.3f} -> {r.tanh_losses[-1]:.1e}"),
    ]


def _descent(ctx: _Ctx, run: _Run) -> list[Row]:
    r = run.result
    finals = [f"diverges (step {at})" if diverged else f"{v[-1]:.2g}"
              for v, diverged, at in zip(r.values_2d, r.diverged_2d, r.diverged_at_2d)]
    starts, ends = r.well_xs[:, 0], r.well_xs[:, -1]
    left = ends < 0  # the global minimum is the left one
    ctx.draw("03_gradient_descent.png", (18, 4.5), (run.example.plot_2d, r), (run.example.plot_local_minimum, r),
             across=True, ratios=(2, 1))
    return [
        Row("3 Gradient descent", f"GD, eta {' / '.join(f'{e:g}' for e in r.etas_2d)}", "(x^2 + 10 y^2) / 2",
            f"f after {r.values_2d.shape[1] - 1} steps: {' / '.join(finals)}"),
        Row("3 Gradient descent", f"GD from {len(starts)} starts in [{starts.min():g}, {starts.max():g}]",
            "x^4 - 3x^2 + x", f"{left.sum()} end at {ends[left].mean():.3f} (global min), {(~left).sum()} at "
            f"{ends[~left].mean():.3f} (local min: trapped)"),
    ]


def _losses(ctx: _Ctx, run: _Run) -> list[Row]:
    r = run.result
    ctx.draw("04_losses.png", (12, 8), (run.example.plot, r))
    shown = ("perceptron", "hinge", "logistic (BCE from logits)")
    return [Row("3 Loss functions", f"{len(r.values)} losses", "margins, errors",
                "at margin 0: " + ", ".join(f"{k} {r.at_zero[k]:.3g}" for k in shown))]


def _optimizers(ctx: _Ctx, run: _Run) -> list[Row]:
    r = run.result
    ctx.draw("05_optimizers.png", (13, 5), (run.example.plot_rosenbrock, r))
    return [Row("3 Optimizers", f"{len(r.rosenbrock_distance)} optimizers, {r.steps} steps", "Rosenbrock",
                "|x - x*|: " + ", ".join(f"{k} {v:.2g}" for k, v in r.rosenbrock_distance.items()))]


def _backprop_and_matrix(ctx: _Ctx, backprop: _Run, matrix: _Run) -> list[Row]:
    r7, r8 = backprop.result, matrix.result
    order = matrix.example.ORDER
    x_bar, w1, w2, o = (r8.matrices[k] for k in (order[0], "W1", "W2", order[-1]))
    shape = lambda a: "x".join(map(str, a.shape))
    return [
        Row("3 Backpropagation", "gradients by hand", "course's 2-1-1 net",
            f"max |hand - jax.grad| = {r7.course_max_diff:.1e}"),
        Row("3 Backpropagation", "manual backprop, 4-8-8-3 MLP",
            f"{r7.mlp_examples} random examples, {len(r7.mlp_max_diff)} losses",
            f"max |hand - jax.grad| = {max(r7.mlp_max_diff.values()):.1e}"),
        Row("4 Matrix form", "3-5-4 net in matrix form", f"{len(x_bar)} random inputs",
            f"W1 {shape(w1)}, W2 {shape(w2)}, O {shape(o)}; max |matrix - MLP.apply| = {r8.max_diff:.1e}"),
    ]


def _architectures(ctx: _Ctx, run: _Run) -> list[Row]:
    ex, r = run.example, run.result
    ctx.draw("06_learning_curves.png", (16, 3.6), (ex.plot_learning_curves, r))
    ctx.draw("07_digits_confusion.png", (6, 5), (ex.plot_confusion, r))
    rows = []
    for f in r.fits.values():
        p = f.problem
        score = ex.SCORE_FORMAT[p.head.score_name].format(f.score)  # the head names its own test metric
        rows.append(Row("4 Architectures", f"{p.kind}, {p.architecture} MLP", p.data,
                        f"test {score} (weights of epoch {f.best_epoch} of {len(f.train_loss)})"))
    return rows


def _sweep(ctx: _Ctx, run: _Run) -> list[Row]:
    r = run.result
    ctx.draw("08_sweep.png", (7.5, 4.5), (run.example.plot, r))
    lrs, median = r.learning_rates, r.median
    return [Row("4 Sweep", f"{r.members} 2-16-1 nets in one call", "two moons (200)",
                f"{len(lrs)} lrs x {r.seeds} seeds; best lr {lrs[r.best]:.3g}: median loss {median[r.best]:.3f} "
                f"(lr {lrs[0]:.0e}: {median[0]:.3f})")]


def sections() -> dict[str, Section]:
    """The demo's sections in course order, by key."""
    return {
        "perceptron": Section("the perceptron and its limit", ("01_perceptron", "02_xor_limit"), _perceptron),
        "combining": Section("combining perceptrons", ("03_combining",), _combining),
        "descent": Section("gradient descent", ("04_gradient_descent",), _descent),
        "losses": Section("loss functions", ("05_losses",), _losses),
        "optimizers": Section("optimizers", ("06_optimizers",), _optimizers),
        "backprop": Section("backpropagation and the matrix form", ("07_backprop", "08_matrix_form"),
                            _backprop_and_matrix),
        "architectures": Section("the four architectures on real data", ("09_architectures",), _architectures),
        "sweep": Section("a learning-rate sweep", ("10_sweep",), _sweep),
    }


def _format_table(rows: list[Row]) -> str:
    header = ["section", "trained / computed", "on", "result"]
    cells = [[r.section, r.what, r.data, r.result] for r in rows]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(header)]
    line = lambda c: "| " + " | ".join(s.ljust(w) for s, w in zip(c, widths)) + " |"
    sep = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(header), sep, *(line(c) for c in cells)])


def _timed_compute(example: types.ModuleType, quick: bool) -> tuple[_Run, float]:
    start = time.perf_counter()
    return _Run(example, example.compute(quick)), time.perf_counter() - start


# Examples computed at once. Their time goes mostly to compiling, which runs outside the
# GIL, so two threads keep two cores busy. The slowest example starts first, so that it
# does not run alone at the end.
_WORKERS = 2
_SLOWEST = "09_architectures"


def run(out: str, *, quick: bool = False, only: list[str] | None = None) -> int:
    """Runs the sections, prints the summary table and writes the figures to ``out``.

    The examples' ``compute`` functions run on two threads; the rows and the figures are
    made in course order as their results arrive.

    Args:
      out: folder for the figures (created if needed).
      quick: smaller sizes and fewer epochs (the examples' ``compute(quick=True)``).
      only: keys of :func:`sections` to run (``None``: all, in course order).

    Returns:
      0 (the exit status).

    Raises:
      ValueError: for an unknown section key.
      FileNotFoundError: when this installation of jaxnn has no examples.
    """
    todo = sections()
    if only is not None:
        unknown = [k for k in only if k not in todo]
        if unknown:
            raise ValueError(f"unknown demo section(s) {', '.join(unknown)}; choose from {', '.join(todo)}")
        todo = {k: v for k, v in todo.items() if k in only}
    _examples_folder()  # fails at once, before any work, where the examples are missing
    examples = {stem: _example(stem) for section in todo.values() for stem in section.examples}
    try:
        from matplotlib.figure import Figure
    except ImportError:
        Figure = None
        print("note: matplotlib is not installed, so no figures are drawn (pip install 'jaxnn[plot]')",
              file=sys.stderr)
    if Figure is not None:
        os.makedirs(out, exist_ok=True)
    ctx = _Ctx(out, Figure, [])
    rows: list[Row] = []
    start = time.perf_counter()
    pool = concurrent.futures.ThreadPoolExecutor(_WORKERS, thread_name_prefix="jaxnn-demo")
    try:
        order = sorted(examples, key=lambda stem: stem != _SLOWEST)  # stable: course order after it
        runs = {stem: pool.submit(_timed_compute, examples[stem], quick) for stem in order}
        for i, section in enumerate(todo.values(), 1):
            print(f"[{i}/{len(todo)}] {section.title} ...", end="", file=sys.stderr, flush=True)
            done = [runs[stem].result() for stem in section.examples]
            t = time.perf_counter()
            rows.extend(section.report(ctx, *(r for r, _ in done)))
            seconds = sum(s for _, s in done) + time.perf_counter() - t
            print(f" {seconds:.1f} s", file=sys.stderr, flush=True)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    print(_format_table(rows))
    print(f"\n{len(rows)} results in {time.perf_counter() - start:.0f} s"
          + (f"; {len(ctx.written)} figures in {os.path.abspath(out)}" if ctx.written else "; no figures"))
    return 0
