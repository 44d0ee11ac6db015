"""The one set of argument checks of the library: counts, fractions, reals, flags, choices.

Every public function and class checks its arguments here, once, at the
boundary.  The rules are torch's own (``prune._validate_pruning_amount_init``
tests ``numbers.Integral`` / ``numbers.Real``):

- a **count** is an integral number: Python ``int``, NumPy integers, and 0-d
  integer arrays or one-element integer tensors; ``bool`` is refused;
- a **real** is a real number: Python ``int`` / ``float``, NumPy integers and
  floats of every width, and 0-d arrays or one-element tensors of those;
  ``bool`` and complex numbers are refused;
- a wrong type is a :class:`TypeError`, a wrong value a :class:`ValueError`,
  and the message names the argument and says what it must be.

Example::

    >>> import numpy as np
    >>> count("hidden", np.int64(5), minimum=0), fraction("k", np.float32(0.5))
    (5, 0.5)
    >>> fraction("k", 1.5)
    Traceback (most recent call last):
    ...
    ValueError: k must be in [0, 1], got 1.5
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Collection
from typing import Any

import numpy as np
from torch import Tensor

__all__ = ["count", "real", "fraction", "flag", "choice", "as_number"]


def as_number(value: object) -> object:
    """``value`` itself, or the Python number inside a 0-d array / one-element tensor."""
    if isinstance(value, np.ndarray) and value.ndim == 0:
        return value.item()
    if isinstance(value, Tensor) and value.numel() == 1 and value.device.type != "meta":
        return value.item()
    return value


def _is_bool(value: object) -> bool:
    return isinstance(value, (bool, np.bool_))


def count(name: str, value: object, minimum: int = 0, maximum: int | None = None) -> int:
    """An integral ``value`` in ``[minimum, maximum]`` as a Python ``int``.

    Raises:
        TypeError: not an integral number (a float, a bool, a string, ...).
        ValueError: below ``minimum`` or above ``maximum``.
    """
    value = as_number(value)
    bound = f">= {minimum}" if maximum is None else f"in [{minimum}, {maximum}]"
    if _is_bool(value) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int {bound}, got {value!r}")
    number = int(value)
    if number < minimum or (maximum is not None and number > maximum):
        raise ValueError(f"{name} must be an int {bound}, got {number}")
    return number


def real(name: str, value: object, *, minimum: float | None = None, positive: bool = False,
         finite: bool = True) -> float:
    """A real ``value`` as a Python ``float``.

    Args:
        name: the argument's name, for messages.
        value: the value to check.
        minimum: smallest allowed value (inclusive), or ``None``.
        positive: the value must be ``> 0``.
        finite: NaN and infinities are refused.

    Raises:
        TypeError: not a real number.
        ValueError: NaN or infinite (with ``finite``), below ``minimum``, or not positive.
    """
    value = as_number(value)
    if _is_bool(value) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    number = float(value)
    if finite and not math.isfinite(number):
        raise ValueError(f"{name} must be finite, got {number}")
    if positive and not number > 0:
        raise ValueError(f"{name} must be positive, got {number}")
    if minimum is not None and not number >= minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {number}")
    return number


def fraction(name: str, value: object) -> float:
    """A real ``value`` in ``[0, 1]`` as a Python ``float`` (NaN is refused).

    Raises:
        TypeError: not a real number.
        ValueError: outside ``[0, 1]`` or NaN.
    """
    value = as_number(value)
    if _is_bool(value) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a float in [0, 1], got {value!r}")
    number = float(value)
    if not 0.0 <= number <= 1.0:  # also refuses NaN
        raise ValueError(f"{name} must be in [0, 1], got {number}")
    return number


def flag(name: str, value: object) -> bool:
    """A ``bool`` (NumPy's ``bool_`` too); anything else is a :class:`TypeError`."""
    if not _is_bool(value):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def choice(name: str, value: Any, options: Collection[Any]) -> Any:
    """``value`` if it is one of ``options`` (a :class:`ValueError` naming them otherwise)."""
    try:
        known = value in options
    except TypeError:  # unhashable
        known = False
    if not known:
        raise ValueError(f"{name} must be one of {tuple(options)}, got {value!r}")
    return value
