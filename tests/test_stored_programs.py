"""Tests for the stored training programs: a warm process neither traces nor lowers fit's programs.

The cross-process cases run fresh Python processes against a temporary cache folder and
read JAX's own monitoring events (trace, lowering, compile, cache hits and misses), never
timings.
"""

import json
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

import jax

from jaxnn import _structure, optim

ROOT = pathlib.Path(__file__).resolve().parents[1]

# One fit of a 13-32-32-3 MLP, as the README writes it; prints the trace and lowering events
# of the network's initialization and fit's two programs (functions named `init`, `run` and
# `build`), the XLA programs
# compiled (persistent-cache misses) and loaded (hits), and the trained params.
_CHILD = """
import json, sys
import jax, numpy as np
events, durations = [], []
jax.monitoring.register_event_listener(lambda event, **kw: events.append(event))
jax.monitoring.register_event_duration_secs_listener(
    lambda event, d, fun_name="", **kw: durations.append((event.rsplit("/", 1)[-1], fun_name)))
import jaxnn
from jaxnn import heads, nn, optim, train
if sys.argv[1] != "-":
    jaxnn.enable_compilation_cache(sys.argv[1])
rng = np.random.default_rng(0)
x = rng.normal(size=(60, 13)).astype(np.float32)
y = (x[:, 0] > 0).astype(np.int32) + (x[:, 1] > 0.5)
net, head = nn.MLP([32, 32], 3, activation="relu"), heads.multiclass()
_, params = net.init(jax.random.key(0), (-1, 13))
result = train.fit(params, train.Supervised(net.apply, head), x, y, optimizer=optim.adam(3e-3),
                   key=jax.random.key(1), epochs=7, batch_size=16)
mine = ("run", "build", "init", "jit(run)", "jit(build)", "jit(init)")
print(json.dumps({
    "traced": [f for e, f in durations if e == "jaxpr_trace_duration" and f in mine],
    "lowered": [f for e, f in durations if e == "jaxpr_to_mlir_module_duration" and f in mine],
    "misses": events.count("/jax/compilation_cache/cache_misses"),
    "hits": events.count("/jax/compilation_cache/cache_hits"),
    "params": [np.asarray(a).tolist() for a in jax.tree.leaves(result.params)],
    "loss": np.asarray(result.history.train_loss).tolist(),
}))
"""


def _run(cache: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JAX_COMPILATION_CACHE")}
    env.pop("JAXNN_NO_COMPILATION_CACHE", None)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.run([sys.executable, "-c", _CHILD, cache], capture_output=True, text=True, env=env,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _same(a: dict, b: dict) -> None:
    for pa, pb in zip(a["params"], b["params"]):
        np.testing.assert_array_equal(np.asarray(pa), np.asarray(pb))
    np.testing.assert_array_equal(a["loss"], b["loss"])


def test_a_warm_process_neither_traces_nor_lowers_fits_programs(tmp_path):
    cache = str(tmp_path / "cache")
    plain = _run("-")
    first = _run(cache)
    second = _run(cache)
    # The first process builds both programs; the second reads them back: no tracing, no
    # lowering of fit's code, and every XLA program comes from the persistent cache.
    assert sorted(first["traced"]) == ["build", "init", "run"] and first["misses"] > 0
    assert second["traced"] == [] and second["lowered"] == []
    assert second["misses"] == 0 and second["hits"] > 0
    stored = sorted(p.name.split("-")[0] for p in (tmp_path / "cache" / "exported").iterdir())
    assert stored == ["fit", "init", "setup"]
    # Bit for bit what a process without any cache computes.
    _same(plain, first)
    _same(plain, second)
    assert np.isfinite(plain["loss"]).all() and plain["loss"][-1] < plain["loss"][0]


@pytest.mark.slow  # three fresh processes (~10 s); the warm-process test above runs by default
def test_a_damaged_stored_program_is_rebuilt_not_trusted(tmp_path):
    cache = str(tmp_path / "cache")
    first = _run(cache)
    for path in (tmp_path / "cache" / "exported").iterdir():
        path.write_bytes(path.read_bytes()[:200])  # torn, as by a crash mid-write
    again = _run(cache)
    assert sorted(again["traced"]) == ["build", "init", "run"]
    _same(first, again)
    assert _run(cache)["traced"] == []  # rewritten whole


def _lifted_key(obj):
    return _structure.lift(obj).key


def test_descriptions_are_equal_for_equal_configurations_and_differ_otherwise():
    a, b = _structure.describe(_lifted_key(optim.adam(1e-3))), _structure.describe(_lifted_key(optim.adam(3e-3)))
    assert a is not None and a == b  # the learning rate is an argument of the program
    assert _structure.describe(_lifted_key(optim.sgd(1e-3))) != a

    def make(scale):
        return lambda p, x: scale * x

    assert _structure.describe(_structure.config_key(make(2.0))) == _structure.describe(_structure.config_key(make(2.0)))
    assert _structure.describe(_structure.config_key(make(2.0))) != _structure.describe(_structure.config_key(make(3.0)))
    other = lambda p, x: 2.0 * x  # noqa: E731 - other code, another description
    assert _structure.describe(_structure.config_key(other)) != _structure.describe(_structure.config_key(make(2.0)))


def test_objects_compared_by_identity_have_no_description():
    opaque = object()
    assert _structure.describe(_structure.config_key(lambda p, x: x if opaque else -x)) is None
    assert _structure.describe(_structure.config_key(jax.numpy.ones(3))) is None


class _Scaled:
    def __init__(self, w):
        self.w = w

    def __call__(self, p, x):
        return _SCALE * self.w * x


_SCALE = 2.0


def test_a_changed_global_read_by_a_users_method_changes_the_description(monkeypatch):
    before = _structure.describe(_structure.config_key(_Scaled(1.0)))
    monkeypatch.setattr(sys.modules[__name__], "_SCALE", 3.0)
    after = _structure.describe(_structure.config_key(_Scaled(1.0)))
    assert before is not None and after is not None and before != after


_TOO_LARGE = """
import sys
import jax, jax.numpy as jnp, jaxnn
from jaxnn import heads, nn, optim, train
jaxnn.enable_compilation_cache(sys.argv[1])
net = nn.MLP([100000, 100000], 1)
_, params = net.init(jax.random.key(0), (-1, 2))
try:
    train.fit(params, train.Supervised(net.apply, heads.regression()), jnp.ones((4, 2)),
              jnp.ones((4, 1)), optimizer=optim.sgd(0.1), key=jax.random.key(0), epochs=1)
except MemoryError as err:
    print("MemoryError:", err)
"""


def test_an_init_too_large_for_memory_raises_from_a_stored_program_too(tmp_path):
    # The second process reads the init program back and must learn the output shape from
    # the failed program's output without waiting on it for ever.
    env = {k: v for k, v in os.environ.items() if k != "JAXNN_NO_COMPILATION_CACHE"}
    env.update(JAX_PLATFORMS="cpu", PYTHONPATH=str(ROOT) + os.pathsep + env.get("PYTHONPATH", ""))
    for _ in range(2):
        out = subprocess.run([sys.executable, "-c", _TOO_LARGE, str(tmp_path / "cache")], capture_output=True,
                             text=True, timeout=120, env=env)
        assert "MemoryError: the params" in out.stdout, out.stderr[-2000:]
    assert [p.name.split("-")[0] for p in (tmp_path / "cache" / "exported").iterdir()] == ["init"]
