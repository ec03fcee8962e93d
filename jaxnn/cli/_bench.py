"""``jaxnn bench``: the benchmark suite of a source checkout, which parses its own options."""

from __future__ import annotations

import pathlib
import sys

from jaxnn.cli._exit import fail


def _source_root() -> pathlib.Path:
    """The folder holding the ``jaxnn`` package: a repository checkout has ``bench/`` there too."""
    return pathlib.Path(__file__).resolve().parents[2]


def run(argv: list[str]) -> int:
    """Runs the benchmark suite's ``main`` on ``argv``.

    Args:
      argv: the arguments after ``bench``.

    Returns:
      The suite's exit status; 2 (with one line on stderr) when there is no suite, or when the
      module ``bench`` found is not jaxnn's.
    """
    try:
        import bench
    except ModuleNotFoundError as e:
        if e.name != "bench":
            raise
        # The console script does not have the checkout on sys.path: look next to jaxnn.
        root = _source_root()
        if not (root / "bench" / "__init__.py").is_file():
            return fail("bench", "the benchmark suite ships with the source, not the package: run 'jaxnn bench' "
                        "(or 'python -m bench') from a checkout of the jaxnn repository")
        sys.path.insert(0, str(root))
        import bench
    if not callable(getattr(bench, "main", None)):
        return fail("bench", f"the module 'bench' found at {getattr(bench, '__file__', '?')} is not jaxnn's "
                    "benchmark suite; run from the root of a jaxnn checkout")
    try:
        return int(bench.main(argv) or 0)
    except SystemExit as e:  # its --help, or its own argument errors
        return e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
