"""Visitor summaries from aggregated rows: what the SQL readers share (the conversion
rows, the first event's rules, the totals), and :class:`VisitorRows`, which holds every
summary until the end (the DuckDB reader's; the SQL readers stream theirs, see
:mod:`.stream`)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

from ..channels import arrival, touchpoint
from ..dataset import Dataset, VisitorSummary
from ..rules import (
    crawler,
    device,
    first_macro,
    landing_page,
    merge_kind,
    merge_rows,
    referrer_domain,
)

__all__ = [
    "ConversionRow",
    "VisitorRows",
    "add_conversions",
    "add_touchpoints",
    "set_landing",
    "set_totals",
]

#: (visitor id, goal, kind, currency, conversions, first time, revenue, sorted times,
#: last time): one visitor's conversions of one goal in one currency, times in
#: microseconds.
ConversionRow = tuple[
    str | None, str, str, str | None, int, int, float | None, Sequence[int] | None, int
]


class VisitorRows:
    """Builds visitor summaries from the per-visitor rows of the SQL readers."""

    def __init__(self, include_bots: bool = False) -> None:
        self.visitors: dict[str, VisitorSummary] = {}
        self.referrers: dict[str, tuple[object, object, object, object]] = {}
        self.include_bots = include_bots
        self.bots: set[str] = set()

    def first(
        self,
        visitor_id: str,
        moment: int,
        referrer: object,
        url: object,
        user_agent: object = None,
        utm: object = None,
    ) -> VisitorSummary:
        """Start the summary of a visitor from their first event."""
        visitor = self.visitors[visitor_id] = VisitorSummary(first_seen=moment)
        self.referrers[visitor_id] = (referrer, url, utm, user_agent)
        if not self.include_bots and crawler(user_agent):
            self.bots.add(visitor_id)
        return visitor

    def get(self, visitor_id: str) -> VisitorSummary | None:
        """The summary of ``visitor_id``, if they have an event in the range."""
        return self.visitors.get(visitor_id)

    def macro_times(self, kinds: dict[str, str]) -> Iterator[tuple[str, int]]:
        """``(visitor id, first macro conversion)`` of every visitor who has one."""
        for visitor_id, visitor in self.visitors.items():
            at = first_macro(visitor.goals, kinds)
            if at is not None:
                yield visitor_id, at

    def dataset(self) -> Dataset:
        """The visitors as a :class:`Dataset`, their referrers resolved; totals unset."""
        for visitor_id, (referrer, url, utm, user_agent) in self.referrers.items():
            set_landing(self.visitors[visitor_id], referrer, url, utm, user_agent)
        return Dataset(visitors=list(self.kept().values()), bot_visitors=len(self.bots))

    def kept(self) -> dict[str, VisitorSummary]:
        """The summaries by visitor id, bots left out."""
        # A bot's summary stays in self.visitors, so its rows still fold somewhere, but
        # is not in the dataset.
        bots = self.bots
        return {v: summary for v, summary in self.visitors.items() if v not in bots}


def set_landing(
    visitor: VisitorSummary, referrer: object, url: object, utm: object, user_agent: object
) -> None:
    """Set what a visitor's first event tells: referrer domain, arrival, landing page and
    device, from its ``referrer``, ``url``, ``context.utm`` and ``user_agent``."""
    visitor.referrer = referrer_domain(referrer, url)
    visitor.arrival = arrival(utm, referrer, url)
    visitor.landing_page = landing_page(url)
    visitor.device = device(user_agent)


def add_conversions(
    builder: VisitorRows, dataset: Dataset, rows: Iterable[ConversionRow]
) -> dict[str, str]:
    """Fold conversion rows into the visitors (or the anonymous goals); return goal kinds."""
    kinds: dict[str, str] = {}
    for visitor_id, goal, kind, currency, count, first, revenue, stamps, last in rows:
        merge_kind(kinds, goal, kind)
        if visitor_id is None:
            target = dataset.anonymous_goals
        else:
            visitor = builder.get(visitor_id)
            if visitor is None:  # pragma: no cover - every visitor has a first event
                continue
            target = visitor.goals
        merge_rows(target, goal, count, first, revenue, currency, stamps, last)
    return kinds


def set_totals(
    dataset: Dataset,
    events: int,
    first: int | None,
    last: int | None,
    anonymous: tuple[int, int, int, int],
    kinds: dict[str, str],
) -> None:
    """Fill in the totals: events, first and last, and the events without a visitor id:
    ``(all, plain interactions, tracked outside a request, their distinct user ids)``."""
    dataset.events = events
    dataset.first_event = first
    dataset.last_event = last
    (
        dataset.anonymous_events,
        dataset.anonymous_interactions,
        dataset.server_side_events,
        dataset.server_side_users,
    ) = anonymous
    dataset.goal_kinds = kinds


def add_touchpoints(
    builder: VisitorRows, rows: Iterable[tuple[str, int, object, object, object]]
) -> None:
    """Give each converter the arrivals among their events ``(visitor id, time, utm,
    referrer, url)`` up to their first macro conversion, oldest first."""
    for visitor_id, moment, utm, referrer, url in rows:
        visitor = builder.get(visitor_id)
        found = touchpoint(utm, referrer, url)
        if visitor is None or found is None:
            continue
        if visitor.touchpoints is None:
            visitor.touchpoints = []
        visitor.touchpoints.append((moment, found))
    for visitor in builder.visitors.values():
        if visitor.touchpoints:
            visitor.touchpoints.sort()
