"""Every section's counter for one report, fed in one pass over the people."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import tzinfo

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
from .states import InconsistentState, State, as_mapping, mapping_of, prune
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
        zone: tzinfo | None = None,
    ) -> ReportCounts:
        """Fresh counters for goals of ``kinds`` (see ``build_report`` for the rest;
        ``zone``: the time zone of the trend's days, ``None`` for UTC)."""
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
            trends=None if interval is None else TrendCounts(macro, interval, zone),
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

    def state(self) -> State:
        """Every section's counts as plain data (:mod:`.states`), empty entries left out,
        before the report is made of them (the attribution spends its counts)."""
        state: dict[str, State] = {
            "people": self.people.state(),
            "goals": self.goals.state(),
            "lift": self.lift.state(),
            "dimensions": self.breakdowns.dimensions.state(),
            "variants": self.breakdowns.variants.state(),
            "delays": self.delays.state(),
            "credit": self.credit.state(),
            "funnels": {k: funnel.state() for k, funnel in enumerate(self.funnels)},
        }
        if self.trends is not None:
            state["trends"] = self.trends.state()
        if self.groups is not None:
            state["groups"] = self.groups.state()
        return prune(state)

    def restore(self, state: State) -> None:
        """Add the counts of ``state`` (as :meth:`state` gives them, for a report of the
        same goals and options) to these; :class:`~.states.InconsistentState` when they
        are another report's."""
        found = as_mapping(state)
        self.people.restore(mapping_of(found, "people"))
        self.goals.restore(mapping_of(found, "goals"))
        self.lift.restore(mapping_of(found, "lift"))
        self.breakdowns.dimensions.restore(mapping_of(found, "dimensions"))
        self.breakdowns.variants.restore(mapping_of(found, "variants"))
        self.delays.restore(mapping_of(found, "delays"))
        self.credit.restore(mapping_of(found, "credit"))
        for k, funnel in mapping_of(found, "funnels").items():
            if not isinstance(k, int) or not 0 <= k < len(self.funnels):
                raise InconsistentState(f"no funnel {k!r} in this report")
            self.funnels[k].restore(as_mapping(funnel))
        for name, section in (("trends", self.trends), ("groups", self.groups)):
            if name in found:
                if section is None:
                    raise InconsistentState(f"this report has no {name}")
                section.restore(found[name])
