"""jaxnn: an introductory neural-networks course as pure, jit-compiled JAX functions.

Submodules (each with its own ``__all__``):

* :mod:`jaxnn.activations` - activation functions, their analytic derivatives, look-up by name.
* :mod:`jaxnn.losses` - the course's losses in their correct forms.
* :mod:`jaxnn.init` - parameter initializers.
* :mod:`jaxnn.nn` - dense layers and networks (stax-style ``init``/``apply`` pairs), the matrix form.
* :mod:`jaxnn.perceptron` - Rosenblatt's perceptron compiled, the pocket variant, a NumPy reference.
* :mod:`jaxnn.combining` - combining perceptrons: the linear collapse and XOR solved.
* :mod:`jaxnn.backprop` - backpropagation by hand, for the course's network and any MLP.
* :mod:`jaxnn.optim` - hand-written optimizers in Optax's protocol (SGD ... AdamW).
* :mod:`jaxnn.descent` - ``minimize``: gradient descent on any function, with trajectories.
* :mod:`jaxnn.testfunctions` - quadratic bowl, Rosenbrock, Beale, Himmelblau, a double well.
* :mod:`jaxnn.heads` - the four output heads (regression, multivariate regression, binary, multi-class).
* :mod:`jaxnn.data` - splits, standardization, one-hot, label conversion, batch iteration.
* :mod:`jaxnn.datasets` - synthetic generators and bundled real data (Iris, digits, diabetes).
* :mod:`jaxnn.metrics` - accuracy, precision/recall/F1, confusion matrix, MSE, MAE, R^2 (jit-able).
* :mod:`jaxnn.train` - the fused, jitted training engine (``fit``, ``sweep``, early stopping).
* :mod:`jaxnn.checkpoint` - safe, atomic checkpoints of any pytree (safetensors or ``.npz``).
* :mod:`jaxnn.playground` - ``jaxnn playground``: the course in the browser (imported on demand;
  needs ``pip install "jaxnn[playground]"``).

And one function: :func:`enable_compilation_cache`, JAX's persistent compilation cache in the
user's cache directory, for scripts and notebooks that are re-run in fresh processes.
"""

import importlib
from typing import TYPE_CHECKING, Any

from jaxnn._version import __version__

# The submodules are imported on first use (PEP 562), so that ``import jaxnn`` does not
# import JAX: the ``jaxnn`` program installs its Ctrl-C handler before JAX loads, and
# ``jaxnn --help`` answers at once.
_SUBMODULES = frozenset({
    "activations", "backprop", "checkpoint", "combining", "data", "datasets", "descent", "heads", "init",
    "losses", "metrics", "nn", "optim", "perceptron", "testfunctions", "train",
})

if TYPE_CHECKING:
    from jaxnn import (
        activations,
        backprop,
        checkpoint,
        combining,
        data,
        datasets,
        descent,
        heads,
        init,
        losses,
        metrics,
        nn,
        optim,
        perceptron,
        testfunctions,
        train,
    )
    from jaxnn._cache import enable_compilation_cache


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f"jaxnn.{name}")  # also sets the attribute
    if name == "enable_compilation_cache":
        from jaxnn._cache import enable_compilation_cache

        globals()[name] = enable_compilation_cache
        return enable_compilation_cache
    raise AttributeError(f"module 'jaxnn' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


__all__ = [
    "__version__",
    "activations",
    "backprop",
    "checkpoint",
    "combining",
    "data",
    "datasets",
    "descent",
    "enable_compilation_cache",
    "heads",
    "init",
    "losses",
    "metrics",
    "nn",
    "optim",
    "perceptron",
    "testfunctions",
    "train",
]
