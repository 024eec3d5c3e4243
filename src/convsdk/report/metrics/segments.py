"""Goals and funnels broken down by one property of the visitor's first event: their
channel, source, campaign, experiment variant, landing page or device."""

from __future__ import annotations

from ...goals import GoalSet
from ..channels import DEFAULT_CHANNEL_RULES, ChannelRules, channel
from ..dataset import Dataset, VisitorSummary
from .funnels import funnel_report
from .goals import goal_rows
from .model import Segment, Segments
from .tallies import NONE

__all__ = ["SEGMENT_BY", "segments"]

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


def segments(
    dataset: Dataset,
    goals: GoalSet | None,
    by: str,
    rules: ChannelRules = DEFAULT_CHANNEL_RULES,
) -> Segments:
    """The goal rows and funnels of each group of visitors sharing a value of ``by``,
    the largest group first."""
    groups: dict[str, list[VisitorSummary]] = {}
    for visitor in dataset.visitors:
        groups.setdefault(_value(visitor, by, rules), []).append(visitor)
    ordered = sorted(groups.items(), key=lambda item: (-len(item[1]), item[0] == NONE, item[0]))
    result = []
    for value, visitors in ordered:
        part = Dataset(visitors=visitors, goal_kinds=dataset.goal_kinds)
        result.append(
            Segment(
                value=value,
                visitors=len(visitors),
                goals=goal_rows(part, goals),
                funnels=[funnel_report(part, f) for f in (goals.funnels if goals else ())],
            )
        )
    return Segments(by=by, groups=result)
