"""Checks of what a caller passes to ``track()``: cheap, no serialisation, on the request thread.

Each raises a :class:`ValueError` naming the field (the limits are in
:mod:`convsdk.event.fields`). :func:`check_properties` also returns a copy, so that
the caller changing its dict after ``track()`` changes no event.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal
from typing import Any

from ..checks import is_int, is_number
from .fields import (
    MAX_DEPTH,
    MAX_ID,
    MAX_LIST,
    MAX_PROPERTIES,
    MAX_PROPERTIES_CHARS,
    MAX_STRING,
    NAME,
)

__all__ = [
    "check_currency",
    "check_id",
    "check_name",
    "check_properties",
    "check_value",
    "name_hint",
]

_SCALARS = frozenset({str, int, float, bool, type(None)})

_valid_names: set[str] = set()
_WORDS = re.compile(r"[a-z0-9]+")


def check_name(field: str, value: Any) -> None:
    """Validate an event or goal name: letters, digits and ``_``, 1 to 64 characters."""
    # Sites use a handful of names: remember the valid ones (bounded) to skip the regex.
    if value in _valid_names:
        return
    if not isinstance(value, str) or NAME.match(value) is None:
        raise ValueError(
            f"{field} must be 1-64 letters, digits or underscores, got {value!r}{name_hint(value)}"
        )
    if len(_valid_names) < 10_000:
        _valid_names.add(value)


def name_hint(value: Any) -> str:
    """`` (did you mean 'signed_up'?)`` for a name like ``"Signed Up"``, or ``""``.

    The suggestion is the name in the form convsdk stores: lower case, each run of
    other characters made one ``_``.
    """
    if not isinstance(value, str):
        return ""
    suggestion = "_".join(_WORDS.findall(value.lower()))[:64]
    return f" (did you mean {suggestion!r}?)" if suggestion and suggestion != value else ""


def check_id(field: str, value: Any) -> str | None:
    """Validate an id (``transaction_id``, ``user_id``...): a short string, or an int made one."""
    if value is None:
        return None
    if type(value) is not str and is_int(value):
        value = str(value)
    if not isinstance(value, str) or not value or len(value) > MAX_ID:
        raise ValueError(f"{field} must be a non-empty string of at most {MAX_ID} characters")
    return value


def check_value(value: Any) -> float | None:
    """Validate a monetary value: a finite number, returned as ``float``."""
    if value is None:
        return None
    # (A float, the usual value, needs no call: the check costs nothing on the hot path.)
    if type(value) is not float and not (is_number(value) or isinstance(value, Decimal)):
        raise ValueError(f"value must be a number, got {type(value).__name__}")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError("value must be a finite number")
    return number


def check_currency(currency: Any) -> str:
    """Validate an ISO 4217 currency code (three letters) and upper-case it."""
    if (
        not isinstance(currency, str)
        or len(currency) != 3
        or not currency.isascii()
        or not currency.isalpha()
    ):
        raise ValueError(f"currency must be a three-letter ISO 4217 code, got {currency!r}")
    return currency.upper()


def check_properties(properties: Any) -> dict[str, Any]:
    """Validate properties against the documented limits; return a copy as a dict.

    A copy, so that the caller changing its dict after ``track()`` changes no event.
    """
    if properties is None:
        return {}
    if type(properties) is not dict:
        if not isinstance(properties, dict):
            raise ValueError("properties must be a dict")
    elif len(properties) <= MAX_PROPERTIES:
        # Fast path for the usual small, flat dict of scalars: no recursion, no budget list.
        chars = 0
        for key, val in properties.items():
            t = type(val)
            if type(key) is not str or len(key) > 128:
                break
            if t is str:
                if len(val) > MAX_STRING:
                    break
                chars += len(val)
            elif t is float:
                if val - val != 0.0:  # inf or nan
                    break
            elif t is not int and t is not bool and val is not None:
                break
            chars += len(key)
        else:
            if chars <= MAX_PROPERTIES_CHARS:
                return properties.copy()  # scalars only: a shallow copy is a whole one
    budget = [MAX_PROPERTIES_CHARS]
    _check_mapping(properties, "properties", 1, budget)
    return _copied(properties)  # type: ignore[no-any-return]


def _copied(val: Any) -> Any:
    """A copy of checked JSON data: new dicts and lists, the same scalars."""
    t = type(val)
    if t is dict or isinstance(val, dict):
        return {key: _copied(item) for key, item in val.items()}
    if t is list:
        return [_copied(item) for item in val]
    if t is tuple:
        return tuple(_copied(item) for item in val)
    return val


def _check_mapping(obj: dict[Any, Any], path: str, depth: int, budget: list[int]) -> None:
    if len(obj) > MAX_PROPERTIES:
        raise ValueError(f"{path} has more than {MAX_PROPERTIES} keys")
    for key, val in obj.items():
        if type(key) is not str or len(key) > 128:
            raise ValueError(f"{path} keys must be strings of at most 128 characters, got {key!r}")
        budget[0] -= len(key)
        _check_json(val, f"{path}.{key}", depth, budget)
    if budget[0] < 0:
        raise ValueError(f"properties exceed {MAX_PROPERTIES_CHARS} characters")


def _check_json(val: Any, path: str, depth: int, budget: list[int]) -> None:
    t = type(val)
    if t is str:
        if len(val) > MAX_STRING:
            raise ValueError(f"{path} is longer than {MAX_STRING} characters")
        budget[0] -= len(val)
    elif t is float:
        if not math.isfinite(val):
            raise ValueError(f"{path} must be a finite number")
    elif t in _SCALARS:
        return
    elif t is dict:
        if depth >= MAX_DEPTH:
            raise ValueError(f"{path} nests deeper than {MAX_DEPTH} levels")
        _check_mapping(val, path, depth + 1, budget)
    elif t is list or t is tuple:
        if depth >= MAX_DEPTH:
            raise ValueError(f"{path} nests deeper than {MAX_DEPTH} levels")
        if len(val) > MAX_LIST:
            raise ValueError(f"{path} has more than {MAX_LIST} items")
        for i, item in enumerate(val):
            _check_json(item, f"{path}[{i}]", depth + 1, budget)
    else:
        raise ValueError(f"{path} is not JSON-serialisable ({t.__name__})")
