"""Synthetic data sets for the course's problems, each drawn from an explicit key.

Conventions shared by every generator:

* The first argument is a PRNG key; the same key (and arguments) give the same data.
* Inputs ``x`` are float32 ``[n, features]``.
* Classification labels are int32 ``[n]``: class indices ``0..C-1``, except
  :func:`linearly_separable` and the XOR sets, whose labels are in {-1, +1} (the
  perceptron's convention). Convert with :func:`jaxnn.data.labels_to_01` /
  :func:`jaxnn.data.one_hot` when a loss needs another encoding.
* Regression targets are float32 ``[n, outputs]`` (``[n, 1]`` for one output), the shape
  of a network's output layer, so that a loss never broadcasts ``[n]`` against ``[n, 1]``.
* Where the classes are drawn in fixed proportions (every generator except
  :func:`linearly_separable`), the class counts differ by at most one and the samples
  come in random order, not grouped by class.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from jaxnn._checks import check_int, check_key, check_nonnegative

__all__ = [
    "linearly_separable",
    "xor",
    "noisy_xor",
    "blobs",
    "two_moons",
    "circles",
    "spirals",
    "regression_1d",
    "regression_multi",
    "regression_plane",
    "regression_gaussians",
]


# Each generator validates its arguments in Python, then runs one jitted core: one
# compilation per (n, dim, ...) instead of one per eager operation. Float parameters
# (noise, margin, ...) are traced, so changing them does not recompile.
def _jit(fn: Callable) -> Callable:
    """``jax.jit`` with the keyword-only arguments of ``fn`` (the sizes) static."""
    code = fn.__code__
    static = code.co_varnames[code.co_argcount : code.co_argcount + code.co_kwonlyargcount]
    return jax.jit(fn, static_argnames=static)


def _balanced_labels(key: jax.Array, n: int, num_classes: int) -> jax.Array:
    """Labels ``0..C-1`` with counts differing by at most one, in random order."""
    return jax.random.permutation(key, jnp.arange(n, dtype=jnp.int32) % num_classes)


def linearly_separable(
    key: ArrayLike, n: int, dim: int = 2, margin: float = 0.1
) -> tuple[jax.Array, jax.Array, jax.Array]:
    """Points separated by a hyperplane through the origin with a guaranteed margin.

    A unit normal ``w`` is drawn at random; points ``z ~ N(0, I)`` get the label
    ``y = sign(<w, z>)`` (``+1`` on the hyperplane itself) and are pushed away from the
    hyperplane along ``w`` by ``margin``: ``x = z + y * margin * w``. Every point then has

    .. math:: y_i \\langle w, x_i \\rangle = |\\langle w, z_i \\rangle| + \\text{margin}
              \\ge \\text{margin},

    i.e. its distance to the hyperplane is at least ``margin`` (the points are pushed a
    few float32 round-off units further, so this holds in float32 arithmetic too). By
    Novikoff's theorem the perceptron then converges after at most ``(R / margin)^2``
    mistakes, with ``R = max ||x_i||``. The hyperplane passes through the origin, so a
    perceptron learns it with or without a bias.

    Args:
      key: a PRNG key.
      n: number of points.
      dim: input dimension.
      margin: the guaranteed distance from every point to the hyperplane, ``>= 0``.

    Returns:
      ``(x, y, w)``: points float32 ``[n, dim]``, labels int32 ``[n]`` in {-1, +1}, and the
      separating unit normal float32 ``[dim]``.
    """
    check_key(key)
    n = check_int(n, "n")
    dim = check_int(dim, "dim")
    margin = check_nonnegative(margin, "margin")
    return _linearly_separable(key, margin, n=n, dim=dim)


@_jit
def _linearly_separable(key, margin, *, n, dim):
    k_w, k_z = jax.random.split(key)
    w = jax.random.normal(k_w, (dim,), jnp.float32)
    w = w / jnp.linalg.norm(w)
    z = jax.random.normal(k_z, (n, dim), jnp.float32)
    y = jnp.where(z @ w >= 0, 1, -1).astype(jnp.int32)
    # The dot product <w, x> carries a relative round-off of about dim * eps * ||x||;
    # pushing that much further keeps the margin exact in float32.
    slack = 4 * dim * jnp.finfo(jnp.float32).eps * (jnp.linalg.norm(z, axis=1) + margin)
    x = z + (y * (margin + slack))[:, None] * w[None, :]
    return x, y, w


def xor() -> tuple[jax.Array, jax.Array]:
    """The four XOR points of {-1, +1}^2 with their labels.

    With -1 read as *false* and +1 as *true*, the label is +1 exactly when the two inputs
    differ: ``y = -x_1 x_2``. No line separates the two classes, so a single perceptron
    cannot learn it; one hidden layer can.

    Returns:
      ``(x, y)``: float32 ``[4, 2]`` = ``[[-1, -1], [-1, 1], [1, -1], [1, 1]]`` and int32
      ``[4]`` = ``[-1, 1, 1, -1]``.

    >>> x, y = xor()
    >>> y
    Array([-1,  1,  1, -1], dtype=int32)
    """
    x = jnp.array([[-1.0, -1.0], [-1.0, 1.0], [1.0, -1.0], [1.0, 1.0]], jnp.float32)
    y = jnp.array([-1, 1, 1, -1], jnp.int32)
    return x, y


def noisy_xor(key: ArrayLike, n: int, *, noise: float = 0.2) -> tuple[jax.Array, jax.Array]:
    """XOR with noise: each point is one of the four corners of :func:`xor` plus Gaussian noise.

    The corners are used equally often (counts differ by at most one); each sample keeps
    its corner's label, even when the noise carries it into another quadrant (noise
    larger than about 0.5 makes the classes overlap).

    Args:
      key: a PRNG key.
      n: number of points.
      noise: standard deviation of the Gaussian noise added to each coordinate.

    Returns:
      ``(x, y)``: float32 ``[n, 2]`` and int32 ``[n]`` in {-1, +1}.
    """
    check_key(key)
    n = check_int(n, "n")
    noise = check_nonnegative(noise, "noise")
    return _noisy_xor(key, noise, n=n)


@_jit
def _noisy_xor(key, noise, *, n):
    k_c, k_e = jax.random.split(key)
    corners, labels = xor()
    c = _balanced_labels(k_c, n, 4)
    x = corners[c] + noise * jax.random.normal(k_e, (n, 2), jnp.float32)
    return x, labels[c]


def blobs(
    key: ArrayLike,
    n: int,
    *,
    num_classes: int = 3,
    dim: int = 2,
    std: float = 1.0,
    spread: float = 10.0,
) -> tuple[jax.Array, jax.Array]:
    """Isotropic Gaussian blobs, one per class.

    The class centres are drawn uniformly from ``[-spread, spread]^dim``; each point is its
    class centre plus ``N(0, std^2 I)`` noise.

    Args:
      key: a PRNG key.
      n: number of points.
      num_classes: number of blobs (classes).
      dim: input dimension.
      std: standard deviation of each blob.
      spread: half-width of the box the centres are drawn from.

    Returns:
      ``(x, y)``: float32 ``[n, dim]`` and int32 ``[n]`` in ``0..num_classes-1``.
    """
    check_key(key)
    n = check_int(n, "n")
    num_classes = check_int(num_classes, "num_classes")
    dim = check_int(dim, "dim")
    std = check_nonnegative(std, "std")
    spread = check_nonnegative(spread, "spread")
    return _blobs(key, std, spread, n=n, num_classes=num_classes, dim=dim)


@_jit
def _blobs(key, std, spread, *, n, num_classes, dim):
    k_c, k_y, k_e = jax.random.split(key, 3)
    centers = jax.random.uniform(k_c, (num_classes, dim), jnp.float32, -spread, spread)
    y = _balanced_labels(k_y, n, num_classes)
    x = centers[y] + std * jax.random.normal(k_e, (n, dim), jnp.float32)
    return x, y


def two_moons(key: ArrayLike, n: int, *, noise: float = 0.1) -> tuple[jax.Array, jax.Array]:
    """Two interleaving half circles.

    Class 0 lies on the upper half of the unit circle, ``(cos t, sin t)``; class 1 on a
    lower half circle shifted right and up, ``(1 - cos t, 1/2 - sin t)``, with
    ``t ~ U[0, pi]``. Gaussian noise of standard deviation ``noise`` is added.

    Args:
      key: a PRNG key.
      n: number of points.
      noise: standard deviation of the Gaussian noise.

    Returns:
      ``(x, y)``: float32 ``[n, 2]`` and int32 ``[n]`` in {0, 1}. A binary head or
      ``binary_cross_entropy_with_logits`` takes float targets ``[n, 1]``:
      ``y[:, None].astype(jnp.float32)``.
    """
    check_key(key)
    n = check_int(n, "n")
    noise = check_nonnegative(noise, "noise")
    return _two_moons(key, noise, n=n)


@_jit
def _two_moons(key, noise, *, n):
    k_y, k_t, k_e = jax.random.split(key, 3)
    y = _balanced_labels(k_y, n, 2)
    t = jax.random.uniform(k_t, (n,), jnp.float32, 0.0, jnp.pi)
    outer = jnp.stack([jnp.cos(t), jnp.sin(t)], axis=1)
    inner = jnp.stack([1.0 - jnp.cos(t), 0.5 - jnp.sin(t)], axis=1)
    x = jnp.where((y == 0)[:, None], outer, inner)
    x = x + noise * jax.random.normal(k_e, (n, 2), jnp.float32)
    return x, y


def circles(
    key: ArrayLike, n: int, *, noise: float = 0.05, factor: float = 0.5
) -> tuple[jax.Array, jax.Array]:
    """Two concentric circles: class 0 on the unit circle, class 1 on radius ``factor``.

    Angles are uniform on ``[0, 2 pi)``; Gaussian noise of standard deviation ``noise``
    is added.

    Args:
      key: a PRNG key.
      n: number of points.
      noise: standard deviation of the Gaussian noise.
      factor: radius of the inner circle, in (0, 1).

    Returns:
      ``(x, y)``: float32 ``[n, 2]`` and int32 ``[n]`` in {0, 1}.
    """
    check_key(key)
    n = check_int(n, "n")
    noise = check_nonnegative(noise, "noise")
    if isinstance(factor, bool) or not isinstance(factor, (int, float)) or not 0 < factor < 1:
        raise ValueError(f"factor (inner radius) must be in (0, 1), got {factor!r}")
    return _circles(key, noise, float(factor), n=n)


@_jit
def _circles(key, noise, factor, *, n):
    k_y, k_t, k_e = jax.random.split(key, 3)
    y = _balanced_labels(k_y, n, 2)
    t = jax.random.uniform(k_t, (n,), jnp.float32, 0.0, 2 * jnp.pi)
    r = jnp.where(y == 0, 1.0, factor).astype(jnp.float32)
    x = r[:, None] * jnp.stack([jnp.cos(t), jnp.sin(t)], axis=1)
    x = x + noise * jax.random.normal(k_e, (n, 2), jnp.float32)
    return x, y


def spirals(
    key: ArrayLike,
    n: int,
    *,
    num_classes: int = 2,
    noise: float = 0.05,
    turns: float = 1.0,
) -> tuple[jax.Array, jax.Array]:
    """Interleaved spiral arms, one per class.

    A point of class ``k`` at radius ``r ~ U[0, 1]`` lies at angle
    ``theta = 2 pi turns r + 2 pi k / num_classes``, i.e. at ``r (cos theta, sin theta)``,
    plus Gaussian noise of standard deviation ``noise``. Neighbouring arms are
    ``1 / (turns * num_classes)`` apart along a ray.

    Args:
      key: a PRNG key.
      n: number of points.
      num_classes: number of arms (classes).
      noise: standard deviation of the Gaussian noise.
      turns: how many full turns each arm makes, ``> 0``.

    Returns:
      ``(x, y)``: float32 ``[n, 2]`` and int32 ``[n]`` in ``0..num_classes-1``.
    """
    check_key(key)
    n = check_int(n, "n")
    num_classes = check_int(num_classes, "num_classes")
    noise = check_nonnegative(noise, "noise")
    turns = check_nonnegative(turns, "turns")
    if turns == 0:
        raise ValueError("turns must be > 0")
    return _spirals(key, noise, turns, n=n, num_classes=num_classes)


@_jit
def _spirals(key, noise, turns, *, n, num_classes):
    k_y, k_r, k_e = jax.random.split(key, 3)
    y = _balanced_labels(k_y, n, num_classes)
    r = jax.random.uniform(k_r, (n,), jnp.float32)
    theta = 2 * jnp.pi * (turns * r + y.astype(jnp.float32) / num_classes)
    x = r[:, None] * jnp.stack([jnp.cos(theta), jnp.sin(theta)], axis=1)
    x = x + noise * jax.random.normal(k_e, (n, 2), jnp.float32)
    return x, y


def _sine(x: jax.Array) -> jax.Array:
    return jnp.sin(jnp.pi * x)


def regression_1d(
    key: ArrayLike,
    n: int,
    *,
    noise: float = 0.1,
    fn: Callable[[jax.Array], jax.Array] | None = None,
) -> tuple[jax.Array, jax.Array]:
    """One-input regression: ``y = fn(x) + noise * eps`` with ``x ~ U[-1, 1]``, ``eps ~ N(0, 1)``.

    The default ``fn`` is ``sin(pi x)`` (variance 1/2 over ``x ~ U[-1, 1]``, so the best
    possible R^2 is ``0.5 / (0.5 + noise^2)``, 0.98 at the default noise). Pass e.g.
    ``fn=lambda x: 2 * x + 1`` for a linear problem.

    Args:
      key: a PRNG key.
      n: number of points.
      noise: standard deviation of the Gaussian noise on ``y``.
      fn: the noiseless target function, applied elementwise to ``x`` of shape
        ``[n, 1]``; it must return the same shape and be written with ``jax.numpy``
        (it is traced under ``jit``).

    Returns:
      ``(x, y)``: float32 ``[n, 1]`` and float32 ``[n, 1]``.
    """
    check_key(key)
    n = check_int(n, "n")
    noise = check_nonnegative(noise, "noise")
    fn = _sine if fn is None else fn
    if not callable(fn):
        raise TypeError(f"fn must be a function of x, got {type(fn).__name__}")
    return _regression_1d(key, noise, n=n, fn=fn)


@_jit
def _regression_1d(key, noise, *, n, fn):
    k_x, k_e = jax.random.split(key)
    x = jax.random.uniform(k_x, (n, 1), jnp.float32, -1.0, 1.0)
    clean = jnp.asarray(fn(x))
    if clean.shape != x.shape:  # static: raised while tracing, before compiling
        raise ValueError(
            f"fn must map x of shape {x.shape} to the same shape, got {clean.shape}; "
            "write it elementwise, e.g. fn=lambda x: 2 * x + 1"
        )
    y = clean.astype(jnp.float32) + noise * jax.random.normal(k_e, (n, 1), jnp.float32)
    return x, y


def regression_multi(
    key: ArrayLike,
    n: int,
    *,
    dim: int = 3,
    outputs: int = 2,
    noise: float = 0.1,
    hidden: int = 16,
) -> tuple[jax.Array, jax.Array]:
    """Multi-output regression from a random smooth teacher network, with noise.

    Inputs ``x ~ U[-1, 1]^dim``. The noiseless targets come from a random one-hidden-layer
    tanh network ``t(x) = tanh(x A + c) B`` (``A ~ N(0, 4/dim)``, ``c ~ N(0, 1)``,
    ``B ~ N(0, 1/hidden)``, all drawn from ``key``), shifted and scaled so that each output
    has mean 0 and variance 1 over the input distribution (measured once on 4096
    reference inputs drawn from ``key``, so the teacher does not depend on ``n``). Then
    ``y = t(x) + noise * eps`` and the best possible R^2 per output is about
    ``1 / (1 + noise^2)`` (0.99 at the default noise). The outputs are correlated
    nonlinear functions of the same inputs.

    Args:
      key: a PRNG key.
      n: number of points.
      dim: number of inputs.
      outputs: number of outputs.
      noise: standard deviation of the Gaussian noise on each output.
      hidden: width of the teacher's hidden layer.

    Returns:
      ``(x, y)``: float32 ``[n, dim]`` and float32 ``[n, outputs]``.
    """
    check_key(key)
    n = check_int(n, "n")
    dim = check_int(dim, "dim")
    outputs = check_int(outputs, "outputs")
    hidden = check_int(hidden, "hidden")
    noise = check_nonnegative(noise, "noise")
    return _regression_multi(key, noise, n=n, dim=dim, outputs=outputs, hidden=hidden)


@_jit
def _regression_multi(key, noise, *, n, dim, outputs, hidden):
    k_a, k_c, k_b, k_ref, k_x, k_e = jax.random.split(key, 6)
    a = jax.random.normal(k_a, (dim, hidden), jnp.float32) * (2.0 / math.sqrt(dim))
    c = jax.random.normal(k_c, (hidden,), jnp.float32)
    b = jax.random.normal(k_b, (hidden, outputs), jnp.float32) / math.sqrt(hidden)

    def teacher(x: jax.Array) -> jax.Array:
        return jnp.tanh(x @ a + c[None, :]) @ b

    ref = teacher(jax.random.uniform(k_ref, (4096, dim), jnp.float32, -1.0, 1.0))
    mean, std = jnp.mean(ref, axis=0, keepdims=True), jnp.std(ref, axis=0, keepdims=True)
    x = jax.random.uniform(k_x, (n, dim), jnp.float32, -1.0, 1.0)
    y = (teacher(x) - mean) / std + noise * jax.random.normal(k_e, (n, outputs), jnp.float32)
    return x, y


def regression_plane(key: ArrayLike, n: int, *, noise: float = 0.1) -> tuple[jax.Array, jax.Array]:
    """Two-input regression on a tilted plane: ``y = (x_1 + x_2) / 2 + noise * eps``.

    Inputs ``x ~ U[-1, 1]^2``, ``eps ~ N(0, 1)``. The noiseless target is linear, so a
    network without hidden layers fits it exactly (TensorFlow Playground's "plane").

    Args:
      key: a PRNG key.
      n: number of points.
      noise: standard deviation of the Gaussian noise on ``y``.

    Returns:
      ``(x, y)``: float32 ``[n, 2]`` and float32 ``[n, 1]``.
    """
    check_key(key)
    n = check_int(n, "n")
    noise = check_nonnegative(noise, "noise")
    return _regression_plane(key, noise, n=n)


@_jit
def _regression_plane(key, noise, *, n):
    k_x, k_e = jax.random.split(key)
    x = jax.random.uniform(k_x, (n, 2), jnp.float32, -1.0, 1.0)
    y = 0.5 * (x[:, :1] + x[:, 1:]) + noise * jax.random.normal(k_e, (n, 1), jnp.float32)
    return x, y


# The bumps of regression_gaussians: centre (c_1, c_2) and sign, two rows of three.
_GAUSSIAN_BUMPS = ((-0.6, 0.4, 1.0), (0.0, 0.4, -1.0), (0.6, 0.4, 1.0),
                  (-0.6, -0.4, -1.0), (0.0, -0.4, 1.0), (0.6, -0.4, -1.0))  # fmt: skip
_GAUSSIAN_WIDTH = 0.25


def regression_gaussians(key: ArrayLike, n: int, *, noise: float = 0.1) -> tuple[jax.Array, jax.Array]:
    """Two-input regression on six Gaussian bumps of alternating sign (a "multi-Gaussian").

    Inputs ``x ~ U[-1, 1]^2``; the noiseless target is

    .. math:: t(x) = \\sum_{k=1}^{6} s_k \\exp\\left(-\\frac{\\|x - c_k\\|^2}{2 \\sigma^2}\\right)

    with centres ``c_k`` at ``(-0.6, 0.4), (0, 0.4), (0.6, 0.4)`` (signs ``+, -, +``) and
    ``(-0.6, -0.4), (0, -0.4), (0.6, -0.4)`` (signs ``-, +, -``), a checkerboard, and
    ``sigma = 0.25``; then
    ``y = t(x) + noise * eps`` with ``eps ~ N(0, 1)`` (TensorFlow Playground's
    "multi-Gaussian"). A network needs hidden units to fit it.

    Args:
      key: a PRNG key.
      n: number of points.
      noise: standard deviation of the Gaussian noise on ``y``.

    Returns:
      ``(x, y)``: float32 ``[n, 2]`` and float32 ``[n, 1]``.
    """
    check_key(key)
    n = check_int(n, "n")
    noise = check_nonnegative(noise, "noise")
    return _regression_gaussians(key, noise, n=n)


@_jit
def _regression_gaussians(key, noise, *, n):
    k_x, k_e = jax.random.split(key)
    x = jax.random.uniform(k_x, (n, 2), jnp.float32, -1.0, 1.0)
    bumps = jnp.asarray(_GAUSSIAN_BUMPS, jnp.float32)
    d2 = jnp.sum((x[:, None, :] - bumps[None, :, :2]) ** 2, axis=-1)  # [n, 6]
    t = jnp.sum(bumps[None, :, 2] * jnp.exp(-d2 / (2 * _GAUSSIAN_WIDTH**2)), axis=1, keepdims=True)
    return x, t + noise * jax.random.normal(k_e, (n, 1), jnp.float32)
