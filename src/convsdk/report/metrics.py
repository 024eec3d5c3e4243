"""The report's maths: goals, funnels, micro → macro lift, breakdowns, time to convert.

Pure functions from a :class:`~convsdk.report.dataset.Dataset` (one summary per
visitor) and the goal definitions to a :class:`Report`, whose fields are the keys of
the JSON output (``Report.to_dict()``), in the order shown here.

Definitions (rates are fractions, 0 to 1; times are seconds; ``None`` means "not
defined", e.g. a rate of an empty group):

- **visitors**: distinct ``visitor_id`` values with an event in the range. Events
  without one (anonymous: Do-Not-Track, Global Privacy Control) are counted in the
  ``anonymous`` figures only, never in a per-visitor rate.
- **conversion rate** of a goal: visitors who converted / all visitors. Revenue is
  the sum of conversion values, per currency (amounts in different currencies are
  never added); revenue per visitor divides it by all visitors.
- **macro** goals are those the goal file calls macro, and goals not in the file
  whose events said ``kind="macro"``. A visitor *converted* when they completed any
  macro goal.
- **funnels**: a visitor reaches step *k* when they completed steps 1 to *k* in
  order, each at or after the previous one, all within the funnel's window of step 1.
  Of a visitor's attempts (each time they did step 1), the first that gets furthest
  counts, and its times feed the medians.
- **lift** of micro goal *m* on macro goal *M*: visitors who did *m* before their first
  *M* (or did *m* and never *M*) form the "with" group, everyone else the "without"
  group; ``lift = rate(with) / rate(without)`` (``None`` when nobody in the "without"
  group converted). Intervals are 95 %: Wilson for each rate, Katz's log method for
  the lift (0.5 added to each cell when a count is zero, so that a micro conversion
  every buyer made still gets an interval). Pairs are ranked by the lower bound of
  the lift's interval, so a big lift measured on three visitors does not top the list;
  *prerequisites* (nobody converted without the micro conversion: a step every buyer
  takes, like starting the checkout, rather than a sign of intent) come after them.
  The lag is the time from a visitor's first *m* to their first *M*.
- **breakdowns**: per first- and last-touch UTM source, medium and campaign (for a
  converter, of the touches up to their first macro conversion), per referrer domain
  of the first event, per experiment variant; ``"(none)"`` for visitors without one.
  Variants are compared with a pooled two-proportion z-test against the control: the
  variant called ``control`` if there is one, else the first by name.
- **time to convert**: from a visitor's first event in the range to their first macro
  conversion.

The JSON output (``Report.to_json()``, ``convsdk report --format json``); money is
``{currency: amount}``, timings ``{count, median, p90}`` in seconds::

    version           1; bumped when a key changes meaning or disappears
    meta              source, goals_file, since, until, generated_at
    summary           events, visitors, first_event, last_event, micro_converters,
                      converters, conversion_rate, revenue, revenue_per_visitor,
                      anonymous {events, interactions, conversions, revenue}
    goals[]           goal, kind, stage, role, defined, conversions, visitors,
                      conversion_rate, revenue, revenue_per_visitor, time_to_convert,
                      anonymous_conversions, anonymous_revenue
    funnels[]         name, window_seconds, completed, completion_rate,
                      steps[] {goal, visitors, conversion_from_previous, conversion_overall,
                               share_of_visitors, drop_off, drop_off_rate,
                               time_from_previous, time_from_first}
    lift[]            micro, macro, did and did_not {visitors, converted, rate, ci_low,
                      ci_high}, lift, lift_ci_low, lift_ci_high, prerequisite, lag
    breakdowns        first_touch and last_touch {source, medium, campaign: rows[]},
                      referrer: rows[], variant {control, rows[]}; a row is value,
                      visitors, converters, conversions, conversion_rate, revenue (variant
                      rows add ci_low, ci_high, difference, lift, z, p_value)
    time_to_convert   timing, histogram[] {label, min_seconds, max_seconds, visitors}
    macro_goals       names of the macro goals; micro_goals likewise
"""

from __future__ import annotations

import json
import math
from bisect import bisect_left
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from ..goals import Funnel, Goal, GoalSet
from .dataset import Dataset, GoalHits, from_micros
from .stats import (
    median,
    percentile,
    ratio_interval,
    two_proportion_z_test,
    wilson_interval,
)

__all__ = [
    "HISTOGRAM_BUCKETS",
    "REPORT_VERSION",
    "AnonymousSummary",
    "Breakdowns",
    "BreakdownRow",
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
    "Timing",
    "VariantBreakdown",
    "VariantRow",
    "breakdowns",
    "build_report",
    "funnel_report",
    "goal_rows",
    "lift_rows",
    "time_to_convert",
]

#: Bumped when a key of the JSON output changes meaning or disappears.
REPORT_VERSION = 1

_MINUTE, _HOUR, _DAY = 60, 3600, 86400
#: Time-to-convert histogram buckets: (label, from seconds, to seconds or None).
HISTOGRAM_BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("< 1 min", 0, _MINUTE),
    ("1–10 min", _MINUTE, 10 * _MINUTE),
    ("10–60 min", 10 * _MINUTE, _HOUR),
    ("1–6 h", _HOUR, 6 * _HOUR),
    ("6–24 h", 6 * _HOUR, _DAY),
    ("1–3 days", _DAY, 3 * _DAY),
    ("3–7 days", 3 * _DAY, 7 * _DAY),
    ("7–30 days", 7 * _DAY, 30 * _DAY),
    ("30+ days", 30 * _DAY, None),
)

_NONE = "(none)"
_MONEY_DIGITS = 6


# -- report structure ----------------------------------------------------------------


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


@dataclass(frozen=True, slots=True)
class VariantBreakdown:
    """Variants, the control first; ``(none)`` (visitors in no experiment) last, untested."""

    control: str | None
    rows: list[VariantRow]


@dataclass(frozen=True, slots=True)
class Breakdowns:
    """Macro conversions by acquisition channel and experiment variant."""

    first_touch: dict[str, list[BreakdownRow]]
    """``"source"``, ``"medium"``, ``"campaign"`` to rows."""
    last_touch: dict[str, list[BreakdownRow]]
    referrer: list[BreakdownRow]
    variant: VariantBreakdown


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


@dataclass(frozen=True, slots=True)
class Meta:
    """Where the figures come from; the only part that differs between two readers."""

    source: str | None = None
    goals_file: str | None = None
    since: str | None = None
    until: str | None = None
    generated_at: str | None = None


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

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-ready dicts and lists."""
        return asdict(self)

    def to_json(self, *, indent: int | None = 2) -> str:
        """The JSON output: UTF-8 text, keys in a stable order, ``null`` for undefined."""
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False, allow_nan=False)


# -- helpers -------------------------------------------------------------------------


def _ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None


def _money(amounts: Mapping[str, Iterable[float]]) -> dict[str, float]:
    # fsum is exact whatever the order of the values, so every reader gets the same
    # total; rounding hides the last-bit differences of per-visitor partial sums.
    return {
        currency: round(math.fsum(values), _MONEY_DIGITS)
        for currency, values in sorted(amounts.items())
    }


def _per_visitor(revenue: Mapping[str, float], visitors: int) -> dict[str, float]:
    if not visitors:
        return {}
    return {c: round(v / visitors, _MONEY_DIGITS) for c, v in revenue.items()}


def _collect(target: dict[str, list[float]], revenue: Mapping[str, float] | None) -> None:
    if revenue:
        for currency, value in revenue.items():
            target.setdefault(currency, []).append(value)


def _timing(micros: list[int]) -> Timing:
    """Median and p90, in seconds, of durations in microseconds."""
    micros.sort()
    mid = median(micros)
    p90 = percentile(micros, 0.9)
    # Rounded to the microsecond the times were measured in: the interpolation's
    # floating-point dust (1440.0000000000002 s) is not information.
    return Timing(
        count=len(micros),
        median=None if mid is None else round(mid / 1e6, 6),
        p90=None if p90 is None else round(p90 / 1e6, 6),
    )


def _rate(converted: int, visitors: int) -> Rate:
    interval = wilson_interval(converted, visitors)
    return Rate(
        visitors=visitors,
        converted=converted,
        rate=_ratio(converted, visitors),
        ci_low=None if interval is None else interval[0],
        ci_high=None if interval is None else interval[1],
    )


def _iso(micros: int | None) -> str | None:
    return None if micros is None else from_micros(micros).isoformat(timespec="microseconds")


def _kinds(dataset: Dataset, goals: GoalSet | None) -> dict[str, str]:
    """Every goal, defined ones first in declaration order, then the others by name."""
    kinds: dict[str, str] = {}
    if goals is not None:
        for goal in goals:
            kinds[goal.name] = goal.kind
    for name in sorted(dataset.goal_kinds):
        kinds.setdefault(name, dataset.goal_kinds[name])
    return kinds


# -- goals ---------------------------------------------------------------------------


def goal_rows(dataset: Dataset, goals: GoalSet | None = None) -> list[GoalRow]:
    """One row per goal: defined goals in declaration order, then goals seen only in data."""
    total = len(dataset.visitors)
    kinds = _kinds(dataset, goals)
    counts = dict.fromkeys(kinds, 0)
    converters = dict.fromkeys(kinds, 0)
    revenue: dict[str, dict[str, list[float]]] = {name: {} for name in kinds}
    delays: dict[str, list[int]] = {name: [] for name in kinds}
    for visitor in dataset.visitors:
        seen = visitor.first_seen
        for name, hits in visitor.goals.items():
            if name not in counts:  # pragma: no cover - readers register every goal's kind
                continue
            counts[name] += hits.count
            converters[name] += 1
            delays[name].append(hits.first - seen)
            _collect(revenue[name], hits.revenue)
    rows = []
    for name, kind in kinds.items():
        goal: Goal | None = goals.get(name) if goals is not None else None
        money = _money(revenue[name])
        anonymous = dataset.anonymous_goals.get(name)
        anonymous_money: dict[str, list[float]] = {}
        _collect(anonymous_money, anonymous.revenue if anonymous else None)
        rows.append(
            GoalRow(
                goal=name,
                kind=kind,
                stage=goal.stage if goal else None,
                role=goal.role if goal else None,
                defined=goal is not None,
                conversions=counts[name],
                visitors=converters[name],
                conversion_rate=_ratio(converters[name], total),
                revenue=money,
                revenue_per_visitor=_per_visitor(money, total),
                time_to_convert=_timing(delays[name]),
                anonymous_conversions=anonymous.count if anonymous else 0,
                anonymous_revenue=_money(anonymous_money),
            )
        )
    return rows


# -- funnels -------------------------------------------------------------------------


def _step_times(hits: GoalHits | None) -> list[int]:
    if hits is None:
        return []
    return hits.times if hits.times else [hits.first]


def _funnel_path(steps: list[list[int]], window: int) -> list[int]:
    """Times of the steps a visitor reached, in order, on their furthest attempt."""
    best: list[int] = []
    for start in steps[0]:
        path = [start]
        previous = start
        limit = start + window
        for times in steps[1:]:
            # Earliest occurrence at or after the previous step: taking any later one
            # could only leave less room for the steps after it.
            i = bisect_left(times, previous)
            if i == len(times) or times[i] > limit:
                break
            previous = times[i]
            path.append(previous)
        if len(path) > len(best):
            best = path
            if len(best) == len(steps):
                break
    return best


def funnel_report(dataset: Dataset, funnel: Funnel) -> FunnelReport:
    """Visitors, conversion, drop-off and timing of each step of ``funnel``."""
    n = len(funnel.steps)
    window = int(funnel.window.total_seconds() * 1_000_000)
    reached = [0] * n
    from_previous: list[list[int]] = [[] for _ in range(n)]
    from_first: list[list[int]] = [[] for _ in range(n)]
    first_step = funnel.steps[0]
    for visitor in dataset.visitors:
        goals = visitor.goals
        if first_step not in goals:
            continue
        path = _funnel_path([_step_times(goals.get(step)) for step in funnel.steps], window)
        for k, moment in enumerate(path):
            reached[k] += 1
            if k:
                from_previous[k].append(moment - path[k - 1])
                from_first[k].append(moment - path[0])
    total = len(dataset.visitors)
    steps = []
    for k, goal in enumerate(funnel.steps):
        dropped = reached[k - 1] - reached[k] if k else None
        steps.append(
            FunnelStep(
                goal=goal,
                visitors=reached[k],
                conversion_from_previous=_ratio(reached[k], reached[k - 1]) if k else None,
                conversion_overall=_ratio(reached[k], reached[0]),
                share_of_visitors=_ratio(reached[k], total),
                drop_off=dropped,
                drop_off_rate=None if dropped is None else _ratio(dropped, reached[k - 1]),
                time_from_previous=_timing(from_previous[k]),
                time_from_first=_timing(from_first[k]),
            )
        )
    return FunnelReport(
        name=funnel.name,
        window_seconds=funnel.window.total_seconds(),
        steps=steps,
        completed=reached[-1],
        completion_rate=_ratio(reached[-1], reached[0]),
    )


# -- micro → macro lift --------------------------------------------------------------


def lift_rows(dataset: Dataset, micro: list[str], macro: list[str]) -> list[LiftRow]:
    """Every micro × macro pair, most predictive first (see the module docs)."""
    total = len(dataset.visitors)
    converted = dict.fromkeys(macro, 0)
    did: dict[tuple[str, str], int] = {}
    did_converted: dict[tuple[str, str], int] = {}
    lags: dict[tuple[str, str], list[int]] = {}
    for m in micro:
        for big in macro:
            did[m, big] = did_converted[m, big] = 0
            lags[m, big] = []
    micro_set = set(micro)
    for visitor in dataset.visitors:
        goals = visitor.goals
        macro_hits = [(big, goals.get(big)) for big in macro]
        for big, hits in macro_hits:
            if hits is not None:
                converted[big] += 1
        for m, small in goals.items():
            if m not in micro_set:
                continue
            for big, hits in macro_hits:
                if hits is None:
                    did[m, big] += 1
                elif small.first <= hits.first:
                    did[m, big] += 1
                    did_converted[m, big] += 1
                    lags[m, big].append(hits.first - small.first)
                # else: the micro came after the macro, so it could not have led to it;
                # the visitor belongs to the "did not" group.
    rows = []
    for (m, big), n1 in did.items():
        a = did_converted[m, big]
        n2 = total - n1
        c = converted[big] - a
        with_rate = _ratio(a, n1)
        without_rate = _ratio(c, n2)
        lift = None
        if with_rate is not None and without_rate:
            lift = with_rate / without_rate
        interval = ratio_interval(a, n1, c, n2)
        rows.append(
            LiftRow(
                micro=m,
                macro=big,
                did=_rate(a, n1),
                did_not=_rate(c, n2),
                lift=lift,
                lift_ci_low=None if interval is None else interval[0],
                lift_ci_high=None if interval is None else interval[1],
                prerequisite=a > 0 and c == 0,
                lag=_timing(lags[m, big]),
            )
        )
    rows.sort(
        key=lambda r: (
            r.lift_ci_low is None,
            r.prerequisite,
            -(r.lift_ci_low or 0.0),
            r.lift is None,
            -(r.lift or 0.0),
            r.micro,
            r.macro,
        )
    )
    return rows


# -- breakdowns ----------------------------------------------------------------------


class _Tally:
    __slots__ = ("converters", "conversions", "revenue", "visitors")

    def __init__(self) -> None:
        self.visitors = 0
        self.converters = 0
        self.conversions = 0
        self.revenue: dict[str, list[float]] = {}

    def add(self, other: _Tally) -> None:
        self.visitors += other.visitors
        self.converters += other.converters
        self.conversions += other.conversions
        for currency, values in other.revenue.items():
            self.revenue.setdefault(currency, []).extend(values)


_DIMENSIONS = 8  # first-touch source, medium, campaign; last-touch ditto; referrer; variant
_NO_UTM: tuple[None, None, None] = (None, None, None)


def _tallies(dataset: Dataset, macro: list[str]) -> list[dict[str, _Tally]]:
    """Per dimension, value → tally, in one pass over the visitors."""
    # Visitors are first grouped by their whole profile (few distinct ones), and the
    # groups then spread over the dimensions: one dict update a visitor, not eight.
    profiles: dict[tuple[str | None, ...], _Tally] = {}
    for visitor in dataset.visitors:
        first = visitor.first_touch or _NO_UTM
        last = visitor.last_touch or _NO_UTM
        profile: tuple[str | None, ...] = (*first, *last, visitor.referrer, visitor.variant)
        tally = profiles.get(profile)
        if tally is None:
            tally = profiles[profile] = _Tally()
        tally.visitors += 1
        goals = visitor.goals
        conversions = 0
        for name in macro:
            hits = goals.get(name)
            if hits is not None:
                conversions += hits.count
                _collect(tally.revenue, hits.revenue)
        if conversions:
            tally.converters += 1
            tally.conversions += conversions
    dimensions: list[dict[str, _Tally]] = [{} for _ in range(_DIMENSIONS)]
    for profile, tally in profiles.items():
        for values, key in zip(dimensions, profile, strict=True):
            label = _NONE if key is None else key
            target = values.get(label)
            if target is None:
                target = values[label] = _Tally()
            target.add(tally)
    return dimensions


def _rows(tallies: dict[str, _Tally]) -> list[BreakdownRow]:
    rows = [
        BreakdownRow(
            value=key,
            visitors=t.visitors,
            converters=t.converters,
            conversions=t.conversions,
            conversion_rate=_ratio(t.converters, t.visitors),
            revenue=_money(t.revenue),
        )
        for key, t in tallies.items()
    ]
    rows.sort(key=lambda r: (-r.visitors, r.value == _NONE, r.value))
    return rows


def _variants(tallies: dict[str, _Tally]) -> VariantBreakdown:
    names = sorted(name for name in tallies if name != _NONE)
    control = None
    if names:
        control = next((n for n in names if n.lower() == "control"), names[0])
        names.remove(control)
        names.insert(0, control)
    if _NONE in tallies:
        names.append(_NONE)
    base = tallies[control] if control is not None else None
    base_rate = _ratio(base.converters, base.visitors) if base is not None else None
    rows = []
    for name in names:
        t = tallies[name]
        rate = _ratio(t.converters, t.visitors)
        interval = wilson_interval(t.converters, t.visitors)
        difference = lift = z = p_value = None
        if base is not None and name not in (control, _NONE):
            if rate is not None and base_rate is not None:
                difference = rate - base_rate
                lift = _ratio(rate, base_rate)
            test = two_proportion_z_test(base.converters, base.visitors, t.converters, t.visitors)
            if test is not None:
                z, p_value = test
        rows.append(
            VariantRow(
                value=name,
                visitors=t.visitors,
                converters=t.converters,
                conversions=t.conversions,
                conversion_rate=rate,
                ci_low=None if interval is None else interval[0],
                ci_high=None if interval is None else interval[1],
                revenue=_money(t.revenue),
                difference=difference,
                lift=lift,
                z=z,
                p_value=p_value,
            )
        )
    return VariantBreakdown(control=control, rows=rows)


def breakdowns(dataset: Dataset, macro: list[str]) -> Breakdowns:
    """Macro conversions by first/last-touch UTM, referrer domain and variant."""
    dims = ("source", "medium", "campaign")
    tallies = _tallies(dataset, macro)
    return Breakdowns(
        first_touch={dim: _rows(tallies[i]) for i, dim in enumerate(dims)},
        last_touch={dim: _rows(tallies[3 + i]) for i, dim in enumerate(dims)},
        referrer=_rows(tallies[6]),
        variant=_variants(tallies[7]),
    )


# -- time to convert and summary -----------------------------------------------------


def time_to_convert(dataset: Dataset, macro: list[str]) -> TimeToConvert:
    """Time from first event to first macro conversion, with a histogram."""
    delays = []
    for visitor in dataset.visitors:
        firsts = [h.first for name in macro if (h := visitor.goals.get(name)) is not None]
        if firsts:
            delays.append(min(firsts) - visitor.first_seen)
    counts = [0] * len(HISTOGRAM_BUCKETS)
    for delay in delays:
        seconds = delay / 1e6
        for i, (_, low, high) in enumerate(HISTOGRAM_BUCKETS):
            if seconds >= low and (high is None or seconds < high):
                counts[i] += 1
                break
    return TimeToConvert(
        timing=_timing(delays),
        histogram=[
            HistogramBucket(label=label, min_seconds=low, max_seconds=high, visitors=count)
            for (label, low, high), count in zip(HISTOGRAM_BUCKETS, counts, strict=True)
        ],
    )


def _summary(dataset: Dataset, micro: list[str], macro: list[str]) -> Summary:
    total = len(dataset.visitors)
    converters = micro_converters = 0
    revenue: dict[str, list[float]] = {}
    for visitor in dataset.visitors:
        goals = visitor.goals
        if any(name in goals for name in micro):
            micro_converters += 1
        hit = False
        for name in macro:
            hits = goals.get(name)
            if hits is not None:
                hit = True
                _collect(revenue, hits.revenue)
        converters += hit
    anonymous_revenue: dict[str, list[float]] = {}
    anonymous_conversions = 0
    for name, hits in dataset.anonymous_goals.items():
        anonymous_conversions += hits.count
        if name in macro:
            _collect(anonymous_revenue, hits.revenue)
    money = _money(revenue)
    return Summary(
        events=dataset.events,
        visitors=total,
        first_event=_iso(dataset.first_event),
        last_event=_iso(dataset.last_event),
        micro_converters=micro_converters,
        converters=converters,
        conversion_rate=_ratio(converters, total),
        revenue=money,
        revenue_per_visitor=_per_visitor(money, total),
        anonymous=AnonymousSummary(
            events=dataset.anonymous_events,
            interactions=dataset.anonymous_interactions,
            conversions=anonymous_conversions,
            revenue=_money(anonymous_revenue),
        ),
    )


def build_report(
    dataset: Dataset, goals: GoalSet | None = None, *, meta: Meta | None = None
) -> Report:
    """Compute every section of the report from ``dataset`` and the goal definitions.

    Without ``goals`` the report has no funnels, and goals take their kind from the
    events.
    """
    kinds = _kinds(dataset, goals)
    micro = [name for name, kind in kinds.items() if kind == "micro"]
    macro = [name for name, kind in kinds.items() if kind == "macro"]
    if meta is None:
        meta = Meta(generated_at=datetime.now(UTC).isoformat(timespec="seconds"))
    return Report(
        version=REPORT_VERSION,
        meta=meta,
        summary=_summary(dataset, micro, macro),
        goals=goal_rows(dataset, goals),
        funnels=[funnel_report(dataset, f) for f in (goals.funnels if goals else ())],
        lift=lift_rows(dataset, micro, macro),
        breakdowns=breakdowns(dataset, macro),
        time_to_convert=time_to_convert(dataset, macro),
        macro_goals=macro,
        micro_goals=micro,
    )
