"""The value types of options: how a value given in code is checked and how one given as
text (environment, config files) is parsed.

Booleans read ``1/true/yes/on`` or ``0/false/no/off``, lists comma-separated text,
durations seconds (``"1.5"``, ``"500ms"``, ``"2m"``), sizes bytes (``"512MiB"``,
``"10MB"``). The types of single options (fsync, currency, backend...) are in
:mod:`convsdk.options.special_types`.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from ..checks import is_int

TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off", ""})


@dataclass(frozen=True, slots=True)
class Type:
    """How an option's value is checked (given in code) and parsed (given as text)."""

    name: str
    check: Callable[[Any], Any]  # value -> value to use; ValueError(message) when bad
    parse: Callable[[str], Any] | None = None  # text -> value; None: only given in code


def check_bool(value: Any) -> bool:
    """``value`` if it is a bool; ``ValueError`` otherwise."""
    if not isinstance(value, bool):
        raise ValueError(f"must be True or False, got {value!r}")
    return value


def parse_bool(text: str) -> bool:
    """``1/true/yes/on`` as True, ``0/false/no/off`` (or nothing) as False."""
    word = text.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValueError(f"must be true or false (1/0, yes/no, on/off), got {text!r}")


BOOL = Type("bool", check_bool, parse_bool)


def _optional_bool_parse(text: str) -> bool | None:
    return None if text.strip().lower() in ("", "auto", "none") else parse_bool(text)


OPTIONAL_BOOL = Type(
    "bool or None", lambda v: None if v is None else check_bool(v), _optional_bool_parse
)


def integer(minimum: int = 0) -> Type:
    """A whole number of at least ``minimum``."""

    def check(value: Any) -> int:
        if not is_int(value) or value < minimum:
            raise ValueError(f"must be a whole number >= {minimum}, got {value!r}")
        return value

    def parse(text: str) -> int:
        try:
            return int(text.strip().replace("_", ""))
        except ValueError:
            raise ValueError(f"must be a whole number, got {text!r}") from None

    return Type("int", check, parse)


_DURATION = re.compile(r"\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*(ms|s|m|h)?\s*", re.I)
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def seconds(*, allow_zero: bool = False) -> Type:
    """A duration in seconds (a number); as text also ``"500ms"``, ``"2m"``, ``"1h"``."""
    bound = ">= 0" if allow_zero else "> 0"

    def check(value: Any) -> float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        ok = ok and math.isfinite(value) and (value >= 0 if allow_zero else value > 0)
        if not ok:
            raise ValueError(f"must be a number of seconds {bound}, got {value!r}")
        return value  # type: ignore[no-any-return]

    def parse(text: str) -> float:
        found = _DURATION.fullmatch(text)
        if found is None:
            raise ValueError(f"must be a number of seconds (or 500ms, 2m, 1h), got {text!r}")
        return float(found[1]) * _UNITS[(found[2] or "s").lower()]

    return Type("seconds", check, parse)


def positive_number() -> Type:
    """A finite number greater than 0 (``1e9`` as text too)."""

    def check(value: Any) -> float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        if not (ok and math.isfinite(value) and value > 0):
            raise ValueError(f"must be a number > 0, got {value!r}")
        return float(value)

    def parse(text: str) -> float:
        try:
            return float(text.strip().replace("_", ""))
        except ValueError:
            raise ValueError(f"must be a number, got {text!r}") from None

    return Type("number", check, parse)


_SIZE = re.compile(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([kmgt]i?b?|b)?\s*", re.I)


def byte_size(minimum: int = 1) -> Type:
    """A number of bytes; as text also ``"64KiB"``, ``"10MB"``, ``"1GiB"``."""
    number = integer(minimum)

    def parse(text: str) -> int:
        found = _SIZE.fullmatch(text)
        if found is None:
            raise ValueError(f"must be a size in bytes (or 64KiB, 10MB, 1GiB), got {text!r}")
        unit = (found[2] or "b").lower()
        scale = 1 if unit == "b" else (1024 if "i" in unit else 1000) ** ("kmgt".index(unit[0]) + 1)
        return int(float(found[1]) * scale)

    return Type("bytes", number.check, parse)


def _strings_check(value: Any) -> tuple[str, ...]:
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise ValueError(f"must be a list of strings, got {value!r}")
    items = tuple(value)
    for item in items:
        if not isinstance(item, str):
            raise ValueError(f"must be a list of strings, got {item!r} in it")
    return items


STRINGS = Type(
    "list of strings",
    _strings_check,
    lambda text: tuple(part.strip() for part in text.split(",") if part.strip()),
)


def _ints_check(value: Any) -> tuple[int, ...]:
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise ValueError(f"must be a list of whole numbers, got {value!r}")
    items = tuple(value)
    for item in items:
        if not is_int(item):
            raise ValueError(f"must be a list of whole numbers, got {item!r} in it")
    return items


def _ints_parse(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise ValueError(f"must be comma-separated whole numbers, got {text!r}") from None


INTS = Type("list of ints", _ints_check, _ints_parse)


def _path_check(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if not isinstance(value, str):
        raise ValueError(f"must be a directory path or None, got {value!r}")
    return None if value.strip().lower() in ("", "none") else value


OPTIONAL_PATH = Type("path or None", _path_check, _path_check)


def _text_check(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"must be text, got {value!r}")
    return value


TEXT = Type("text", _text_check, _text_check)
OPTIONAL_TEXT = Type(
    "text or None",
    lambda v: None if v is None else _text_check(v),
    lambda text: text.strip() or None,
)


def choice(*values: str, optional: bool = False) -> Type:
    """One of ``values`` (or ``None`` when ``optional``)."""
    listed = ", ".join(repr(v) for v in values)

    def check(value: Any) -> str | None:
        if value is None and optional:
            return None
        if value not in values:
            raise ValueError(f"must be one of {listed}, got {value!r}")
        return value  # type: ignore[no-any-return]

    def parse(text: str) -> str | None:
        word = text.strip().lower()
        return check(None if optional and word in ("", "none") else word)

    return Type("choice", check, parse)
