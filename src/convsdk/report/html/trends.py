"""The trend section: visitors per period as columns, converters inside them, a table."""

from __future__ import annotations

from .. import formatting as fmt
from ..metrics import Attribution, Comparison, Segments, Trend
from .markup import cell_money, esc, svg, svg_text, table

__all__ = ["attribution_section", "comparison_section", "segments_section", "trend_section"]


def trend_section(trend: Trend, zone: str = "UTC") -> str:
    """A column chart of visitors and converters per period (days of ``zone``), and the
    table of figures."""
    points = trend.points
    rows = [
        [
            p.period,
            fmt.count(p.visitors),
            fmt.count(p.converters),
            fmt.percent(p.conversion_rate, 2),
            fmt.count(p.conversions),
            cell_money(p.revenue),
        ]
        for p in points
    ]
    headers = ["Period", "Visitors", "Converted", "Rate", "Conversions", "Revenue"]
    return (
        _chart(trend)
        + table(headers, rows)
        + '<p class="note">Visitors by the period of their first event, and their macro '
        f"conversions; days in {esc(zone)}.</p>"
    )


def _chart(trend: Trend) -> str:
    points = trend.points
    if not points:
        return ""
    width, base = 760, 170
    peak = max(p.visitors for p in points) or 1
    step = (width - 20) / len(points)
    bar = max(1.0, step * 0.7)
    parts = [f'<line class="axis" x1="10" y1="{base}" x2="{width - 10}" y2="{base}"/>']
    labels = max(1, len(points) // 12)  # at most a dozen labels under the axis
    for i, p in enumerate(points):
        x = 10 + i * step + (step - bar) / 2
        h = (base - 20) * p.visitors / peak
        c = (base - 20) * p.converters / peak
        parts.append(
            f'<rect class="bar" x="{x:.1f}" y="{base - h:.1f}" width="{bar:.1f}" height="{h:.1f}"/>'
        )
        parts.append(
            f'<rect class="bar2" x="{x:.1f}" y="{base - c:.1f}" width="{bar:.1f}" '
            f'height="{c:.1f}"/>'
        )
        if i % labels == 0:
            parts.append(svg_text(x + bar / 2, base + 16, p.period, anchor="middle", cls="muted"))
    title = f"Visitors (blue) and converters (green) by {trend.interval}"
    return f"<figure>{svg(width, base + 24, title, parts)}</figure>"


def comparison_section(comparison: Comparison, zone: str = "UTC") -> str:
    """The headline figures now and in the period before (its moments in ``zone``), with
    their changes."""
    rows = [fmt.change_row(change) for change in comparison.changes]
    before = fmt.period(comparison.since, comparison.until, zone)
    return (
        table(["", "Now", "Before", "Change", "Relative"], rows)
        + f'<p class="note">Before: {esc(before)}.</p>'
    )


def segments_section(segments: Segments) -> str:
    """Goals and funnels per group of visitors."""
    headers, rows = fmt.segment_table(segments)
    return (
        table(headers, rows)
        + '<p class="note">Goals: the share of the group\'s visitors who converted; '
        "done: the share who completed the funnel.</p>"
    )


def attribution_section(attribution: Attribution) -> str:
    """Macro conversions credited by each model, by channel and by source / medium."""
    parts = []
    for dimension, title in (("channel", "Channel"), ("source_medium", "Source / medium")):
        headers, rows = fmt.attribution_table(attribution, dimension)
        if rows:
            parts.append(f"<h3>{esc(title)}</h3>" + table(headers, rows))
    return "".join(parts) + (
        f'<p class="note">Arrivals up to a converter\'s first macro conversion, within '
        f"{attribution.lookback_days:g} days; time decay halves every "
        f"{attribution.half_life_days:g} days; position-based gives 40% to the first, 40% "
        "to the last, 20% to those between.</p>"
    )
