"""Experiment variants against the control: rates, intervals and a z-test each."""

from __future__ import annotations

from ..stats import two_proportion_z_test, wilson_interval
from .common import money, ratio
from .model import VariantBreakdown, VariantRow
from .tallies import NONE, Tally

__all__ = ["variant_breakdown"]


def variant_breakdown(tallies: dict[str, Tally]) -> VariantBreakdown:
    """Variants, the control first, each tested against it."""
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
    return VariantBreakdown(control=control, rows=rows)
