r"""Rosenblatt's perceptron, compiled whole, with its pocket variant and its surrogate-loss view.

The course's algorithm, exactly (Rosenblatt, 1961):

.. code-block:: text

    w = 0                                   # bias by an augmented input x_0 = 1
    repeat (one epoch):
        for i = 1 .. N, in order:
            if y_i <w, x_i> <= 0:           # a mistake, a point on the boundary included
                w = w + eta y_i x_i
    until an epoch has no mistakes          # or max_epochs epochs have run

Everything runs in one compiled program: a ``lax.while_loop`` over epochs around a
``lax.scan`` over the samples. :func:`perceptron` returns a :class:`PerceptronResult`
(weights, epochs run, a converged flag, the mistakes of each epoch and the total number of
updates), and works under ``jax.vmap`` over data sets or learning rates (``max_epochs`` is
static; ``eta`` may be traced).

* :func:`pocket_perceptron` keeps the best weights seen (fewest training mistakes over the
  whole set), for data that are not linearly separable.
* :func:`perceptron_surrogate_sgd` is the same algorithm read as stochastic gradient descent
  on the perceptron loss :math:`\max(0, -y \langle w, x\rangle)`
  (:func:`jaxnn.losses.perceptron_loss`) one sample at a time, with the gradient taken by
  ``jax.grad``; it gives identical updates.
* :func:`perceptron_numpy` is the plain NumPy per-sample loop of the same algorithm, the
  reference for tests and benchmarks.

Labels are in {-1, +1} (convert {0, 1} labels with :func:`jaxnn.data.labels_to_pm1`);
weights are augmented, ``[d + 1]`` with the bias first, as :func:`jaxnn.nn.add_bias_column`.

Errata of the course, and what is implemented instead:

* The surrogate loss is written :math:`\max\{-y_i\,\mathrm{sign}\langle w, x_i\rangle, 0\}`.
  With ``sign`` inside the max the loss is piecewise constant, so its gradient is zero
  wherever it exists and gradient descent never moves. The loss used here is
  :math:`\max(0, -y_i \langle w, x_i\rangle)`.
* The gradient step is written as ``w + eta y_i x_i`` for *well classified* points and ``w``
  for *misclassified* ones: the two cases are the wrong way round. The update happens on a
  mistake (``y_i <w, x_i> <= 0``) and well classified points leave ``w`` unchanged.
* The XOR example matrix of the course repeats the row ``(-1, 1)`` with two different labels
  (and omits ``(-1, -1)``); the four correct points are listed in :mod:`jaxnn.combining`.
"""

from jaxnn.perceptron._rules import (
    PerceptronResult,
    PocketResult,
    perceptron,
    perceptron_numpy,
    perceptron_surrogate_sgd,
    pocket_perceptron,
    predict,
)

__all__ = [
    "PerceptronResult",
    "PocketResult",
    "perceptron",
    "pocket_perceptron",
    "perceptron_surrogate_sgd",
    "predict",
    "perceptron_numpy",
]
