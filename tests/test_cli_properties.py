"""Property tests (hypothesis) of the command line's CSV reading, against the Python API.

Random tables (number and category columns, codes such as ``01`` next to ``1``, quoting,
delimiters, decimal commas, a byte-order mark, missing cells) are written to CSV and:

* read back through the table schema: the encoded features equal the numbers and one-hot
  codes the table was made of (no JAX involved, so many examples);
* trained with ``jaxnn train`` for one epoch and predicted with ``jaxnn predict``: the
  probabilities equal the Python API's (``nn.MLP.apply`` on the stored params) on the same
  numbers, standardized with the stored scaler, whose mean is checked against NumPy.

The profile is deterministic (``derandomize=True``, no example database).
"""

from __future__ import annotations

import csv
import dataclasses
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from jaxnn import checkpoint, cli, nn
from jaxnn._tabular import _columnar, _errors, _model_file, _numbers, _schema, _table

PROFILE = settings(
    max_examples=30,
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=False,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
# Training compiles a program per table shape: keep the round trip to a few examples.
ROUND_TRIP = settings(PROFILE, max_examples=3)

# Category values, including codes that differ only as strings, a delimiter, a quote and
# non-ASCII text; each category column also holds a value with a letter, so that it is
# not a number column.
CATEGORIES = ["1", "01", "A", "b c", "x,y", 'say "hi"', "é", "日本", "z;w"]


@dataclasses.dataclass
class Generated:
    names: list[str]
    kinds: list[str]  # "number" or "category"
    values: list[list]  # per column: floats or str
    labels: list[str]
    delimiter: str
    quoting: int
    decimal: str
    bom: bool
    missing: tuple[int, int] | None  # (row, column) left empty

    def write(self, path):
        text_rows = []
        for i in range(len(self.labels)):
            row = []
            for j, kind in enumerate(self.kinds):
                v = self.values[j][i]
                if self.missing == (i, j):
                    row.append("")
                elif kind == "number":
                    row.append(repr(float(v)).replace(".", self.decimal))
                else:
                    row.append(v)
            text_rows.append([*row, self.labels[i]])
        with open(path, "w", newline="", encoding="utf-8-sig" if self.bom else "utf-8") as f:
            w = csv.writer(f, delimiter=self.delimiter, quoting=self.quoting, lineterminator="\n")
            w.writerow([*self.names, "label"])
            w.writerows(text_rows)

    def expected_features(self):
        """The encoded features, computed from the generated values (not from the file)."""
        blocks = []
        for kind, values in zip(self.kinds, self.values):
            if kind == "number":
                blocks.append(np.asarray(values, np.float64)[:, None])
            else:
                cats = sorted(set(values))
                blocks.append(np.array([[v == c for c in cats] for v in values], np.float64))
        return np.concatenate(blocks, axis=1)

    def expected_spec(self):
        return [{"name": n, "kind": "numeric"} if k == "number" else
                {"name": n, "kind": "categorical", "categories": sorted(set(v))}
                for n, k, v in zip(self.names, self.kinds, self.values)]


@st.composite
def tables(draw, allow_missing=True):
    rows = draw(st.integers(6, 12))
    ncols = draw(st.integers(1, 3))
    kinds = draw(st.lists(st.sampled_from(["number", "category"]), min_size=ncols, max_size=ncols))
    values = []
    for kind in kinds:
        if kind == "number":
            col = draw(st.lists(st.integers(-10**6, 10**6).map(lambda k: k / 1000), min_size=rows, max_size=rows))
        else:
            col = draw(st.lists(st.sampled_from(CATEGORIES), min_size=rows - 1, max_size=rows - 1))
            col = [*col, draw(st.sampled_from(["A", "b c", "é"]))]  # at least one value with a letter
            col = draw(st.permutations(col))
        values.append(list(col))
    labels = draw(st.lists(st.sampled_from(["no", "yes"]), min_size=rows - 2, max_size=rows - 2))
    labels = draw(st.permutations([*labels, "no", "yes"]))
    decimal = draw(st.sampled_from([".", ","]))
    delimiter = draw(st.sampled_from([";", "\t"] if decimal == "," else [",", ";", "\t"]))
    missing = None
    if allow_missing and draw(st.integers(0, 4)) == 0:
        missing = (draw(st.integers(0, rows - 1)), draw(st.integers(0, ncols - 1)))
    return Generated(
        names=[f"c{j}" for j in range(ncols)], kinds=kinds, values=values, labels=list(labels),
        delimiter=delimiter, quoting=draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL])),
        decimal=decimal, bom=draw(st.booleans()), missing=missing,
    )


@PROFILE
@given(table=tables())
def test_csv_reader_reads_the_numbers_and_categories_written(tmp_path_factory, table):
    path = tmp_path_factory.mktemp("csv") / "t.csv"
    table.write(path)
    fmt = _numbers.NumberFormat(decimal=table.decimal)
    read = _table.read_csv(path)
    assert read.names == [*table.names, "label"] and read.rows == len(table.labels)
    if table.missing is not None:
        row, col = table.missing
        with pytest.raises(_errors.TableError, match=f"column 'c{col}' has a missing value on line {row + 2}"):
            _schema.feature_spec(read, table.names, fmt)
        return
    spec = _schema.feature_spec(read, table.names, fmt)
    assert spec == table.expected_spec()
    np.testing.assert_array_equal(_schema.encode_features(read, spec, fmt), table.expected_features())


@ROUND_TRIP
@given(table=tables(allow_missing=False))
@example(table=Generated(  # decimal commas, a tab delimiter, a byte-order mark, codes '1' and '01'
    names=["c0", "c1"], kinds=["number", "category"],
    values=[[0.5, -1.25, 3.0, 10.125, -0.001, 2.0], ["1", "01", "A", "01", "1", 'say "hi"']],
    labels=["no", "yes", "no", "yes", "yes", "no"], delimiter="\t", quoting=csv.QUOTE_ALL, decimal=",",
    bom=True, missing=None))
def test_train_then_predict_matches_the_python_api(tmp_path_factory, table):
    folder = tmp_path_factory.mktemp("round")
    data, model = folder / "t.csv", folder / "m.jaxnn"
    table.write(data)
    argv = ["train", "--data", str(data), "--out", str(model), "--epochs", "1", "--hidden", "4", "--val-split", "0",
            "--no-progress", "--batch-size", "full"]
    assert cli.main([*argv, *(["--decimal", ","] if table.decimal == "," else [])]) == 0
    pred = folder / "p.csv"
    assert cli.main(["predict", "--model", str(model), "--data", str(data), "--out", str(pred)]) == 0

    config = checkpoint.load_metadata(model).config
    assert config["features"] == table.expected_spec()
    x = table.expected_features()
    np.testing.assert_allclose(config["x_mean"], x.mean(axis=0), rtol=1e-12, atol=1e-12)
    z = ((x - np.asarray(config["x_mean"])) / np.asarray(config["x_std"])).astype(np.float32)
    logits = np.asarray(nn.MLP([4], 1).apply(_model_file.load_model(str(model)).params, z), np.float64)[:, 0]
    p_yes = 1 / (1 + np.exp(-logits))
    with open(pred, newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["predicted_label", "p_no", "p_yes"] and len(rows) == len(table.labels) + 1
    np.testing.assert_allclose([float(r[2]) for r in rows[1:]], p_yes, atol=2e-6)
    clear = np.abs(p_yes - 0.5) > 1e-5  # away from a tie, the class is the likelier one
    assert [r[0] for r, c in zip(rows[1:], clear) if c] == ["yes" if p > 0.5 else "no" for p in p_yes[clear]]


# Cell texts for comparing the two readers: numbers in every convention, signs, exponents,
# infinities, missing markers, units, non-ASCII digits and spaces; and in some files one
# hostile piece (a quote, a delimiter, a lone CR), which the Python reader must take over.
CELL_PIECES = ["1", "0", "7", "12", ".", " ", "'", "-", "+", "e", "E3", "inf", "Infinity", "NA", "n/a",
               "?", "None", "%", "$", "kg", "x", "é", "\u0661", "\u00a0", "\x1c"]
HOSTILE_PIECES = ['"', ",", ";", "\t", "\r", '"a"']
FORMATS = [_numbers.NumberFormat(), _numbers.NumberFormat(decimal=","), _numbers.NumberFormat(thousands=","),
           _numbers.NumberFormat(decimal=",", thousands="."), _numbers.NumberFormat(thousands=" "),
           _numbers.NumberFormat(thousands="'")]


def _read_both(path, monkeypatch):
    """The table (or the error message) from Arrow's path and from the Python reader alone."""
    out = []
    for python_only in (False, True):
        with monkeypatch.context() as m:
            if python_only:
                m.setattr(_table._columnar, "read", lambda *a, **k: None)
            try:
                out.append(_table.read_csv(path))
            except _errors.TableError as e:
                out.append(str(e))
    return out


@settings(PROFILE, max_examples=100)
@given(
    cells=st.lists(st.lists(st.lists(st.sampled_from(CELL_PIECES), max_size=4).map("".join), min_size=3, max_size=3),
                   min_size=1, max_size=8),
    hostile=st.none() | st.tuples(st.sampled_from(HOSTILE_PIECES), st.integers(0, 23)),
    delimiter=st.sampled_from([",", ";", "\t"]),
    newline=st.sampled_from(["\n", "\r\n"]),
    bom=st.booleans(),
    sep_line=st.booleans(),
    trailing=st.sampled_from(["", "\n", "\n\n"]),
)
def test_arrow_and_python_readers_agree(tmp_path_factory, monkeypatch, cells, hostile, delimiter, newline, bom,
                                        sep_line, trailing):
    if hostile is not None:
        piece, k = hostile
        row = cells[k // 3 % len(cells)]
        row[k % 3] += piece
    text = (f"sep={delimiter}{newline}" if sep_line else "") + delimiter.join(["a", "b c", "y"]) + newline
    text += "".join(delimiter.join(row) + newline for row in cells) + trailing
    path = tmp_path_factory.mktemp("both") / "t.csv"
    path.write_bytes(("\ufeff" if bom else "").encode() + text.encode())
    fast, python = _read_both(path, monkeypatch)
    if isinstance(python, str) or isinstance(fast, str):
        assert fast == python
        return
    assert fast.names == python.names and fast.lines.tolist() == python.lines.tolist()
    for a, b in zip(fast.columns, python.columns):
        assert a.cells.tolist() == b.cells.tolist() and a.missing.tolist() == b.missing.tolist()
        for fmt in FORMATS:
            (va, oka), (vb, okb) = a.parsed(fmt), b.parsed(fmt)
            assert oka.tolist() == okb.tolist()
            np.testing.assert_array_equal(va, vb)
        assert sorted(a.distinct()) == sorted(b.distinct())
        known = sorted(b.distinct())[:2]
        assert a.index_in(known).tolist() == b.index_in(known).tolist()


def test_plain_files_are_split_by_arrow(tmp_path, monkeypatch):
    """A file without quotes (CRLF, a byte-order mark, Excel's sep= line, spaces around
    cells) never reaches the Python reader; a quoted one does."""
    def python_reader(*a, **k):
        raise AssertionError("the Python reader was used")

    monkeypatch.setattr(_table, "_parse", python_reader)
    path = tmp_path / "plain.csv"
    path.write_bytes(b"\xef\xbb\xbfsep=;\r\n a ; b \r\n1,5 ; x\r\n 2 ;  y \r\n\r\n")
    table = _table.read_csv(path)
    assert table.names == ["a", "b"] and table.lines.tolist() == [3, 4]
    assert table.column("b").cells.tolist() == ["x", "y"]
    assert _schema.numbers(table, table.column("a"), _numbers.NumberFormat(decimal=",")).tolist() == [1.5, 2.0]
    path.write_text('a,b\n1,"x"\n2,y\n')
    with pytest.raises(AssertionError, match="Python reader"):
        _table.read_csv(path)


def test_arrow_trims_the_whitespace_python_strips():
    assert set(_columnar._ASCII_WHITESPACE) == {c for c in map(chr, range(128)) if c.isspace()}
    assert "\u00a0" in _columnar._whitespace() and "\u3000" in _columnar._whitespace()


def test_pyarrow_is_imported_only_when_a_csv_file_is_read(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,y\n1,0\n2,1\n")
    script = ("import sys; from jaxnn import cli; from jaxnn._tabular import _table; "
              "assert 'pyarrow' not in sys.modules, 'imported with the command line'; "
              f"_table.read_csv({str(path)!r}); assert 'pyarrow' in sys.modules, 'not used to read'")
    repo = pathlib.Path(__file__).resolve().parent.parent
    env = {**os.environ, "PYTHONPATH": str(repo), "JAX_PLATFORMS": "cpu"}
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, check=False)
    assert proc.returncode == 0, proc.stderr


# Decimal strings in the plain number syntax, built to reach the corners of float parsing:
# many significant digits (halfway cases), exponents near overflow and into the subnormals,
# beyond them (to infinity and to zero, as ``float()`` rounds), negative zero, a bare fraction (".5") and a bare point ("5.").
_DIGITS = st.text("0123456789", min_size=1, max_size=30)
_DECIMALS = st.tuples(
    st.sampled_from(["", "-", "+"]),
    _DIGITS,
    st.none() | st.text("0123456789", max_size=30),
    st.none() | st.tuples(st.sampled_from(["e", "E"]), st.sampled_from(["", "-", "+"]), st.integers(0, 345)),
).map(lambda p: p[0] + p[1] + ("" if p[2] is None else "." + p[2])
      + ("" if p[3] is None else f"{p[3][0]}{p[3][1]}{p[3][2]}"))
_CORNERS = ["-0", "-0.0", "+0e5", ".5", "5.", "4.9406564584124654e-324", "2.4703282292062327e-324",
            "2.4703282292062328e-324", "2.2250738585072011e-308", "2.2250738585072014e-308",
            "1.7976931348623157e308", "1.7976931348623158e308", "9007199254740993", "0.1000000000000000055511151231257827",
            "1e400", "-1e400", "1e-400", "-1e-400", "123456789012345678901234567890e-340"]


@settings(PROFILE, max_examples=300)
@given(cells=st.lists(_DECIMALS | st.sampled_from(_CORNERS), min_size=1, max_size=20))
def test_arrow_reads_each_accepted_number_as_python_float_does(cells):
    """The column path (Arrow's string-to-float64 cast) gives the same float64 bits as
    Python's ``float()`` for every cell the number syntax accepts, under each convention
    (the separators are written in, then the cell is read back)."""
    import pyarrow as pa

    expected = np.array([float(c) for c in cells], dtype=np.float64)
    for fmt in FORMATS:
        written = [c.replace(".", fmt.decimal) for c in cells]
        column = _columnar.ArrowCells(pa.chunked_array([pa.array(written, type=pa.string())]),
                                      pa.array([""], type=pa.string()), True, False)
        values, ok = column.parse(fmt)
        assert ok.all(), [c for c, k in zip(written, ok) if not k]
        np.testing.assert_array_equal(values.view(np.int64), expected.view(np.int64))
