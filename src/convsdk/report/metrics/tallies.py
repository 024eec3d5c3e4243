"""Visitors and their macro conversions per value of each breakdown dimension."""

from __future__ import annotations

from ..channels import DEFAULT_CHANNEL_RULES, ChannelRules, channel
from ..dataset import Dataset
from .common import collect

__all__ = ["DIMENSIONS", "NONE", "Tally", "tally_dimensions", "tally_variants"]

#: The value of a dimension for visitors without one.
NONE = "(none)"


class Tally:
    """Visitors, converters, conversions and revenue of one group of visitors."""

    __slots__ = ("converters", "conversions", "revenue", "visitors")

    def __init__(self) -> None:
        self.visitors = 0
        self.converters = 0
        self.conversions = 0
        self.revenue: dict[str, list[float]] = {}

    def add(self, other: Tally) -> None:
        """Add ``other``'s figures to these."""
        self.visitors += other.visitors
        self.converters += other.converters
        self.conversions += other.conversions
        for currency, values in other.revenue.items():
            self.revenue.setdefault(currency, []).extend(values)


#: First-touch source, medium, campaign; last-touch ditto; referrer; variant; the first
#: arrival's channel and source / medium.
DIMENSIONS = 10
_NO_UTM: tuple[None, None, None] = (None, None, None)
_DIRECT: tuple[str, str, None] = ("(direct)", "(none)", None)


def tally_dimensions(
    dataset: Dataset, macro: list[str], rules: ChannelRules = DEFAULT_CHANNEL_RULES
) -> list[dict[str, Tally]]:
    """Per dimension, value → tally, in one pass over the visitors."""
    # Visitors are first grouped by their whole profile (few distinct ones), and the
    # groups then spread over the dimensions: one dict update a visitor, not eight.
    profiles: dict[tuple[str | None, ...], Tally] = {}
    for visitor in dataset.visitors:
        first = visitor.first_touch or _NO_UTM
        last = visitor.last_touch or _NO_UTM
        source, medium, campaign = visitor.arrival or _DIRECT
        profile: tuple[str | None, ...] = (
            *first,
            *last,
            visitor.referrer,
            visitor.variant,
            channel(source, medium, campaign, rules),
            f"{source} / {medium}",
        )
        tally = profiles.get(profile)
        if tally is None:
            tally = profiles[profile] = Tally()
        tally.visitors += 1
        goals = visitor.goals
        conversions = 0
        for name in macro:
            hits = goals.get(name)
            if hits is not None:
                conversions += hits.count
                collect(tally.revenue, hits.revenue)
        if conversions:
            tally.converters += 1
            tally.conversions += conversions
    dimensions: list[dict[str, Tally]] = [{} for _ in range(DIMENSIONS)]
    for profile, tally in profiles.items():
        for values, key in zip(dimensions, profile, strict=True):
            label = NONE if key is None else key
            target = values.get(label)
            if target is None:
                target = values[label] = Tally()
            target.add(tally)
    return dimensions


def tally_variants(dataset: Dataset, goals: list[str]) -> dict[str, Tally]:
    """Per experiment variant, its visitors and those who converted on one of ``goals``
    after their first exposure to it (a conversion before it says nothing of the
    variant): converters, their conversions of those goals and revenue. Visitors in no
    experiment are counted under ``(none)`` with all their conversions."""
    tallies: dict[str, Tally] = {}
    for visitor in dataset.visitors:
        key = NONE if visitor.variant is None else visitor.variant
        tally = tallies.get(key)
        if tally is None:
            tally = tallies[key] = Tally()
        tally.visitors += 1
        exposed = visitor.first_seen if visitor.exposed is None else visitor.exposed
        conversions = 0
        for name in goals:
            hits = visitor.goals.get(name)
            if hits is not None and (visitor.variant is None or hits.last >= exposed):
                conversions += hits.count
                collect(tally.revenue, hits.revenue)
        if conversions:
            tally.converters += 1
            tally.conversions += conversions
    return tallies
