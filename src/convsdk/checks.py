"""Type checks shared across convsdk, where ``bool`` does not count as a number.

``True`` is an ``int`` to Python, but never a count, a size or an amount to convsdk:
these helpers say so once, instead of ``isinstance(x, bool) or not isinstance(x, int)``
in every validator. This module imports nothing from convsdk, so any module may use it.
"""

from __future__ import annotations

from typing import Any, TypeGuard

__all__ = ["is_int", "is_number"]


def is_int(value: Any) -> TypeGuard[int]:
    """Whether ``value`` is an ``int`` and not a ``bool``.

    >>> is_int(3), is_int(True), is_int(3.0)
    (True, False, False)
    """
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> TypeGuard[int | float]:
    """Whether ``value`` is an ``int`` or a ``float`` and not a ``bool`` (NaN and infinities
    included: check ``math.isfinite`` where they do not belong).

    >>> is_number(2.5), is_number(2), is_number(False), is_number("2")
    (True, True, False, False)
    """
    return isinstance(value, int | float) and not isinstance(value, bool)
