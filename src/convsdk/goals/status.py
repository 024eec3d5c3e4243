"""The response statuses a goal counts: ``"2xx"``, ``"3xx"``, a code, or a list of those.

By default (no ``status=``) a goal counts any status below 400 (:func:`succeeded`); a
Post/Redirect/Get form succeeds with a redirect and fails by showing the form again
(200), so its goal says ``status="3xx"``.

Neither counts 307 or 308 (:data:`SENT_AGAIN`): they ask the client to send the same
request again to another URL (a route's missing trailing slash), where it is answered,
and counted; counting both would count one submission twice. A goal that means them
names them: ``status=[307, "2xx"]``. (A decorator's conversion still counts a 307 its
view answers: the view ran, where a framework's slash redirect runs none.)
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from ..errors import ConfigError

__all__ = ["SENT_AGAIN", "StatusSpec", "parse_status", "succeeded"]

StatusSpec = str | int | Iterable[str | int]
_STATUS_CLASS = re.compile(r"([1-5])xx\Z", re.IGNORECASE)

#: Redirects that keep the method and body: the same request is sent again elsewhere.
SENT_AGAIN = frozenset({307, 308})


def succeeded(status: int) -> bool:
    """Whether an answer of ``status`` counts without a ``status=`` rule: below 400, and
    not a request to send it again (:data:`SENT_AGAIN`)."""
    return status < 400 and status not in SENT_AGAIN


def parse_status(spec: Any, *, field: str = "status", goal: str | None = None) -> frozenset[int]:
    """The status codes a ``status=`` option accepts: ``"2xx"``, ``"3xx"``, ``302``, or a list.

    ``"3xx"`` is every redirect but :data:`SENT_AGAIN`, which count when named.

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
                codes.update(set(range(first, first + 100)) - SENT_AGAIN)
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
