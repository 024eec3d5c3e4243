"""Per-visitor summaries: what a reader extracts from stored events, and all the maths needs.

A reader (:mod:`convsdk.report.reader`) folds the events of a time range into one
:class:`VisitorSummary` per visitor plus a few totals, a :class:`Dataset`. Its size
grows with the number of visitors, not of events, and every report figure is computed
from it (:mod:`convsdk.report.metrics`).

Times are integers: microseconds since the Unix epoch (UTC), so sums and differences
are exact and two readers of the same events agree to the last digit.

The rules the readers share:

- an event's goal is its ``goal``, or its ``name`` when a conversion has no goal;
- duplicates are dropped: by ``event_id``, and a conversion repeating the
  ``transaction_id`` of an earlier conversion of the same goal counts once (the
  earliest, by timestamp then event id, wins, with its value);
- first and last are by timestamp, then by event id;
- a visitor's first touch is the earliest of their events that carries UTM
  parameters (a non-empty ``context.utm``), the last touch the latest one; for a
  visitor with a macro conversion only the touches up to their first one count (a
  campaign that brought a customer back after they bought gets no credit for it); their
  referrer is the one of their first event; their variant the ``context.variant`` of
  the earliest event that carries one;
- values without a currency are counted under ``"XXX"`` (ISO 4217: no currency).
"""

from __future__ import annotations

from bisect import insort
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from .._json import dumps_str

__all__ = [
    "MAX_STEP_TIMES",
    "NO_CURRENCY",
    "Dataset",
    "GoalHits",
    "UTM",
    "VisitorSummary",
    "add_conversion",
    "from_micros",
    "merge_kind",
    "merge_rows",
    "referrer_domain",
    "text_micros",
    "to_micros",
    "utm_of",
    "variant_text",
]

#: A visitor's first this-many conversions of a funnel step are kept for the funnel
#: maths; more of one step in one time range is a bot or a test, not a customer.
MAX_STEP_TIMES = 100
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
    times: list[int] | None = None
    """When each happened, sorted, the first :data:`MAX_STEP_TIMES`; funnel steps only."""
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
    first_touch: UTM | None = None
    """UTM (source, medium, campaign) of their first event carrying UTM parameters (up to
    their first macro conversion, if they have one)."""
    last_touch: UTM | None = None
    """UTM of their last event carrying UTM parameters (up to their first macro
    conversion, if they have one)."""
    variant: str | None = None
    """The experiment variant of their first event carrying one."""
    goals: dict[str, GoalHits] = field(default_factory=dict)
    """Goal name to their conversions of it."""


@dataclass(slots=True)
class Dataset:
    """The visitors of a time range and the totals around them."""

    visitors: list[VisitorSummary]
    """One summary per distinct ``visitor_id``."""
    events: int = 0
    """Distinct events in the range, anonymous ones included."""
    first_event: int | None = None
    """Time of the earliest event in the range (microseconds)."""
    last_event: int | None = None
    """Time of the latest event in the range (microseconds)."""
    anonymous_events: int = 0
    """Events without a ``visitor_id`` (Do-Not-Track, Global Privacy Control)."""
    anonymous_interactions: int = 0
    """Of those, plain interactions (``kind`` null)."""
    anonymous_goals: dict[str, GoalHits] = field(default_factory=dict)
    """Conversions without a ``visitor_id``, per goal (``first`` and ``times`` unused)."""
    goal_kinds: dict[str, str] = field(default_factory=dict)
    """Every goal seen in the events, to its kind (``"macro"`` if any event said so)."""


def utm_of(utm: object) -> UTM | None:
    """(source, medium, campaign) of a ``context.utm`` value; ``None`` if it carries none."""
    if not isinstance(utm, dict) or not utm:
        return None
    return (_text(utm.get("source")), _text(utm.get("medium")), _text(utm.get("campaign")))


def _text(value: object) -> str | None:
    if value is None or value == "":
        return None
    return value if isinstance(value, str) else str(value)


def referrer_domain(referrer: object, url: object) -> str:
    """The host a visitor came from: lower case, without ``www.`` nor port.

    ``"(direct)"`` when there is no referrer (or it is not a URL), ``"(internal)"``
    when it is the site itself (the host of the event's own ``url``).

    >>> referrer_domain("https://www.Google.com/search?q=x", "https://shop.example/")
    'google.com'
    """
    host = _host(referrer)
    if host is None:
        return "(direct)"
    if host == _host(url):
        return "(internal)"
    return host


def _host(url: object) -> str | None:
    if not isinstance(url, str) or not url:
        return None
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return None
    if not host:
        return None
    return host[4:] if host.startswith("www.") else host


def variant_text(value: object) -> str | None:
    """A ``context.variant`` as text (JSON for a value that is not a string)."""
    if value is None:
        return None
    return value if isinstance(value, str) else dumps_str(value)


def merge_kind(kinds: dict[str, str], goal: str, kind: str) -> None:
    """Record that an event of ``goal`` had ``kind``: any ``"macro"`` one makes it macro."""
    # "macro" sorts before "micro", so this is MIN(kind), which the SQL readers use.
    previous = kinds.get(goal)
    if previous is None or kind < previous:
        kinds[goal] = kind


def first_macro(goals: dict[str, GoalHits], kinds: dict[str, str]) -> int | None:
    """When a visitor first converted on a macro goal (microseconds); ``None`` if never.

    ``kinds`` maps goal names to their kind, as :func:`merge_kind` builds it.
    """
    times = [hits.first for goal, hits in goals.items() if kinds.get(goal) == "macro"]
    return min(times) if times else None


def add_conversion(
    goals: dict[str, GoalHits],
    goal: str,
    moment: int,
    value: float | None,
    currency: str | None,
    keep_times: bool,
) -> None:
    """Count one conversion of ``goal`` at ``moment``; ``keep_times`` for funnel steps."""
    hits = goals.get(goal)
    if hits is None:
        hits = goals[goal] = GoalHits(count=0, first=moment)
    hits.count += 1
    if moment < hits.first:
        hits.first = moment
    if keep_times:
        times = hits.times
        if times is None:
            hits.times = [moment]
        elif len(times) < MAX_STEP_TIMES:
            insort(times, moment)
        elif moment < times[-1]:
            insort(times, moment)
            times.pop()
    if value is not None:
        hits.add_value(value, currency)


def merge_rows(
    goals: dict[str, GoalHits],
    goal: str,
    count: int,
    first: int,
    revenue: float | None,
    currency: str | None,
    times: Sequence[int] | None,
) -> None:
    """Fold ``count`` conversions already summed up (a row of a SQL aggregate) into ``goals``.

    ``times`` are their sorted times, for funnel steps.
    """
    hits = goals.get(goal)
    if hits is None:
        hits = goals[goal] = GoalHits(count=0, first=first)
    hits.count += count
    if first < hits.first:
        hits.first = first
    if times:
        hits.times = sorted([*(hits.times or ()), *times])[:MAX_STEP_TIMES]
    if revenue is not None:
        hits.add_value(revenue, currency)
