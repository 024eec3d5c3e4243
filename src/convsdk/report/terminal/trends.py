"""The trend table (one row per day, week or month) and the comparison with the
period before."""

from __future__ import annotations

from typing import Literal

from .. import formatting as fmt
from ..metrics import Report
from .table import Table
from .text import cell_money

__all__ = ["attribution_table", "comparison_table", "segments_table", "trend_table"]


def trend_table(report: Report) -> Table | None:
    """Visitors, converters, rate and revenue per period; ``None`` without a trend."""
    trend = report.trend
    if trend is None:
        return None
    table = Table(
        f"Trend by {trend.interval}",
        [
            ("Period", "left"),
            ("Visitors", "right"),
            ("Converted", "right"),
            ("Rate", "right"),
            ("Conversions", "right"),
            ("Revenue", "right"),
        ],
    )
    for point in trend.points:
        table.rows.append(
            [
                point.period,
                fmt.count(point.visitors),
                fmt.count(point.converters),
                fmt.percent(point.conversion_rate, 2),
                fmt.count(point.conversions),
                cell_money(point.revenue),
            ]
        )
    table.note = (
        "visitors by the period of their first event; their macro conversions; "
        f"days in {report.meta.timezone}"
    )
    return table


def comparison_table(report: Report) -> Table | None:
    """The headline figures against the period before; ``None`` without a comparison."""
    comparison = report.comparison
    if comparison is None:
        return None
    table = Table(
        "Compared with the period before",
        [("", "left"), ("Now", "right"), ("Before", "right"), ("Change", "right"), ("", "right")],
    )
    table.rows = [fmt.change_row(change) for change in comparison.changes]
    table.note = f"before: {fmt.period(comparison.since, comparison.until, report.meta.timezone)}"
    return table


def segments_table(report: Report, top: int) -> Table | None:
    """Goals and funnels per group of visitors; ``None`` without ``by``."""
    segments = report.segments
    if segments is None:
        return None
    headers, rows = fmt.segment_table(segments)
    by = segments.by.replace("_", " ")
    table = Table(
        f"Goals by {by}", [(h, "left" if i == 0 else "right") for i, h in enumerate(headers)]
    )
    table.rows = rows[:top]
    note = "goal: share of the group's visitors who converted; done: funnel completion"
    if len(rows) > top:
        note += f"; {len(rows) - top} more groups in the JSON and HTML reports"
    table.note = note
    return table


def attribution_table(report: Report, top: int) -> Table | None:
    """Macro conversions credited to each channel by each model; ``None`` without any."""
    attribution = report.attribution
    if attribution is None or not attribution.models["last"].get("channel"):
        return None
    headers, rows = fmt.attribution_table(attribution)
    table = Table("Attribution of macro conversions by channel", _columns(headers))
    table.rows = rows[:top]
    table.note = (
        f"arrivals up to a converter's first macro conversion, within "
        f"{attribution.lookback_days:g} days; time decay halves every "
        f"{attribution.half_life_days:g} days; position: 40/20/40"
    )
    return table


def _columns(headers: list[str]) -> list[tuple[str, Literal["left", "right"]]]:
    """The first column left-aligned (names), the others right-aligned (figures)."""
    return [(h, "left" if i == 0 else "right") for i, h in enumerate(headers)]
