"""Events of a SQLite store folded into rollup states: per (visitor, UTC day), per day.

The same fold builds the rollups (``convsdk rollup``) and, when a report reads them, the
states of the events they do not hold yet (newer ones, and the partial days at the
edges of the report's range), so both sides follow one reading of an event. It reads
an event as the SQLite reader does (:mod:`convsdk.report.sql`): its ``context`` as JSON,
an empty one (``{}``) marking an event tracked outside a request, and the same text
tests for an event that may be an arrival.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ..._json import dumps_str, loads
from ..dataset import text_micros
from .landing import touch
from .state import DAY, Order, VisitorDay, add_hit
from .totals import DayTotals

__all__ = ["COLUMNS", "RollupFold", "TransactionRow"]

#: The columns the fold reads, in the order of its rows.
COLUMNS = (
    "rowid, event_id, name, kind, goal, value, currency, transaction_id, timestamp, "
    "visitor_id, user_id, context"
)

#: A conversion with a transaction id, as the transactions table holds it: ``(goal,
#: transaction id, event id, time, kind, day)``.
TransactionRow = tuple[str, str, str, int, str, int]

_EMPTY: dict[str, Any] = {}


def _may_arrive(context: str) -> bool:
    """Whether an event may be an arrival: UTM parameters, a referrer, or an ad click id.

    The SQLite reader's text tests (``_HAS_UTM`` and the others), so that both readers
    weigh the same events; :func:`~convsdk.report.channels.touchpoint` decides (here,
    whether to keep it; when the report reads it, what it is).
    """
    return (
        ('"utm"' in context and '"utm":null' not in context and '"utm": null' not in context)
        or '"referrer":"' in context
        or "clid=" in context
        or "braid=" in context
    )


def _as_sqlite(value: Any) -> Any:
    """A JSON value as the SQLite reader reads a variant (``json_extract``, but for
    ``true`` and ``false``, which it reads as their text): an object or array as its
    text."""
    if type(value) is bool:
        return "true" if value else "false"
    if type(value) is dict or type(value) is list:
        return dumps_str(value)
    return value


def _parse(context: str) -> Any:
    return loads(context)


class RollupFold:
    """Folds event rows into states; read :attr:`visitors`, :attr:`days` and the rest.

    It reads rows as the SQLite reader reads them; another store's fold tells how its
    reader differs through the four functions below (:mod:`.postgres_fold`).
    """

    #: A stored timestamp as microseconds.
    moment: Callable[[Any], int] = staticmethod(text_micros)
    #: An event's ``context`` (JSON text, not ``"{}"``) read.
    parse = staticmethod(_parse)
    #: Whether an event of this context text may be an arrival (a superset of those that
    #: are: which are, is the rules' to say).
    may_arrive = staticmethod(_may_arrive)
    #: A ``context.variant`` as the store's reader gives it.
    variant = staticmethod(_as_sqlite)

    def __init__(self) -> None:
        self.visitors: dict[tuple[str, int], VisitorDay] = {}
        """State by (visitor id, day number)."""
        self.days: dict[int, DayTotals] = {}
        """Totals by day number (days since the epoch, UTC)."""
        self.transactions: list[TransactionRow] = []
        """Every conversion with a transaction id."""
        self.links: set[tuple[str, str, int]] = set()
        """``(visitor id, user id, day)`` of the events carrying both."""
        self.last_rowid: Any = 0
        """The first column of the last row folded (a rowid, a transaction id)."""
        self.last_event_id = ""

    def rows(self, rows: Iterable[tuple[Any, ...]]) -> int:
        """Fold rows of :data:`COLUMNS`; return how many there were."""
        count = 0
        for row in rows:
            self.row(row)
            count += 1
        return count

    def row(self, row: tuple[Any, ...]) -> None:
        """Fold one row of :data:`COLUMNS`."""
        (rowid, event_id, name, kind, goal, value, currency, transaction, timestamp, visitor_id,
         user_id, context) = row  # fmt: skip
        self.last_rowid, self.last_event_id = rowid, event_id
        moment = self.moment(timestamp)
        day = moment // DAY
        totals = self.days.get(day)
        if totals is None:
            totals = self.days[day] = DayTotals()
        totals.event(moment)
        state = None
        if visitor_id is None:
            totals.anonymous += 1
            if kind is None:
                totals.plain += 1
            if context == "{}":
                totals.server += 1
                if user_id is not None:
                    totals.server_users.add(user_id)
        else:
            state = self._visit(visitor_id, day, moment, event_id, context)
            if user_id is not None:
                self.links.add((visitor_id, str(user_id), day))
        if kind is not None:
            goal = name if goal is None else goal
            totals.kind(goal, kind, transaction is not None)
            goals = totals.goals if state is None else state.goals
            if transaction is None:
                add_hit(goals, goal, moment, kind, value, currency)
                return
            order: Order = (goal, transaction, moment, event_id, kind, value, currency)
            if state is None:
                totals.orders.append(order)
            elif state.orders is None:
                state.orders = [order]
            else:
                state.orders.append(order)
            self.transactions.append((goal, transaction, event_id, moment, kind, day))

    def _visit(
        self, visitor_id: str, day: int, moment: int, event_id: str, context: str
    ) -> VisitorDay:
        """Fold a visitor's event into their state of ``day``."""
        data = self.parse(context) if context != "{}" else _EMPTY
        if type(data) is not dict:
            data = _EMPTY
        state = self.visitors.get((visitor_id, day))
        if state is None:
            utm = data.get("utm")
            state = self.visitors[visitor_id, day] = VisitorDay(
                moment,
                event_id,
                data.get("referrer"),
                data.get("url"),
                data.get("user_agent"),
                utm if type(utm) is dict else None,
            )
        else:
            state.see(moment, event_id, data)
        utm = data.get("utm")
        if utm and type(utm) is dict:
            entry = (moment, event_id, utm)
            if state.touches is None:
                state.touches = [entry]
            else:
                state.touches.append(entry)
        if self.may_arrive(context):
            # Kept as it is, if the rules make it an arrival: which arrivals count is
            # the report's to tell (a converter's, up to their first macro conversion).
            landing = utm if type(utm) is dict else None
            referrer, url = data.get("referrer"), data.get("url")
            if touch(landing, referrer, url) is not None:
                arrival = (moment, landing, referrer, url)
                if state.arrivals is None:
                    state.arrivals = [arrival]
                else:
                    state.arrivals.append(arrival)
        variant = data.get("variant")
        if variant is not None and (
            state.variant is None or (moment, event_id) < (state.variant[0], state.variant[1])
        ):
            state.variant = (moment, event_id, self.variant(variant))
        return state
