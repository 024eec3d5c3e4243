"""Macro conversions by first- and last-touch UTM, referrer domain, variant, and the
channel and source / medium of the first arrival."""

from __future__ import annotations

from ..channels import DEFAULT_CHANNEL_RULES, ChannelRules
from ..dataset import Dataset, VisitorSummary
from .common import fold, money, ratio
from .model import BreakdownRow, Breakdowns
from .tallies import NONE, DimensionTallies, Tally, VariantTallies
from .variants import variant_breakdown

__all__ = ["BreakdownCounts", "breakdowns"]


def _rows(tallies: dict[str, Tally]) -> list[BreakdownRow]:
    rows = [
        BreakdownRow(
            value=key,
            visitors=t.visitors,
            converters=t.converters,
            conversions=t.conversions,
            conversion_rate=ratio(t.converters, t.visitors),
            revenue=money(t.revenue),
        )
        for key, t in tallies.items()
    ]
    rows.sort(key=lambda r: (-r.visitors, r.value == NONE, r.value))
    return rows


class BreakdownCounts:
    """Counts people by each breakdown dimension and by experiment variant."""

    def __init__(
        self,
        macro: list[str],
        experiment_goal: str | None = None,
        rules: ChannelRules = DEFAULT_CHANNEL_RULES,
    ) -> None:
        self.experiment_goal = experiment_goal
        self.dimensions = DimensionTallies(macro, rules)
        self.variants = VariantTallies(macro if experiment_goal is None else [experiment_goal])

    def add(self, visitor: VisitorSummary) -> None:
        """Count ``visitor``."""
        self.dimensions.add(visitor)
        self.variants.add(visitor)

    def breakdowns(self) -> Breakdowns:
        """The breakdowns of the people counted."""
        dims = ("source", "medium", "campaign")
        tallies = self.dimensions.dimensions()
        return Breakdowns(
            first_touch={dim: _rows(tallies[i]) for i, dim in enumerate(dims)},
            last_touch={dim: _rows(tallies[3 + i]) for i, dim in enumerate(dims)},
            referrer=_rows(tallies[6]),
            variant=variant_breakdown(self.variants.tallies, self.experiment_goal),
            channel=_rows(tallies[8]),
            source_medium=_rows(tallies[9]),
        )


def breakdowns(
    dataset: Dataset,
    macro: list[str],
    experiment_goal: str | None = None,
    rules: ChannelRules = DEFAULT_CHANNEL_RULES,
) -> Breakdowns:
    """Macro conversions by first/last-touch UTM, referrer domain and variant (the
    variants compared on ``experiment_goal`` when one is named)."""
    counts = BreakdownCounts(macro, experiment_goal, rules)
    fold(dataset.visitors, counts)
    return counts.breakdowns()
