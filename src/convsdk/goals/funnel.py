"""The :class:`Funnel`: an ordered path of goals, and the time a visitor has to walk it."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from ..checks import is_number
from ..errors import ConfigError
from .validation import NAME

__all__ = ["Funnel", "parse_window"]

_WINDOW = re.compile(r"(?:\d+(?:\.\d+)?[wdhms])+")
_WINDOW_PART = re.compile(r"(\d+(?:\.\d+)?)([wdhms])")
_DEFAULT_WINDOW = timedelta(days=30)
_UNIT_SECONDS = {"w": 604_800, "d": 86_400, "h": 3_600, "m": 60, "s": 1}


def parse_window(window: Any, funnel: str | None) -> timedelta:
    """A funnel's ``window`` as a positive timedelta (from a timedelta, seconds or "7d")."""

    def fail(message: str) -> ConfigError:
        return ConfigError(message, field="window", goal=funnel)

    try:
        if isinstance(window, timedelta):
            result = window
        elif is_number(window):
            if not math.isfinite(window):
                raise fail(f"must be a finite number of seconds, got {window!r}")
            result = timedelta(seconds=window)
        elif isinstance(window, str):
            text = window.strip().lower()
            if _WINDOW.fullmatch(text) is None:
                raise fail(
                    "must be a duration like '90s', '30m', '24h', '7d', '2w' or '1d12h', "
                    f"got {window!r}"
                )
            seconds = sum(float(n) * _UNIT_SECONDS[u] for n, u in _WINDOW_PART.findall(text))
            result = timedelta(seconds=seconds)
        else:
            raise fail(
                "must be a timedelta, a number of seconds or a string like '7d', "
                f"got {type(window).__name__}"
            )
    except OverflowError as exc:
        raise fail(f"is too long: {window!r}") from exc
    if result <= timedelta(0):
        raise fail(f"must be positive, got {window!r}")
    return result


def _check_steps(steps: Any, funnel: str) -> tuple[str, ...]:
    """``steps`` as a tuple of at least two distinct goal names."""
    if isinstance(steps, str | bytes) or not isinstance(steps, Iterable):
        raise ConfigError("must be a list of goal names", field="steps", goal=funnel)
    names: tuple[str, ...] = tuple(steps)
    for step in names:
        if not isinstance(step, str) or NAME.match(step) is None:
            raise ConfigError(f"{step!r} is not a goal name", field="steps", goal=funnel)
    if len(names) < 2:
        raise ConfigError("a funnel needs at least two steps", field="steps", goal=funnel)
    if len(set(names)) != len(names):
        raise ConfigError("a goal may appear only once", field="steps", goal=funnel)
    return names


@dataclass(frozen=True, slots=True, init=False)
class Funnel:
    """An ordered path of goals a visitor should complete within ``window``.

    ``steps`` names at least two distinct goals, in order. ``window`` accepts a
    :class:`~datetime.timedelta`, a number of seconds, or a string such as ``"90s"``,
    ``"30m"``, ``"24h"``, ``"7d"``, ``"2w"`` or ``"1d12h"``; it is stored as a
    ``timedelta``::

        Funnel("purchase_path", ["viewed_pricing", "started_trial", "purchase"], window="7d")
    """

    name: str
    steps: tuple[str, ...]
    window: timedelta

    def __init__(
        self,
        name: str,
        steps: Iterable[str],
        window: timedelta | float | str = _DEFAULT_WINDOW,
    ) -> None:
        if not isinstance(name, str) or NAME.match(name) is None:
            raise ConfigError(
                f"funnel name must be 1-64 letters, digits or underscores, got {name!r}",
                field="name",
                goal=name if isinstance(name, str) else None,
            )
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "steps", _check_steps(steps, name))
        object.__setattr__(self, "window", parse_window(window, name))
