"""The command line's promise, tried as a careless or hostile user would.

Each case asserts the exit status, the one-line message on stderr (no traceback), and that
every input file is byte-for-byte unchanged afterwards. Most run ``jaxnn.cli.main(argv)`` in
this process; a few run the real program, where the exit path itself is under test (a
second Ctrl-C, a closed pipe, a hang after running out of memory).
"""

from __future__ import annotations

import io
import json
import os
import pathlib
import signal
import subprocess
import sys
import time
import warnings

import numpy as np
import pytest

from jaxnn import _atomic, _memory, checkpoint, cli, nn, train
from jaxnn._tabular import _model_file, _numbers, _schema, _table
from jaxnn.cli import _parser

# Its module-scoped fixture is built once: all its tests run on one pytest-xdist worker.
pytestmark = pytest.mark.xdist_group("test_cli_reliability")

REPO = pathlib.Path(__file__).resolve().parent.parent
# Validation is left out: it adds a second compiled program to every training run.
FAST = ["--epochs", "2", "--hidden", "4", "--no-progress", "--val-split", "0"]


def _env():
    return {**os.environ, "JAX_PLATFORMS": "cpu", "PYTHONPATH": str(REPO)}


def _labelled_rows(n=60, seed=0):
    """Rows (a, b, label) with label 'yes' exactly when a + b > 0."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 2)).round(3)
    return [(f"{a:.3f}", f"{b:.3f}", "yes" if a + b > 0 else "no") for a, b in x]


def _write_d_csv(folder):
    path = folder / "d.csv"
    path.write_text("a,b,label\n" + "".join(",".join(r) + "\n" for r in _labelled_rows()))
    return path


@pytest.fixture
def d_csv(tmp_path):
    return _write_d_csv(tmp_path)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One model trained on d.csv, shared (read-only) by the tests that only predict."""
    folder = tmp_path_factory.mktemp("trained")
    data = _write_d_csv(folder)
    model = folder / "m.jaxnn"
    assert cli.main(["train", "--data", str(data), "--out", str(model), *FAST]) == 0
    return data, model


class Files:
    """Snapshots files and checks that they are byte-for-byte unchanged."""

    def __init__(self, *paths):
        self.before = {pathlib.Path(p): pathlib.Path(p).read_bytes() for p in paths}

    def unchanged(self):
        for p, data in self.before.items():
            assert p.read_bytes() == data, f"{p} was changed"
        return True


def _one_line(capsys, command, status, argv):
    """Runs main(argv), checks the status and that stderr is one error line; returns it."""
    got = cli.main([str(a) for a in argv])
    captured = capsys.readouterr()
    assert got == status, captured.err
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith(f"jaxnn {command}: "), captured.err
    assert "Traceback" not in captured.err
    return lines[0], captured.out


def _train(capsys, data, out, *extra):
    assert cli.main(["train", "--data", str(data), "--out", str(out), *FAST, *extra]) == 0, capsys.readouterr().err
    capsys.readouterr()


def _no_temp_files(folder):
    left = [p.name for p in pathlib.Path(folder).iterdir() if p.name.endswith((".tmp", ".probe"))]
    assert not left, left
    return True


# ----------------------------------------------------------------------------- typed tables


def _predict_rows(capsys, model, data):
    assert cli.main(["predict", "--model", str(model), "--data", str(data)]) == 0, capsys.readouterr().err
    rows = capsys.readouterr().out.strip().splitlines()
    return [r.split(",") for r in rows[1:]]


def test_categories_are_exact_strings(tmp_path, capsys):
    """A category column compares exact strings: '01' rows get the '01' one-hot, not '1',
    and '02' (all-digit in the new file) is accepted; --categorical keeps number-like codes."""
    codes = ["1", "01", "02", "A"] * 15
    zips = ["01", "02", "03"] * 20
    rows = [(a, b, c, z, "yes" if c == "01" else "no") for (a, b, _), c, z in zip(_labelled_rows(), codes, zips)]
    data = tmp_path / "codes.csv"
    data.write_text("a,b,code,zip,label\n" + "".join(",".join(r) + "\n" for r in rows))
    assert _schema.feature_spec(_table.read_csv(data), ["zip"], _numbers.NumberFormat()) == [{"name": "zip", "kind": "numeric"}]
    model = tmp_path / "m.jaxnn"
    _train(capsys, data, model, "--categorical", "zip")
    config = checkpoint.load_metadata(model).config
    assert config["features"][2:] == [{"name": "code", "kind": "categorical", "categories": ["01", "02", "1", "A"]},
                                      {"name": "zip", "kind": "categorical", "categories": ["01", "02", "03"]}]

    only_01 = tmp_path / "only01.csv"
    only_01.write_text("a,b,code,zip\n" + "".join(f"{a},{b},01,02\n" for a, b, *_ in rows))
    files = Files(data, only_01, model)
    got = _predict_rows(capsys, model, only_01)
    # Independent reference: the NumPy forward pass with the one-hots written by hand.
    x = np.array([[float(a), float(b), 1, 0, 0, 0, 0, 1, 0] for a, b, *_ in rows])
    z = (x - np.asarray(config["x_mean"])) / np.asarray(config["x_std"])
    params = _model_file.load_model(str(model)).params
    h = np.maximum(z @ np.asarray(params[0]["w"], np.float64) + np.asarray(params[0]["b"]), 0)
    logit = (h @ np.asarray(params[1]["w"], np.float64) + np.asarray(params[1]["b"]))[:, 0]
    np.testing.assert_allclose([float(r[2]) for r in got], 1 / (1 + np.exp(-logit)), atol=2e-5)

    new = tmp_path / "new.csv"
    new.write_text("a,b,code,zip\n0.1,0.2,01,01\n0.3,0.4,02,03\n")
    assert len(_predict_rows(capsys, model, new)) == 2
    new.write_text("a,b,code,zip\n0.1,0.2,01,1\n")  # '1' is not a training zip
    line, _ = _one_line(capsys, "predict", 2, ["predict", "--model", model, "--data", new])
    assert "column 'zip' holds '1'" in line and "did not have" in line and "'01'" in line
    assert files.unchanged()


@pytest.fixture
def comma_csv(tmp_path):
    """The semicolon-separated decimal-comma file: 0,126;-1,259;no."""
    path = tmp_path / "comma.csv"
    rows = [(a.replace(".", ","), b.replace(".", ","), lab) for a, b, lab in _labelled_rows()]
    path.write_text("a;b;label\n" + "".join(";".join(r) + "\n" for r in rows))
    return path


def test_decimal_comma_is_an_error_naming_the_option(tmp_path, capsys, comma_csv):
    files = Files(comma_csv)
    line, out = _one_line(capsys, "train", 2, ["train", "--data", comma_csv, "--out", tmp_path / "m.jaxnn", *FAST])
    first = _labelled_rows()[0][0].replace(".", ",")
    assert "column 'a'" in line and repr(first) in line and "line 2" in line and "--decimal ," in line
    assert "training" not in out and not (tmp_path / "m.jaxnn").exists()
    assert files.unchanged()


def test_decimal_comma_read_as_numbers_with_the_option(tmp_path, capsys, comma_csv):
    model = tmp_path / "m.jaxnn"
    _train(capsys, comma_csv, model, "--decimal", ",")
    config = checkpoint.load_metadata(model).config
    assert config["sizes"] == [2, 4, 1] and config["number_format"] == {"decimal": ",", "thousands": None}
    values = np.array([[float(a), float(b)] for a, b, _ in _labelled_rows()])
    assert np.all(np.abs(np.asarray(config["x_mean"])) < np.abs(values).max())  # numbers, not one-hots
    # predict reads through the stored format without being told again.
    assert len(_predict_rows(capsys, model, comma_csv)) == 60


def test_thousands_separator(tmp_path, capsys):
    rng = np.random.default_rng(1)
    amounts = rng.integers(1, 9, size=60) * 1000
    data = tmp_path / "k.csv"
    data.write_text("amount,label\n" + "".join(f'"{v:,}",{"yes" if v > 4000 else "no"}\n' for v in amounts))
    files = Files(data)
    line, _ = _one_line(capsys, "train", 2, ["train", "--data", data, "--out", tmp_path / "m.jaxnn", *FAST])
    assert "column 'amount'" in line and "--thousands ," in line
    model = tmp_path / "m.jaxnn"
    _train(capsys, data, model, "--thousands", ",", "--val-split", "0")
    config = checkpoint.load_metadata(model).config
    assert config["features"] == [{"name": "amount", "kind": "numeric"}]
    np.testing.assert_allclose(config["x_mean"], [amounts.mean()])
    assert files.unchanged()


@pytest.mark.parametrize("decimal, thousands, cell, value", [
    (",", ".", "1.234.567", 1234567.0),
    (",", ".", "1.234,5", 1234.5),
    (",", ".", "-12.345,25", -12345.25),
    (",", ".", "0,25", 0.25),
    (",", ".", "1234,5", 1234.5),  # ungrouped is fine too
    (",", ".", "0.250", None),  # a leading group of 0: a decimal point, not grouping
    (",", ".", "-0.250", None),
    (",", ".", "000.250", None),
    (",", ".", "12.34", None),  # a group of two digits
    (",", ".", "1.2345", None),
    (",", ".", "1234.567", None),  # a leading group of four digits
    (",", ".", "1.234.56", None),
    (".", ",", "0,250", None),
    (".", ",", "1,234,567.5", 1234567.5),
    (".", ",", "12,34", None),
    (".", " ", "0 250", None),
    (".", " ", "10 250", 10250.0),
    (".", "'", "1'000'000", 1e6),
])
def test_thousands_only_in_valid_groups(decimal, thousands, cell, value):
    assert _numbers.NumberFormat(decimal, thousands).parse(cell) == value


@pytest.fixture(scope="module")
def grouped_models(tmp_path_factory):
    """Two models whose number convention has a thousands separator that is another
    convention's decimal mark: ',' decimal with '.' thousands, and '.' decimal with ','."""
    folder = tmp_path_factory.mktemp("grouped")
    rng = np.random.default_rng(3)
    amounts = rng.uniform(0, 5000, size=40).round(2)
    models = {}
    for name, (decimal, thousands, delimiter) in {"de": (",", ".", ";"), "en": (".", ",", ";")}.items():
        def cell(v):
            text = f"{v:,.2f}"
            return text if decimal == "." else text.translate(str.maketrans(",.", ".,"))
        data = folder / f"{name}.csv"
        data.write_text(f"a{delimiter}label\n" + "".join(
            f"{cell(v)}{delimiter}{'yes' if v > 2500 else 'no'}\n" for v in amounts))
        model = folder / f"{name}.jaxnn"
        argv = ["train", "--data", str(data), "--out", str(model), *FAST, "--decimal", decimal,
                "--thousands", thousands]
        assert cli.main(argv) == 0
        models[name] = model
    return models


@pytest.mark.parametrize("model, cells, words", [
    # Not valid grouping under the model's convention: refused, naming the other convention.
    ("de", ["0.250", "1,5"], ["line 2 holds '0.250'", "'.' as the decimal mark (pass --decimal .)"]),
    ("en", ["0,250", "1.5"], ["line 2 holds '0,250'", "',' as the decimal mark (pass --decimal ,)"]),
    # Valid grouping, but every cell is a plain decimal number too: two readings, refused.
    ("de", ["1.250", "2.500"], ["'1.250' on line 2", "reads as 1250", "reads as 1.25",
                                "--decimal , --thousands . (the model's) or --decimal ."]),
    ("en", ["2,500", "1,250"], ["'2,500' on line 2", "reads as 2500", "reads as 2.5",
                                "--decimal . --thousands , (the model's) or --decimal ,"]),
])
def test_predict_refuses_numbers_the_model_would_misread(tmp_path, capsys, grouped_models, model, cells, words):
    new = tmp_path / "new.csv"
    new.write_text("a;x\n" + "".join(f"{c};1\n" for c in cells))
    files = Files(new, grouped_models[model])
    line, out = _one_line(capsys, "predict", 2, ["predict", "--model", grouped_models[model], "--data", new])
    assert "column 'a'" in line and all(w in line for w in words), line
    assert out == "" and files.unchanged()


def _p_yes(capsys, model, data, *extra):
    assert cli.main(["predict", "--model", str(model), "--data", str(data), *extra]) == 0, capsys.readouterr().err
    return [float(r.split(",")[2]) for r in capsys.readouterr().out.strip().splitlines()[1:]]


def test_predict_reads_one_way_once_a_cell_or_an_option_says_which(tmp_path, capsys, grouped_models):
    model = grouped_models["de"]
    new, reference = tmp_path / "new.csv", tmp_path / "ref.csv"
    # '3,5' has a decimal comma: the column is in the model's convention, so '1.250' is 1250.
    new.write_text("a;x\n1.250;1\n3,5;1\n")
    reference.write_text("a;x\n1250;1\n3,5;1\n")
    assert _p_yes(capsys, model, new) == _p_yes(capsys, model, reference)
    # Ambiguous alone; each option reads it its way.
    new.write_text("a;x\n1.250;1\n2.500;1\n")
    reference.write_text("a;x\n1250;1\n2500;1\n")
    assert _p_yes(capsys, model, new, "--decimal", ",", "--thousands", ".") == _p_yes(capsys, model, reference)
    reference.write_text("a;x\n1,25;1\n2,5;1\n")
    assert _p_yes(capsys, model, new, "--decimal", ".") == _p_yes(capsys, model, reference)


@pytest.mark.parametrize("cells, words", [
    (["$1.50", "$2.25", "$3.00"], ["currency"]),
    (["-$1.50", "$2,250.00", "$3"], ["currency"]),
    (["10%", "25%", "50%"], ["percent"]),
])
def test_currency_and_percent_are_errors(tmp_path, capsys, cells, words):
    data = tmp_path / "c.csv"
    data.write_text("v,label\n" + "".join(f'"{cells[i % 3]}",{"yes" if i % 2 else "no"}\n' for i in range(20)))
    line, _ = _one_line(capsys, "train", 2, ["train", "--data", data, "--out", tmp_path / "m.jaxnn", *FAST])
    assert "column 'v'" in line and all(w in line for w in words)


@pytest.mark.parametrize("cells, words", [
    (["($500.00)", "$200.00", "(12.50)"], ["accounting negatives", "-500"]),
    (["(500.00)", "200", "(12.5)"], ["accounting negatives"]),
    (["USD 1000", "USD 250", "USD 12.50"], ["unit or currency code ('usd')", "strip it first"]),
    (["5kg", "12kg", "7.5kg"], ["unit or currency code ('kg')"]),
    (["12 cm", "3 cm", "4.5 cm"], ["('cm')"]),
])
def test_numbers_with_units_are_an_error(tmp_path, capsys, cells, words):
    data = tmp_path / "u.csv"
    data.write_text("v,label\n" + "".join(f'"{cells[i % 3]}",{"yes" if i % 2 else "no"}\n' for i in range(20)))
    line, _ = _one_line(capsys, "train", 2, ["train", "--data", data, "--out", tmp_path / "m.jaxnn", *FAST])
    assert "column 'v'" in line and "--categorical v" in line and all(w in line for w in words), line


@pytest.mark.parametrize("cells", [["1A", "2B", "3C"], ["Q1", "Q2", "Q3"]])
def test_codes_with_letters_stay_categories(tmp_path, capsys, cells):
    data = tmp_path / "c.csv"
    data.write_text("v,label\n" + "".join(f"{cells[i % 3]},{'yes' if i % 2 else 'no'}\n" for i in range(20)))
    _train(capsys, data, tmp_path / "m.jaxnn")
    assert checkpoint.load_metadata(tmp_path / "m.jaxnn").config["features"][0]["categories"] == sorted(cells)


def test_excel_sep_line_and_spaces_before_quotes(tmp_path):
    data = tmp_path / "excel.csv"
    data.write_text('sep=;\na;note;y\n1,5; "x; y";0\n2;z;1\n')
    table = _table.read_csv(data)
    assert table.names == ["a", "note", "y"] and table.lines.tolist() == [3, 4]
    assert table.column("note").cells.tolist() == ["x; y", "z"]
    data.write_text('a,note,y\n1, "x,y",0\n2, "z",1\n')  # a space before a quote: still a quoted cell
    assert _table.read_csv(data).column("note").cells.tolist() == ["x,y", "z"]
    with pytest.raises(_table.TableError, match="line 1 says the delimiter is ';'"):
        data.write_text("sep=;\na;y\n1;0\n")
        _table.read_csv(data, delimiter=",")


def test_unicode_forms_are_one_string(tmp_path, capsys):
    """A header or category typed as 'é' (one code point) or 'e' + a combining accent is
    one name: the table is NFC-normalized, so predict accepts either form."""
    nfc, nfd = "caf\u00e9", "cafe\u0301"
    rows = [(a, nfc if i % 2 else "tea", lab) for i, (a, _, lab) in enumerate(_labelled_rows())]
    data = tmp_path / "u.csv"
    data.write_text(f"a,{nfd}_kind,label\n" + "".join(",".join(r) + "\n" for r in rows))
    model = tmp_path / "m.jaxnn"
    _train(capsys, data, model)
    assert checkpoint.load_metadata(model).config["features"][1] == {
        "name": f"{nfc}_kind", "kind": "categorical", "categories": [nfc, "tea"]}
    new = tmp_path / "new.csv"
    new.write_text(f"a,{nfc}_kind\n0.5,{nfd}\n")
    same = tmp_path / "same.csv"
    same.write_text(f"a,{nfc}_kind\n0.5,{nfc}\n")
    assert _predict_rows(capsys, model, new) == _predict_rows(capsys, model, same)


def test_data_from_standard_input(capsys, trained, monkeypatch):
    d_csv, model = trained
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(d_csv.read_bytes())))
    assert _predict_rows(capsys, model, "-") == _predict_rows(capsys, model, d_csv)


@pytest.mark.skipif(not os.path.exists("/proc/self/mem"), reason="needs /proc")
def test_unreadable_special_file_is_a_user_error(tmp_path, capsys):
    line, _ = _one_line(capsys, "train", 2, ["train", "--data", "/proc/self/mem", "--out", tmp_path / "m.jaxnn"])
    assert "cannot read /proc/self/mem" in line and "bug" not in line


@pytest.mark.parametrize("first, second", [("yes", "YES"), ("True", "TRUE"), ("New York", "new-york")])
def test_target_labels_differing_only_in_case_or_spelling(tmp_path, capsys, first, second):
    """Two spellings of one label are refused when the task is inferred (they would be two
    classes); --task keeps them apart on purpose."""
    rows = [(f"{i * 0.1:.1f}", first if i % 3 == 0 else "other" if i % 3 == 1 else second) for i in range(30)]
    data = tmp_path / "labels.csv"
    data.write_text("a,label\n" + "".join(f"{a},{y}\n" for a, y in rows))
    files = Files(data)
    line, _ = _one_line(capsys, "train", 2, ["train", "--data", data, "--out", tmp_path / "m.jaxnn", *FAST])
    a, b = sorted([first, second])
    assert f"holds {a!r} (line {2 + [y for _, y in rows].index(a)})" in line
    assert f"and {b!r} (line {2 + [y for _, y in rows].index(b)})" in line
    assert "differ only in case" in line and "--task multiclass" in line and files.unchanged()
    _train(capsys, data, tmp_path / "m.jaxnn", "--task", "multiclass")
    assert _model_file.load_model(tmp_path / "m.jaxnn").config["class_names"] == sorted([first, second, "other"])


def test_regression_model_on_a_text_target_column_says_so(tmp_path, capsys):
    train_csv = tmp_path / "r.csv"
    train_csv.write_text("a,label\n" + "".join(f"{i * 0.1:.1f},{i * 0.37:.2f}\n" for i in range(30)))
    _train(capsys, train_csv, tmp_path / "m.jaxnn")
    new = tmp_path / "new.csv"
    new.write_text("a,label\n" + "".join(f"{i * 0.1:.1f},{'yes' if i % 2 else 'no'}\n" for i in range(10)))
    assert cli.main(["predict", "--model", str(tmp_path / "m.jaxnn"), "--data", str(new)]) == 0
    captured = capsys.readouterr()
    assert len(captured.out.splitlines()) == 11
    assert "'label' column holds text ('no', 'yes')" in captured.err and "regression model" in captured.err
    assert "R^2" in captured.err and "Traceback" not in captured.err


@pytest.mark.parametrize("column", ["a", "y"])
def test_numbers_with_a_few_stray_cells_are_an_error(tmp_path, capsys, column):
    values = [f"{i * 0.37:.2f}" for i in range(30)]
    stray = list(values)
    stray[6] = "unknown"  # line 8
    a, y = (stray, values) if column == "a" else (values, stray)
    data = tmp_path / "s.csv"
    data.write_text("a,y\n" + "".join(f"{u},{v}\n" for u, v in zip(a, y)))
    files = Files(data)
    line, _ = _one_line(capsys, "train", 2, ["train", "--data", data, "--out", tmp_path / "m.jaxnn", *FAST])
    assert f"column '{column}' holds numbers except 'unknown' on line 8" in line
    assert f"--categorical {column}" in line and files.unchanged()


def test_decimal_comma_target(tmp_path, capsys):
    data = tmp_path / "t.csv"
    data.write_text("a;y\n" + "".join(f"{i};{i * 0.5 + 0.25:.2f}\n".replace(".", ",") for i in range(30)))
    line, _ = _one_line(capsys, "train", 2, ["train", "--data", data, "--out", tmp_path / "m.jaxnn", *FAST])
    assert "target column 'y'" in line and "--decimal ," in line


def test_category_with_too_many_values_for_the_rows(tmp_path, capsys):
    data = tmp_path / "many.csv"
    data.write_text("k,y\n" + "".join(f"k{i % 25},{i % 2}\n" for i in range(40)))  # 25 categories, 40 rows
    line, _ = _one_line(capsys, "train", 2, ["train", "--data", data, "--out", tmp_path / "m.jaxnn", *FAST])
    assert "'k'" in line and "25 distinct values in 40 rows" in line and "--drop" in line


def test_unclosed_quote_blamed_on_its_line(tmp_path, capsys):
    data = tmp_path / "q.csv"
    data.write_text('a,b,y\n1,2,0\n3,4,1\n5,6,0\n"7,8,1\n9,10,0\n11,12,1\n')
    line, _ = _one_line(capsys, "train", 2, ["train", "--data", data, "--out", tmp_path / "m.jaxnn", *FAST])
    assert "line 5" in line and "quote" in line


def test_multiline_quoted_cell_reports_the_starting_line(tmp_path):
    data = tmp_path / "ml.csv"
    data.write_text('a,note,y\n1,"two\nlines",0\n2,x,1\n')
    table = _table.read_csv(data)
    assert table.lines.tolist() == [2, 4] and table.column("note").cells[0] == "two\nlines"


def test_huge_finite_feature_names_column_and_line(tmp_path, capsys):
    data = tmp_path / "big.csv"
    data.write_text("a,b,y\n1,2,0\n3,4,1\n5,1e308,0\n7,8,1\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a NumPy overflow warning fails the test
        line, _ = _one_line(capsys, "train", 2, ["train", "--data", data, "--out", tmp_path / "m.jaxnn", *FAST])
    assert "column 'b'" in line and "1e308" in line and "line 4" in line and "NaN" not in line


@pytest.mark.parametrize("scale", [1e25])
def test_huge_values_train_save_and_predict(tmp_path, capsys, scale):
    rng = np.random.default_rng(2)
    x = rng.uniform(-1, 1, size=(40, 2))
    y = (1 + x[:, 0] - 0.5 * x[:, 1]) * scale
    data = tmp_path / "big.csv"
    data.write_text("a,b,y\n" + "".join(f"{a * scale:.6e},{b:.6f},{t:.6e}\n" for (a, b), t in zip(x, y)))
    model = tmp_path / "m.jaxnn"
    _train(capsys, data, model, "--val-split", "0")
    report = json.loads((tmp_path / "m.metrics.json").read_text())
    assert report["train"]["mse"] is not None
    pred = np.array([float(r[0]) for r in _predict_rows(capsys, model, data)])
    assert np.all(np.isfinite(pred)) and np.abs(pred).max() < 10 * scale


def test_predict_value_far_outside_the_training_data(tmp_path, capsys, trained, monkeypatch):
    # A (valid) model whose column 'a' had a tiny spread: 3e38 standardizes beyond float32.
    model = _edited_model(tmp_path, trained[1], lambda c, p: c.update(x_std=[1e-3, c["x_std"][1]]))
    new = tmp_path / "far.csv"
    new.write_text("a,b\n0.5,0.5\n3e38,0.5\n")
    line, out = _one_line(capsys, "predict", 2, ["predict", "--model", model, "--data", new])
    assert "column 'a' holds 3e+38 on line 3" in line and "outside the training data" in line and out == ""
    # Outputs that overflow anyway are refused too, never printed as inf or nan.
    monkeypatch.setattr(_model_file.Model, "predict", lambda self, x: np.where(x[:, :1] > 0, np.inf, 0.5) * np.ones((1, 2)))
    new.write_text("a,b\n-0.5,0.5\n0.5,0.5\n")
    line, out = _one_line(capsys, "predict", 2, ["predict", "--model", model, "--data", new])
    assert "the prediction for line 3 is not finite" in line and out == ""


def test_constant_regression_target(tmp_path, capsys):
    data = tmp_path / "c.csv"
    data.write_text("a,y\n" + "".join(f"{i * 0.37:.2f},2.5\n" for i in range(30)))
    line, out = _one_line(capsys, "train", 2, ["train", "--data", data, "--out", tmp_path / "m.jaxnn", *FAST,
                                                "--task", "regression"])
    assert "'y'" in line and "same value (2.5)" in line and "training" not in out


# ----------------------------------------------------------------------------- outputs


@pytest.mark.parametrize("case", ["out=data", "metrics=data", "out=metrics", "out=link-to-data", "out=hardlink"])
def test_train_never_overwrites(tmp_path, capsys, d_csv, case):
    link = tmp_path / "link.csv"
    if case == "out=link-to-data":
        link.symlink_to(d_csv)
    elif case == "out=hardlink":
        os.link(d_csv, link)
    argv = {
        "out=data": ["--out", d_csv],
        "metrics=data": ["--out", tmp_path / "m.jaxnn", "--metrics-json", d_csv],
        "out=metrics": ["--out", tmp_path / "m.jaxnn", "--metrics-json", tmp_path / "m.jaxnn"],
        "out=link-to-data": ["--out", link],
        "out=hardlink": ["--out", link],
    }[case]
    files = Files(d_csv)
    line, out = _one_line(capsys, "train", 2, ["train", "--data", d_csv, *FAST, *argv])
    assert "same file" in line or "would destroy the input" in line
    assert "training" not in out and not (tmp_path / "m.jaxnn").exists()
    assert files.unchanged()


def test_predict_never_overwrites(capsys, trained):
    d_csv, model = trained
    files = Files(d_csv, model)
    for out in (model, d_csv):
        line, _ = _one_line(capsys, "predict", 2, ["predict", "--model", model, "--data", d_csv, "--out", out])
        assert "would destroy the input" in line and str(out) in line
    assert files.unchanged()


def test_output_folder_missing_or_not_a_folder_found_before_training(tmp_path, capsys, d_csv):
    files = Files(d_csv)
    for out in (tmp_path / "missing" / "m.jaxnn", d_csv / "m.jaxnn"):
        line, stdout = _one_line(capsys, "train", 2, ["train", "--data", d_csv, *FAST, "--out", out])
        assert str(out) in line and ".tmp" not in line and "training" not in stdout
    line, _ = _one_line(capsys, "train", 2, ["train", "--data", d_csv, *FAST, "--out", tmp_path / "m.jaxnn",
                                              "--metrics-json", tmp_path / "nope" / "m.json"])
    assert "--metrics-json" in line and "does not exist" in line and not (tmp_path / "m.jaxnn").exists()
    assert files.unchanged()


@pytest.mark.parametrize("kind", ["symlink", "read-only"])
def test_output_that_is_a_link_or_read_only_is_refused(tmp_path, capsys, trained, kind):
    d_csv, model = trained
    target = tmp_path / "old.csv"
    target.write_text("old predictions\n")
    out = tmp_path / "p.csv"
    if kind == "symlink":
        out.symlink_to(target)
    else:
        target.chmod(0o444)
        out = target
    files = Files(target)
    line, _ = _one_line(capsys, "predict", 2, ["predict", "--model", model, "--data", d_csv, "--out", out])
    assert ("is a symbolic link" if kind == "symlink" else "is read-only") in line
    assert files.unchanged()
    if kind == "symlink":
        assert out.is_symlink()  # not replaced by a regular file
    else:
        assert target.stat().st_mode & 0o777 == 0o444  # not made writable


@pytest.mark.skipif(not os.path.exists("/dev/null"), reason="needs /dev/null")
def test_output_that_is_a_device_is_refused(tmp_path, capsys, d_csv):
    line, out = _one_line(capsys, "train", 2, ["train", "--data", d_csv, *FAST, "--out", tmp_path / "m.jaxnn",
                                                "--metrics-json", "/dev/null"])
    assert "/dev/null is not a regular file" in line and "training" not in out
    assert os.path.exists("/dev/null") and not os.path.isfile("/dev/null")


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root may write to a read-only folder")
def test_read_only_output_folder_found_before_training(tmp_path, capsys, d_csv):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        line, stdout = _one_line(capsys, "train", 2, ["train", "--data", d_csv, *FAST, "--out", folder / "m.jaxnn"])
    finally:
        folder.chmod(0o700)
    assert "cannot create a file" in line and "training" not in stdout


def test_failed_writes_leave_old_outputs_and_no_temp_files(tmp_path, capsys, d_csv, trained, monkeypatch):
    model = trained[1]
    pred = tmp_path / "p.csv"
    pred.write_text("old predictions\n")
    metrics = tmp_path / "m.metrics.json"
    metrics.write_text("{}\n")
    files = Files(d_csv, model, pred, metrics)

    def disk_full(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(_atomic.os, "fsync", disk_full)
    line, _ = _one_line(capsys, "predict", 2, ["predict", "--model", model, "--data", d_csv, "--out", pred])
    assert f"cannot write {pred}: No space left on device" in line
    line, _ = _one_line(capsys, "train", 2, ["train", "--data", d_csv, *FAST, "--out", tmp_path / "m2.jaxnn",
                                              "--metrics-json", tmp_path / "m2.json"])
    assert f"cannot write the model to {tmp_path / 'm2.jaxnn'}: No space left" in line and ".tmp" not in line
    with pytest.raises(_atomic.OutputError, match=f"cannot write {metrics}: No space left on device"):
        _atomic.write_text(str(metrics), "{}")
    assert files.unchanged() and _no_temp_files(tmp_path)
    assert not (tmp_path / "m2.jaxnn").exists() and not (tmp_path / "m2.json").exists()


# ----------------------------------------------------------------------------- options


@pytest.mark.parametrize("argv, words", [
    (["--seed", "99999999999999999999"], ["--seed", "4,294,967,295"]),
    (["--seed", "-1"], ["--seed"]),
    (["--epochs", "3000000000"], ["--epochs", "1,000,000"]),
    (["--epochs", "0"], ["--epochs"]),
    (["--batch-size", "0"], ["--batch-size", "'full'"]),
    (["--batch-size", "-5"], ["--batch-size", "'full'"]),
    (["--decimal", ",", "--thousands", ","], ["both ','"]),
    (["--categorical", "nope"], ["'nope'"]),
    (["--delimiter", "x"], ["--delimiter"]),
])
def test_bounded_options_fail_at_once(tmp_path, capsys, d_csv, argv, words):
    files = Files(d_csv)
    line, out = _one_line(capsys, "train", 2, ["train", "--data", d_csv, "--out", tmp_path / "m.jaxnn",
                                                "--hidden", "4", *argv])
    assert all(w in line for w in words), line
    assert "training" not in out and files.unchanged()


def test_batch_size_full_is_the_documented_spelling():
    assert _parser.build().parse_args(["train", "--batch-size", "full"]).batch_size is None
    assert "'full' for full-batch" in _parser.build()._subparsers._group_actions[0].choices["train"].format_help()


def test_network_too_large_for_memory_is_refused_up_front(tmp_path, capsys, d_csv, monkeypatch):
    monkeypatch.setattr(_memory, "available", lambda: (10**6, "this machine"))
    called = []
    monkeypatch.setattr(train, "fit", lambda *a, **k: called.append(1))
    line, out = _one_line(capsys, "train", 2, ["train", "--data", d_csv, "--out", tmp_path / "m.jaxnn",
                                                "--hidden", "300,300", "--no-progress"])
    # 2*300 + 300 + 300*300 + 300 + 300 + 1 parameters.
    assert "2-300-300-1" in line and "91,501 parameters" in line and "976.6 KiB free" in line
    assert not called and "training" not in out


def test_out_of_memory_during_training_is_one_line(tmp_path, capsys, d_csv, monkeypatch):
    class XlaRuntimeError(RuntimeError):
        pass

    def oom(*a, **k):
        raise XlaRuntimeError("RESOURCE_EXHAUSTED: Out of memory while trying to allocate 12000000000 bytes.")

    monkeypatch.setattr(train, "fit", oom)
    line, _ = _one_line(capsys, "train", 2, ["train", "--data", d_csv, "--out", tmp_path / "m.jaxnn", *FAST])
    assert "out of memory" in line and "11.2 GiB" in line and not (tmp_path / "m.jaxnn").exists()


def test_memory_error_during_training_names_the_size(tmp_path, capsys, d_csv, monkeypatch):
    """A NumPy allocation refused under a memory limit (ulimit, a container) names its size."""
    def oom(*a, **k):
        raise MemoryError("Unable to allocate 3.00 GiB for an array with shape (402653184,) and data type float64")

    monkeypatch.setattr(train, "fit", oom)
    line, _ = _one_line(capsys, "train", 2, ["train", "--data", d_csv, "--out", tmp_path / "m.jaxnn", *FAST])
    assert "out of memory: could not allocate 3.0 GiB" in line and not (tmp_path / "m.jaxnn").exists()


def test_unexpected_error_is_a_bug_report_and_debug_shows_the_traceback(tmp_path, capsys, d_csv, monkeypatch):
    def broken(*a, **k):
        raise RuntimeError("something inside went wrong")

    monkeypatch.setattr(train, "fit", broken)
    argv = ["train", "--data", d_csv, "--out", tmp_path / "m.jaxnn", *FAST]
    line, _ = _one_line(capsys, "train", 1, argv)
    assert "this is a bug in jaxnn, please report it" in line and "something inside went wrong" in line
    assert cli.main([str(a) for a in [*argv, "--debug"]]) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and "RuntimeError: something inside went wrong" in err
    # --debug is accepted by every command, and a user error stays one line plus the traceback.
    assert cli.main(["predict", "--debug", "--model", str(tmp_path / "none.jaxnn"), "--data", str(d_csv)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" in err and err.strip().splitlines()[-1].startswith("jaxnn predict: error: no such model file")


def test_ctrl_c_is_one_line_and_130(tmp_path, capsys, d_csv, monkeypatch):
    def interrupted(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(train, "fit", interrupted)
    files = Files(d_csv)
    line, _ = _one_line(capsys, "train", 130, ["train", "--data", d_csv, "--out", tmp_path / "m.jaxnn", *FAST])
    assert line == "jaxnn train: interrupted"
    assert not (tmp_path / "m.jaxnn").exists() and files.unchanged() and _no_temp_files(tmp_path)


def test_broken_pipe_is_a_quiet_success(capsys, trained, monkeypatch):
    d_csv, model = trained

    class ClosedPipe:
        def write(self, text):
            raise BrokenPipeError(32, "Broken pipe")

        def flush(self):
            raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(sys, "stdout", ClosedPipe())
    assert cli.main(["predict", "--model", str(model), "--data", str(d_csv)]) == 0
    assert "Broken pipe" not in capsys.readouterr().err


# ----------------------------------------------------------------------------- model files


def _edited_model(tmp_path, model, edit):
    """A model trained for real, saved again (valid checksums) with an edited config."""
    config = checkpoint.load_metadata(model).config
    params = _model_file.load_model(str(model)).params
    params = edit(config, params) or params
    edited = tmp_path / "edited.jaxnn"
    checkpoint.save(edited, params, config=config)
    return edited


def _set(key, value):
    return lambda c, p: c.__setitem__(key, value)


@pytest.mark.parametrize("edit, words", [
    (_set("features", 42), ["'features'"]),
    (lambda c, p: (c.update(task="xyz"), c.pop("head"))[0], ["'task' is 'xyz'"]),  # and no head
    (_set("class_names", ["yes"]), ["2 class names"]),
    (_set("class_names", ["no", "no"]), ["twice"]),
    (_set("sizes", [3, 4, 1]), ["'sizes' starts with 3"]),
    (_set("sizes", [2, 4, 2]), ["binary model has 1"]),
    (_set("x_std", [1.0, -1.0]), ["'x_std' must be > 0"]),
    (_set("x_mean", [0.0]), ["'x_mean' has 1 values"]),
    (_set("activation", "os.system"), ["'activation'"]),
    (_set("head", "multiclass"), ["'head'"]),
    (_set("targets", ["a"]), ["both a feature and a target"]),
    (_set("number_format", {"decimal": ";", "thousands": None}), ["'number_format'"]),
    (_set("label_kind", 3), ["'label_kind'"]),
    (_set("model_version", "2"), ["'model_version'"]),
    (lambda c, p: [{"w": np.full_like(p[0]["w"], np.nan), "b": p[0]["b"]}, p[1]], ["NaN"]),
    (lambda c, p: [p[0]], ["1 layers"]),
    (lambda c, p: [{"w": p[0]["w"]}, p[1]], ["layer 0"]),
])
def test_edited_model_config_is_refused(tmp_path, capsys, trained, edit, words):
    d_csv, model = trained
    edited = _edited_model(tmp_path, model, edit)
    files = Files(d_csv, edited)
    line, out = _one_line(capsys, "predict", 2, ["predict", "--model", edited, "--data", d_csv])
    assert "model file is damaged or not a jaxnn model" in line and str(edited) in line
    assert all(w in line for w in words), line
    assert out == "" and files.unchanged()


def test_version_1_model_files_still_load(tmp_path, capsys, trained):
    def as_version_1(config, params):
        config["model_version"] = 1
        del config["number_format"], config["label_kind"]

    edited = _edited_model(tmp_path, trained[1], as_version_1)
    assert _predict_rows(capsys, edited, trained[0]) == _predict_rows(capsys, trained[1], trained[0])


def test_newer_model_version_asks_for_an_upgrade(tmp_path, capsys, trained):
    edited = _edited_model(tmp_path, trained[1], _set("model_version", _model_file.MODEL_VERSION + 1))
    line, _ = _one_line(capsys, "predict", 2, ["predict", "--model", edited, "--data", trained[0]])
    assert "upgrade jaxnn" in line


def test_model_class_validates_too(tmp_path):
    spec = [{"name": "a", "kind": "numeric"}]
    config = {"kind": _model_file.MODEL_KIND, "task": "regression", "head": "regression", "sizes": [1, 1],
              "activation": "relu", "features": spec, "targets": ["y"], "class_names": None,
              "x_mean": [0.0], "x_std": [1.0], "y_mean": [0.0], "y_std": [1.0]}
    params = [{"w": np.zeros((1, 1), np.float32), "b": np.zeros(1, np.float32)}]
    assert _model_file.Model("m", config, params).net is not None
    with pytest.raises(ValueError, match="model file is damaged or not a jaxnn model: 'y_std' must be > 0"):
        _model_file.Model("m", {**config, "y_std": [0.0]}, params)
    with pytest.raises(ValueError, match="float32"):
        _model_file.Model("m", config, [{"w": np.zeros((1, 1), np.float64), "b": np.zeros(1, np.float32)}])


# ----------------------------------------------------------------------------- real processes


def test_subprocess_huge_network_refused_and_no_hang(tmp_path, d_csv):
    files = Files(d_csv)
    proc = subprocess.run(
        [sys.executable, "-m", "jaxnn", "train", "--data", str(d_csv), "--hidden", "100000,100000", "--epochs", "1",
         "--out", str(tmp_path / "m.jaxnn")],
        capture_output=True, text=True, env=_env(), cwd=tmp_path, timeout=300, check=False)
    assert proc.returncode == 2, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
    assert "10,000,500,001 parameters" in proc.stderr and "free" in proc.stderr
    assert files.unchanged() and not (tmp_path / "m.jaxnn").exists()


def test_subprocess_real_out_of_memory_is_one_line_and_no_hang(tmp_path, d_csv):
    """With the up-front estimate switched off, XLA's own RESOURCE_EXHAUSTED (a 1 PiB
    weight matrix, refused by the allocator at once) is one line naming the size, and the
    process ends instead of hanging."""
    files = Files(d_csv)
    script = ("import sys; from jaxnn import cli, _memory; _memory.check_training_fits = lambda *a: None; "
              "sys.argv[0] = 'jaxnn'; sys.exit(cli.main())")
    proc = subprocess.run(
        [sys.executable, "-c", script, "train", "--data", str(d_csv), "--hidden", "16777216,16777216",
         "--epochs", "1", "--out", str(tmp_path / "m.jaxnn")],
        capture_output=True, text=True, env=_env(), cwd=tmp_path, timeout=300, check=False)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().splitlines() == [
        ("jaxnn train: error: out of memory: could not allocate 1.0 PiB for training; use smaller --hidden layers, "
         "a smaller --batch-size, or fewer rows")]
    assert files.unchanged() and not (tmp_path / "m.jaxnn").exists()


def test_subprocess_predict_into_a_closed_pipe(tmp_path, trained):
    model = trained[1]
    big = tmp_path / "big.csv"  # enough predictions to overflow a pipe's buffer
    big.write_text("a,b\n" + "0.5,-0.25\n" * 20000)
    proc = subprocess.run(
        f"'{sys.executable}' -m jaxnn predict --model '{model}' --data '{big}' | head -1; "
        "exit ${PIPESTATUS[0]}",
        shell=True, executable="/bin/bash", capture_output=True, text=True, env=_env(), timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "predicted_label,p_no,p_yes\n"
    assert "Broken pipe" not in proc.stderr and "Traceback" not in proc.stderr and "Exception" not in proc.stderr


def test_subprocess_two_ctrl_c_exit_130(tmp_path, d_csv):
    pytest.importorskip("tqdm")  # --progress runs training in chunks that Ctrl-C can stop between
    files = Files(d_csv)
    proc = subprocess.Popen(
        [sys.executable, "-m", "jaxnn", "train", "--data", str(d_csv), "--hidden", "4", "--epochs", "1000000",
         "--progress", "--out", str(tmp_path / "m.jaxnn")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(), cwd=tmp_path, start_new_session=True)
    try:
        assert proc.stdout.readline().startswith("training a")  # training has started
        proc.send_signal(signal.SIGINT)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert err.strip().splitlines()[-1] == "jaxnn train: interrupted" and "Traceback" not in err
    assert files.unchanged() and not (tmp_path / "m.jaxnn").exists() and _no_temp_files(tmp_path)


# The jaxnn program as `python -m jaxnn` runs it, from the moment its handler of Ctrl-C is
# installed (the program's first act), marked by a line on stdout: the signals are sent
# from then on. Before it, Python's own start-up (its site packages) runs no jaxnn code.
_PROGRAM = ("import runpy, sys; from jaxnn import _interrupt; _interrupt.install(); print('started', flush=True); "
            "runpy.run_module('jaxnn', run_name='__main__', alter_sys=True)")


def _start(argv, cwd):
    proc = subprocess.Popen([sys.executable, "-c", _PROGRAM, *map(str, argv)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=_env(), cwd=cwd)
    assert proc.stdout.readline() == "started\n"
    return proc


def _sigint_sweep(argv, folder, inputs, outputs, moments):
    """Sends Ctrl-C to the program at ``moments`` spread over the part of its run before it
    writes (70% of its shortest uninterrupted run, measured here); each run must end with
    exit status 130, one line on stderr, no output and no temporary file. Returns the
    failures, one line each."""
    durations = []
    for _ in range(2):  # the second run is warm: the shorter one places the moments
        start = time.monotonic()
        proc = _start(argv, folder)
        _, err = proc.communicate(timeout=300)
        durations.append(time.monotonic() - start)
        assert proc.returncode == 0, err
        for out in outputs:
            out.unlink()
    files = Files(*inputs)
    failures = []
    for k in range(moments):
        at = 0.7 * min(durations) * k / moments
        proc = _start(argv, folder)
        time.sleep(at)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=300)
        lines = err.strip().splitlines()
        left = [p.name for p in folder.iterdir() if p.name.endswith((".tmp", ".probe")) or p in outputs]
        if not (proc.returncode == 130 and len(lines) == 1 and lines[0] in (
                f"jaxnn {argv[0]}: interrupted", "jaxnn: interrupted") and not left):
            failures.append(f"at {at:.2f} s: status {proc.returncode}, left {left}, stderr {lines[-3:]}")
            for out in outputs:
                out.unlink(missing_ok=True)
    assert files.unchanged()
    return failures


def _sigint_files(folder, rows):
    """A model trained on d.csv and a file of ``rows`` rows to predict, in ``folder``."""
    data = _write_d_csv(folder)
    assert cli.main(["train", "--data", str(data), "--out", str(folder / "m.jaxnn"), *FAST]) == 0
    rng = np.random.default_rng(4)
    big = folder / "big.csv"
    np.savetxt(big, rng.normal(size=(rows, 2)), fmt="%.4f", delimiter=",", header="a,b", comments="")
    return data, folder / "m.jaxnn", big


def test_subprocess_ctrl_c_at_a_few_moments(tmp_path, capsys):
    """The fast variant: Ctrl-C at 4 moments of a predict run (the imports among them)."""
    _, model, big = _sigint_files(tmp_path, 20_000)
    capsys.readouterr()
    argv = ["predict", "--model", model, "--data", big, "--out", tmp_path / "p.csv"]
    assert _sigint_sweep(argv, tmp_path, [model, big], [tmp_path / "p.csv"], moments=4) == []


@pytest.mark.slow
@pytest.mark.parametrize("command", ["predict", "train"])
def test_subprocess_ctrl_c_at_any_moment(tmp_path, capsys, command):
    """Ctrl-C at 24 moments of a run, from the program's first line to its writing: every
    one stops it (a SIGINT swallowed by JAX's gc callback used to let the run finish)."""
    data, model, big = _sigint_files(tmp_path, 150_000)
    capsys.readouterr()
    if command == "predict":
        argv = ["predict", "--model", model, "--data", big, "--out", tmp_path / "p.csv"]
        inputs, outputs = [model, big], [tmp_path / "p.csv"]
    else:
        labelled = tmp_path / "labelled.csv"
        rows = np.loadtxt(big, delimiter=",", skiprows=1)[:30_000]
        labelled.write_text("a,b,label\n" + "".join(f"{a:.4f},{b:.4f},{'yes' if a + b > 0 else 'no'}\n"
                                                     for a, b in rows))
        argv = ["train", "--data", labelled, "--out", tmp_path / "t.jaxnn", "--epochs", "3", "--hidden", "4",
                "--no-progress"]
        inputs, outputs = [labelled], [tmp_path / "t.jaxnn", tmp_path / "t.metrics.json"]
    failures = _sigint_sweep(argv, tmp_path, inputs, outputs, moments=24)
    assert failures == [], "\n".join(failures)


def test_model_round_trip_matches_the_api(capsys, trained):
    """What predict prints equals the Python API (nn.MLP.apply on the stored params)."""
    d_csv, model = trained
    got = np.array([[float(v) for v in r[1:]] for r in _predict_rows(capsys, model, d_csv)])
    loaded = _model_file.load_model(str(model))
    config = loaded.config
    x = np.array([[float(a), float(b)] for a, b, _ in _labelled_rows()])
    z = ((x - np.asarray(config["x_mean"])) / np.asarray(config["x_std"])).astype(np.float32)
    p = 1 / (1 + np.exp(-np.asarray(nn.MLP([4], 1).apply(checkpoint.load(model, loaded.params), z), np.float64)[:, 0]))
    np.testing.assert_allclose(got, np.stack([1 - p, p], axis=1), atol=2e-6)
