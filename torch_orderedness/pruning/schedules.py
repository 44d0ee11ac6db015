"""The dynamic schemes' schedules: ramps ``r(x)`` from 0 to 1 over training progress ``x``.

``"sin4"`` is the paper's ``r(x) = sin(pi x / 2)^4`` (Eq. 4 and 6); ``"cubic"`` is
Zhu & Gupta's gradual magnitude pruning ``r(x) = 1 - (1 - x)^3`` (``CubicSL``
in :mod:`torch.ao.pruning`).  Dynamic Top-K keeps ``k(x) = 1 - (1 - k) r(x)``,
Dynamic Tril-damp damps with ``f(x) = f r(x)``.

Example::

    >>> round(dynamic_keep_fraction(0.5, 0.5), 12), round(dynamic_damping_factor(0.8, 0.5), 12)
    (0.875, 0.2)
"""

from __future__ import annotations

import math
from collections.abc import Callable

from torch_orderedness import _checks

__all__ = ["SCHEDULES", "ramp", "dynamic_keep_fraction", "dynamic_damping_factor"]


def _sin4(x: float) -> float:
    return math.sin(math.pi * x / 2.0) ** 4


def _cubic(x: float) -> float:
    return 1.0 - (1.0 - x) ** 3


#: Ramps ``r(x)`` from 0 at ``x = 0`` to 1 at ``x = 1`` used by the dynamic schemes.
#: ``"sin4"`` is the paper's ``sin(pi x / 2)^4`` (late: half way at ``x = 0.64``);
#: ``"cubic"`` is Zhu & Gupta's gradual pruning ``1 - (1 - x)^3`` (early: half way at
#: ``x = 0.21``).
SCHEDULES: dict[str, Callable[[float], float]] = {"sin4": _sin4, "cubic": _cubic}


def _check_schedule(schedule: object) -> str:
    return _checks.choice("schedule", schedule, SCHEDULES)


def ramp(progress: float, schedule: str = "sin4") -> float:
    """The schedule's ramp ``r(x)`` in [0, 1] at training progress ``x`` in [0, 1].

    ``r`` rises from ``r(0) = 0`` to ``r(1) = 1``: ``"sin4"`` is the paper's
    ``r(x) = sin(pi x / 2)^4``, ``"cubic"`` is Zhu & Gupta's
    ``r(x) = 1 - (1 - x)^3`` (see :data:`SCHEDULES`).  The dynamic schemes use
    it as ``k(x) = 1 - (1 - k) r(x)`` (Eq. 4, :func:`dynamic_keep_fraction`)
    and ``f(x) = f r(x)`` (Eq. 6, :func:`dynamic_damping_factor`).

    Args:
        progress: training progress ``x`` in [0, 1] (the paper uses
            ``epoch / n_epochs``); a float, an int or a one-element tensor.
        schedule: ``"sin4"`` (default, the paper's) or ``"cubic"``.

    Returns:
        ``r(x)``, a float in [0, 1].

    Raises:
        ValueError: ``progress`` outside [0, 1] (or NaN), or an unknown ``schedule``.
        TypeError: ``progress`` is not a number.

    Example::

        >>> round(ramp(0.5), 12)  # sin(pi/4)^4
        0.25
        >>> ramp(0.0), ramp(1.0), ramp(0.5, "cubic")  # 1 - 0.5^3
        (0.0, 1.0, 0.875)
    """
    return SCHEDULES[_check_schedule(schedule)](_checks.fraction("progress", progress))


def dynamic_keep_fraction(k: float, progress: float, schedule: str = "sin4") -> float:
    """Eq. 4: the fraction kept by Dynamic Top-K, ``k(x) = 1 - (1 - k) * r(x)``.

    ``r`` is the schedule's ramp (:func:`ramp`); with the paper's ``"sin4"``
    schedule ``k(x) = 1 - (1 - k) sin(pi x / 2)^4``.  The fraction falls from
    ``k(0) = 1`` (nothing pruned) to ``k(1) = k``.

    Args:
        k: final fraction kept, in [0, 1].
        progress: training progress ``x`` in [0, 1].
        schedule: ``"sin4"`` (default, the paper's) or ``"cubic"``; see :data:`SCHEDULES`.

    Returns:
        ``k(x)``, a float in ``[k, 1]``.

    Raises:
        ValueError: ``k`` or ``progress`` outside [0, 1], or an unknown ``schedule``.
        TypeError: ``k`` or ``progress`` is not a number.

    Example::

        >>> dynamic_keep_fraction(0.5, 0.0), dynamic_keep_fraction(0.5, 1.0)
        (1.0, 0.5)
        >>> round(dynamic_keep_fraction(0.2, 0.5), 12)  # 1 - 0.8 * sin(pi/4)^4
        0.8
    """
    return 1.0 - (1.0 - _checks.fraction("k", k)) * ramp(progress, schedule)


def dynamic_damping_factor(f: float, progress: float, schedule: str = "sin4") -> float:
    """Eq. 6: the damping factor of Dynamic Tril-damp, ``f(x) = f * r(x)``.

    ``r`` is the schedule's ramp (:func:`ramp`); with the paper's ``"sin4"``
    schedule ``f(x) = f sin(pi x / 2)^4``.  The factor rises from ``f(0) = 0``
    (no damping) to ``f(1) = f``.

    Args:
        f: final damping factor, in [0, 1].
        progress: training progress ``x`` in [0, 1].
        schedule: ``"sin4"`` (default, the paper's) or ``"cubic"``; see :data:`SCHEDULES`.

    Returns:
        ``f(x)``, a float in ``[0, f]``.

    Raises:
        ValueError: ``f`` or ``progress`` outside [0, 1], or an unknown ``schedule``.
        TypeError: ``f`` or ``progress`` is not a number.

    Example::

        >>> dynamic_damping_factor(0.8, 0.0), dynamic_damping_factor(0.8, 1.0)
        (0.0, 0.8)
        >>> round(dynamic_damping_factor(0.8, 0.5), 12)  # 0.8 * sin(pi/4)^4
        0.2
    """
    return _checks.fraction("f", f) * ramp(progress, schedule)
