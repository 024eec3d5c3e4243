"""The report's maths: goals, funnels, micro → macro lift, breakdowns, time to convert.

From a :class:`~convsdk.report.dataset.Dataset` (one summary per person) and the goal
definitions to a :class:`Report`, whose fields are the keys of the JSON output
(``Report.to_dict()``), in the order shown here. Each section counts person by person
(a :class:`~convsdk.report.metrics.common.Section`), so :func:`build_report` computes
them all in one pass: a reader may hand its people over as a stream, and the report's
memory then grows with the figures, not with the visitors.

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
    meta              source, goals_file, since, until, generated_at, timezone
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

from datetime import UTC, datetime, tzinfo

from ...errors import ConfigError
from ...goals import GoalSet
from ...goals.validation import suggest
from ..channels import DEFAULT_CHANNEL_RULES, ChannelRules
from ..dataset import Dataset
from .breakdowns import breakdowns
from .common import fold, goal_kinds
from .comparison import compare
from .counts import ReportCounts
from .funnels import funnel_report
from .goals import goal_rows
from .headline import headline
from .lift import lift_rows
from .model import (
    REPORT_VERSION,
    AnonymousSummary,
    Attribution,
    AttributionRow,
    BreakdownRow,
    Breakdowns,
    Change,
    Comparison,
    FunnelReport,
    FunnelStep,
    GoalRow,
    HistogramBucket,
    LiftRow,
    Meta,
    Rate,
    Report,
    Segment,
    Segments,
    Summary,
    TimeToConvert,
    Timing,
    Trend,
    TrendPoint,
    VariantBreakdown,
    VariantRow,
)
from .segments import SEGMENT_BY
from .timing import HISTOGRAM_BUCKETS, time_to_convert
from .trends import INTERVALS

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
    "breakdowns",
    "build_report",
    "check_choices",
    "finish_report",
    "funnel_report",
    "goal_rows",
    "lift_rows",
    "start_counts",
    "time_to_convert",
]


def build_report(
    dataset: Dataset,
    goals: GoalSet | None = None,
    *,
    meta: Meta | None = None,
    experiment_goal: str | None = None,
    interval: str | None = None,
    previous: tuple[Dataset, str, str] | None = None,
    by: str | None = None,
    channel_rules: ChannelRules = DEFAULT_CHANNEL_RULES,
    timezone: tzinfo | None = None,
) -> Report:
    """Compute every section of the report from ``dataset`` and the goal definitions.

    Without ``goals`` the report has no funnels, and goals take their kind from the
    events. ``experiment_goal`` names the goal the experiment variants are compared on
    (default: any macro goal); an unknown name is a :class:`~convsdk.ConfigError`.
    ``interval`` (``day``, ``week``, ``month``) adds the trend by that period.
    ``previous``: the dataset of the period before, with its start and end, to compare.
    ``by`` (one of :data:`SEGMENT_BY`) adds goals and funnels per group of visitors.
    ``channel_rules`` group arrivals into channels (default: GA4's). ``timezone``: the
    zone whose days the trend counts by (default UTC).
    """
    counts = start_counts(
        dataset, goals, experiment_goal, interval, by, channel_rules, zone=timezone
    )
    fold(dataset.visitors, *counts.sections())  # one pass: the people may be a stream
    return finish_report(counts, dataset, goals, meta=meta, previous=previous)


def start_counts(
    dataset: Dataset,
    goals: GoalSet | None = None,
    experiment_goal: str | None = None,
    interval: str | None = None,
    by: str | None = None,
    channel_rules: ChannelRules = DEFAULT_CHANNEL_RULES,
    *,
    zone: tzinfo | None = None,
) -> ReportCounts:
    """The report's sections, counting nobody yet, for the goals of ``dataset`` (its
    kinds) and ``goals`` (see :func:`build_report` for the rest); the choices checked."""
    kinds = goal_kinds(dataset, goals)
    check_choices(by, interval, experiment_goal, kinds)
    return ReportCounts.start(goals, kinds, experiment_goal, interval, by, channel_rules, zone)


def finish_report(
    counts: ReportCounts,
    dataset: Dataset,
    goals: GoalSet | None = None,
    *,
    meta: Meta | None = None,
    previous: tuple[Dataset, str, str] | None = None,
    merged: tuple[int, int] | None = None,
) -> Report:
    """The report of ``counts``, which counted the people of ``dataset`` (whose totals
    and conversions without a visitor it takes); see :func:`build_report`. ``merged``:
    the visitor ids merged into people and the people they make, when ``dataset`` does
    not list every link."""
    summary = counts.people.summary(dataset, merged)
    if meta is None:
        meta = Meta(generated_at=datetime.now(UTC).isoformat(timespec="seconds"))
    micro, macro = counts.micro, counts.macro
    return Report(
        version=REPORT_VERSION,
        meta=meta,
        summary=summary,
        goals=counts.goals.rows(goals, dataset.anonymous_goals),
        funnels=[funnel.report() for funnel in counts.funnels],
        lift=counts.lift.rows(),
        breakdowns=counts.breakdowns.breakdowns(),
        time_to_convert=counts.delays.report(),
        macro_goals=macro,
        micro_goals=micro,
        trend=None if counts.trends is None else counts.trends.trend(),
        segments=None if counts.groups is None else counts.groups.segments(),
        attribution=counts.credit.attribution(),
        comparison=None
        if previous is None
        else compare(summary, headline(previous[0], micro, macro), previous[1], previous[2]),
    )


def check_choices(
    by: str | None,
    interval: str | None,
    experiment_goal: str | None = None,
    kinds: dict[str, str] | None = None,
) -> None:
    """Refuse an unknown breakdown, interval or (given the goal ``kinds``) experiment
    goal, with "did you mean"."""
    if by is not None and by not in SEGMENT_BY:
        raise ConfigError(
            f"by must be one of {', '.join(SEGMENT_BY)}, got {by!r}" + suggest(by, SEGMENT_BY),
            field="by",
        )
    if interval is not None and interval not in INTERVALS:
        raise ConfigError(
            f"interval must be one of {', '.join(INTERVALS)}, got {interval!r}"
            + suggest(interval, INTERVALS),
            field="interval",
        )
    if experiment_goal is not None and kinds is not None and experiment_goal not in kinds:
        raise ConfigError(
            f"no goal {experiment_goal!r} in the goal file or the events"
            + suggest(experiment_goal, kinds),
            field="experiment_goal",
        )
