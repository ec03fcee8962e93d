"""Runs every example in examples/ at its small size (``quick=True``), in this process.

Each numbered example is ``compute(quick) -> Result``, ``plot(result, fig)`` (or one
``plot_<name>`` per figure) and ``main(out_dir, quick)`` built from them. Each test loads the
example and calls ``compute`` once with matplotlib made unimportable (the computation must not
need it), then ``main`` with that result in place of a second computation: ``main`` must ask
for the same size, write non-empty PNG files into the folder it is given and return the
numbers it printed. The numbers are checked against what the course says they must be
(independent of the plotting): the perceptron converges within Novikoff's bound, it never
does on XOR, backpropagation by hand equals ``jax.grad``, and so on.

``09_architectures`` trains five networks even at its small size (the slowest test here),
and runs in the default suite all the same: every example is exercised.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import math
import pathlib
import sys

import numpy as np
import pytest

pytest.importorskip("matplotlib")

EXAMPLES = pathlib.Path(__file__).resolve().parent.parent / "examples"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
NAMES = [
    "01_perceptron",
    "02_xor_limit",
    "03_combining",
    "04_gradient_descent",
    "05_losses",
    "06_optimizers",
    "07_backprop",
    "08_matrix_form",
    "09_architectures",
    "10_sweep",
]


def block_matplotlib(monkeypatch):
    """Makes every import of matplotlib fail until the monkeypatch context ends.

    ``None`` in ``sys.modules`` stops an import, for modules imported before as well.
    """
    for name in ["matplotlib", "mpl_toolkits", "pylab", *sys.modules]:
        if name.split(".")[0] in ("matplotlib", "mpl_toolkits", "pylab"):
            monkeypatch.setitem(sys.modules, name, None)


def load(name, monkeypatch):
    """Loads ``examples/<name>.py`` as a fresh module (matplotlib unimportable while it runs)."""
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)  # dataclasses look their module up
    with monkeypatch.context() as m:
        block_matplotlib(m)
        spec.loader.exec_module(module)
    return module


def _check_pngs(out, result):
    written = sorted(out.glob("*.png"))
    assert written, "the example wrote no PNG"
    assert sorted(pathlib.Path(p) for p in result["figures"]) == written
    for path in written:
        data = path.read_bytes()
        assert data[:8] == PNG_MAGIC, f"{path.name} is not a PNG"
        assert len(data) > 5_000, f"{path.name} is suspiciously small ({len(data)} bytes)"


def test_every_example_is_listed():
    on_disk = sorted(p.stem for p in EXAMPLES.glob("[0-9][0-9]_*.py"))
    assert on_disk == NAMES


def test_block_matplotlib_stops_an_import_made_before(monkeypatch):
    import matplotlib.figure  # noqa: F401 - imported before the block

    with monkeypatch.context() as m:
        block_matplotlib(m)
        with pytest.raises(ImportError):
            from matplotlib.figure import Figure  # noqa: F401
    from matplotlib.figure import Figure  # noqa: F401 - and back afterwards


def _run(name, tmp_path, capsys, monkeypatch):
    """``compute(quick=True)`` without matplotlib, then ``main`` on that result; returns both."""
    module = load(name, monkeypatch)
    with monkeypatch.context() as m:
        block_matplotlib(m)
        result = module.compute(quick=True)
    assert dataclasses.is_dataclass(result) and type(result).__dataclass_params__.frozen
    assert not capsys.readouterr().out, "compute printed; printing is main's job"
    asked = []
    monkeypatch.setattr(module, "compute", lambda quick: asked.append(quick) or result)
    summary = module.main(str(tmp_path), quick=True)
    assert asked == [True]
    _check_pngs(tmp_path, summary)
    assert capsys.readouterr().out.strip(), "the example printed nothing"
    return summary


def test_01_perceptron(tmp_path, capsys, monkeypatch):
    r = _run("01_perceptron", tmp_path, capsys, monkeypatch)
    assert r["converged"]
    assert 1 <= r["updates"] <= r["novikoff_bound"]  # Novikoff's theorem


def test_02_xor_limit(tmp_path, capsys, monkeypatch):
    r = _run("02_xor_limit", tmp_path, capsys, monkeypatch)
    assert not r["converged"] and r["min_mistakes"] >= 1
    assert r["pocket_errors"] == 1  # the best line gets exactly one XOR point wrong
    assert r["certificate"]
    assert r["noisy_pocket_accuracy"] <= 0.8


def test_03_combining(tmp_path, capsys, monkeypatch):
    r = _run("03_combining", tmp_path, capsys, monkeypatch)
    assert r["linear_accuracy"] <= 0.75  # no half-plane classifies XOR
    assert r["collapse_error"] < 1e-5
    assert r["sign_accuracy"] == 1.0 and r["tanh_accuracy"] == 1.0


def test_04_gradient_descent(tmp_path, capsys, monkeypatch):
    r = _run("04_gradient_descent", tmp_path, capsys, monkeypatch)
    small, right, large = r["final_1d"]
    # x_{n+1} = (1 - 2 eta) x_n on f = x^2 from x_0 = 2, 12 steps: f_n = 4 (1 - 2 eta)^(2n).
    np.testing.assert_allclose([small, right, large], [4 * (1 - 2 * e) ** 24 for e in (0.05, 0.3, 1.05)], rtol=1e-3)
    assert r["diverged_1d"] and r["diverged_2d"] == [False, False, True]
    ends = np.array(r["well_ends"])
    np.testing.assert_allclose(ends[ends < 0], -1.300839565941577, atol=1e-3)
    np.testing.assert_allclose(ends[ends > 0], 1.1309011226299859, atol=1e-3)


def test_05_losses(tmp_path, capsys, monkeypatch):
    r = _run("05_losses", tmp_path, capsys, monkeypatch)
    z = r["at_zero"]
    assert z["hinge"] == pytest.approx(1.0) and z["squared hinge"] == pytest.approx(1.0)
    assert z["logistic (BCE from logits)"] == pytest.approx(math.log(2), rel=1e-6)
    assert z["perceptron"] == 0.0 and z["squared (MSE)"] == 0.0


def test_06_optimizers(tmp_path, capsys, monkeypatch):
    r = _run("06_optimizers", tmp_path, capsys, monkeypatch)
    d = r["rosenbrock_distance"]
    assert d["momentum 0.9"] < d["GD (sgd 1e-3)"]  # momentum follows the valley faster
    assert all(math.isfinite(v) for v in r["network_loss"].values())
    assert r["network_loss"]["Adam"] < 0.5


def test_07_backprop(tmp_path, capsys, monkeypatch):
    r = _run("07_backprop", tmp_path, capsys, monkeypatch)
    assert r["course_max_diff"] < 1e-6
    assert set(r["mlp_max_diff"]) == {"half_squared_error", "mse", "binary_cross_entropy_with_logits",
                                      "categorical_cross_entropy_with_logits"}
    assert max(r["mlp_max_diff"].values()) < 1e-5
    assert r["accuracy"] >= 0.9


def test_08_matrix_form(tmp_path, capsys, monkeypatch):
    r = _run("08_matrix_form", tmp_path, capsys, monkeypatch)
    assert r["shapes"] == {"X~ = [1, X]": (6, 4), "W1": (5, 4), "h = Phi1(X~ W1^T)": (6, 5), "h~ = [1, h]": (6, 6),
                           "W2": (4, 6), "O = Phi2(h~ W2^T)": (6, 4)}
    assert r["max_diff"] < 1e-6


def test_09_architectures(tmp_path, capsys, monkeypatch):
    r = _run("09_architectures", tmp_path, capsys, monkeypatch)
    assert r["iris_accuracy"] >= 0.8 and r["digits_accuracy"] >= 0.8 and r["binary_accuracy"] >= 0.8
    assert r["diabetes_r2"] > 0.2 and r["petals_r2"] > 0.6


def test_10_sweep(tmp_path, capsys, monkeypatch):
    r = _run("10_sweep", tmp_path, capsys, monkeypatch)
    median = np.array(r["median_final_loss"])
    assert r["members"] == len(r["learning_rates"]) * 3
    assert median[0] > median.min()  # the smallest learning rate is not the best
    assert r["best_learning_rate"] == r["learning_rates"][int(np.argmin(median))]
