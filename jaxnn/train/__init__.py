"""The fused training engine: feed-forward, loss and back-propagation as one compiled program.

:func:`fit` trains any params pytree with any per-example loss and any optimizer in Optax's
protocol (jaxnn's or Optax's). Epochs run in a ``lax.while_loop`` and the mini-batches of
an epoch in a ``lax.scan``, so there is no Python loop per step; the loop state is donated
to the compiled program.

Batches
  ``batch_size=None`` is full-batch gradient descent, ``batch_size=1`` is SGD, anything in
  between is mini-batch gradient descent: the same function. Each epoch draws a fresh
  permutation from ``fold_in(key, epoch)``. When ``N`` is not a multiple of the batch size the
  last batch of each epoch is *smaller* (padded and masked out of the loss), exactly like
  PyTorch's ``drop_last=False``: every sample is used once per epoch and none is dropped.

History
  ``train_loss[e]`` is the mean per-example loss over epoch ``e``, accumulated while training
  (the Keras convention; for full-batch GD it is the loss before that epoch's update).
  ``val_loss[e]`` and ``val_<metric>[e]`` are measured on the validation data after epoch
  ``e``. Entries for epochs that were not run (early stopping) are NaN; ``epochs_run`` says
  how many were.

Sweeps
  :func:`sweep` trains a batch of models (different seeds and/or float hyperparameters such as
  the learning rate) in one compiled call with ``vmap``; with ``devices`` or a ``mesh`` the
  members are split over a ``"models"`` mesh axis (and each member's batch over ``"data"``),
  across the devices of one or many processes.

Resumable chunks
  :func:`run_epochs` is the engine's epoch loop as a pure function: a chunk of epochs from a
  :class:`TrainState` (from :func:`init_state` or the previous chunk) to the next, for you to
  ``jax.jit`` and ``jax.vmap``, with the host free between chunks (the playground's grid mode
  draws a frame after each).

Compiled once per configuration
  Compiled programs are cached on what the loss, optimizer and metrics compute (their code and
  captured values), with captured floats and arrays, the epoch count, the keys and the
  early-stopping settings passed in as arguments (``_programs.py``): a fresh network, loss
  and optimizer per call, or another learning rate, compile nothing new.

Layout: ``_types`` (the public types), ``_state`` (the loop carry), ``_validate`` (checks
before compiling), ``_programs`` (the cache of compiled programs), ``_epoch`` (one epoch,
shared), ``_chunk`` (a chunk of epochs as a pure function), ``_fit`` and ``_sweep`` (the two
drivers), ``_layout`` (where a sweep's members
run on a mesh, and its sharded result), ``_step`` (``make_train_step``).
"""

from jaxnn.train._chunk import init_state, run_epochs
from jaxnn.train._epoch import epoch_batches
from jaxnn.train._fit import fit
from jaxnn.train._step import make_train_step
from jaxnn.train._sweep import sweep
from jaxnn.train._state import TrainState
from jaxnn.train._types import EarlyStopping, FitResult, History, Supervised

__all__ = [
    "Supervised",
    "EarlyStopping",
    "History",
    "FitResult",
    "fit",
    "sweep",
    "make_train_step",
    "epoch_batches",
    "TrainState",
    "init_state",
    "run_epochs",
]
