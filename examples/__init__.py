"""The course's worked examples, ``01_perceptron.py`` .. ``10_sweep.py``, and a few more.

Each numbered example is a script (``python examples/01_perceptron.py [--out DIR] [--quick]``)
and a module with the same three parts:

- ``compute(quick: bool) -> Result``: the computation, returning a frozen dataclass of NumPy
  arrays and numbers. It neither imports matplotlib nor prints nor writes files.
- ``plot(result, fig)``: draws a ``Result`` into ``fig``, an empty
  ``matplotlib.figure.Figure`` or ``SubFigure`` (so a caller can place several drawings side
  by side with ``fig.subfigures``); it adds its own axes and neither creates nor saves
  figures. An example that writes several figures has one ``plot_<name>(result, fig)`` per
  figure instead, listed with its file name and size in ``FIGURES``.
- ``main(out_dir, quick) -> dict``: ``compute``, a printed summary, and the figures written to
  ``out_dir``.

``jaxnn demo`` calls the same ``compute`` and ``plot`` functions. This folder is a package so
that a built wheel can carry it (as ``jaxnn._examples``, see ``pyproject.toml``); the names
of the examples start with digits, so they are loaded by path, not imported by name.
"""
