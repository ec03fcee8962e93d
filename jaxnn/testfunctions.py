"""Standard functions to watch optimizers work (and fail) on, with their known minima.

Each function maps one point ``x`` to a scalar, so it can be handed to
:func:`jaxnn.descent.minimize` or :func:`jax.grad` directly. Evaluate it on a grid for
a contour plot with ``jax.vmap``:

    >>> import jax, jax.numpy as jnp
    >>> xs = jnp.stack(jnp.meshgrid(jnp.linspace(-2, 2, 5), jnp.linspace(-1, 3, 5)), -1)
    >>> jax.vmap(jax.vmap(rosenbrock))(xs).shape
    (5, 5)

=====================  =========  ================================================  ========
function               ``x``      global minimizer(s)                               value
=====================  =========  ================================================  ========
``quadratic_bowl``     any shape  ``0``                                             0
``rosenbrock``         ``[n]``    ``ones(n)`` (:data:`ROSENBROCK_MINIMUM` for 2-D)  0
``beale``              ``[2]``    :data:`BEALE_MINIMUM` = (3, 0.5)                  0
``himmelblau``         ``[2]``    the four rows of :data:`HIMMELBLAU_MINIMA`        0
``double_well``        ``[]``     :data:`DOUBLE_WELL_GLOBAL_MINIMUM` ~ -1.3008      ~ -3.514
=====================  =========  ================================================  ========

The constants are float64 NumPy arrays (exact to about 1e-15), so tests can compare
against them at any precision.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from jaxnn._checks import check_float

__all__ = [
    "quadratic_bowl",
    "rosenbrock",
    "beale",
    "himmelblau",
    "double_well",
    "ROSENBROCK_MINIMUM",
    "BEALE_MINIMUM",
    "HIMMELBLAU_MINIMA",
    "DOUBLE_WELL_GLOBAL_MINIMUM",
    "DOUBLE_WELL_LOCAL_MINIMUM",
    "DOUBLE_WELL_LOCAL_MAXIMUM",
    "DOUBLE_WELL_GLOBAL_VALUE",
    "DOUBLE_WELL_LOCAL_VALUE",
]

ROSENBROCK_MINIMUM = np.array([1.0, 1.0])
"""Minimizer of the 2-D :func:`rosenbrock` (the n-D one is ``np.ones(n)``); value 0."""

BEALE_MINIMUM = np.array([3.0, 0.5])
"""Minimizer of :func:`beale`; value 0."""

HIMMELBLAU_MINIMA = np.array(
    [
        [3.0, 2.0],
        [-2.805118086952745, 3.131312518250573],
        [-3.779310253377747, -3.2831859912861696],
        [3.5844283403304917, -1.8481265269644034],
    ]
)
"""The four minimizers of :func:`himmelblau`, shape ``[4, 2]``; all have value 0."""

# Critical points of double_well: roots of f'(x) = 4x^3 - 6x + 1, refined by Newton's method.
DOUBLE_WELL_GLOBAL_MINIMUM = np.array(-1.300839565941577)
"""Global minimizer of :func:`double_well` (left well)."""
DOUBLE_WELL_LOCAL_MAXIMUM = np.array(0.16993844331159128)
"""The local maximum between the wells; gradient descent started right of it ends in the right well."""
DOUBLE_WELL_LOCAL_MINIMUM = np.array(1.1309011226299859)
"""Local, non-global minimizer of :func:`double_well` (right well)."""
DOUBLE_WELL_GLOBAL_VALUE = np.array(-3.5139050389347886)
"""``double_well(DOUBLE_WELL_GLOBAL_MINIMUM)``."""
DOUBLE_WELL_LOCAL_VALUE = np.array(-1.0702301817761541)
"""``double_well(DOUBLE_WELL_LOCAL_MINIMUM)``."""


def _check_point(x: ArrayLike, name: str, shape: tuple[int, ...] | None) -> jax.Array:
    """Returns ``x`` as a float array: ``TypeError`` on a wrong dtype, ``ValueError`` on a wrong shape."""
    x = check_float(x, f"{name}'s x")
    if shape is not None and x.shape != shape:
        raise ValueError(
            f"{name} takes one point of shape {shape}, got x.shape={x.shape}; "
            f"for many points use jax.vmap({name})"
        )
    return x


def quadratic_bowl(x: ArrayLike, curvature: ArrayLike = 1.0) -> jax.Array:
    r"""Quadratic bowl with known curvature: :math:`f(x) = \tfrac12 \sum_i L_i x_i^2`.

    The Hessian is ``diag(L)``, so the largest curvature :math:`L = \max_i L_i` decides
    plain gradient descent's fate: :math:`x_{t+1} = (1 - \eta L_i) x_t` per coordinate,
    which converges for every start iff :math:`0 < \eta < 2 / L` and diverges
    (geometrically, oscillating in sign) for :math:`\eta > 2 / L`. At
    :math:`\eta = 1 / L` the stiffest coordinate is solved in one step. Minimum 0 at 0.

    Args:
      x: A point of any shape ``[...]``, floating point.
      curvature: :math:`L > 0`: a scalar, or an array of ``x``'s shape for a
        different curvature per coordinate (an ill-conditioned bowl).

    Returns:
      Scalar ``f(x)``.

    Raises:
      TypeError: If ``x`` is not floating point.
      ValueError: If ``curvature`` is neither a scalar nor of ``x``'s shape.
    """
    x = _check_point(x, "quadratic_bowl", None)
    curvature = jnp.asarray(curvature, dtype=x.dtype)
    if curvature.shape not in ((), x.shape):
        raise ValueError(
            f"quadratic_bowl: curvature must be a scalar or have x's shape {x.shape}, "
            f"got curvature.shape={curvature.shape}"
        )
    return 0.5 * jnp.sum(curvature * x * x)


def rosenbrock(x: ArrayLike) -> jax.Array:
    r"""Rosenbrock's banana valley, in ``n >= 2`` dimensions.

    .. math::

        f(x) = \sum_{i=1}^{n-1} \left[ 100 (x_{i+1} - x_i^2)^2 + (1 - x_i)^2 \right]

    Global minimum 0 at :math:`x = (1, \dots, 1)`. The valley floor is found fast and
    followed slowly: at the minimum the Hessian of the 2-D function has eigenvalues
    about 1001.6 and 0.4 (condition number about 2500). The classic start is
    ``(-1.2, 1.0)``.

    Args:
      x: A point of shape ``[n]``, ``n >= 2``.

    Returns:
      Scalar ``f(x)``.

    Raises:
      TypeError: If ``x`` is not floating point.
      ValueError: If ``x`` is not a vector of length >= 2.
    """
    x = _check_point(x, "rosenbrock", None)
    if x.ndim != 1 or x.shape[0] < 2:
        raise ValueError(
            f"rosenbrock takes one point of shape [n] with n >= 2, got x.shape={x.shape}; "
            "for many points use jax.vmap(rosenbrock)"
        )
    return jnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def beale(x: ArrayLike) -> jax.Array:
    r"""Beale's function: flat plateaus and sharp ridges.

    .. math::

        f(x, y) = (1.5 - x + xy)^2 + (2.25 - x + xy^2)^2 + (2.625 - x + xy^3)^2

    Global minimum 0 at :data:`BEALE_MINIMUM` = (3, 0.5). Usually plotted on
    :math:`[-4.5, 4.5]^2`.

    Args:
      x: A point of shape ``[2]``.

    Returns:
      Scalar ``f(x)``.

    Raises:
      TypeError: If ``x`` is not floating point.
      ValueError: If ``x`` is not of shape ``[2]``.
    """
    x = _check_point(x, "beale", (2,))
    a, b = x[0], x[1]
    return (
        (1.5 - a + a * b) ** 2 + (2.25 - a + a * b**2) ** 2 + (2.625 - a + a * b**3) ** 2
    )


def himmelblau(x: ArrayLike) -> jax.Array:
    r"""Himmelblau's function: four global minima, so the start decides the answer.

    .. math::

        f(x, y) = (x^2 + y - 11)^2 + (x + y^2 - 7)^2

    Value 0 at each row of :data:`HIMMELBLAU_MINIMA`, e.g. (3, 2). Usually plotted on
    :math:`[-5, 5]^2`.

    Args:
      x: A point of shape ``[2]``.

    Returns:
      Scalar ``f(x)``.

    Raises:
      TypeError: If ``x`` is not floating point.
      ValueError: If ``x`` is not of shape ``[2]``.
    """
    x = _check_point(x, "himmelblau", (2,))
    a, b = x[0], x[1]
    return (a**2 + b - 11.0) ** 2 + (a + b**2 - 7.0) ** 2


def double_well(x: ArrayLike) -> jax.Array:
    r"""A 1-D function with a global and a local minimum: :math:`f(x) = x^4 - 3x^2 + x`.

    :math:`f'(x) = 4x^3 - 6x + 1` vanishes at the global minimizer
    :data:`DOUBLE_WELL_GLOBAL_MINIMUM` (about -1.3008, value about -3.514), the barrier
    :data:`DOUBLE_WELL_LOCAL_MAXIMUM` (about 0.1699) and the local minimizer
    :data:`DOUBLE_WELL_LOCAL_MINIMUM` (about 1.1309, value about -1.070). Gradient
    descent with a small step started right of the barrier stays in the right well: it
    finds a minimum, not the minimum.

    Args:
      x: A scalar point (shape ``[]``), floating point.

    Returns:
      Scalar ``f(x)``.

    Raises:
      TypeError: If ``x`` is not floating point.
      ValueError: If ``x`` is not a scalar.
    """
    x = _check_point(x, "double_well", ())
    return x**4 - 3.0 * x**2 + x
