"""Per-visitor summaries: what a reader extracts from stored events, and all the maths needs.

A reader (:mod:`convsdk.report.reader`) folds the events of a time range into one
:class:`VisitorSummary` per visitor plus a few totals, a :class:`Dataset`. Its size
grows with the number of visitors, not of events, and every report figure is computed
from it (:mod:`convsdk.report.metrics`). How the readers fold events into it, so that
every store gives the same summaries, is told in :mod:`convsdk.report.rules`.

Times are integers: microseconds since the Unix epoch (UTC), so sums and differences
are exact and two readers of the same events agree to the last digit.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

__all__ = [
    "MAX_STEP_TIMES",
    "NO_CURRENCY",
    "UTM",
    "Dataset",
    "GoalHits",
    "VisitorStream",
    "VisitorSummary",
    "from_micros",
    "text_micros",
    "to_micros",
]

#: A visitor's first this-many conversions of a funnel step are kept for the funnel
#: maths, a bound on memory: more of one step in one time range is a bot or a test. A
#: funnel says how many visitors it touched (``FunnelReport.capped_visitors``).
MAX_STEP_TIMES = 10_000
#: The currency code of values stored without one.
NO_CURRENCY = "XXX"

#: First- or last-touch UTM parameters: (source, medium, campaign).
UTM = tuple[str | None, str | None, str | None]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def to_micros(moment: datetime) -> int:
    """``moment`` (naive means UTC) as integer microseconds since the epoch."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - _EPOCH) // _MICROSECOND


def text_micros(text: str) -> int:
    """An ISO-8601 timestamp (naive means UTC) as integer microseconds since the epoch."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - _EPOCH) // _MICROSECOND


def from_micros(micros: int) -> datetime:
    """The aware UTC datetime of integer microseconds since the epoch."""
    return _EPOCH + timedelta(microseconds=micros)


@dataclass(slots=True)
class GoalHits:
    """One visitor's conversions of one goal (or the anonymous ones, in :class:`Dataset`)."""

    count: int = 0
    """Conversions, after both kinds of deduplication."""
    first: int = 0
    """When the first one happened (microseconds)."""
    last: int = 0
    """When the last one happened (microseconds)."""
    times: list[int] | None = None
    """When each happened, sorted, the first :data:`MAX_STEP_TIMES`; funnel steps only."""
    capped: bool = False
    """Whether :attr:`times` left some out (more than :data:`MAX_STEP_TIMES`)."""
    revenue: dict[str, float] | None = None
    """Sum of the values, per currency; ``None`` when no conversion carried a value."""

    def add_value(self, value: float, currency: str | None) -> None:
        """Add one conversion's value to :attr:`revenue`."""
        revenue = self.revenue
        if revenue is None:
            revenue = self.revenue = {}
        key = currency or NO_CURRENCY
        revenue[key] = revenue.get(key, 0.0) + value


@dataclass(slots=True)
class VisitorSummary:
    """Everything the report needs to know about one visitor."""

    first_seen: int
    """Their first event in the time range (microseconds)."""
    referrer: str = "(direct)"
    """Referrer domain of their first event (see :func:`referrer_domain`)."""
    landing_page: str | None = None
    """The path of their first event's URL (no query)."""
    device: str | None = None
    """``desktop``, ``mobile`` or ``tablet``, from their first event's user agent."""
    touchpoints: list[tuple[int, UTM]] | None = None
    """A converter's arrivals (see :func:`convsdk.report.channels.touchpoint`) up to their
    first macro conversion, oldest first, with their times; ``None`` for the others and
    for converters without any. Every visitor id of a person who converted on any device
    is a converter here, up to the person's first macro conversion."""
    arrival: UTM | None = None
    """(source, medium, campaign) of their first event: its UTM parameters, else an ad
    click id of its URL, else its referrer (see :func:`convsdk.report.channels.arrival`)."""
    first_touch: UTM | None = None
    """UTM (source, medium, campaign) of their first event carrying UTM parameters (up to
    their first macro conversion, if they have one: their person's, on any device)."""
    last_touch: UTM | None = None
    """UTM of their last event carrying UTM parameters (up to their first macro
    conversion, if they have one)."""
    touch_times: tuple[int, int] | None = None
    """When :attr:`first_touch` and :attr:`last_touch` happened (microseconds), for a
    visitor id linked to a user id: a person's touches are the earliest and the latest
    of their visitor ids'. ``None`` for the others, and without touches."""
    variant: str | None = None
    """The experiment variant of their first event carrying one."""
    exposed: int | None = None
    """When that event happened: their first exposure to the experiment."""
    goals: dict[str, GoalHits] = field(default_factory=dict)
    """Goal name to their conversions of it."""


class VisitorStream:
    """A reader's people, handed over one at a time and read once, so that the report's
    memory does not grow with them (the SQL readers stream them from the store).

    The report computes every section in one pass over it
    (:func:`~convsdk.report.metrics.build_report`); a second pass is an error, not an
    empty dataset.
    """

    __slots__ = ("people", "read")

    def __init__(self, people: Iterable[VisitorSummary]) -> None:
        self.people = iter(people)
        self.read = False

    def __iter__(self) -> Iterator[VisitorSummary]:
        if self.read:
            raise RuntimeError("a VisitorStream is read once: compute every figure in one pass")
        self.read = True
        return self.people


@dataclass(slots=True)
class Dataset:
    """The visitors of a time range and the totals around them."""

    visitors: Iterable[VisitorSummary]
    """One summary per person: a distinct ``visitor_id``, or the visitor ids linked by a
    user id (:attr:`links`). A list, or a :class:`VisitorStream` read once; while a
    stream is read, a reader may still complete the totals, the anonymous goals and the
    links (a log read in parts, :mod:`convsdk.report.jsonl.parts`): only
    :attr:`goal_kinds` is final before it starts, the rest once it is read."""
    events: int = 0
    """Distinct events in the range, anonymous ones included."""
    first_event: int | None = None
    """Time of the earliest event in the range (microseconds)."""
    last_event: int | None = None
    """Time of the latest event in the range (microseconds)."""
    anonymous_events: int = 0
    """Events without a ``visitor_id``: under Do-Not-Track or Global Privacy Control, or
    tracked outside a request."""
    anonymous_interactions: int = 0
    """Of those, plain interactions (``kind`` null)."""
    server_side_events: int = 0
    """Of those, the ones tracked outside a request (no request context at all): a
    backend job's or a webhook's conversions, not a visitor's."""
    server_side_users: int = 0
    """Distinct ``user_id`` values among :attr:`server_side_events`."""
    anonymous_goals: dict[str, GoalHits] = field(default_factory=dict)
    """Conversions without a ``visitor_id``, per goal (``first`` and ``times`` unused)."""
    bot_visitors: int = 0
    """Visitors left out as known bots, by the user agent of their first event."""
    goal_kinds: dict[str, str] = field(default_factory=dict)
    """Every goal seen in the events, to its kind (``"macro"`` if any event said so)."""
    links: list[tuple[str, str]] = field(default_factory=list)
    """``(visitor id, user id)`` of the events in the range carrying both, sorted, of the
    visitors kept: visitors linked through a user id are one person in :attr:`visitors`
    (see :mod:`convsdk.report.people`)."""
