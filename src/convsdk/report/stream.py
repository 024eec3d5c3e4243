"""People streamed from a store's ordered rows: one summary per person, one at a time.

The readers that count in a database (SQLite, PostgreSQL, and DuckDB for JSON Lines
logs) keep every per-visitor aggregate there and read back three row streams, each in
the same order of visitor id (the database's: only equality is compared here, so any
order will do as long as the three agree):

- one :class:`VisitorRow` per visitor: first event, touches, variant;
- the visitors' conversions, :data:`ConversionRow` (the anonymous ones are read
  before, into ``Dataset.anonymous_goals``: :func:`anonymous_goals`);
- a converter's possible arrivals, :data:`ArrivalRow`.

:class:`PeopleMerge` walks them side by side and yields a visitor as soon as their rows
are read, so that memory does not grow with them. Visitor ids linked into one person
(``Dataset.links``: identified visitors only) wait until the person's last id is read,
then become one summary (:func:`~convsdk.report.people.persons`, as for every reader).
Known bots are left out (and counted before:
:func:`count_bots`), so that every figure of the dataset is known before the pass
(:func:`set_totals`).

:func:`closing_stream` hands the people over as a
:class:`~convsdk.report.dataset.VisitorStream` that releases the reader's connection
when it is read to the end, abandoned halfway, or dropped unread.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from typing import Any, Generic, NamedTuple, TypeVar

from .channels import arrival, touchpoint
from .dataset import UTM, Dataset, GoalHits, VisitorStream, VisitorSummary
from .people import persons
from .progress import ProgressCallback, report_progress
from .rules import crawler, device, landing_page, merge_rows, referrer_domain

__all__ = [
    "ArrivalRow",
    "ConversionRow",
    "Following",
    "PeopleMerge",
    "VisitorRow",
    "anonymous_goals",
    "closing_stream",
    "count_bots",
    "set_landing",
    "set_totals",
    "told",
]

#: Progress is told every this many visitors read.
PROGRESS_EVERY = 10_000

#: (visitor id, time, ``context.utm``, referrer, url) of an event of a converter up to
#: their person's first macro conversion that may mark an arrival (see
#: :func:`~convsdk.report.channels.touchpoint`).
ArrivalRow = tuple[str, int, object, object, object]

#: (visitor id, goal, kind, currency, conversions, first time, revenue, sorted times,
#: last time): one visitor's conversions of one goal in one currency, times in
#: microseconds; the visitor id is ``None`` for the anonymous ones.
ConversionRow = tuple[
    str | None, str, str, str | None, int, int, float | None, Sequence[int] | None, int
]

RowT = TypeVar("RowT", bound=tuple[Any, ...])
T = TypeVar("T")


class VisitorRow(NamedTuple):
    """What a store tells of one visitor, times in microseconds."""

    visitor_id: str
    first_seen: int
    """Their first event, whose ``referrer``, ``url``, ``user_agent`` and ``utm`` follow."""
    referrer: object
    url: object
    user_agent: object
    utm: object
    variant: str | None
    """The variant of their first event carrying one, shown at ``exposed``."""
    exposed: int | None
    first_touch: UTM | None
    """Their first and last touch, up to their person's first macro conversion, and
    when they happened (``touch_times``)."""
    last_touch: UTM | None
    touch_times: tuple[int, int] | None


class Following(Generic[RowT]):
    """A row stream read alongside the visitors: each visitor's rows in turn.

    Rows are tuples whose first item is the visitor id, in the order of the visitors.
    """

    __slots__ = ("head", "rows")

    def __init__(self, rows: Iterable[RowT]) -> None:
        self.rows = iter(rows)
        self.head: RowT | None = next(self.rows, None)

    def take(self, visitor_id: str) -> list[RowT]:
        """The rows of ``visitor_id``, the next visitor."""
        found = []
        head = self.head
        while head is not None and head[0] == visitor_id:
            found.append(head)
            head = next(self.rows, None)
        self.head = head
        return found

    def finish(self) -> None:
        """Check that every row went to a visitor."""
        if self.head is not None:
            raise RuntimeError(f"a row of {self.head[0]!r} came out of the visitors' order")


class PeopleMerge:
    """Makes the people of a dataset from its store's row streams (see the module).

    ``links`` are the dataset's (of the visitors kept), which say which visitor ids are
    one person; ``linked`` the visitor ids of every link found, whose touch times are
    kept for :func:`~convsdk.report.people.merge_summaries`. Known bots are left out
    unless ``include_bots`` (the reader counts them: :func:`count_bots`).
    """

    def __init__(
        self, links: Iterable[tuple[str, str]], linked: Collection[str], include_bots: bool
    ) -> None:
        self.links = list(links)
        self.linked = linked
        self.include_bots = include_bots

    def people(
        self,
        visitors: Iterable[VisitorRow],
        conversions: Iterable[ConversionRow],
        arrivals: Iterable[ArrivalRow],
    ) -> Iterator[VisitorSummary]:
        """One summary per person, each as soon as their rows are read."""
        goals, points = Following(conversions), Following(arrivals)
        yield from persons(self.summaries(visitors, goals, points), self.links)
        goals.finish()
        points.finish()

    def summaries(
        self,
        visitors: Iterable[VisitorRow],
        goals: Following[ConversionRow],
        points: Following[ArrivalRow],
    ) -> Iterator[tuple[str, VisitorSummary]]:
        """``(visitor id, summary)`` of each visitor but the known bots, in turn."""
        for row in visitors:
            visitor_id = row.visitor_id
            converted, arrived = goals.take(visitor_id), points.take(visitor_id)
            if not self.include_bots and crawler(row.user_agent):
                continue
            yield visitor_id, self.summary(row, converted, arrived)

    def summary(
        self, row: VisitorRow, conversions: list[ConversionRow], arrivals: list[ArrivalRow]
    ) -> VisitorSummary:
        """One visitor's summary from their rows."""
        visitor = VisitorSummary(
            first_seen=row.first_seen,
            variant=row.variant,
            exposed=row.exposed,
            first_touch=row.first_touch,
            last_touch=row.last_touch,
        )
        set_landing(visitor, row.referrer, row.url, row.utm, row.user_agent)
        if row.first_touch is not None and row.visitor_id in self.linked:
            visitor.touch_times = row.touch_times
        for _, goal, _, currency, count, first, revenue, stamps, last in conversions:
            merge_rows(visitor.goals, goal, count, first, revenue, currency, stamps, last)
        points = []
        for _, moment, utm, referrer, url in arrivals:
            found = touchpoint(utm, referrer, url)
            if found is not None:
                points.append((moment, found))
        if points:
            visitor.touchpoints = sorted(points)
        return visitor


def set_landing(
    visitor: VisitorSummary, referrer: object, url: object, utm: object, user_agent: object
) -> None:
    """Set what a visitor's first event tells: referrer domain, arrival, landing page and
    device, from its ``referrer``, ``url``, ``context.utm`` and ``user_agent``."""
    visitor.referrer = referrer_domain(referrer, url)
    visitor.arrival = arrival(utm, referrer, url)
    visitor.landing_page = landing_page(url)
    visitor.device = device(user_agent)


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


def count_bots(agents: Iterable[tuple[object, int]]) -> int:
    """The visitors left out as known bots, from ``(user agent of the first event,
    visitors)`` pairs."""
    return sum(visitors for agent, visitors in agents if crawler(agent))


def anonymous_goals(rows: Iterable[ConversionRow]) -> dict[str, GoalHits]:
    """The conversions without a visitor id, per goal, from their rows."""
    goals: dict[str, GoalHits] = {}
    for _, goal, _, currency, count, first, revenue, stamps, last in rows:
        merge_rows(goals, goal, count, first, revenue, currency, stamps, last)
    return goals


def closing_stream(people: Iterator[VisitorSummary], close: Callable[[], object]) -> VisitorStream:
    """``people`` as a stream that calls ``close`` (which must allow a second call) once
    read to the end or abandoned (closed, or dropped halfway), or when dropped unread."""

    def stream() -> Iterator[VisitorSummary]:
        try:
            yield from people
        finally:
            close()

    owned = stream()
    # A generator never started runs no finally clause: the finalizer closes it then.
    weakref.finalize(owned, close)
    return VisitorStream(owned)


def told(
    rows: Iterable[T], progress: ProgressCallback | None, done: int, total: int, visitors: int
) -> Iterator[T]:
    """``rows``, one per visitor of ``visitors``, telling ``progress`` how many were read:
    the phase ``reading people`` goes from ``done`` to ``done + 1`` of ``total``."""
    phase = "reading people"
    report_progress(progress, phase, done, total)
    for count, row in enumerate(rows, 1):
        yield row
        if count % PROGRESS_EVERY == 0:
            report_progress(progress, phase, done + count / max(1, visitors), total)
    report_progress(progress, phase, done + 1, total)
