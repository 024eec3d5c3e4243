"""Every section's counter for one report, fed in one pass over the people."""

from __future__ import annotations

from dataclasses import dataclass

from ...goals import GoalSet
from ..channels import ChannelRules
from .attribution import AttributionCounts
from .breakdowns import BreakdownCounts
from .common import Section
from .funnels import FunnelCounts
from .goals import GoalCounts
from .headline import Headline
from .lift import LiftCounts
from .segments import SegmentCounts
from .timing import ConversionDelays
from .trends import TrendCounts

__all__ = ["ReportCounts"]


@dataclass(slots=True)
class ReportCounts:
    """The counters of the sections a report asks for."""

    micro: list[str]
    """The micro goals, in the report's order."""
    macro: list[str]
    """The macro goals, likewise."""
    people: Headline
    goals: GoalCounts
    funnels: list[FunnelCounts]
    lift: LiftCounts
    breakdowns: BreakdownCounts
    delays: ConversionDelays
    credit: AttributionCounts
    trends: TrendCounts | None
    groups: SegmentCounts | None

    @classmethod
    def start(
        cls,
        goals: GoalSet | None,
        kinds: dict[str, str],
        experiment_goal: str | None,
        interval: str | None,
        by: str | None,
        rules: ChannelRules,
    ) -> ReportCounts:
        """Fresh counters for goals of ``kinds`` (see ``build_report`` for the rest)."""
        micro = [name for name, kind in kinds.items() if kind == "micro"]
        macro = [name for name, kind in kinds.items() if kind == "macro"]
        return cls(
            micro=micro,
            macro=macro,
            people=Headline(micro, macro),
            goals=GoalCounts(kinds),
            funnels=[FunnelCounts(f) for f in (goals.funnels if goals else ())],
            lift=LiftCounts(micro, macro),
            breakdowns=BreakdownCounts(macro, experiment_goal, rules),
            delays=ConversionDelays(macro),
            credit=AttributionCounts(macro, rules=rules),
            trends=None if interval is None else TrendCounts(macro, interval),
            groups=None if by is None else SegmentCounts(goals, kinds, by, rules),
        )

    def sections(self) -> list[Section]:
        """Every counter to feed each person to (the breakdown's two tallies directly)."""
        extra = [c for c in (self.trends, self.groups) if c is not None]
        return [
            self.people,
            self.goals,
            self.lift,
            self.breakdowns.dimensions,
            self.breakdowns.variants,
            self.delays,
            self.credit,
            *self.funnels,
            *extra,
        ]
