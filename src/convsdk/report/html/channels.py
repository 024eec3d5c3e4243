"""The channel breakdown tables and the experiment variants section."""

from __future__ import annotations

from collections.abc import Sequence

from .. import formatting as fmt
from ..metrics import BreakdownRow, VariantBreakdown
from .charts import variant_chart
from .markup import cell_money, esc, table

__all__ = ["breakdown_table", "variants_section"]


def breakdown_table(title: str, rows: Sequence[BreakdownRow]) -> str:
    """One dimension's rows under ``title``."""
    body = [
        [
            r.value,
            fmt.count(r.visitors),
            fmt.count(r.converters),
            fmt.count(r.conversions),
            fmt.percent(r.conversion_rate, 2),
            cell_money(r.revenue),
        ]
        for r in rows
    ]
    headers = ["Value", "Visitors", "Converted", "Conversions", "Rate", "Revenue"]
    return f"<div><h3>{esc(title)}</h3>{table(headers, body)}</div>"


def variants_section(variants: VariantBreakdown) -> str:
    """Variant rates with their intervals, and each variant against the control."""
    if variants.control is None:
        return '<p class="note">No event carried an experiment variant.</p>'
    rows = []
    for r in variants.rows:
        ci = (
            f"{fmt.percent(r.ci_low)}–{fmt.percent(r.ci_high)}"
            if r.ci_low is not None and r.ci_high is not None
            else "–"
        )
        if r.value == variants.control:
            versus, lift, p = "control", "", ""
        else:
            versus = "" if r.difference is None else f"{r.difference * 100:+.2f} pt"
            lift = fmt.ratio(r.lift) if r.lift is not None else ""
            p = "" if r.p_adjusted is None else f"{r.p_adjusted:.4f}"
        rows.append(
            [
                r.value,
                fmt.count(r.visitors),
                fmt.count(r.converters),
                fmt.percent(r.conversion_rate, 2),
                ci,
                versus,
                lift,
                p,
                "significant" if r.significant else "",
                cell_money(r.revenue),
            ]
        )
    headers = [
        "Variant",
        "Visitors",
        "Converted",
        "Rate",
        "95% CI",
        "vs control",
        "Lift",
        "p-value",
        "",
        "Revenue",
    ]
    chart = variant_chart(variants)
    return (
        (f"<figure>{chart}</figure>" if chart else "")
        + table(headers, rows)
        + f'<p class="note">{esc(fmt.experiment_note(variants))}.</p>'
    )
