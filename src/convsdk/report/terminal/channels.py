"""The breakdown, experiment variant and time-to-convert tables."""

from __future__ import annotations

from .. import formatting as fmt
from ..metrics import BreakdownRow, Report
from .table import Table
from .text import cell_money, one_line

__all__ = ["breakdown_table", "time_to_convert_table", "variants_table"]


def breakdown_table(title: str, groups: dict[str, list[BreakdownRow]], top: int) -> Table:
    """One dimension's rows under ``title``."""
    table = Table(
        title,
        [
            ("", "left"),
            ("Value", "left"),
            ("Visitors", "right"),
            ("Converted", "right"),
            ("Rate", "right"),
            ("Revenue", "right"),
        ],
    )
    hidden = 0
    for dimension, rows in groups.items():
        for i, row in enumerate(rows[:top]):
            table.rows.append(
                [
                    dimension if i == 0 else "",
                    one_line(row.value),
                    fmt.count(row.visitors),
                    fmt.count(row.converters),
                    fmt.percent(row.conversion_rate, 2),
                    cell_money(row.revenue),
                ]
            )
        hidden += max(0, len(rows) - top)
    note = "converted: visitors with a macro conversion"
    if hidden:
        note += f"; {hidden} more rows in the JSON and HTML reports"
    table.note = note
    return table


def variants_table(report: Report) -> Table | None:
    """The variants against the control; ``None`` when no event had one."""
    variants = report.breakdowns.variant
    if variants.control is None:
        return None
    table = Table(
        "Experiment variants",
        [
            ("Variant", "left"),
            ("Visitors", "right"),
            ("Converted", "right"),
            ("Rate (95% CI)", "right"),
            ("vs control", "right"),
            ("p-value", "right"),
            ("", "left"),
            ("Revenue", "right"),
        ],
    )
    for row in variants.rows:
        rate = fmt.percent(row.conversion_rate, 2)
        if row.ci_low is not None and row.ci_high is not None:
            rate += f" ({fmt.percent(row.ci_low)}–{fmt.percent(row.ci_high)})"
        if row.value == variants.control:
            versus = "control"
        elif row.difference is None:
            versus = ""
        else:
            versus = f"{row.difference * 100:+.2f} pt"
        table.rows.append(
            [
                one_line(row.value),
                fmt.count(row.visitors),
                fmt.count(row.converters),
                rate,
                versus,
                "" if row.p_adjusted is None else f"{row.p_adjusted:.4f}",
                "significant" if row.significant else "",
                cell_money(row.revenue),
            ]
        )
    table.note = fmt.experiment_note(variants)
    return table


def time_to_convert_table(report: Report) -> Table:
    """The time-to-convert histogram as bars of text."""
    ttc = report.time_to_convert
    table = Table("Time to convert", [("", "left"), ("Visitors", "right"), ("", "left")])
    peak = max((b.visitors for b in ttc.histogram), default=0)
    for bucket in ttc.histogram:
        bar = "█" * round(30 * bucket.visitors / peak) if peak else ""
        table.rows.append([bucket.label, fmt.count(bucket.visitors), bar])
    table.note = (
        f"first event → first macro conversion: median {fmt.duration(ttc.timing.median)}, "
        f"p90 {fmt.duration(ttc.timing.p90)}, over {fmt.count(ttc.timing.count)} visitors"
    )
    return table
