"""Events of a PostgreSQL store folded as the PostgreSQL reader reads them.

The rows are those of :data:`COLUMNS`: the transaction id first (as text), the
timestamp in microseconds (made so by the server), ``context`` as PostgreSQL writes
``jsonb`` out (a space after each colon and comma). Where the readers of the two stores
differ, this fold follows the PostgreSQL one: ``referrer``, ``url`` and ``user_agent``
are text (``context->>'url'``: a number as its JSON), a variant keeps its JSON type.
"""

from __future__ import annotations

from typing import Any

from ..._json import dumps_str, loads
from ..sql.postgres_queries import micros
from .fold import RollupFold

__all__ = ["COLUMNS", "PostgresFold"]

#: The columns the fold reads, in the order of its rows.
COLUMNS = (
    "xid::text, event_id, name, kind, goal, value, currency, transaction_id, "
    f"{micros('timestamp')}, visitor_id, user_id, context::text"
)
_TEXT = ("referrer", "url", "user_agent")


def _parse(context: str) -> Any:
    data = loads(context)
    if type(data) is dict:
        for key in _TEXT:
            value = data.get(key)
            if value is not None and type(value) is not str:
                data[key] = dumps_str(value)
    return data


def _may_arrive(context: str) -> bool:
    """The PostgreSQL reader's test (UTM parameters, a referrer, an ad click id in the
    URL), widened to any UTM value: the rules decide."""
    return (
        ('"utm": ' in context and '"utm": null' not in context)
        or ('"referrer": ' in context and '"referrer": null' not in context)
        or "clid=" in context
        or "braid=" in context
    )


def _same(value: Any) -> Any:
    return value


class PostgresFold(RollupFold):
    """A :class:`~.fold.RollupFold` of PostgreSQL rows (:data:`COLUMNS`)."""

    moment = staticmethod(_same)
    parse = staticmethod(_parse)
    may_arrive = staticmethod(_may_arrive)
    variant = staticmethod(_same)
