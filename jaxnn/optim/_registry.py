"""The named optimizers, each with what a user interface needs to offer it: one list for all.

The command line's ``--optimizer`` choices and default learning rates, the playground's menu
and sliders, and the scikit-learn estimators' ``solver`` names all read this table, so an
optimizer added here appears everywhere at once (and a test asks for its reference test).
"""

from __future__ import annotations

import dataclasses
import types
from collections.abc import Callable, Mapping

from jaxnn.optim._adadelta import adadelta
from jaxnn.optim._adagrad import adagrad
from jaxnn.optim._adam import adam, adamw
from jaxnn.optim._momentum import momentum
from jaxnn.optim._rmsprop import rmsprop
from jaxnn.optim._sgd import sgd


@dataclasses.dataclass(frozen=True)
class OptimizerInfo:
    """One named optimizer of :mod:`jaxnn.optim` and how interfaces offer it.

    Attributes:
      name: the name it is chosen by (``"adam"``).
      make: the constructor, ``make(learning_rate, **hyperparameters)``.
      learning_rate: a default learning rate that trains the course's small networks well
        (the command line's default for ``--lr``).
      hyperparameters: the keyword arguments of ``make`` that an interface lets a user tune,
        each as ``(low, high, default)``; the defaults are ``make``'s own.
    """

    name: str
    make: Callable
    learning_rate: float
    hyperparameters: Mapping[str, tuple[float, float, float]]


def _info(make: Callable, learning_rate: float, **hyperparameters: tuple[float, float, float]) -> OptimizerInfo:
    return OptimizerInfo(make.__name__, make, learning_rate, types.MappingProxyType(hyperparameters))


#: The named optimizers by name, in the course's order (gradient descent first).
OPTIMIZERS: Mapping[str, OptimizerInfo] = types.MappingProxyType({
    info.name: info
    for info in (
        _info(sgd, 0.1),
        _info(momentum, 0.05, mu=(0.0, 0.999, 0.9)),
        _info(adagrad, 0.1),
        _info(rmsprop, 0.01, decay=(0.0, 0.999, 0.9)),
        _info(adadelta, 1.0, rho=(0.0, 0.999, 0.9)),
        _info(adam, 0.01, b1=(0.0, 0.999, 0.9), b2=(0.0, 0.9999, 0.999)),
        _info(adamw, 0.01, b1=(0.0, 0.999, 0.9), b2=(0.0, 0.9999, 0.999), weight_decay=(0.0, 1.0, 1e-4)),
    )
})


def get(name: str) -> OptimizerInfo:
    """Returns the :class:`OptimizerInfo` of the optimizer called ``name``.

    Args:
      name: one of the keys of :data:`OPTIMIZERS` (``"sgd"``, ``"adam"``, ...).

    Returns:
      Its constructor, default learning rate and tunable hyperparameters.

    Raises:
      ValueError: for an unknown name, listing the valid ones.

    >>> get("adam").make is adam
    True
    """
    if not isinstance(name, str):
        raise TypeError(f"optimizer name must be a string, got {type(name).__name__}")
    try:
        return OPTIMIZERS[name]
    except KeyError:
        raise ValueError(f"unknown optimizer {name!r}; valid names are: {', '.join(OPTIMIZERS)}") from None
