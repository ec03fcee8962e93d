"""Smoke tests of the benchmark suite (bench/): every workload runs at the tiny size.

No timing is asserted: the tests check that each workload produces complete records, that
jaxnn and the hand-written raw-JAX reference (and the NumPy perceptron loop) end with the same
numbers, that the persistent compilation cache was hit in the cold-start workload, and that the
command line parses and writes JSON.
"""

import json
import math
import os
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:  # bench/ lives next to jaxnn/ and is not installed with it
    sys.path.insert(0, ROOT)

import bench  # noqa: E402
from bench import _reference as ref  # noqa: E402
from bench import _timing  # noqa: E402
from bench.workloads import CONFIGS, WORKLOADS  # noqa: E402
from bench.workloads.perceptron import perceptron_data  # noqa: E402

# Its module-scoped fixture is built once: all its tests run on one pytest-xdist worker.
pytestmark = pytest.mark.xdist_group("test_bench")

REQUIRED = ("workload", "impl", "kind", "measure", "median_s", "times_s", "repeats", "note", "size",
            "jax_version", "jaxlib_version", "backend", "device_kind", "cpu_count")


# The workloads that run fresh processes have their own fixtures and tests below.
IN_PROCESS = tuple(w for w in WORKLOADS if w not in ("time_to_result", "grid_search", "breakdown", "compile_effort"))


@pytest.fixture(scope="module")
def records():
    """Every in-process workload at the tiny size, one timed repeat, without peers (run once)."""
    return bench.run(IN_PROCESS, size="tiny", repeats=1, peers=False)


def test_every_workload_produces_complete_records(records):
    json.dumps(records)  # serializable as they are
    for rec in records:
        for field in REQUIRED:
            assert field in rec, (field, rec)
        assert rec["size"] == "tiny"
        assert rec["backend"] == jax.default_backend()
    timed = [r for r in records if r["kind"] in ("jaxnn", "reference") and r["median_s"] is not None]
    for r in timed:
        assert math.isfinite(r["median_s"]) and r["median_s"] > 0, r
        assert len(r["times_s"]) == r["repeats"] >= 1
        assert r["median_s"] == pytest.approx(float(np.median(r["times_s"])))
    for w in IN_PROCESS:
        mine = [r for r in records if r["workload"].split(":")[0] == w]
        assert any(r["kind"] == "jaxnn" for r in mine), w
        assert any(r["kind"] in ("target", "check") for r in mine), w
        assert not any(r["kind"] == "error" for r in mine), [r["note"] for r in mine if r["kind"] == "error"]
    for w in ("mlp", "xor", "sweep", "roofline", "perceptron", "dispatch"):
        steady = {r["kind"]: r for r in records if r["workload"] == w and r["measure"] in ("steady", "per_call")
                  and r["impl"] in ("jaxnn", "reference")}
        assert set(steady) == {"jaxnn", "reference"}, w
        # The ratio is the jaxnn median over the reference median of the same run.
        assert steady["jaxnn"]["ratio"] == pytest.approx(steady["jaxnn"]["median_s"] / steady["reference"]["median_s"])
    targets = {(r["workload"], r["measure"]) for r in records if r["kind"] == "target"}
    assert len([t for t in targets if t[0] == "mlp"]) == 3
    assert len([t for t in targets if t[0] == "xor"]) == 3
    assert len([t for t in targets if t[0] == "sweep"]) == 2
    for w in ("roofline", "perceptron", "dispatch"):
        assert any(t[0] == w for t in targets), w


def test_gflops_use_six_batch_weights(records):
    r = next(r for r in records if r["workload"] == "mlp" and r["impl"] == "jaxnn" and r["measure"] == "steady")
    w = r["work"]
    assert w["flops"] == 6 * w["batch"] * w["weights"] * w["steps"]
    assert r["gflops"] == pytest.approx(w["flops"] / r["median_s"] / 1e9)


@pytest.mark.parametrize("workload", ["mlp", "xor", "sweep", "roofline", "perceptron", "dispatch"])
def test_jaxnn_agrees_with_the_reference(records, workload):
    checks = [r for r in records if r["workload"] == workload and r["kind"] == "check"]
    assert checks, workload
    # The xor and sweep checks once caught BCE-with-logits' gradient taken wrongly at z = 0.
    bad = [(c["impl"], c["value"], c["threshold"], c["note"]) for c in checks if not c["met"]]
    assert not bad, bad


def test_cold_start_hits_the_persistent_cache(records):
    hits = [r for r in records if r["workload"].startswith("coldstart") and r["kind"] == "check"]
    assert hits and all(r["met"] for r in hits), hits
    runs = {r["measure"]: r["work"] for r in records if r["workload"] == "coldstart:xor" and r["impl"] == "jaxnn"
            and r["kind"] == "jaxnn"}
    assert runs["cache_on_cold"]["cache_files"] > 0 and runs["cache_on_cold"]["hits"] == 0
    assert runs["cache_on_warm"]["misses"] == 0


@pytest.fixture(scope="module")
def time_to_result():
    """The time-to-result workload at the tiny size, with scikit-learn as its peer (run once)."""
    pytest.importorskip("sklearn")  # the wine data are scikit-learn's
    return bench.run(["time_to_result"], size="tiny", repeats=1, peers=True)


def test_time_to_result_runs_every_part_and_trains(time_to_result):
    c = CONFIGS["tiny"]["time_to_result"]
    recs = time_to_result
    json.dumps(recs)
    for rec in recs:
        assert all(field in rec for field in REQUIRED), rec
    assert not [r for r in recs if r["kind"] == "error"], [r["note"] for r in recs if r["kind"] == "error"]
    runs = len(c["seeds"]) * len(c["lrs"])
    loops = {r["impl"]: r for r in recs if r["workload"] == "time_to_result:loop" and r["kind"] in ("jaxnn", "peer")}
    assert {"jaxnn", "sklearn"} <= set(loops)
    for impl, r in loops.items():
        assert r["measure"] == f"loop total ({runs} runs)"
        assert len(r["work"]["runs"]) == runs
        order = [(run["seed"], run["lr"]) for run in r["work"]["runs"]]
        assert order == [(s, lr) for s in c["seeds"] for lr in c["lrs"]]
        assert r["median_s"] == pytest.approx(sum(run["seconds"] for run in r["work"]["runs"]), rel=0.05, abs=0.05)
        assert r["value"] > r["median_s"]  # the process also started Python and imported the library
    # Every implementation trained each run for the configured epochs to a useful accuracy.
    checks = {r["impl"]: r for r in recs if r["workload"] == "time_to_result:loop" and r["kind"] == "check"}
    assert set(checks) == set(loops) and all(r["met"] for r in checks.values()), checks
    # jaxnn's XLA programs are counted per run: the first run must build some.
    jaxnn_runs = loops["jaxnn"]["work"]["runs"]
    assert jaxnn_runs[0]["programs"] > 0 and all(isinstance(run["programs"], int) for run in jaxnn_runs)
    targets = {(r["workload"], r["measure"]): r for r in recs if r["kind"] == "target"}
    later = targets["time_to_result:loop", f"XLA programs built in runs 2-{runs}"]
    assert later["value"] == sum(run["programs"] for run in jaxnn_runs[1:]) and later["threshold"] == 0
    assert targets["time_to_result:loop", "loop total vs scikit-learn"]["value"] == pytest.approx(
        loops["jaxnn"]["median_s"] / loops["sklearn"]["median_s"])
    cli = {r["measure"]: r for r in recs if r["workload"] == "time_to_result:cli" and r["kind"] in ("jaxnn", "peer")}
    assert set(cli) == {f"process, cache {m}" for m in c["cli_modes"]} | {"process"}
    for r in cli.values():
        assert len(r["times_s"]) == r["repeats"] == c["cli_repeats"]
    for mode in c["cli_modes"]:
        work = cli[f"process, cache {mode}"]["work"]
        assert all(0 <= h <= p for h, p in zip(work["cache_hits"], work["programs"])) and min(work["programs"]) > 0
    warm = targets["time_to_result:cli", "cache-warm process vs scikit-learn script"]
    assert warm["threshold"] == 1.2 and warm["value"] == pytest.approx(
        cli["process, cache warm"]["median_s"] / cli["process"]["median_s"])


@pytest.mark.slow  # three fresh processes, ~25 s; the search itself is tested in test_sklearn_search.py
def test_grid_search_runs_the_three_searches_and_reports_their_targets():
    pytest.importorskip("sklearn")
    recs = bench.run(["grid_search"], size="tiny", repeats=1, peers=True)
    assert not [r for r in recs if r["kind"] == "error"], [r["note"] for r in recs if r["kind"] == "error"]
    timed = {r["impl"]: r for r in recs if r["kind"] in ("jaxnn", "baseline")}
    assert set(timed) == {"sklearn", "sklearn-jaxnn", "jaxnn"}
    assert timed["sklearn"]["value"] == 0 and timed["jaxnn"]["value"] > 0  # XLA programs compiled
    assert timed["jaxnn"]["work"]["runs"][0]["groups"] == 1  # one structure: one sweep
    for r in timed.values():
        assert r["median_s"] > r["work"]["runs"][0]["search_s"]  # the process also imported the libraries
    targets = {r["measure"]: r for r in recs if r["kind"] == "target"}
    assert targets["jaxnn time vs scikit-learn"]["value"] == pytest.approx(
        timed["jaxnn"]["median_s"] / timed["sklearn"]["median_s"])
    assert targets["jaxnn best CV score - scikit-learn's"]["threshold"] == 0.01


def test_compile_clock_counts_programs_and_zero_when_nothing_compiles():
    f = jax.jit(lambda v: v * 3 - 1)
    with _timing.CompileClock() as first:
        jax.block_until_ready(f(jnp.arange(3.0)))
    with _timing.CompileClock() as none:
        jax.block_until_ready(f(jnp.arange(3.0)))
    assert first.programs >= 1 and first.compiled == first.programs and first.cache_hits == 0
    assert none.programs == 0 and none.compiled == 0  # every program was found in memory


def test_reference_init_matches_jaxnn_mlp_init():
    from jaxnn import nn

    key = jax.random.key(5)
    _, mine = nn.MLP([8, 3], 2, activation="tanh").init(key, (-1, 4))
    theirs = ref.mlp_init(key, [4, 8, 3, 2])
    for a, b in zip(mine, theirs):
        np.testing.assert_array_equal(a["w"], b["w"])
        np.testing.assert_array_equal(a["b"], b["b"])


def test_reference_perceptron_matches_numpy_and_separates():
    X, y = perceptron_data(300, 5, seed=1)
    w_np, epochs_np, updates_np = ref.perceptron_numpy(X, y, max_epochs=500)
    w, epochs, updates = ref.perceptron(jnp.asarray(X), jnp.asarray(y), max_epochs=500)
    np.testing.assert_array_equal(np.asarray(w), w_np)
    assert (int(epochs), int(updates)) == (epochs_np, updates_np)
    scores = w_np[0] + X @ w_np[1:]
    assert np.all(y * scores > 0)  # converged: every point strictly on its side


def test_timing_blocks_and_takes_medians():
    calls = []

    def fn():
        calls.append(1)
        return jnp.ones(3) * 2

    t = _timing.measure(fn, repeats=3, warmup=2)
    assert len(calls) == 5 and len(t.times) == 3 and len(t.warmup) == 2
    assert t.median == pytest.approx(float(np.median(t.times)))
    np.testing.assert_array_equal(t.result, [2.0, 2.0, 2.0])
    both = _timing.measure_interleaved({"a": fn, "b": lambda: 1}, repeats=4, warmup=1)
    assert set(both) == {"a", "b"} and len(both["b"].times) == 4
    def build():
        f = jax.jit(lambda v: v + 1)  # a fresh function: its first call compiles
        return lambda: f(1.0)

    first = _timing.first_call(build, repeats=2)
    assert len(first.times) == 2 and all(c > 0 for c in first.compile)
    with pytest.raises(ValueError, match="unknown record fields"):
        _timing.record("w", "i", "jaxnn", "steady", medain_s=1.0)
    with pytest.raises(ValueError, match="repeats"):
        _timing.measure(fn, repeats=0)


def test_cli_writes_json_and_rejects_bad_arguments(tmp_path, capsys):
    path = tmp_path / "out.json"
    code = bench.main(["--workloads", "perceptron", "--size", "tiny", "--repeats", "1", "--no-peers", "--quiet",
                       "--json", str(path)])
    assert code == 0
    data = json.loads(path.read_text())
    assert data and all(r["command"].startswith("python -m bench --workloads perceptron") for r in data)
    assert "speed-up over NumPy per-sample loop" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exit_:
        bench.main(["--workloads", "mlp,nope"])
    assert exit_.value.code == 2
    with pytest.raises(SystemExit):
        bench.main(["--size", "huge"])
    with pytest.raises(ValueError, match="unknown workload"):
        bench.run(["nope"])
    with pytest.raises(ValueError, match="size"):
        bench.run(["mlp"], size="huge")


@pytest.mark.slow
def test_peers_solve_the_same_problem():
    """With the peers installed (jaxnn[bench]), each one ends near the reference's weights."""
    recs = bench.run(["mlp", "xor", "perceptron", "dispatch"], size="tiny", repeats=1, peers=True)
    assert not [r for r in recs if r["kind"] == "error"], [r["note"] for r in recs if r["kind"] == "error"]
    peer_checks = [r for r in recs if r["kind"] == "check" and r["impl"] not in ("reference", "numpy loop")]
    assert peer_checks
    bad = [(c["workload"], c["impl"], c["value"], c["threshold"]) for c in peer_checks if not c["met"]]
    assert not bad, bad


@pytest.mark.slow
def test_time_to_result_loop_of_every_peer(monkeypatch):
    """With the peers installed (jaxnn[bench]), PyTorch's and Keras's loops train too."""
    pytest.importorskip("sklearn")
    cfg = {**CONFIGS["tiny"]["time_to_result"], "impls": ("jaxnn", "sklearn", "torch", "keras"), "cli_modes": ()}
    monkeypatch.setitem(CONFIGS["tiny"], "time_to_result", cfg)
    recs = bench.run(["time_to_result"], size="tiny", repeats=1, peers=True)
    assert not [r for r in recs if r["kind"] == "error"], [r["note"] for r in recs if r["kind"] == "error"]
    checks = [r for r in recs if r["workload"] == "time_to_result:loop" and r["kind"] == "check"]
    assert {r["impl"] for r in checks} == {"jaxnn", "sklearn", "torch", "keras"}
    assert all(r["met"] for r in checks), [(r["impl"], r["value"], r["note"]) for r in checks]


def test_import_times_sums_self_times_per_top_level_package():
    from bench.workloads.breakdown import import_times

    stderr = "\n".join([
        "import time: self [us] | cumulative | imported package",
        "import time:      1500 |       1500 |   jax._src.core",
        "import time:       500 |       2000 | jax",
        "import time:      2000 |       2000 |     _io",
        "import time:       250 |        250 |   json.decoder",
        "a warning line",
    ])
    assert import_times(stderr) == pytest.approx({"jax": 0.002, "Python's standard library": 0.00225})


@pytest.mark.slow
def test_breakdown_and_compile_effort_report_phases_ratios_and_options():
    from bench.workloads.compile_effort import OPTIONS

    recs = bench.run(["breakdown", "compile_effort"], size="tiny", repeats=1, peers=True)
    assert not [r for r in recs if r["kind"] == "error"]
    targets = {r["measure"]: r for r in recs if r["kind"] == "target"}
    assert len([m for m in targets if "scikit-learn" in m]) == 4
    for t in targets.values():
        assert t["value"] is not None and t["value"] > 0, t
    phases = {r["measure"] for r in recs if r["workload"] == "breakdown:cli" and r["kind"] == "diagnostic"}
    for phase in ("interpreter start", "import jax", "backend start", "read CSV and schema", "fit", "write outputs"):
        assert f"warm process: {phase}" in phases, phase
    fit = next(r for r in recs if r["measure"] == "warm process: fit")
    assert fit["work"]["trace_s"] >= 0 and fit["work"]["cache_s"] > 0  # programs read from the cache
    effort = {r["measure"] for r in recs if r["workload"] == "compile_effort:wine" and r["kind"] == "diagnostic"}
    assert effort == set(OPTIONS)
