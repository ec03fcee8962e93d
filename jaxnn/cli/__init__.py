"""The ``jaxnn`` command line: ``demo``, ``train``, ``predict``, ``playground`` and ``bench``.

.. code-block:: text

    jaxnn demo [--out DIR] [--quick]          the course end to end: a summary table and figures
    jaxnn train --data FILE.csv --target COL  train a dense network on a CSV file (or --dataset)
    jaxnn predict --model FILE --data FILE.csv [--out FILE.csv]
    jaxnn playground [--port N] [--no-browser]  the course in the browser (pip install "jaxnn[playground]")
    jaxnn bench                               says how to run the benchmark suite (python -m bench)

``jaxnn train`` decides each column's type once (number or category; see
``jaxnn/_tabular/_schema.py``), standardizes the features (the scaler is fitted on the training
split, in float64, and saved with the model), one-hot encodes category columns, infers the
task from the target column unless ``--task`` says it, trains with :func:`jaxnn.train.fit`,
and writes the model (params plus a config holding the network, the preprocessing and the
table schema; see ``jaxnn/tabular.py``) and a metrics JSON. ``jaxnn predict`` reads its
file through the stored schema.

The promise: bad input (a missing file, a misspelled column, missing values, numbers in an
unexpected convention, a file that is not a jaxnn model, an output that would overwrite an
input, a network too large for memory) gets one line on stderr and exit status 2, checked
before anything is trained; an unexpected failure gets one line saying it is a bug and exit
status 1; Ctrl-C gets one line and exit status 130, at any moment of the program (see
``jaxnn/_interrupt.py``). A traceback is printed only with
``--debug``. Every file written (model, metrics, predictions) is written atomically.

Task inference (``--task auto``, the default), in short: several targets or a numeric target
with many values is a regression, a text target or a few whole numbers are classes (the rules
are in ``jaxnn/cli/_target.py``).

Also runnable as ``python -m jaxnn``. Where things live:

* ``_main`` - :func:`main`: parse, run the command, report any failure (``_exit``, ``_errors``).
* ``_parser`` - the argument parser, one function per command; ``_argtypes`` - option values.
* ``_train`` - ``jaxnn train``, one function per step; ``_target`` - the target and the task;
  ``_datasets`` - ``--dataset``; ``_scores`` - the scores reported.
* Reading CSV files, typing their columns, the number conventions and the model files live in
  ``jaxnn/_tabular`` (shared with the playground's model download); this package only calls them.
* ``_predict`` - ``jaxnn predict``; ``_demo`` - ``jaxnn demo``. ``jaxnn bench`` only says how to run
  the benchmark suite (``python -m bench`` in a checkout): the package never reaches into ``bench/``.
"""

from jaxnn.cli import _datasets, _parser
from jaxnn.cli._main import main

# The constants are re-exported by assignment so that each carries its description here,
# where the API reference reads it.

#: The built-in data sets ``jaxnn train --dataset`` accepts.
DATASETS = _datasets.DATASETS
#: ``--optimizer`` choices (from :mod:`jaxnn.optim`) and their default learning rates.
OPTIMIZERS = _parser.OPTIMIZERS
#: The largest ``--epochs``: training keeps one loss per epoch, so the bound keeps that
#: history to a few megabytes.
MAX_EPOCHS = _parser.MAX_EPOCHS
#: The largest ``--seed``: seeds are 32-bit, as ``jax.random.key`` takes them.
MAX_SEED = _parser.MAX_SEED

__all__ = ["main", "DATASETS", "OPTIMIZERS", "MAX_EPOCHS", "MAX_SEED"]
