"""Checks of the embedded backends' constructor options (``file://``, ``sqlite://``), so
that a bad value raises a :class:`convsdk.ConfigError` naming it. Their URLs are read by
:func:`convsdk.adapters.parse_url`, as every backend's are."""

from __future__ import annotations

from typing import Any

from ..checks import is_number
from ..errors import ConfigError

__all__ = ["FALSE", "TRUE", "bool_option", "float_option", "int_option"]

#: The spellings of a boolean option (lower-cased).
TRUE = frozenset({"1", "true", "yes", "on"})
FALSE = frozenset({"0", "false", "no", "off"})


def int_option(name: str, value: Any, source: str | None = None) -> int:
    """``value`` (an int or its text) as a whole number >= 0, or a ConfigError naming ``name``."""
    if isinstance(value, str):
        try:
            value = int(value.strip())
        except ValueError:
            pass
    if type(value) is not int or value < 0:
        raise ConfigError(
            f"must be a whole number of 0 or more, got {value!r}", field=name, source=source
        )
    return value


def float_option(name: str, value: Any, source: str | None = None) -> float:
    """``value`` (a number or its text) as seconds >= 0, or a ConfigError naming ``name``."""
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            pass
    if not is_number(value) or not 0 <= value < 1e9:
        raise ConfigError(
            f"must be a number of seconds (0 or more), got {value!r}", field=name, source=source
        )
    return float(value)


def bool_option(name: str, value: Any, source: str | None = None) -> bool:
    """``value`` (a bool or true/false, 1/0, yes/no, on/off) as a bool, or a ConfigError."""
    if isinstance(value, str):
        text = value.strip().lower()
        if text in TRUE:
            return True
        if text in FALSE:
            return False
    if isinstance(value, bool):
        return value
    raise ConfigError(
        f"must be true or false (1/0, yes/no, on/off), got {value!r}", field=name, source=source
    )
