"""The implementation of :mod:`jaxnn.perceptron`: Rosenblatt's rule, its surrogate SGD, the pocket variant."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.typing import ArrayLike

from jaxnn import activations as _act
from jaxnn import losses as _losses
from jaxnn._checks import check_float
from jaxnn.perceptron._checks import check_data, check_max_epochs


# Fill value of ``mistakes`` for the epochs that did not run.
_NOT_RUN = -1


class PerceptronResult(NamedTuple):
    """What :func:`perceptron` returns (a pytree, so it passes through ``jit`` and ``vmap``).

    Attributes:
      weights: the augmented weight vector ``[d + 1]``, bias first: the score of ``x`` is
        ``weights[0] + x @ weights[1:]``.
      epochs: number of epochs run (int32 scalar), the last clean epoch included.
      converged: ``True`` when the last epoch had no mistakes (bool scalar); then every
        training point has ``y <w, x> > 0``.
      mistakes: ``[max_epochs]`` int32, the number of mistakes (= updates) of each epoch;
        entries for epochs that did not run are ``-1``.
      updates: total number of updates over all epochs (int32 scalar), the quantity
        bounded by Novikoff's theorem.
    """

    weights: Any
    epochs: Any
    converged: Any
    mistakes: Any
    updates: Any


class PocketResult(NamedTuple):
    """What :func:`pocket_perceptron` returns.

    Attributes:
      weights: the pocket weights ``[d + 1]``: of all weights the algorithm held (the
        initial zeros and the result of every update), the first with the fewest training
        mistakes.
      errors: training mistakes of ``weights`` over the whole set (int32 scalar), counted
        as :func:`predict` classifies (``sign(0) = +1``).
      last_weights: the perceptron's own weights after the last epoch ``[d + 1]``
        (equal to :func:`perceptron`'s ``weights``).
      epochs: number of epochs run (int32 scalar).
      converged: ``True`` when the last epoch had no mistakes.
      mistakes: ``[max_epochs]`` int32 updates of each epoch, ``-1`` for epochs not run.
      updates: total number of updates (int32 scalar).
    """

    weights: Any
    errors: Any
    last_weights: Any
    epochs: Any
    converged: Any
    mistakes: Any
    updates: Any


def _prepare(X: jax.Array, y: Any, eta: Any) -> tuple[jax.Array, jax.Array, jax.Array]:
    """Inside the compiled program: the augmented ``[N, d + 1]`` inputs, ``y`` and ``eta`` in X's dtype."""
    X_aug = jnp.concatenate([jnp.ones((X.shape[0], 1), X.dtype), X], axis=1)
    # Labels are +-1, so casting integer labels to X's dtype is exact.
    return X_aug, jnp.asarray(y).astype(X.dtype), jnp.asarray(eta).astype(X.dtype)


# ----------------------------------------------------------------------------- core


def _score(w: jax.Array, x: jax.Array) -> jax.Array:
    # An explicit product-and-sum rather than a dot: on GPUs a float32 dot may run in
    # TF32 (10-bit mantissa), which would change which samples count as mistakes.
    return jnp.sum(w * x)


def _rosenblatt_step(w: jax.Array, x: jax.Array, y: jax.Array, eta: jax.Array) -> tuple[jax.Array, jax.Array]:
    mistake = y * _score(w, x) <= 0
    return jnp.where(mistake, w + (eta * y) * x, w), mistake


def _surrogate_step(w: jax.Array, x: jax.Array, y: jax.Array, eta: jax.Array) -> tuple[jax.Array, jax.Array]:
    def loss(w):
        return _losses.perceptron_loss(_score(w, x)[None], y[None])[0]

    grad = jax.grad(loss)(w)
    # On the boundary (y <w, x> = 0) the loss has a kink: its subgradients are t (-y x) for
    # t in [0, 1]. jax.grad of jnp.maximum takes the midpoint t = 1/2; Rosenblatt's rule
    # (update when y <w, x> <= 0) is the subgradient t = 1, so that one is taken there.
    # The first sample of the first epoch always lies on it, since w starts at 0.
    grad = jnp.where(y * _score(w, x) == 0, -y * x, grad)
    return w - eta * grad, jnp.any(grad != 0)


def _count_errors(w: jax.Array, X_aug: jax.Array, y: jax.Array) -> jax.Array:
    scores = jnp.sum(X_aug * w, axis=1)  # not a matmul: see _score
    return jnp.sum(jnp.where(scores >= 0, 1.0, -1.0).astype(y.dtype) != y).astype(jnp.int32)


class _State(NamedTuple):
    w: jax.Array
    epoch: jax.Array
    last: jax.Array
    mistakes: jax.Array
    updates: jax.Array
    pocket_w: jax.Array
    pocket_errors: jax.Array


def _run(step, X_aug: jax.Array, y: jax.Array, eta: jax.Array, max_epochs: int, pocket: bool) -> _State:
    """The epoch loop shared by every variant; ``step(w, x, y, eta) -> (w, mistake)``."""

    def sample(carry, xy):
        w, count, pocket_w, pocket_errors = carry
        x, yi = xy
        w, mistake = step(w, x, yi, eta)
        if pocket:
            # Only after an update can the weights beat the pocket; the count is O(N d).
            def challenge(best):
                errors = _count_errors(w, X_aug, y)
                better = errors < best[1]
                return jnp.where(better, w, best[0]), jnp.where(better, errors, best[1])

            pocket_w, pocket_errors = lax.cond(mistake, challenge, lambda best: best, (pocket_w, pocket_errors))
        return (w, count + mistake.astype(jnp.int32), pocket_w, pocket_errors), None

    def epoch(s: _State) -> _State:
        (w, count, pocket_w, pocket_errors), _ = lax.scan(
            sample, (s.w, jnp.int32(0), s.pocket_w, s.pocket_errors), (X_aug, y)
        )
        return _State(
            w=w,
            epoch=s.epoch + 1,
            last=count,
            mistakes=s.mistakes.at[s.epoch].set(count),
            updates=s.updates + count,
            pocket_w=pocket_w,
            pocket_errors=pocket_errors,
        )

    def keep_going(s: _State) -> jax.Array:
        return (s.epoch < max_epochs) & (s.last != 0)

    w0 = jnp.zeros(X_aug.shape[1], X_aug.dtype)
    init = _State(
        w=w0,
        epoch=jnp.int32(0),
        last=jnp.int32(-1),
        mistakes=jnp.full((max_epochs,), _NOT_RUN, jnp.int32),
        updates=jnp.int32(0),
        pocket_w=w0,
        pocket_errors=_count_errors(w0, X_aug, y) if pocket else jnp.int32(0),
    )
    return lax.while_loop(keep_going, epoch, init)


def _result(s: _State) -> PerceptronResult:
    return PerceptronResult(s.w, s.epoch, s.last == 0, s.mistakes, s.updates)


# ----------------------------------------------------------------------------- public


def perceptron(X: ArrayLike, y: ArrayLike, eta: ArrayLike = 1.0, *, max_epochs: int = 100) -> PerceptronResult:
    r"""Rosenblatt's perceptron learning algorithm, compiled whole.

    Starting from :math:`w = 0`, each epoch visits the samples in order and, on a mistake
    :math:`y_i \langle w, \bar x_i\rangle \le 0`, updates :math:`w \leftarrow w + \eta\, y_i
    \bar x_i`, where :math:`\bar x_i = (1, x_i)` is the augmented input. Epochs repeat until
    one has no mistakes, or ``max_epochs`` have run. On linearly separable data it converges
    after at most :math:`(R/\gamma)^2` updates (Novikoff), :math:`R = \max_i \|\bar x_i\|` and
    :math:`\gamma` the margin of a unit-norm augmented separator; the weights it ends with are
    ``eta`` times those of ``eta = 1``.

    Jit-compatible and vmappable: ``jax.vmap(lambda e: perceptron(X, y, e, max_epochs=50))``
    trains with many learning rates at once, ``jax.vmap(partial(perceptron, max_epochs=50))``
    on many data sets. Outside tracing the data are checked first (labels, finiteness, eta).

    Args:
      X: inputs ``[N, d]``, floating point, without the column of ones (it is added here).
      y: labels ``[N]`` in {-1, +1} (float or signed integer; cast to ``X.dtype``).
      eta: learning rate, a scalar > 0 (may be a traced array).
      max_epochs: the most epochs to run, a static Python int >= 1.

    Returns:
      A :class:`PerceptronResult`; ``weights`` has shape ``[d + 1]``, bias first.

    Raises:
      ValueError: for labels not in {-1, +1}, mismatched lengths, NaN/Inf, ``eta <= 0``,
        ``max_epochs < 1`` or wrong shapes. TypeError: for non-float ``X``.

    >>> res = perceptron(jnp.array([[2.0], [-1.0]]), jnp.array([1.0, -1.0]), max_epochs=10)
    >>> res.weights, int(res.epochs), bool(res.converged), res.mistakes[:3]
    (Array([1., 2.], dtype=float32), 2, True, Array([ 1,  0, -1], dtype=int32))
    """
    max_epochs = check_max_epochs(max_epochs)
    X, y, eta = check_data(X, y, eta, "perceptron")
    return _perceptron_jit(X, y, eta, max_epochs)


def _perceptron_core(X: jax.Array, y: Any, eta: Any, max_epochs: int) -> PerceptronResult:
    X_aug, y, eta = _prepare(X, y, eta)
    return _result(_run(_rosenblatt_step, X_aug, y, eta, max_epochs, pocket=False))


_perceptron_jit = jax.jit(_perceptron_core, static_argnums=3)


def perceptron_surrogate_sgd(
    X: ArrayLike, y: ArrayLike, eta: ArrayLike = 1.0, *, max_epochs: int = 100
) -> PerceptronResult:
    r"""The perceptron as SGD on :math:`L(w) = \max(0, -y \langle w, \bar x\rangle)`, one sample at a time.

    Each step is :math:`w \leftarrow w - \eta \nabla_w L_i(w)` with the gradient of
    :func:`jaxnn.losses.perceptron_loss` taken by ``jax.grad``. That gradient is
    :math:`-y_i \bar x_i` on a mistake and 0 on a well classified point, so the steps are
    Rosenblatt's updates. On the kink :math:`y_i\langle w, \bar x_i\rangle = 0` the loss has
    no gradient; ``jax.grad`` returns half the subgradient there, and the full one,
    :math:`-y_i \bar x_i` (Rosenblatt's choice, an update on the boundary), is used instead.
    The result equals :func:`perceptron`'s, with a mistake counted whenever the gradient is
    non-zero. Same arguments, checks and result as :func:`perceptron`.

    Args:
      X: inputs ``[N, d]`` (float, no column of ones).
      y: labels ``[N]`` in {-1, +1}.
      eta: learning rate, a scalar > 0.
      max_epochs: the most epochs, a static Python int >= 1.

    Returns:
      A :class:`PerceptronResult`.
    """
    max_epochs = check_max_epochs(max_epochs)
    X, y, eta = check_data(X, y, eta, "perceptron_surrogate_sgd")
    return _surrogate_jit(X, y, eta, max_epochs)


def _surrogate_core(X: jax.Array, y: Any, eta: Any, max_epochs: int) -> PerceptronResult:
    X_aug, y, eta = _prepare(X, y, eta)
    return _result(_run(_surrogate_step, X_aug, y, eta, max_epochs, pocket=False))


_surrogate_jit = jax.jit(_surrogate_core, static_argnums=3)


def pocket_perceptron(X: ArrayLike, y: ArrayLike, eta: ArrayLike = 1.0, *, max_epochs: int = 100) -> PocketResult:
    r"""The pocket algorithm (Gallant, 1990, with ratchet): the perceptron, keeping the best weights seen.

    Runs :func:`perceptron` unchanged; after every update it counts the training mistakes
    of the new weights over the whole set and puts them "in the pocket" if they make
    strictly fewer than the pocket's. The initial ``w = 0`` starts in the pocket. On data
    that are not linearly separable the perceptron never settles, and its last weights can be
    poor; the pocket weights are the best it met. Each update costs an extra ``O(N d)``.

    Args:
      X: inputs ``[N, d]`` (float, no column of ones).
      y: labels ``[N]`` in {-1, +1}.
      eta: learning rate, a scalar > 0.
      max_epochs: the most epochs, a static Python int >= 1.

    Returns:
      A :class:`PocketResult`.

    >>> X = jnp.array([[-1.0, -1.0], [-1.0, 1.0], [1.0, -1.0], [1.0, 1.0]])
    >>> res = pocket_perceptron(X, jnp.array([-1.0, 1.0, 1.0, -1.0]), max_epochs=20)
    >>> bool(res.converged), int(res.errors)
    (False, 1)
    """
    max_epochs = check_max_epochs(max_epochs)
    X, y, eta = check_data(X, y, eta, "pocket_perceptron")
    return _pocket_jit(X, y, eta, max_epochs)


def _pocket_core(X: jax.Array, y: Any, eta: Any, max_epochs: int) -> PocketResult:
    X_aug, y, eta = _prepare(X, y, eta)
    s = _run(_rosenblatt_step, X_aug, y, eta, max_epochs, pocket=True)
    return PocketResult(s.pocket_w, s.pocket_errors, s.w, s.epoch, s.last == 0, s.mistakes, s.updates)


_pocket_jit = jax.jit(_pocket_core, static_argnums=3)


def predict(weights: ArrayLike, X: ArrayLike) -> jax.Array:
    r"""Classifies with augmented weights: :math:`\mathrm{sign}(w_0 + \langle w_{1:}, x\rangle)`.

    ``sign`` is :func:`jaxnn.activations.sign`, so a point on the boundary gets ``+1``.

    Args:
      weights: augmented weights ``[d + 1]``, bias first (a result's ``weights``).
      X: inputs ``[N, d]``.

    Returns:
      Predicted labels ``[N]`` in {-1, +1}, in ``X``'s dtype.

    >>> predict(jnp.array([-1.0, 1.0]), jnp.array([[0.0], [3.0]]))
    Array([-1.,  1.], dtype=float32)
    """
    w = check_float(weights, "weights")
    X = check_float(X, "X")
    if w.ndim != 1 or X.ndim != 2 or w.shape[0] != X.shape[1] + 1:
        raise ValueError(
            f"predict needs weights of shape [d + 1] (bias first) and X of shape [N, d], got "
            f"weights.shape={w.shape} and X.shape={X.shape}"
        )
    scores = w[0] + jnp.sum(X * w[1:], axis=1)
    return _act.sign(scores.astype(X.dtype))


def perceptron_numpy(X: ArrayLike, y: ArrayLike, eta: float = 1.0, max_epochs: int = 100) -> PerceptronResult:
    """The same algorithm as a plain NumPy loop over samples: the reference for tests and benchmarks.

    Computes in ``X``'s dtype with the same update as :func:`perceptron`
    (``w + (eta y_i) x_i``) and the score ``np.dot(w, x_i)``, so on data whose arithmetic is
    exact (small integers or dyadic fractions, a power-of-two ``eta``) both give bitwise
    identical weights. On general floats the two sum the score in different orders; a score
    within rounding of 0 may then be classified differently, after which the runs diverge.

    Args:
      X: inputs ``[N, d]`` (float, no column of ones).
      y: labels ``[N]`` in {-1, +1}.
      eta: learning rate > 0.
      max_epochs: the most epochs, an int >= 1.

    Returns:
      A :class:`PerceptronResult` of NumPy values, laid out as :func:`perceptron`'s.
    """
    max_epochs = check_max_epochs(max_epochs)
    X_, y_, eta_ = check_data(X, y, eta, "perceptron_numpy")
    X_ = np.asarray(X_)
    X_aug = np.concatenate([np.ones((X_.shape[0], 1), X_.dtype), X_], axis=1)
    y_ = np.asarray(y_).astype(X_.dtype)
    eta_ = np.asarray(eta_, dtype=X_.dtype)
    w = np.zeros(X_aug.shape[1], X_aug.dtype)
    mistakes = np.full(max_epochs, _NOT_RUN, np.int32)
    epoch, last, updates = 0, -1, 0
    while epoch < max_epochs and last != 0:
        last = 0
        for i in range(X_aug.shape[0]):
            x, yi = X_aug[i], y_[i]
            if yi * np.dot(w, x) <= 0:
                w = w + (eta_ * yi) * x
                last += 1
        mistakes[epoch] = last
        updates += last
        epoch += 1
    return PerceptronResult(w, np.int32(epoch), np.bool_(last == 0), mistakes, np.int32(updates))
