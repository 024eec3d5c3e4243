"""Every table of the terminal report, in order, each string made safe to print."""

from __future__ import annotations

from ..metrics import Report
from .analysis import funnel_tables, lift_table
from .channels import breakdown_table, time_to_convert_table, variants_table
from .overview import goals_table, summary_table
from .table import Table
from .text import safe_text
from .trends import attribution_table, comparison_table, segments_table, trend_table

__all__ = ["tables"]


def tables(report: Report, *, top: int = 10) -> list[Table]:
    """Every table of the terminal report, in order."""
    result = [summary_table(report), goals_table(report), *funnel_tables(report)]
    compared = comparison_table(report)
    if compared is not None:
        result.insert(1, compared)
    by = segments_table(report, top)
    if by is not None:
        result.append(by)
    trend = trend_table(report)
    if trend is not None:
        result.append(trend)
    if report.lift:
        result.append(lift_table(report, top))
    credit = attribution_table(report, top)
    b = report.breakdowns
    arrival = {"channel": b.channel, "source / medium": b.source_medium}
    result.append(breakdown_table("First arrival", arrival, top))
    if credit is not None:
        result.append(credit)
    result.append(breakdown_table("First UTM-tagged visit", b.first_touch, top))
    result.append(breakdown_table("Last UTM-tagged visit before buying", b.last_touch, top))
    result.append(breakdown_table("Referrer of the first visit", {"domain": b.referrer}, top))
    variants = variants_table(report)
    if variants is not None:
        result.append(variants)
    if report.time_to_convert.timing.count:
        result.append(time_to_convert_table(report))
    # An empty table says nothing the summary does not (no events, no goals yet).
    shown = [result[0], *(t for t in result[1:] if t.rows)]
    for table in shown:
        # Goal, stage and funnel names, currencies: any stored string may hold escapes.
        table.title = safe_text(table.title)
        table.rows = [[safe_text(cell) for cell in row] for row in table.rows]
        if table.note is not None:
            table.note = safe_text(table.note)
    return shown
