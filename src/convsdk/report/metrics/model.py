"""The report's structure: every section as frozen dataclasses, fields in JSON key order."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = [
    "REPORT_VERSION",
    "AnonymousSummary",
    "BreakdownRow",
    "Breakdowns",
    "FunnelReport",
    "FunnelStep",
    "GoalRow",
    "HistogramBucket",
    "LiftRow",
    "Meta",
    "Rate",
    "Report",
    "Summary",
    "TimeToConvert",
    "Attribution",
    "AttributionRow",
    "Change",
    "Comparison",
    "Segment",
    "Segments",
    "Trend",
    "TrendPoint",
    "Timing",
    "VariantBreakdown",
    "VariantRow",
]

#: Bumped when a key of the JSON output changes meaning or disappears.
REPORT_VERSION = 1


@dataclass(frozen=True, slots=True)
class Timing:
    """How long something took, over ``count`` visitors: median and 90th percentile."""

    count: int
    median: float | None
    p90: float | None


@dataclass(frozen=True, slots=True)
class Rate:
    """``converted`` of ``visitors``, as a rate with its 95 % Wilson interval."""

    visitors: int
    converted: int
    rate: float | None
    ci_low: float | None
    ci_high: float | None


@dataclass(frozen=True, slots=True)
class GoalRow:
    """One goal: how many converted, what it earned, how long it took."""

    goal: str
    kind: str
    stage: str | None
    role: str | None
    defined: bool
    """Whether the goal file defines it (False: seen only in the events)."""
    conversions: int
    visitors: int
    conversion_rate: float | None
    revenue: dict[str, float]
    revenue_per_visitor: dict[str, float]
    time_to_convert: Timing
    """From the visitor's first event to their first conversion of this goal."""
    anonymous_conversions: int
    anonymous_revenue: dict[str, float]


@dataclass(frozen=True, slots=True)
class FunnelStep:
    """One step of a funnel; drop-off is from the previous step (``None`` on step 1)."""

    goal: str
    visitors: int
    conversion_from_previous: float | None
    conversion_overall: float | None
    share_of_visitors: float | None
    drop_off: int | None
    drop_off_rate: float | None
    time_from_previous: Timing
    time_from_first: Timing


@dataclass(frozen=True, slots=True)
class FunnelReport:
    """A funnel, step by step."""

    name: str
    window_seconds: float
    steps: list[FunnelStep]
    completed: int
    completion_rate: float | None
    capped_visitors: int = 0
    """Visitors with more than ``MAX_STEP_TIMES`` conversions of a step, whose later
    ones were left out (a bound on memory; a customer never comes near it)."""


@dataclass(frozen=True, slots=True)
class LiftRow:
    """How much more often visitors who did ``micro`` went on to ``macro``."""

    micro: str
    macro: str
    did: Rate
    did_not: Rate
    lift: float | None
    lift_ci_low: float | None
    lift_ci_high: float | None
    prerequisite: bool
    """Nobody converted without it: a step on the way (the lift is infinite), not a sign."""
    lag: Timing


@dataclass(frozen=True, slots=True)
class BreakdownRow:
    """Visitors sharing one value of a dimension, and their macro conversions."""

    value: str
    visitors: int
    converters: int
    conversions: int
    conversion_rate: float | None
    revenue: dict[str, float]


@dataclass(frozen=True, slots=True)
class VariantRow:
    """An experiment variant, compared with the control (fields ``None`` on the control)."""

    value: str
    visitors: int
    converters: int
    conversions: int
    conversion_rate: float | None
    ci_low: float | None
    ci_high: float | None
    revenue: dict[str, float]
    difference: float | None
    """Its conversion rate minus the control's."""
    lift: float | None
    """Its conversion rate divided by the control's."""
    z: float | None
    p_value: float | None
    p_adjusted: float | None = None
    """The p-value after Holm's correction for the number of variants compared with the
    control (the p-value itself with one)."""
    significant: bool = False
    """Whether :attr:`p_adjusted` is below 0.05."""


@dataclass(frozen=True, slots=True)
class VariantBreakdown:
    """Variants, the control first; ``(none)`` (visitors in no experiment) last, untested."""

    control: str | None
    rows: list[VariantRow]
    goal: str | None = None
    """The goal compared (``--experiment-goal``); ``None``: any macro goal."""
    srm_chi2: float | None = None
    srm_p_value: float | None = None
    """Sample ratio mismatch: a chi-square test of the visitors split equally between
    the variants (``(none)`` aside)."""
    srm_mismatch: bool = False
    """Whether :attr:`srm_p_value` is below 0.001: the split is broken, distrust the test."""
    mde: float | None = None
    """The smallest absolute difference from the control's rate this many visitors
    detect with 80 % power at α = 0.05 (against the smallest variant)."""


@dataclass(frozen=True, slots=True)
class Breakdowns:
    """Macro conversions by acquisition channel and experiment variant."""

    first_touch: dict[str, list[BreakdownRow]]
    """``"source"``, ``"medium"``, ``"campaign"`` to rows."""
    last_touch: dict[str, list[BreakdownRow]]
    referrer: list[BreakdownRow]
    variant: VariantBreakdown
    channel: list[BreakdownRow] = field(default_factory=list)
    """By the default channel group of the first arrival (GA4's "first user default
    channel group")."""
    source_medium: list[BreakdownRow] = field(default_factory=list)
    """By ``source / medium`` of the first arrival (GA4's "first user source / medium")."""


@dataclass(frozen=True, slots=True)
class HistogramBucket:
    """Visitors whose time to convert fell in ``[min_seconds, max_seconds)``."""

    label: str
    min_seconds: int
    max_seconds: int | None
    visitors: int


@dataclass(frozen=True, slots=True)
class TimeToConvert:
    """From a visitor's first event to their first macro conversion."""

    timing: Timing
    histogram: list[HistogramBucket]


@dataclass(frozen=True, slots=True)
class AnonymousSummary:
    """Events without a visitor id: counted, never in a per-visitor rate."""

    events: int
    interactions: int
    conversions: int
    revenue: dict[str, float]
    """Of macro goals."""
    server_side: int = 0
    """Of :attr:`events`, those tracked outside a request (a job's, a webhook's); the
    rest were recorded under Do-Not-Track or Global Privacy Control."""
    server_side_users: int = 0
    """Distinct user ids of the :attr:`server_side` events."""


@dataclass(frozen=True, slots=True)
class Summary:
    """The headline figures; revenue is of macro goals."""

    events: int
    visitors: int
    first_event: str | None
    last_event: str | None
    micro_converters: int
    converters: int
    conversion_rate: float | None
    revenue: dict[str, float]
    revenue_per_visitor: dict[str, float]
    anonymous: AnonymousSummary
    bot_visitors: int = 0
    """Visitors left out as known bots (by their first event's user agent)."""
    merged_visitor_ids: int = 0
    """Visitor ids linked by a user id to another (one person on several devices or
    browsers): counted once per person in :attr:`visitors`."""
    merged_people: int = 0
    """The people those :attr:`merged_visitor_ids` make."""


@dataclass(frozen=True, slots=True)
class Meta:
    """Where the figures come from; the only part that differs between two readers."""

    source: str | None = None
    goals_file: str | None = None
    since: str | None = None
    until: str | None = None
    generated_at: str | None = None
    timezone: str = "UTC"
    """The time zone of the report's days: dates given for ``since`` and ``until``, and
    the trend's periods (an IANA name)."""


@dataclass(frozen=True, slots=True)
class TrendPoint:
    """One period of a trend: the visitors first seen in it and their macro conversions."""

    period: str
    """``2026-11-02``, ``2026-W45`` or ``2026-11``."""
    start: str
    """The period's first day (ISO date)."""
    visitors: int
    converters: int
    conversions: int
    conversion_rate: float | None
    revenue: dict[str, float]


@dataclass(frozen=True, slots=True)
class Trend:
    """A series by day, week or month."""

    interval: str
    points: list[TrendPoint]


@dataclass(frozen=True, slots=True)
class AttributionRow:
    """The macro conversions and revenue one model credits to one channel or source."""

    value: str
    conversions: float
    revenue: dict[str, float]


@dataclass(frozen=True, slots=True)
class Attribution:
    """Credit by model (``first``, ``last``, ``linear``, ``time_decay``, ``position``),
    then by ``channel``, ``source_medium`` or ``campaign``."""

    lookback_days: float
    half_life_days: float
    models: dict[str, dict[str, list[AttributionRow]]]


@dataclass(frozen=True, slots=True)
class Segment:
    """The goals and funnels of the visitors sharing one value of a property."""

    value: str
    visitors: int
    goals: list[GoalRow]
    funnels: list[FunnelReport]


@dataclass(frozen=True, slots=True)
class Segments:
    """Goals and funnels by ``channel``, ``source``, ``campaign``, ``variant``,
    ``landing_page`` or ``device`` (of the visitor's first event)."""

    by: str
    groups: list[Segment]


@dataclass(frozen=True, slots=True)
class Change:
    """One headline figure now and in the period before."""

    figure: str
    current: float | None
    previous: float | None
    delta: float | None
    """``current - previous``."""
    relative: float | None
    """``delta / previous``; ``None`` when the previous figure is 0 or missing."""


@dataclass(frozen=True, slots=True)
class Comparison:
    """The report's period against the one as long just before it."""

    since: str
    until: str
    """The previous period (ISO-8601, ``until`` excluded)."""
    previous: Summary
    changes: list[Change]


@dataclass(frozen=True, slots=True)
class Report:
    """The whole report; ``to_dict()`` is the JSON output, keys in this order."""

    version: int
    meta: Meta
    summary: Summary
    goals: list[GoalRow]
    funnels: list[FunnelReport]
    lift: list[LiftRow]
    breakdowns: Breakdowns
    time_to_convert: TimeToConvert
    macro_goals: list[str] = field(default_factory=list)
    micro_goals: list[str] = field(default_factory=list)
    trend: Trend | None = None
    """With ``interval``: visitors, converters, rate and revenue per period."""
    comparison: Comparison | None = None
    """With ``compare="previous"``: the headline figures against the period before."""
    segments: Segments | None = None
    """With ``by``: goals and funnels per group of visitors."""
    attribution: Attribution | None = None
    """Macro conversions and revenue credited to the arrivals before them, by model."""

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-ready dicts and lists."""
        return asdict(self)

    def to_json(self, *, indent: int | None = 2) -> str:
        """The JSON output: UTF-8 text, keys in a stable order, ``null`` for undefined."""
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False, allow_nan=False)
