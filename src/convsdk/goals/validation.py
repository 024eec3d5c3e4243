"""The rules a goal's and a funnel's arguments obey, one check per field.

Each check raises :class:`convsdk.ConfigError` naming the field and the goal, and
returns the field's normalised value where it has one (an upper-cased method, a float
value). :class:`~convsdk.goals.Goal` runs them in order when it is built, and the goal
file loader relies on them too, so a goal built in code and a goal read from a file
obey exactly the same rules.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from ..checks import is_number
from ..errors import ConfigError
from ..event import name_hint

__all__ = [
    "KINDS",
    "NAME",
    "ROLES",
    "SOURCES",
    "check_choices",
    "check_currency",
    "check_event",
    "check_labels",
    "check_method",
    "check_name",
    "check_value",
    "check_value_from",
    "path_patterns",
    "suggest",
]

#: A goal, funnel or event name: letters, digits and ``_``, 1 to 64 characters.
NAME = re.compile(r"[A-Za-z0-9_]{1,64}\Z")
KINDS = ("micro", "macro")
ROLES = ("milestone", "secondary")
SOURCES = ("server", "browser")
_METHODS = frozenset(
    {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"}
)
_VALUE_FROM = re.compile(r"(form|query|property):(\S.{0,127})\Z", re.DOTALL)
_MAX_PATH = 2048
_MAX_LABEL = 64


def check_name(name: Any) -> None:
    """A goal's ``name``: letters, digits and ``_``, 1 to 64 characters."""
    if not isinstance(name, str) or NAME.match(name) is None:
        raise ConfigError(
            f"must be 1-64 letters, digits or underscores, got {name!r}{name_hint(name)}",
            field="name",
            goal=name if isinstance(name, str) else None,
        )


def check_choices(kind: Any, role: Any, source: Any, goal: str) -> None:
    """``kind``, ``role`` and ``source``, each one of its choices; no macro goal from a browser."""
    if kind not in KINDS:
        raise ConfigError(f"must be 'micro' or 'macro', got {kind!r}", field="kind", goal=goal)
    if role not in ROLES:
        raise ConfigError(
            f"must be 'milestone' or 'secondary', got {role!r}", field="role", goal=goal
        )
    if source not in SOURCES:
        raise ConfigError(
            f"must be 'server' or 'browser', got {source!r}", field="source", goal=goal
        )
    if source == "browser" and kind == "macro":
        raise ConfigError(
            "a macro goal cannot come from the browser (it could be forged)",
            field="source",
            goal=goal,
        )


def check_event(event: Any, goal: str) -> None:
    """``event``: ``None`` or a name (letters, digits and ``_``, 1 to 64 characters)."""
    if event is not None and (not isinstance(event, str) or NAME.match(event) is None):
        raise ConfigError(
            f"must be 1-64 letters, digits or underscores, got {event!r}{name_hint(event)}",
            field="event",
            goal=goal,
        )


def path_patterns(path: Any, goal: str) -> tuple[str, ...]:
    """``path`` as a tuple of patterns (empty for ``None``), each starting with ``/`` or ``*``."""
    if path is None:
        return ()
    if isinstance(path, str):
        patterns: tuple[Any, ...] = (path,)
    elif isinstance(path, Iterable) and not isinstance(path, bytes | Mapping):
        patterns = tuple(path)
        if not patterns:
            raise ConfigError("must name at least one path pattern", field="path", goal=goal)
    else:
        raise ConfigError(
            f"must be a path pattern or a list of them, got {path!r}", field="path", goal=goal
        )
    for pattern in patterns:
        if not isinstance(pattern, str) or not pattern.startswith(("/", "*")):
            raise ConfigError(
                f"must be a path pattern starting with '/' or '*', got {pattern!r}",
                field="path",
                goal=goal,
            )
        if len(pattern) > _MAX_PATH:
            raise ConfigError(f"must be at most {_MAX_PATH} characters", field="path", goal=goal)
    return patterns


def check_method(method: Any, goal: str) -> str | None:
    """``method``: ``None`` or an HTTP method, returned upper-cased."""
    if method is None:
        return None
    if not isinstance(method, str) or method.upper() not in _METHODS:
        known = ", ".join(sorted(_METHODS))
        raise ConfigError(
            f"must be an HTTP method ({known}), got {method!r}", field="method", goal=goal
        )
    return method.upper()


def check_value(value: Any, goal: str) -> float | None:
    """``value``: ``None`` or a finite, non-negative number, returned as a float."""
    if value is None:
        return None
    if not (is_number(value) or isinstance(value, Decimal)):
        raise ConfigError(f"must be a number, got {type(value).__name__}", field="value", goal=goal)
    number = float(value)
    if not math.isfinite(number) or number < 0:
        raise ConfigError(
            f"must be a finite number of at least 0, got {number!r}", field="value", goal=goal
        )
    return number


def check_value_from(spec: Any, value: float | None, goal: str) -> tuple[str, str] | None:
    """``value_from`` as ``(source, key)`` (``None`` when not given); not with a fixed value."""
    if spec is None:
        return None
    if value is not None:
        raise ConfigError(
            "give either a fixed value or value_from, not both", field="value_from", goal=goal
        )
    m = _VALUE_FROM.match(spec) if isinstance(spec, str) else None
    if m is None:
        raise ConfigError(
            f"must be 'form:<field>', 'query:<param>' or 'property:<key>', got {spec!r}",
            field="value_from",
            goal=goal,
        )
    return m[1], m[2]


def check_currency(currency: Any, goal: str) -> str | None:
    """``currency``: ``None`` or a three-letter ISO 4217 code, returned upper-cased."""
    if currency is None:
        return None
    if (
        not isinstance(currency, str)
        or len(currency) != 3
        or not currency.isascii()
        or not currency.isalpha()
    ):
        raise ConfigError(
            f"must be a three-letter ISO 4217 code, got {currency!r}", field="currency", goal=goal
        )
    return currency.upper()


def check_labels(stage: Any, description: Any, goal: str) -> None:
    """``stage`` and ``description``: ``None`` or strings; a stage is a short non-blank label."""
    for field, text in (("stage", stage), ("description", description)):
        if text is not None and not isinstance(text, str):
            raise ConfigError(
                f"must be a string, got {type(text).__name__}", field=field, goal=goal
            )
    if stage is not None and not (0 < len(stage.strip()) and len(stage) <= _MAX_LABEL):
        raise ConfigError(
            f"must be a non-blank label of at most {_MAX_LABEL} characters",
            field="stage",
            goal=goal,
        )


def suggest(name: str, known: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the known name closest to ``name``, or ``""``."""
    close = difflib.get_close_matches(name, list(known), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""
