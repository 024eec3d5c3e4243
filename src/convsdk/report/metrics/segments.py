"""Goals and funnels broken down by one property of the visitor's first event: their
channel, source, campaign, experiment variant, landing page or device."""

from __future__ import annotations

from ...goals import GoalSet
from ..channels import DEFAULT_CHANNEL_RULES, ChannelRules, channel
from ..dataset import Dataset, VisitorSummary
from .common import fold, goal_kinds
from .funnels import FunnelCounts
from .goals import GoalCounts
from .model import Segment, Segments
from .states import InconsistentState, State, as_mapping, mapping_of
from .tallies import NONE

__all__ = ["SEGMENT_BY", "SegmentCounts", "segments"]

#: What goals and funnels can be broken down by.
SEGMENT_BY = ("channel", "source", "campaign", "variant", "landing_page", "device")


def _value(visitor: VisitorSummary, by: str, rules: ChannelRules) -> str:
    source, medium, campaign = visitor.arrival or ("(direct)", "(none)", None)
    value: str | None
    if by == "channel":
        value = channel(source, medium, campaign, rules)
    elif by == "source":
        value = f"{source} / {medium}"
    elif by == "campaign":
        value = campaign
    elif by == "variant":
        value = visitor.variant
    elif by == "landing_page":
        value = visitor.landing_page
    else:
        value = visitor.device
    return NONE if value is None else value


class SegmentCounts:
    """Counts goals and funnels per group of people sharing a value of ``by``."""

    def __init__(
        self,
        goals: GoalSet | None,
        kinds: dict[str, str],
        by: str,
        rules: ChannelRules = DEFAULT_CHANNEL_RULES,
    ) -> None:
        self.goals = goals
        self.kinds = kinds
        self.by = by
        self.rules = rules
        self.groups: dict[str, tuple[GoalCounts, list[FunnelCounts]]] = {}

    def add(self, visitor: VisitorSummary) -> None:
        """Count ``visitor`` in their group."""
        value = _value(visitor, self.by, self.rules)
        group = self.groups.get(value)
        if group is None:
            funnels = [FunnelCounts(f) for f in (self.goals.funnels if self.goals else ())]
            group = self.groups[value] = (GoalCounts(self.kinds), funnels)
        group[0].add(visitor)
        for funnel in group[1]:
            funnel.add(visitor)

    def state(self) -> State:
        """The counts as plain data (:mod:`.states`): per group, its goals' counts and its
        funnels' by their index."""
        return {
            value: {
                "goals": counts.state(),
                "funnels": {k: funnel.state() for k, funnel in enumerate(funnels)},
            }
            for value, (counts, funnels) in self.groups.items()
        }

    def restore(self, state: State) -> None:
        """Add the counts of ``state`` (as :meth:`state` gives them) to these."""
        for value, figures in as_mapping(state).items():
            if not isinstance(value, str):
                raise InconsistentState(f"no group {value!r}")
            group = self.groups.get(value)
            if group is None:
                funnels = [FunnelCounts(f) for f in (self.goals.funnels if self.goals else ())]
                group = self.groups[value] = (GoalCounts(self.kinds), funnels)
            group[0].restore(mapping_of(figures, "goals"))
            for k, funnel in mapping_of(figures, "funnels").items():
                if not isinstance(k, int) or not 0 <= k < len(group[1]):
                    raise InconsistentState(f"no funnel {k!r} in this report")
                group[1][k].restore(as_mapping(funnel))

    def segments(self) -> Segments:
        """The groups, the largest first."""
        ordered = sorted(
            self.groups.items(),
            key=lambda item: (-item[1][0].visitors, item[0] == NONE, item[0]),
        )
        return Segments(
            by=self.by,
            groups=[
                Segment(
                    value=value,
                    visitors=counts.visitors,
                    goals=counts.rows(self.goals, {}),
                    funnels=[funnel.report() for funnel in funnels],
                )
                for value, (counts, funnels) in ordered
            ],
        )


def segments(
    dataset: Dataset,
    goals: GoalSet | None,
    by: str,
    rules: ChannelRules = DEFAULT_CHANNEL_RULES,
) -> Segments:
    """The goal rows and funnels of each group of visitors sharing a value of ``by``,
    the largest group first."""
    counts = SegmentCounts(goals, goal_kinds(dataset, goals), by, rules)
    fold(dataset.visitors, counts)
    return counts.segments()
