"""Tests for jaxnn.enable_compilation_cache.

Each case runs in a fresh Python process: the cache is process-wide JAX configuration,
and "a new process reuses what an earlier one compiled" is the behaviour under test.
Cache reuse is read from JAX's own monitoring events, not from timings.
"""

import json
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

from jaxnn._cache import ENV_DISABLE, default_cache_dir

# Prints what enable_compilation_cache returned (twice: it must be idempotent), JAX's
# cache directory afterwards, the cache hit/miss events of one small jitted program, and
# its result.
_CHILD = """
import json, sys
import jax, jax.numpy as jnp, numpy as np
events = []
jax.monitoring.register_event_listener(lambda event, **kw: events.append(event))
from jaxnn import enable_compilation_cache
args = sys.argv[1:2]
first = enable_compilation_cache(*args)
second = enable_compilation_cache(*args)
y = jax.jit(lambda x: jnp.tanh(x) @ x.T + 1.0)(jnp.arange(12.0, dtype=jnp.float32).reshape(3, 4) / 10)
print(json.dumps({
    "first": None if first is None else str(first),
    "second": None if second is None else str(second),
    "jax_dir": jax.config.jax_compilation_cache_dir,
    "hits": events.count("/jax/compilation_cache/cache_hits"),
    "misses": events.count("/jax/compilation_cache/cache_misses"),
    "y": np.asarray(y).tolist(),
}))
"""


def _expected_y():
    x = np.arange(12.0).reshape(3, 4) / 10
    return np.tanh(x) @ x.T + 1.0


def _env(tmp_path, **extra):
    env = {k: v for k, v in os.environ.items() if k not in (ENV_DISABLE, "JAX_COMPILATION_CACHE_DIR")}
    env["XDG_CACHE_HOME"] = str(tmp_path / "xdg")  # never the real user's cache
    env.update(extra)
    return env


# Makes `import filelock` fail in the child, as in an install without it.
_NO_FILELOCK = "import sys; sys.modules['filelock'] = None\n"


def _start(tmp_path, *args, prelude="", **env):
    return subprocess.Popen(
        [sys.executable, "-c", prelude + _CHILD, *map(str, args)],
        env=_env(tmp_path, **env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(proc):
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    report = json.loads(out.strip().splitlines()[-1])
    np.testing.assert_allclose(report["y"], _expected_y(), rtol=1e-5)
    return report, err


def _run(tmp_path, *args, prelude="", **env):
    return _finish(_start(tmp_path, *args, prelude=prelude, **env))


def _entries(directory):
    return sorted(p.name for p in pathlib.Path(directory).glob("*-cache"))


def test_a_second_process_reads_what_the_first_compiled(tmp_path):
    cache = tmp_path / "cache"
    first, _ = _run(tmp_path, cache)
    assert first["first"] == first["second"] == first["jax_dir"] == str(cache)
    assert first["hits"] == 0 and first["misses"] >= 1
    written = _entries(cache)
    assert len(written) >= first["misses"]  # small programs are cached too

    second, _ = _run(tmp_path, cache)
    assert second["misses"] == 0 and second["hits"] == first["misses"]
    assert _entries(cache) == written


@pytest.mark.parametrize("prelude", ["", _NO_FILELOCK], ids=["filelock", "no-filelock"])
def test_two_processes_sharing_a_fresh_cache_at_once_both_work(tmp_path, prelude):
    # With filelock JAX locks the directory; without it, JAX's writes are not atomic and a
    # torn read would be a warning and a recompile: either way both results are right.
    cache = tmp_path / "shared"
    procs = [_start(tmp_path, cache, prelude=prelude) for _ in range(2)]
    for proc in procs:
        report, err = _finish(proc)
        assert report["first"] == str(cache)
        assert "Error writing" not in err
        assert prelude or "Error reading" not in err  # locked: never a torn read
    third, _ = _run(tmp_path, cache, prelude=prelude)
    assert third["misses"] == 0 and third["hits"] >= 1
    assert (cache / ".lockfile").exists() is (prelude == "")


def test_unwritable_directory_is_one_warning_line_and_the_program_runs(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory\n")
    cache = blocker / "sub"  # cannot be created, even by root
    report, err = _run(tmp_path, cache)
    assert report["first"] is None and report["second"] is None
    assert report["jax_dir"] is None and report["hits"] == report["misses"] == 0
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err  # two calls, one line
    assert str(cache) in lines[0] and "compilation cache off" in lines[0] and ENV_DISABLE in lines[0]
    assert "Traceback" not in err


@pytest.mark.parametrize(("value", "enabled"), [("1", False), ("0", True)])
def test_environment_variable_turns_it_off_and_the_default_is_under_xdg(tmp_path, value, enabled):
    default = tmp_path / "xdg" / "jaxnn" / "xla"
    report, err = _run(tmp_path, **{ENV_DISABLE: value})  # no path: the default one
    assert (report["first"] == str(default)) is enabled
    assert (report["jax_dir"] == str(default)) is enabled
    assert bool(default.exists() and _entries(default)) is enabled
    assert err.strip() == ""


def test_default_cache_dir_falls_back_to_home(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "xdg" / "jaxnn" / "xla"
    for unset in ("", "relative/path"):  # the XDG spec ignores empty and relative values
        monkeypatch.setenv("XDG_CACHE_HOME", unset)
        assert default_cache_dir() == tmp_path / "home" / ".cache" / "jaxnn" / "xla"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert default_cache_dir() == tmp_path / "home" / ".cache" / "jaxnn" / "xla"


def test_exported_from_the_package():
    import jaxnn
    from jaxnn._cache import enable_compilation_cache

    assert jaxnn.enable_compilation_cache is enable_compilation_cache
    assert "enable_compilation_cache" in jaxnn.__all__
