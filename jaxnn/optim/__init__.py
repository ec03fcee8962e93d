"""Hand-written optimizers in Optax's protocol.

Every optimizer here is an ``optax.GradientTransformation``: ``init(params) -> state``
and ``update(grads, state, params=None) -> (updates, state)``, applied with
``optax.apply_updates(params, updates)``. So each one chains with Optax transforms
(``optax.chain(optax.clip_by_global_norm(1.0), jaxnn.optim.adam(1e-3))``), takes Optax
schedules as learning rates, and can be swapped for an Optax optimizer anywhere jaxnn
takes one.

Named optimizers are chains of the ``scale_by_*`` primitives (also exported) ending in
:func:`scale_by_learning_rate`, the one place where the learning rate is applied and the
sign is flipped. Each docstring states which peer (Optax, PyTorch, Keras) its defaults
match, and which arguments reproduce the others.

==================  =====================================================================
``sgd``             gradient descent (GD, SGD and mini-batch SGD are the same rule)
``momentum``        heavy ball or Nesterov momentum (PyTorch/Optax or Keras velocity form)
``adagrad``         per-coordinate steps shrinking with the sum of squared gradients
``rmsprop``         plain, centered or with momentum; eps inside or outside the root
``adadelta``        RMSProp with a unit-correcting numerator; descends at every lr
``adam``            bias-corrected moments; Optax/PyTorch eps or Keras eps-hat
``adamw``           Adam with decoupled weight decay
==================  =====================================================================

:data:`OPTIMIZERS` lists them by name with what an interface needs to offer each (a default
learning rate, the hyperparameters worth a slider); :func:`get` looks one up.
"""

from jaxnn.optim._adadelta import ScaleByAdaDeltaState, adadelta, scale_by_adadelta
from jaxnn.optim._adagrad import ScaleByRssState, adagrad, scale_by_rss
from jaxnn.optim._adam import ScaleByAdamState, adam, adamw, scale_by_adam
from jaxnn.optim import _base
from jaxnn.optim._base import (
    Optimizer,
    ScaleByLearningRateState,
    add_decayed_weights,
    scale_by_learning_rate,
)
from jaxnn.optim._momentum import TraceState, momentum, trace
from jaxnn.optim import _registry
from jaxnn.optim._registry import OptimizerInfo, get
from jaxnn.optim._rmsprop import ScaleByRmsState, rmsprop, scale_by_rms
from jaxnn.optim._sgd import sgd

# The type aliases are re-exported by assignment so that each carries its description here,
# where the API reference reads it.

#: A learning-rate schedule, which maps the int32 step count (0, 1, 2, ...) to a scalar.
Schedule = _base.Schedule
#: A constant learning rate (a Python float or a scalar array) or a :data:`Schedule`.
ScalarOrSchedule = _base.ScalarOrSchedule
#: The named optimizers by name, in the course's order, each an :class:`OptimizerInfo`: its
#: constructor, a default learning rate and the hyperparameters an interface lets a user tune.
#: The command line, the playground and :mod:`jaxnn.sklearn` offer exactly these.
OPTIMIZERS = _registry.OPTIMIZERS

__all__ = [
    # named optimizers
    "sgd",
    "momentum",
    "adagrad",
    "rmsprop",
    "adadelta",
    "adam",
    "adamw",
    # primitives
    "scale_by_learning_rate",
    "add_decayed_weights",
    "trace",
    "scale_by_rss",
    "scale_by_rms",
    "scale_by_adadelta",
    "scale_by_adam",
    # states and types
    "Optimizer",
    "ScaleByLearningRateState",
    "TraceState",
    "ScaleByRssState",
    "ScaleByRmsState",
    "ScaleByAdaDeltaState",
    "ScaleByAdamState",
    "Schedule",
    "ScalarOrSchedule",
    # the named optimizers by name
    "OPTIMIZERS",
    "OptimizerInfo",
    "get",
]
