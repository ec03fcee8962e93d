"""The ``jaxnn`` command line: train/predict round trips, task inference, bad input, demo, bench.

Most cases call ``jaxnn.cli.main(argv)`` in this process (a subprocess pays the JAX import
each time); a few run the real command in a subprocess to check the exit status and that no
traceback reaches the user.
"""

from __future__ import annotations

import csv
import json
import os
import pathlib
import shutil
import subprocess
import sys

import numpy as np
import pytest

import jaxnn
from jaxnn import checkpoint, cli, datasets
from jaxnn._tabular import _model_file, _numbers, _schema, _table
from jaxnn.cli import _target

REPO = pathlib.Path(__file__).resolve().parent.parent


def _write_csv(path, header, rows):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return str(path)


def _read_csv(path):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


def _binary_table(n=80, seed=0):
    """x1, x2 numeric, color text; label 'yes' exactly when x1 + x2 + (color == 'red') > 0.5."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 2)).round(3)
    colors = rng.choice(["blue", "green", "red"], size=n)
    label = np.where(x[:, 0] + x[:, 1] + (colors == "red") > 0.5, "yes", "no")
    rows = [[f"{a}", f"{b}", c, lab] for (a, b), c, lab in zip(x, colors, label)]
    return ["x1", "x2", "color", "label"], rows


def _error_line(capsys, command):
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"jaxnn {command}: error: " if command else "jaxnn: error: "), err
    assert "Traceback" not in err
    return lines[0]


def _numpy_forward(config, params, x):
    """An independent reference: the model's preprocessing and MLP in NumPy."""
    h = (x - np.asarray(config["x_mean"])) / np.asarray(config["x_std"])
    act = {"relu": lambda z: np.maximum(z, 0), "tanh": np.tanh}[config["activation"]]
    for i, layer in enumerate(params):
        h = h @ np.asarray(layer["w"], np.float64) + np.asarray(layer["b"], np.float64)
        if i < len(params) - 1:
            h = act(h)
    return h


# ----------------------------------------------------------------------------- round trips


def test_binary_csv_round_trip_with_one_hot(tmp_path, capsys):
    header, rows = _binary_table()
    # An identifier column first, dropped from training and ignored by predict.
    data = _write_csv(tmp_path / "train.csv", ["id", *header], [[f"row{i}", *r] for i, r in enumerate(rows)])
    model, metrics_path = tmp_path / "m.jaxnn", tmp_path / "m.json"
    rc = cli.main(["train", "--data", data, "--drop", "id", "--hidden", "8", "--epochs", "60", "--lr", "0.05",
                   "--seed", "1", "--out", str(model), "--metrics-json", str(metrics_path), "--progress"])
    assert rc == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    assert "binary" in out and "wrote" in out

    report = json.loads(metrics_path.read_text())
    assert report["task"] == "binary" and report["class_names"] == ["no", "yes"]
    assert report["train_rows"] + report["val_rows"] == 80 and report["val_rows"] == 16
    assert report["train"]["accuracy"] >= 0.85
    assert np.sum(report["validation"]["confusion_matrix"]) == 16
    config = checkpoint.load_metadata(model).config
    assert config["kind"] == _model_file.MODEL_KIND
    assert config["encoded_features"] == ["x1", "x2", "color=blue", "color=green", "color=red"]
    assert config["sizes"] == [5, 8, 1]

    pred = tmp_path / "pred.csv"
    assert cli.main(["predict", "--model", str(model), "--data", data, "--out", str(pred)]) == 0
    assert "accuracy on the 'label' column" in capsys.readouterr().err
    out_header, out_rows = _read_csv(pred)
    assert out_header == ["predicted_label", "p_no", "p_yes"]
    assert len(out_rows) == 80
    probs = np.array([[float(r[1]), float(r[2])] for r in out_rows])
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)

    # The same probabilities from an independent NumPy forward pass with a hand-made one-hot.
    x = np.array([[float(r[0]), float(r[1]), r[2] == "blue", r[2] == "green", r[2] == "red"] for r in rows], float)
    logits = _numpy_forward(config, _model_file.load_model(str(model)).params, x)[:, 0]
    np.testing.assert_allclose(probs[:, 1], 1 / (1 + np.exp(-logits)), atol=2e-5)
    predicted = [r[0] for r in out_rows]
    assert predicted == [("yes" if p >= 0.5 else "no") for p in probs[:, 1]]
    assert np.mean([p == r[3] for p, r in zip(predicted, rows)]) >= 0.85


def test_iris_dataset_round_trip(tmp_path, capsys):
    model = tmp_path / "iris.jaxnn"
    rc = cli.main(["train", "--dataset", "iris", "--epochs", "40", "--out", str(model), "--no-progress"])
    assert rc == 0, capsys.readouterr().err
    report = json.loads((tmp_path / "iris.metrics.json").read_text())  # the default metrics path
    assert report["task"] == "multiclass" and report["class_names"] == ["setosa", "versicolor", "virginica"]
    assert report["validation"]["accuracy"] >= 0.8
    assert len(report["history"]["train_loss"]) == 40

    iris = datasets.load_iris()
    data = _write_csv(tmp_path / "iris.csv", list(iris.feature_names) + ["species"],
                      [[f"{v:g}" for v in row] + [iris.class_names[c]]
                       for row, c in zip(np.asarray(iris.x), np.asarray(iris.y))])
    capsys.readouterr()
    assert cli.main(["predict", "--model", str(model), "--data", data]) == 0
    captured = capsys.readouterr()
    rows = list(csv.reader(captured.out.splitlines()))
    assert rows[0] == ["predicted_species", "p_setosa", "p_versicolor", "p_virginica"]
    accuracy = np.mean([r[0] == iris.class_names[c] for r, c in zip(rows[1:], np.asarray(iris.y))])
    assert accuracy >= 0.8
    assert f"accuracy on the 'species' column: {accuracy:.4f}" in captured.err


def test_multivariate_regression_round_trip(tmp_path, capsys):
    rng = np.random.default_rng(3)
    x = rng.uniform(-1, 1, size=(120, 3))
    y1 = 100 + 20 * x[:, 0] - 10 * x[:, 1]  # far from mean 0, std 1: the target scaler must be undone
    y2 = -5 + 3 * x[:, 2]
    rows = [[f"{v:.5f}" for v in (*xi, a, b)] for xi, a, b in zip(x, y1, y2)]
    data = _write_csv(tmp_path / "reg.csv", ["a", "b", "c", "y1", "y2"], rows)
    model = tmp_path / "reg.jaxnn"
    rc = cli.main(["train", "--data", data, "--target", "y1,y2", "--hidden", "16", "--activation", "tanh",
                   "--epochs", "150", "--batch-size", "full", "--lr", "0.05", "--out", str(model)])
    assert rc == 0, capsys.readouterr().err
    report = json.loads((tmp_path / "reg.metrics.json").read_text())
    assert report["task"] == "regression" and report["batch_size"] is None
    assert report["validation"]["r2"] > 0.9
    pred = tmp_path / "p.csv"
    assert cli.main(["predict", "--model", str(model), "--data", data, "--out", str(pred)]) == 0
    header, out = _read_csv(pred)
    assert header == ["predicted_y1", "predicted_y2"]
    p = np.array(out, float)
    truth = np.stack([y1, y2], axis=1)
    r2 = 1 - ((p - truth) ** 2).sum(0) / ((truth - truth.mean(0)) ** 2).sum(0)
    assert np.all(r2 > 0.9), r2
    config = checkpoint.load_metadata(model).config
    ref = _numpy_forward(config, _model_file.load_model(str(model)).params, x) * np.asarray(config["y_std"]) + np.asarray(config["y_mean"])
    np.testing.assert_allclose(p, ref, rtol=1e-4, atol=1e-3)


# ----------------------------------------------------------------------------- task inference


def _one_target_table(values, name="t"):
    return _table.from_arrays("t.csv", ["f", name], [np.arange(len(values), dtype=float), np.asarray(values)])


@pytest.mark.parametrize(
    "values, task, classes",
    [
        ([0, 1, 1, 0, 1, 0], "binary", ["0", "1"]),
        ([-1.0, 1.0, 1.0, -1.0], "binary", ["-1", "1"]),
        ([2, 0, 1, 2, 1, 0, 0, 2], "multiclass", ["0", "1", "2"]),
        (["b", "a", "b", "a"], "binary", ["a", "b"]),
        (["x", "y", "z", "x"], "multiclass", ["x", "y", "z"]),
        ([0.5, 1.25, 3.0, 2.0], "regression", None),
        (list(range(40)), "regression", None),  # whole numbers, but too many distinct values
    ],
)
def test_task_inference(values, task, classes):
    y, got_task, got_classes, label_kind, _ = _target.encode_target(_one_target_table(values), ["t"], "auto")
    assert label_kind == (None if task == "regression" else "text" if isinstance(values[0], str) else "number")
    assert got_task == task and got_classes == classes
    if task != "regression":
        assert y.shape == (len(values),) and y.dtype == np.int32
        expected = [v if isinstance(v, str) else _numbers.format_label(v) for v in values]
        assert [classes[v] for v in y] == expected
    else:
        np.testing.assert_array_equal(y[:, 0], np.asarray(values, np.float32))


def test_csv_reader_detects_columns(tmp_path):
    path = tmp_path / "semi.csv"
    path.write_text("a;b;name\n1;2.5;x\n\n3;-4e-1;y\n")
    t = _table.read_csv(path)
    assert t.names == ["a", "b", "name"] and t.rows == 2
    fmt = _numbers.NumberFormat()
    assert _schema.is_numeric(t.column("a"), fmt) and not _schema.is_numeric(t.column("name"), fmt)
    np.testing.assert_array_equal(_schema.numbers(t, t.column("b"), fmt), [2.5, -0.4])
    np.testing.assert_array_equal(t.lines, [2, 4])  # the blank line is skipped, lines stay true


# ----------------------------------------------------------------------------- bad input


@pytest.fixture
def good_csv(tmp_path):
    header, rows = _binary_table(n=20)
    return _write_csv(tmp_path / "good.csv", header, rows)


@pytest.fixture
def cli_model(tmp_path):
    """A tiny model file written as `jaxnn train` writes it (without training)."""
    spec = [{"name": "x1", "kind": "numeric"}, {"name": "x2", "kind": "numeric"},
            {"name": "color", "kind": "categorical", "categories": ["blue", "green", "red"]}]
    params = [{"w": np.zeros((5, 1), np.float32), "b": np.zeros(1, np.float32)}]
    config = {"kind": _model_file.MODEL_KIND, "model_version": 1, "task": "binary", "head": "binary", "sizes": [5, 1],
              "activation": "relu", "features": spec, "encoded_features": _schema.encoded_names(spec),
              "targets": ["label"], "class_names": ["no", "yes"], "x_mean": [0.0] * 5, "x_std": [1.0] * 5,
              "y_mean": None, "y_std": None}
    path = tmp_path / "tiny.jaxnn"
    checkpoint.save(path, params, config=config)
    return str(path)


@pytest.mark.parametrize(
    "argv, words",
    [
        (["train", "--data", "{tmp}/missing.csv"], ["no such file", "missing.csv"]),
        (["train", "--data", "{good}", "--target", "lable"], ["'lable'", "did you mean 'label'"]),
        (["train", "--data", "{good}", "--target", "zzz"], ["'zzz'", "its columns are 'x1', 'x2', 'color', 'label'"]),
        (["train"], ["--data", "--dataset"]),
        (["train", "--data", "{good}", "--dataset", "iris"], ["one of them"]),
        (["train", "--dataset", "mnist"], ["invalid choice", "'mnist'"]),
        (["train", "--data", "{good}", "--hidden", "8,x"], ["--hidden", "16,16"]),
        (["train", "--data", "{good}", "--val-split", "1.5"], ["--val-split", "[0, 1)"]),
        (["train", "--data", "{good}", "--lr", "-1"], ["--lr", "> 0"]),
        (["train", "--data", "{good}", "--task", "regression"], ["holds text", "--task binary"]),
        (["train", "--dataset", "iris", "--task", "binary"], ["exactly 2 classes", "3"]),
        (["predict", "--model", "{tmp}/nope.jaxnn", "--data", "{good}"], ["no such model file"]),
        (["predict", "--model", "{good}", "--data", "{good}"], ["not a jaxnn model"]),
        (["predict", "--model", "{model}"], ["--data"]),
        (["demo", "--only", "nope"], ["unknown demo section", "perceptron"]),
        (["fly"], ["invalid choice", "'fly'"]),
    ],
)
def test_bad_arguments_exit_2_with_one_line(argv, words, tmp_path, good_csv, cli_model, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # nothing may be written to the working folder
    argv = [a.format(tmp=tmp_path, good=good_csv, model=cli_model) for a in argv]
    assert cli.main(argv) == 2
    line = _error_line(capsys, argv[0] if argv[0] in ("train", "predict", "demo") else "")
    for w in words:
        assert w in line, line


def _fail_on(tmp_path, capsys, command, text, extra=()):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    if command == "train":
        argv = ["train", "--data", str(path), "--out", str(tmp_path / "m.jaxnn"), *extra]
    else:
        argv = ["predict", "--data", str(path), *extra]
    assert cli.main(argv) == 2
    return _error_line(capsys, command)


def test_missing_value_names_column_and_line(tmp_path, capsys):
    line = _fail_on(tmp_path, capsys, "train", "a,b,y\n1,2,0\n3,,1\n4,5,0\n6,NA,1\n")
    assert "column 'b'" in line and "line 3" in line and "(and 1 more)" in line


def test_missing_target_value_names_line(tmp_path, capsys):
    line = _fail_on(tmp_path, capsys, "train", "a,y\n1,0\n2,1\n3,?\n")
    assert "column 'y'" in line and "line 4" in line


def test_ragged_row_names_line(tmp_path, capsys):
    line = _fail_on(tmp_path, capsys, "train", "a,b,y\n1,2,0\n3,4\n")
    assert "line 3" in line and "2 cells" in line


def test_empty_and_header_only_files(tmp_path, capsys):
    assert "is empty" in _fail_on(tmp_path, capsys, "train", "")
    assert "no data rows" in _fail_on(tmp_path, capsys, "train", "a,b\n")
    assert "appears twice" in _fail_on(tmp_path, capsys, "train", "a,a,y\n1,2,0\n3,4,1\n")


def test_text_feature_with_too_many_categories(tmp_path, capsys):
    rows = "".join(f"id{i},{i % 2}\n" for i in range(60))
    line = _fail_on(tmp_path, capsys, "train", "name,y\n" + rows)
    assert "feature column 'name'" in line and "60 distinct values" in line and "--drop 'name'" in line
    assert "no feature columns are left" in _fail_on(tmp_path, capsys, "train", "name,y\n" + rows, ["--drop", "name"])
    assert "did you mean 'name'" in _fail_on(tmp_path, capsys, "train", "name,y\n" + rows, ["--drop", "nme"])


def test_non_finite_feature(tmp_path, capsys):
    line = _fail_on(tmp_path, capsys, "train", "a,y\n1,0\ninf,1\n2,0\n")
    assert "non-finite" in line and "line 3" in line


def test_predict_features_that_do_not_match(tmp_path, capsys, cli_model):
    line = _fail_on(tmp_path, capsys, "predict", "x1,x_2,color\n1,2,red\n", ["--model", cli_model])
    assert "'x2'" in line and "trained on" in line and "did you mean 'x_2'" in line
    line = _fail_on(tmp_path, capsys, "predict", "x1,x2,color\n1,2,red\n3,four,blue\n", ["--model", cli_model])
    assert "'x2' must hold numbers" in line and "line 3" in line and "'four'" in line
    line = _fail_on(tmp_path, capsys, "predict", "x1,x2,color\n1,2,purple\n", ["--model", cli_model])
    assert "'purple'" in line and "did not have" in line


def test_predict_on_a_checkpoint_that_is_not_a_model(tmp_path, capsys, good_csv):
    other = tmp_path / "params.ckpt"
    checkpoint.save(other, {"w": np.ones(3, np.float32)}, config={"sizes": [3]})
    assert cli.main(["predict", "--model", str(other), "--data", good_csv]) == 2
    assert "not a model written by 'jaxnn train'" in _error_line(capsys, "predict")


def test_predict_writes_with_tiny_model(tmp_path, capsys, cli_model, good_csv):
    # All-zero weights: every probability is exactly 1/2, and ties go to the first class.
    out = tmp_path / "p.csv"
    assert cli.main(["predict", "--model", cli_model, "--data", good_csv, "--out", str(out)]) == 0
    header, rows = _read_csv(out)
    assert header == ["predicted_label", "p_no", "p_yes"] and len(rows) == 20
    assert all(r == ["no", "0.5", "0.5"] for r in rows)
    assert "accuracy on the 'label' column: 0.5000" in capsys.readouterr().err  # 10 of each label
    assert cli.main(["predict", "--model", cli_model, "--data", good_csv, "--out", str(tmp_path / "no" / "p.csv")]) == 2
    assert "does not exist" in _error_line(capsys, "predict")


# ----------------------------------------------------------------------------- help, bench, demo


def test_help_and_version(capsys):
    assert cli.main([]) == 0
    assert "demo" in capsys.readouterr().out
    assert cli.main(["--version"]) == 0
    assert "jaxnn" in capsys.readouterr().out
    assert cli.main(["train", "--help"]) == 0
    assert "--val-split" in capsys.readouterr().out


def test_bench_says_how_to_run_the_suite(capsys):
    # The suite is not part of the package: the command names the way to run it, any options.
    for argv in (["bench"], ["bench", "--help"], ["bench", "--workloads", "mlp_step"]):
        assert cli.main(argv) == 2
        assert "python -m bench" in _error_line(capsys, "bench")


def test_the_package_never_edits_sys_path_nor_imports_bench():
    # bench/ imports jaxnn; jaxnn reaching back (or putting the checkout on sys.path) would
    # tie the installed package to a source tree it does not ship.
    import ast

    root = pathlib.Path(jaxnn.__file__).parent
    offenders = []
    for path in root.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else [])
            offenders += [f"{path.name}: import {n}" for n in names if n.split(".")[0] == "bench"]
            if isinstance(node, ast.Attribute) and node.attr == "path" and getattr(node.value, "id", "") == "sys":
                offenders.append(f"{path.name}: sys.path")
    assert offenders == []


# ----------------------------------------------------------------------------- real processes


def test_subprocess_exit_codes_and_no_traceback(tmp_path, good_csv):
    """The real command: bad input exits 2 with one line on stderr and no traceback."""
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}
    script = shutil.which("jaxnn")
    commands = [
        [sys.executable, "-m", "jaxnn", "train", "--data", str(tmp_path / "missing.csv")],
        [sys.executable, "-m", "jaxnn", "predict", "--model", good_csv, "--data", good_csv],
        ([script] if script else [sys.executable, "-m", "jaxnn"]) + ["train", "--data", good_csv, "--target", "lbl"],
    ]
    # Started together: each pays the JAX import, so overlap them.
    procs = [subprocess.Popen(c, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path)
             for c in commands]
    for proc, words in zip(procs, [["no such file"], ["not a jaxnn model"], ["did you mean 'label'"]]):
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 2, err
        assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
        for w in words:
            assert w in err


def test_train_keeps_compiled_programs_in_the_user_cache_unless_told_not_to(tmp_path, good_csv):
    # The first process writes its compiled programs under $XDG_CACHE_HOME/jaxnn; a second,
    # identical one finds them all there and adds none; --no-cache and
    # JAXNN_NO_COMPILATION_CACHE=1 leave the folder untouched.
    base = {k: v for k, v in os.environ.items() if k != "JAXNN_NO_COMPILATION_CACHE"}
    command = [sys.executable, "-m", "jaxnn", "train", "--data", good_csv, "--target", "label", "--epochs", "2",
               "--hidden", "4"]

    def start(home, *extra, **env):
        return subprocess.Popen(command + ["--out", str(tmp_path / f"{home}-{len(extra)}{len(env)}.jaxnn"), *extra],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env={**base, "XDG_CACHE_HOME": str(tmp_path / home), **env})

    def files(process, home):
        _, err = process.communicate(timeout=300)
        assert process.returncode == 0, err
        folder = tmp_path / home / "jaxnn"
        return sorted(p.name for p in folder.rglob("*") if p.is_file()) if folder.exists() else []

    cached = files(start("default"), "default")
    assert any(name.endswith("-cache") for name in cached)
    # The three independent processes run side by side.
    again, flag, env = start("default"), start("flag", "--no-cache"), start("env", JAXNN_NO_COMPILATION_CACHE="1")
    assert files(again, "default") == cached  # the second process compiled nothing new
    assert files(flag, "flag") == []
    assert files(env, "env") == []
