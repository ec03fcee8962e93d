"""``jaxnn predict`` on a file read in chunks: the same output, scores and refusals as when the
file is read whole (each checked against the whole-file run or against NumPy), and no partial
output when the refusal comes from the last chunk."""

import csv
import io
import os
import pathlib
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from jaxnn import cli
from jaxnn._tabular import _table

FAST = ["--epochs", "2", "--hidden", "4", "--batch-size", "16", "--no-progress"]


def _rows(n, seed, *, label=True):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 2)).round(3)
    lines = [f"{a},{b}" + (f",{'yes' if a + b > 0 else 'no'}" if label else "") for a, b in x]
    return lines, x


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    folder = tmp_path_factory.mktemp("stream")
    lines, _ = _rows(80, 0)
    data = folder / "train.csv"
    data.write_text("a,b,label\n" + "\n".join(lines) + "\n")
    out = folder / "m.jaxnn"
    assert cli.main(["train", "--data", str(data), "--out", str(out), *FAST]) == 0
    return out


def _predict(capsys, model, data, out, chunk_bytes, monkeypatch):
    monkeypatch.setattr(_table, "CHUNK_BYTES", chunk_bytes)
    code = cli.main(["predict", "--model", str(model), "--data", str(data), "--out", str(out)])
    return code, capsys.readouterr().err


def test_chunks_give_the_whole_file_output(tmp_path, capsys, model, monkeypatch):
    lines, x = _rows(3000, 1)
    data = tmp_path / "d.csv"
    data.write_text("a,b,label\n" + "\n".join(lines[:1500]) + "\n\n" + "\n".join(lines[1500:]) + "\n")
    whole, chunked = tmp_path / "whole.csv", tmp_path / "chunked.csv"
    assert _predict(capsys, model, data, whole, 10**9, monkeypatch)[0] == 0
    code, err = _predict(capsys, model, data, chunked, 2000, monkeypatch)  # about 100 chunks
    assert code == 0
    assert chunked.read_bytes() == whole.read_bytes()
    # the accuracy over every chunk, computed here from the written predictions
    got = [r["predicted_label"] for r in csv.DictReader(io.StringIO(chunked.read_text()))]
    want = ["yes" if a + b > 0 else "no" for a, b in x]
    assert len(got) == 3000
    assert f"accuracy on the 'label' column: {np.mean(np.array(got) == np.array(want)):.4f}" in err


def test_the_chunked_reader_keeps_line_numbers_and_rows(tmp_path, monkeypatch):
    lines, x = _rows(500, 2, label=False)
    data = tmp_path / "d.csv"
    data.write_text("sep=;\n" + "a;b\n" + "\n".join(line.replace(",", ";") for line in lines) + "\n")
    chunks = list(_table.read_csv_chunks(data, chunk_bytes=500))
    assert len(chunks) > 10
    lines_seen = np.concatenate([c.lines for c in chunks])
    np.testing.assert_array_equal(lines_seen, np.arange(3, 503))  # 'sep=;' and the header come first
    values = np.concatenate([c.column("a").parsed(_table.NumberFormat())[0] for c in chunks])
    np.testing.assert_array_equal(values, x[:, 0])


def test_an_error_in_a_late_chunk_names_the_files_line_and_leaves_no_output(tmp_path, capsys, model, monkeypatch):
    lines, _ = _rows(2000, 3)
    lines[1789] = "0.5,,yes"  # line 1791 of the file (the header is line 1)
    data = tmp_path / "d.csv"
    data.write_text("a,b,label\n" + "\n".join(lines) + "\n")
    out = tmp_path / "p.csv"
    code, err = _predict(capsys, model, data, out, 1000, monkeypatch)
    assert code == 2 and "column 'b' has a missing value on line 1791" in err
    assert list(tmp_path.iterdir()) == [data]  # no output, no temporary file


def test_a_refusal_decided_by_the_whole_file_comes_after_the_last_chunk(tmp_path, capsys, model, monkeypatch):
    # A model trained with ',' as the thousands separator reads '1,250' as 1250, and a decimal
    # comma reads it as 1.25: refused unless a cell anywhere tells them apart ('1,5' only
    # reads one way), here in the last rows.
    rng = np.random.default_rng(4)
    rows = [(f"{v:,.0f}", f"{w:.0f}") for v, w in rng.uniform(1000, 9000, size=(60, 2))]
    train = tmp_path / "t.csv"
    train.write_text("a;b;label\n" + "".join(f"{a};{b};{'yes' if i % 2 else 'no'}\n" for i, (a, b) in enumerate(rows)))
    m = tmp_path / "m.jaxnn"
    assert cli.main(["train", "--data", str(train), "--out", str(m), "--thousands", ",", *FAST]) == 0
    capsys.readouterr()
    body = "".join(f"{a};{b}\n" for a, b in rows * 20)
    ambiguous, settled = tmp_path / "amb.csv", tmp_path / "set.csv"
    ambiguous.write_text("a;b\n" + body)
    # '1,5' reads only as a decimal comma: the column is settled, and refused as not written
    # the model's way, on its line, whether the file is read whole or in chunks
    settled.write_text("a;b\n" + body + "1,5;3\n")
    out = tmp_path / "p.csv"
    code, err = _predict(capsys, m, ambiguous, out, 300, monkeypatch)
    assert code == 2 and "no cell of the column tells the two apart" in err and "line 2," in err
    assert not out.exists() and not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    whole_code, whole_err = _predict(capsys, m, settled, out, 10**9, monkeypatch)
    chunk_code, chunk_err = _predict(capsys, m, settled, tmp_path / "p2.csv", 300, monkeypatch)
    assert whole_code == 2 and "line 1202" in whole_err
    assert (chunk_code, chunk_err.replace("p2.csv", "p.csv")) == (whole_code, whole_err)


def test_stdout_gets_nothing_when_the_last_chunk_is_refused(tmp_path, capsys, model, monkeypatch):
    lines, _ = _rows(2000, 5)
    lines[-1] = "1e39,0,yes"  # beyond float32: refused on the file's last line
    data = tmp_path / "d.csv"
    data.write_text("a,b,label\n" + "\n".join(lines) + "\n")
    monkeypatch.setattr(_table, "CHUNK_BYTES", 1000)
    assert cli.main(["predict", "--model", str(model), "--data", str(data)]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "line 2001" in captured.err


def test_a_file_with_quotes_is_read_whole(tmp_path, monkeypatch):
    data = tmp_path / "q.csv"
    data.write_text('a,b\n"1,5",2\n' + "3,4\n" * 400)
    assert len(list(_table.read_csv_chunks(data, chunk_bytes=100))) == 1
    assert pathlib.Path(data).exists()


# `python -m jaxnn` with small chunks, from the moment its Ctrl-C handler is installed (the
# line 'started' on stdout marks it).
_PROGRAM = ("import runpy, sys; from jaxnn import _interrupt; _interrupt.install(); "
            "from jaxnn._tabular import _table; _table.CHUNK_BYTES = 16384; print('started', flush=True); "
            "runpy.run_module('jaxnn', run_name='__main__', alter_sys=True)")


def _run(argv, cwd, *, sigint_at=None):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(pathlib.Path(__file__).parents[1]),
                                                         os.environ.get("PYTHONPATH", "")]),
           "JAX_PLATFORMS": "cpu"}
    start = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-c", _PROGRAM, *map(str, argv)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, cwd=cwd)
    assert proc.stdout.readline() == "started\n"
    if sigint_at is not None:
        time.sleep(sigint_at)
        proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=300)
    return proc.returncode, err, time.monotonic() - start


@pytest.mark.slow
def test_ctrl_c_during_a_chunked_predict_leaves_no_output(tmp_path, model):
    rng = np.random.default_rng(6)
    data = tmp_path / "big.csv"
    np.savetxt(data, rng.normal(size=(100_000, 2)), fmt="%.4f", delimiter=",", header="a,b", comments="")
    out = tmp_path / "p.csv"
    argv = ["predict", "--model", model, "--data", data, "--out", out, "--no-progress"]
    code, err, seconds = _run(argv, tmp_path)
    assert code == 0, err
    out.unlink()
    failures = []
    for k in range(1, 7):  # spread over the run, most of them past the imports, inside the chunks
        at = seconds * (0.3 + 0.1 * k)
        code, err, _ = _run(argv, tmp_path, sigint_at=at)
        left = sorted(p.name for p in tmp_path.iterdir() if p.name != "big.csv")
        if code == 0:  # the run ended before the signal: a complete output, nothing else
            ok = left == ["p.csv"]
            out.unlink(missing_ok=True)
        else:
            ok = code == 130 and err.strip().splitlines() == ["jaxnn predict: interrupted"] and left == []
        if not ok:
            failures.append(f"at {at:.2f} s: status {code}, left {left}, stderr {err.strip().splitlines()[-3:]}")
    assert failures == []
