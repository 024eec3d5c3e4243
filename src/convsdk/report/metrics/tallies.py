"""Visitors and their macro conversions per value of each breakdown dimension."""

from __future__ import annotations

from typing import TypeVar

from ..channels import DEFAULT_CHANNEL_RULES, ChannelRules, channel
from ..dataset import VisitorSummary
from .common import collect
from .states import State, add_amounts, amounts_state, as_mapping, count_of, mapping_of

__all__ = ["DIMENSIONS", "NONE", "DimensionTallies", "Tally", "VariantTallies"]

K = TypeVar("K")

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

    def state(self) -> State:
        """The figures as plain data (:mod:`.states`)."""
        return {
            "visitors": self.visitors,
            "converters": self.converters,
            "conversions": self.conversions,
            "revenue": amounts_state(self.revenue),
        }

    def restore(self, state: State) -> None:
        """Add the figures of ``state`` (as :meth:`state` gives them) to these."""
        self.visitors += count_of(state, "visitors")
        self.converters += count_of(state, "converters")
        self.conversions += count_of(state, "conversions")
        add_amounts(self.revenue, mapping_of(state, "revenue"))

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


class DimensionTallies:
    """Per dimension, value → tally, counted person by person."""

    # Visitors are first grouped by their whole profile (few distinct ones), and the
    # groups then spread over the dimensions: one dict update a visitor, not eight.
    def __init__(self, macro: list[str], rules: ChannelRules = DEFAULT_CHANNEL_RULES) -> None:
        self.macro = macro
        self.rules = rules
        self.profiles: dict[tuple[str | None, ...], Tally] = {}

    def add(self, visitor: VisitorSummary) -> None:
        """Count ``visitor`` under their profile."""
        first = visitor.first_touch or _NO_UTM
        last = visitor.last_touch or _NO_UTM
        source, medium, campaign = visitor.arrival or _DIRECT
        profile: tuple[str | None, ...] = (
            *first,
            *last,
            visitor.referrer,
            visitor.variant,
            channel(source, medium, campaign, self.rules),
            f"{source} / {medium}",
        )
        tally = self.profiles.get(profile)
        if tally is None:
            tally = self.profiles[profile] = Tally()
        tally.visitors += 1
        goals = visitor.goals
        conversions = 0
        for name in self.macro:
            hits = goals.get(name)
            if hits is not None:
                conversions += hits.count
                collect(tally.revenue, hits.revenue)
        if conversions:
            tally.converters += 1
            tally.conversions += conversions

    def state(self) -> State:
        """The counts as plain data (:mod:`.states`): a tally per profile."""
        return {"profiles": {key: tally.state() for key, tally in self.profiles.items()}}

    def restore(self, state: State) -> None:
        """Add the counts of ``state`` (as :meth:`state` gives them) to these."""
        _restore_tallies(self.profiles, mapping_of(state, "profiles"))

    def dimensions(self) -> list[dict[str, Tally]]:
        """Per dimension (see :data:`DIMENSIONS`), value → tally."""
        dimensions: list[dict[str, Tally]] = [{} for _ in range(DIMENSIONS)]
        for profile, tally in self.profiles.items():
            for values, key in zip(dimensions, profile, strict=True):
                label = NONE if key is None else key
                target = values.get(label)
                if target is None:
                    target = values[label] = Tally()
                target.add(tally)
        return dimensions


class VariantTallies:
    """Per experiment variant, its visitors and those who converted on one of ``goals``
    after their first exposure to it (a conversion before it says nothing of the
    variant): converters, their conversions of those goals and revenue. Visitors in no
    experiment are counted under ``(none)`` with all their conversions."""

    def __init__(self, goals: list[str]) -> None:
        self.goals = goals
        self.tallies: dict[str, Tally] = {}

    def add(self, visitor: VisitorSummary) -> None:
        """Count ``visitor`` under their variant."""
        key = NONE if visitor.variant is None else visitor.variant
        tally = self.tallies.get(key)
        if tally is None:
            tally = self.tallies[key] = Tally()
        tally.visitors += 1
        exposed = visitor.first_seen if visitor.exposed is None else visitor.exposed
        conversions = 0
        for name in self.goals:
            hits = visitor.goals.get(name)
            if hits is not None and (visitor.variant is None or hits.last >= exposed):
                conversions += hits.count
                collect(tally.revenue, hits.revenue)
        if conversions:
            tally.converters += 1
            tally.conversions += conversions

    def state(self) -> State:
        """The counts as plain data (:mod:`.states`): a tally per variant."""
        return {"tallies": {key: tally.state() for key, tally in self.tallies.items()}}

    def restore(self, state: State) -> None:
        """Add the counts of ``state`` (as :meth:`state` gives them) to these."""
        _restore_tallies(self.tallies, mapping_of(state, "tallies"))


def _restore_tallies(tallies: dict[K, Tally], state: dict[K, State]) -> None:
    """Add the tallies of ``state`` to ``tallies``, key by key."""
    for key, figures in state.items():
        tally = tallies.get(key)
        if tally is None:
            tally = tallies[key] = Tally()
        tally.restore(as_mapping(figures))
