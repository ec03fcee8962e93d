"""Tables and the model files that remember their schema, for the command line and the playground.

* :mod:`._table` reads CSV files (the fast path, Arrow's reader, is :mod:`._columnar`) into
  named, untyped columns;
* :mod:`._numbers` says how number cells are written (:class:`NumberFormat`);
* :mod:`._schema` types the columns and encodes the features;
* :mod:`._model_file` reads, validates and writes model files (:func:`load_model`,
  :func:`model_config`, :func:`write_model`); ``jaxnn train``, ``jaxnn predict`` and the
  playground's model download all go through it;
* :mod:`._errors` holds :class:`TableError`.

This package imports neither :mod:`jaxnn.cli` nor :mod:`jaxnn.playground`: both depend on it.
It re-exports only.
"""

from jaxnn._tabular._errors import TableError
from jaxnn._tabular._model_file import (
    HIDDEN_ACTIVATIONS,
    MODEL_KIND,
    MODEL_VERSION,
    TASKS,
    Model,
    ModelFileError,
    load_model,
    model_config,
    number_format,
    validate_config,
    write_model,
)
from jaxnn._tabular._numbers import FLOAT32_MAX, NumberFormat, format_label
from jaxnn._tabular._schema import (
    MAX_CATEGORIES,
    check_complete,
    check_convention,
    check_mostly_numbers,
    check_one_reading,
    encode_features,
    encoded_names,
    feature_spec,
    is_numeric,
    numbers,
    one_reading,
)
from jaxnn._tabular._table import CHUNK_BYTES, Column, Table, closest, from_arrays, read_csv, read_csv_chunks

__all__ = [
    "TableError", "HIDDEN_ACTIVATIONS", "MODEL_KIND", "MODEL_VERSION", "TASKS", "Model", "ModelFileError",
    "load_model", "model_config", "number_format", "validate_config", "write_model", "FLOAT32_MAX",
    "NumberFormat", "format_label", "MAX_CATEGORIES", "check_complete", "check_convention",
    "check_mostly_numbers", "check_one_reading", "encode_features", "encoded_names", "feature_spec",
    "is_numeric", "numbers", "one_reading", "CHUNK_BYTES", "Column", "Table", "closest", "from_arrays", "read_csv",
    "read_csv_chunks",
]
