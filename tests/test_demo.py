"""``jaxnn demo``: the sections run the examples' ``compute`` and draw with their ``plot``.

The demo's table must report the examples' own numbers (checked against an example loaded
and computed here, independently of the demo), its figures must be written under their
fixed names, it must run without matplotlib, and it must find the examples in a checkout
and in an installed wheel (``pyproject.toml`` ships ``examples/`` as ``jaxnn._examples``).
"""

from __future__ import annotations

import importlib.util
import pathlib
import re
import sys
import tomllib

import pytest

from jaxnn import _demo, cli

REPO = pathlib.Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
FIGURES = [
    "01_perceptron_and_xor.png",
    "02_combining_xor.png",
    "03_gradient_descent.png",
    "04_losses.png",
    "05_optimizers.png",
    "06_learning_curves.png",
    "07_digits_confusion.png",
    "08_sweep.png",
]


def _load(stem, monkeypatch):
    """``examples/<stem>.py`` loaded here, as a module of its own (not the demo's copy)."""
    spec = importlib.util.spec_from_file_location(f"test_demo_{stem}", EXAMPLES / f"{stem}.py")
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def _block_matplotlib(monkeypatch):
    """Makes every import of matplotlib fail (``None`` in ``sys.modules`` stops an import)."""
    for name in ["matplotlib", *sys.modules]:
        if name.split(".")[0] in ("matplotlib", "mpl_toolkits", "pylab"):
            monkeypatch.setitem(sys.modules, name, None)


def _rows(table: str, section: str) -> list[list[str]]:
    """The cells of the table's rows whose section is ``section``."""
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in table.splitlines() if line.startswith("| ")]
    return [r for r in rows if r[0] == section]


def test_demo_quick_subset_writes_pngs(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    out = tmp_path / "demo"
    assert cli.main(["demo", "--quick", "--out", str(out), "--only", "perceptron,losses"]) == 0
    table = capsys.readouterr().out
    assert "| section" in table and "Perceptron" in table and "Loss functions" in table
    pngs = sorted(out.glob("*.png"))
    assert [p.name for p in pngs] == ["01_perceptron_and_xor.png", "04_losses.png"]
    assert all(p.read_bytes()[:8] == PNG_MAGIC and p.stat().st_size > 5_000 for p in pngs)


def test_the_sweep_row_reports_the_examples_numbers(tmp_path, capsys, monkeypatch):
    assert cli.main(["demo", "--quick", "--out", str(tmp_path), "--only", "sweep"]) == 0
    (row,) = _rows(capsys.readouterr().out, "4 Sweep")
    reference = _load("10_sweep", monkeypatch).compute(quick=True)

    number = r"([0-9.e+-]+)"
    members, rates, seeds, best_lr, best_median, first_lr, first_median = re.fullmatch(
        rf"{number} 2-16-1 nets in one call \| two moons \(200\) \| {number} lrs x {number} seeds; "
        rf"best lr {number}: median loss {number} \(lr {number}: {number}\)",
        " | ".join(row[1:]),
    ).groups()
    assert (int(members), int(rates), int(seeds)) == (reference.members, len(reference.learning_rates),
                                                       reference.seeds)
    assert float(best_lr) == pytest.approx(reference.learning_rates[reference.best], rel=5e-3)  # printed to 3 digits
    assert float(best_median) == pytest.approx(reference.median[reference.best], abs=5e-4)
    assert float(first_lr) == pytest.approx(reference.learning_rates[0], rel=0.05)
    assert float(first_median) == pytest.approx(reference.median[0], abs=5e-4)


def test_the_demo_computes_without_matplotlib(tmp_path, capsys, monkeypatch):
    _block_matplotlib(monkeypatch)
    assert _demo.run(str(tmp_path / "demo"), quick=True, only=["losses"]) == 0
    captured = capsys.readouterr()
    assert "matplotlib is not installed" in captured.err
    (row,) = _rows(captured.out, "3 Loss functions")
    assert row[3] == "at margin 0: perceptron 0, hinge 1, logistic (BCE from logits) 0.693"  # 0, 1, log 2
    assert not (tmp_path / "demo").exists()


def test_missing_examples_are_one_line_naming_where_it_looked(tmp_path, capsys, monkeypatch):
    # An installation whose package has no _examples folder and no examples/ beside it.
    monkeypatch.setattr(_demo, "__file__", str(tmp_path / "site-packages" / "jaxnn" / "_demo.py"))
    assert cli.main(["demo", "--quick", "--out", str(tmp_path / "demo"), "--only", "losses"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("jaxnn demo: error:")
    assert "pip install ." in err and str(tmp_path / "site-packages" / "jaxnn" / "_examples") in err
    assert not (tmp_path / "demo").exists()


def test_the_sections_use_every_numbered_example():
    used = sorted(stem for section in _demo.sections().values() for stem in section.examples)
    assert used == sorted(p.stem for p in EXAMPLES.glob("[0-9][0-9]_*.py"))


def test_the_wheel_ships_every_package_and_the_examples():
    setuptools = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    on_disk = sorted(".".join(p.parent.relative_to(REPO).parts) for p in (REPO / "jaxnn").rglob("__init__.py"))
    assert sorted(setuptools["packages"]) == sorted([*on_disk, "jaxnn._examples"])
    assert setuptools["package-dir"] == {"jaxnn._examples": "examples"}
    assert (EXAMPLES / "__init__.py").is_file()


@pytest.mark.slow
def test_demo_quick_everything(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    out = tmp_path / "demo"
    assert cli.main(["demo", "--quick", "--out", str(out)]) == 0
    table = capsys.readouterr().out
    assert table.count("| 4 Architectures") == 5
    assert sorted(p.name for p in out.glob("*.png")) == FIGURES
