"""The response statuses a goal counts: ``"2xx"``, ``"3xx"``, a code, or a list of those.

By default (no ``status=``) a goal counts any status below 400; a Post/Redirect/Get
form succeeds with a redirect and fails by showing the form again (200), so its goal
says ``status="3xx"``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from ..errors import ConfigError

__all__ = ["StatusSpec", "parse_status"]

StatusSpec = str | int | Iterable[str | int]
_STATUS_CLASS = re.compile(r"([1-5])xx\Z", re.IGNORECASE)


def parse_status(spec: Any, *, field: str = "status", goal: str | None = None) -> frozenset[int]:
    """The status codes a ``status=`` option accepts: ``"2xx"``, ``"3xx"``, ``302``, or a list.

    Raises :class:`convsdk.ConfigError` naming ``field`` (and ``goal``) for anything else::

        parse_status(["2xx", 302])   # 200-299 and 302
    """
    items = [spec] if isinstance(spec, str | int) else spec
    if isinstance(items, bytes | Mapping) or not isinstance(items, Iterable):
        raise ConfigError(
            f"must be '2xx', '3xx', a status code or a list of those, got {spec!r}",
            field=field,
            goal=goal,
        )
    codes: set[int] = set()
    for item in items:
        if isinstance(item, bool):
            item = repr(item)  # not a status: reported below
        if isinstance(item, int) and 100 <= item <= 599:
            codes.add(item)
            continue
        if isinstance(item, str):
            text = item.strip()
            m = _STATUS_CLASS.match(text)
            if m is not None:
                first = int(m[1]) * 100
                codes.update(range(first, first + 100))
                continue
            if text.isdigit() and 100 <= int(text) <= 599:
                codes.add(int(text))
                continue
        raise ConfigError(
            f"must be '2xx', '3xx', a status code (100-599) or a list of those, got {item!r}",
            field=field,
            goal=goal,
        )
    if not codes:
        raise ConfigError("must name at least one status", field=field, goal=goal)
    return frozenset(codes)
