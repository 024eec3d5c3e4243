"""Experiment variants against the control: rates, intervals, a z-test each (Holm-adjusted
with more than one variant), the sample-ratio check and the minimum detectable effect."""

from __future__ import annotations

from dataclasses import replace

from ..stats import (
    holm,
    minimum_detectable_effect,
    sample_ratio_test,
    two_proportion_z_test,
    wilson_interval,
)
from .common import money, ratio
from .model import VariantBreakdown, VariantRow
from .tallies import NONE, Tally

__all__ = ["MISMATCH_P", "SIGNIFICANT_P", "variant_breakdown"]

#: A sample-ratio test below this says the split between variants is broken.
MISMATCH_P = 0.001
#: An adjusted p-value below this marks a variant's difference as significant.
SIGNIFICANT_P = 0.05


def variant_breakdown(tallies: dict[str, Tally], goal: str | None = None) -> VariantBreakdown:
    """Variants, the control first, each tested against it; ``goal`` names the goal the
    tallies count (``None``: any macro goal)."""
    names = sorted(name for name in tallies if name != NONE)
    control = None
    if names:
        control = next((n for n in names if n.lower() == "control"), names[0])
        names.remove(control)
        names.insert(0, control)
    if NONE in tallies:
        names.append(NONE)
    base = tallies[control] if control is not None else None
    base_rate = ratio(base.converters, base.visitors) if base is not None else None
    rows = []
    for name in names:
        t = tallies[name]
        rate = ratio(t.converters, t.visitors)
        interval = wilson_interval(t.converters, t.visitors)
        difference = lift = z = p_value = None
        if base is not None and name not in (control, NONE):
            if rate is not None and base_rate is not None:
                difference = rate - base_rate
                lift = ratio(rate, base_rate)
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
                revenue=money(t.revenue),
                difference=difference,
                lift=lift,
                z=z,
                p_value=p_value,
            )
        )
    return _checked(VariantBreakdown(control=control, rows=rows, goal=goal))


def _checked(breakdown: VariantBreakdown) -> VariantBreakdown:
    """``breakdown`` with Holm-adjusted p-values, the sample-ratio test and the MDE."""
    rows = breakdown.rows
    tested = [i for i, row in enumerate(rows) if row.p_value is not None]
    adjusted = holm([rows[i].p_value or 0.0 for i in tested])
    for i, p in zip(tested, adjusted, strict=True):
        rows[i] = replace(rows[i], p_adjusted=p, significant=p < SIGNIFICANT_P)
    arms = [row for row in rows if row.value != NONE]
    srm = sample_ratio_test([row.visitors for row in arms])
    mde = None
    if len(arms) > 1 and arms[0].conversion_rate is not None:
        smallest = min(row.visitors for row in arms[1:])
        mde = minimum_detectable_effect(arms[0].conversion_rate, arms[0].visitors, smallest)
    return replace(
        breakdown,
        srm_chi2=None if srm is None else srm[0],
        srm_p_value=None if srm is None else srm[1],
        srm_mismatch=srm is not None and srm[1] < MISMATCH_P,
        mde=mde,
    )
