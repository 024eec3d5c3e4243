"""Macro conversions by first- and last-touch UTM, referrer domain, variant, and the
channel and source / medium of the first arrival."""

from __future__ import annotations

from ..channels import DEFAULT_CHANNEL_RULES, ChannelRules
from ..dataset import Dataset
from .common import money, ratio
from .model import BreakdownRow, Breakdowns
from .tallies import NONE, Tally, tally_dimensions, tally_variants
from .variants import variant_breakdown

__all__ = ["breakdowns"]


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


def breakdowns(
    dataset: Dataset,
    macro: list[str],
    experiment_goal: str | None = None,
    rules: ChannelRules = DEFAULT_CHANNEL_RULES,
) -> Breakdowns:
    """Macro conversions by first/last-touch UTM, referrer domain and variant (the
    variants compared on ``experiment_goal`` when one is named)."""
    dims = ("source", "medium", "campaign")
    tallies = tally_dimensions(dataset, macro, rules)
    variants = tally_variants(dataset, macro if experiment_goal is None else [experiment_goal])
    return Breakdowns(
        first_touch={dim: _rows(tallies[i]) for i, dim in enumerate(dims)},
        last_touch={dim: _rows(tallies[3 + i]) for i, dim in enumerate(dims)},
        referrer=_rows(tallies[6]),
        variant=variant_breakdown(variants, experiment_goal),
        channel=_rows(tallies[8]),
        source_medium=_rows(tallies[9]),
    )
