"""Checks of the estimators' constructor parameters, run by ``fit`` (scikit-learn's convention).

scikit-learn stores constructor arguments untouched and validates them when fitting, so that
``clone`` and ``set_params`` work on any value; a bad one raises ``ValueError`` naming it.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np


def _real(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def check_real(value: Any, name: str, low: float, high: float = np.inf, *, closed: str = "both") -> float:
    """``value`` as a float within ``[low, high]`` (ends open as ``closed`` says).

    Args:
      value: the parameter's value.
      name: the parameter's name, for the message.
      low, high: the bounds.
      closed: ``"both"``, ``"left"``, ``"right"`` or ``"neither"``: the ends that are allowed.

    Returns:
      ``float(value)``.

    Raises:
      ValueError: a value that is not a real number or is out of range.
    """
    ok = _real(value) and np.isfinite(value) or (_real(value) and high == np.inf and value == np.inf)
    if ok:
        v = float(value)
        above = v >= low if closed in ("both", "left") else v > low
        below = v <= high if closed in ("both", "right") else v < high
        ok = above and below
    if not ok:
        left = "[" if closed in ("both", "left") else "("
        right = "]" if closed in ("both", "right") and high != np.inf else ")"
        raise ValueError(f"The '{name}' parameter must be a float in the range {left}{low}, {high}{right}. "
                         f"Got {value!r} instead.")
    return float(value)


def check_int(value: Any, name: str, low: int = 1) -> int:
    """``value`` as an int ``>= low``.

    Raises:
      ValueError: a value that is not an int (a bool or a float included) or is below ``low``.
    """
    if not isinstance(value, numbers.Integral) or isinstance(value, (bool, np.bool_)) or value < low:
        raise ValueError(f"The '{name}' parameter must be an int in the range [{low}, inf). Got {value!r} instead.")
    return int(value)


def check_bool(value: Any, name: str) -> bool:
    """``value`` as a bool.

    Raises:
      ValueError: anything but ``True`` and ``False``.
    """
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"The '{name}' parameter must be an instance of 'bool'. Got {value!r} instead.")
    return bool(value)


def check_option(value: Any, name: str, options: tuple[str, ...]) -> str:
    """``value``, one of ``options``.

    Raises:
      ValueError: any other value, listing the options.
    """
    if not isinstance(value, str) or value not in options:
        raise ValueError(f"The '{name}' parameter must be a str among {sorted(options)}. Got {value!r} instead.")
    return value


def check_random_state_param(value: Any) -> None:
    """Accepts scikit-learn's ``random_state`` values: ``None``, an int >= 0 or a ``RandomState``.

    Raises:
      ValueError: anything else.
    """
    if value is None or isinstance(value, np.random.RandomState):
        return
    if isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_)) and 0 <= value < 2**32:
        return
    raise ValueError("The 'random_state' parameter must be an int in the range [0, 4294967295], an instance of "
                     f"'numpy.random.mtrand.RandomState' or None. Got {value!r} instead.")
