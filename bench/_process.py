"""Fresh Python processes for the workloads that time what a user waits for from a cold start.

A child runs in the repository root with this checkout first on ``PYTHONPATH`` (so it imports
this ``bench`` and this ``jaxnn``), and with every setting that would let it share JAX's
persistent compilation cache with the caller removed from its environment: the caller says
which cache directory, if any, the child gets.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from typing import NamedTuple

__all__ = ["ROOT", "Finished", "child_env", "run_python"]

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Environment variables through which a parent's cache settings would leak into a child.
_CACHE_VARS = ("JAX_ENABLE_COMPILATION_CACHE", "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS",
               "JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES", "JAXNN_NO_COMPILATION_CACHE", "XDG_CACHE_HOME")


class Finished(NamedTuple):
    """A finished child: its wall time (interpreter start to exit, as a user waits) and output."""

    seconds: float
    stdout: str
    stderr: str


def child_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process's environment without cache settings, this checkout first on the path, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if k not in _CACHE_VARS and not k.startswith("JAX_COMPILATION_CACHE")}
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra or {})
    return env


def run_python(args: Sequence[str], *, env: Mapping[str, str], what: str, cwd: str = ROOT,
               timeout: float = 900) -> Finished:
    """Runs ``python ARGS...`` (this interpreter) and times it.

    Raises:
      RuntimeError: the child exited with a non-zero status (its stderr's tail is in the message).
    """
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, *args], capture_output=True, text=True, env=dict(env), cwd=cwd,
                          timeout=timeout)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{what} failed with status {proc.returncode}: {proc.stderr[-2000:]}")
    return Finished(seconds, proc.stdout, proc.stderr)
