"""Inline SVG charts: funnel bars, the lift forest plot, variant rates, a histogram."""

from __future__ import annotations

import math
from collections.abc import Sequence

from .. import formatting as fmt
from ..metrics import FunnelReport, LiftRow, TimeToConvert, VariantBreakdown
from ..metrics.tallies import NONE
from .markup import esc, svg, svg_text

__all__ = ["LIFT_ROWS", "funnel_chart", "histogram_chart", "lift_chart", "variant_chart"]

#: Pairs the lift chart shows at most.
LIFT_ROWS = 15


def funnel_chart(funnel: FunnelReport) -> str:
    """Horizontal bars, one a step, as wide as the share of step 1 that reached it."""
    width, label_w, row_h = 760, 190, 46
    bar_w = width - label_w - 150
    top = max((s.visitors for s in funnel.steps), default=0)
    parts = []
    for k, step in enumerate(funnel.steps):
        y = 8 + k * row_h
        w = bar_w * step.visitors / top if top else 0
        parts.append(svg_text(0, y + 19, f"{k + 1}. {step.goal}"))
        parts.append(
            f'<rect class="track" x="{label_w}" y="{y + 4}" width="{bar_w}" height="22" rx="3"/>'
        )
        if w:
            parts.append(
                f'<rect class="bar" x="{label_w}" y="{y + 4}" width="{w:.1f}" height="22" rx="3"/>'
            )
        parts.append(
            svg_text(
                label_w + bar_w + 8,
                y + 19,
                f"{fmt.count(step.visitors)} · {fmt.percent(step.conversion_overall)}",
            )
        )
        if step.drop_off is not None:
            parts.append(
                svg_text(
                    label_w,
                    y + 40,
                    f"↓ {fmt.percent(step.conversion_from_previous)} continued, "
                    f"{fmt.count(step.drop_off)} dropped off since the previous step",
                    cls="muted",
                )
            )
    height = 8 + len(funnel.steps) * row_h
    return svg(width, height, f"Funnel {funnel.name}", parts)


def _log_ticks(low: float, high: float) -> list[float]:
    """Powers of two from ``low`` to ``high`` (both powers of two), at most ten, 1 included."""
    first, last = round(math.log2(low)), round(math.log2(high))
    step = max(1, math.ceil((last - first + 1) / 10))
    return [2.0**e for e in range(first, last + 1) if e % step == 0]


def lift_chart(rows: Sequence[LiftRow]) -> str:
    """Forest plot: each pair's lift (dot) and 95 % interval (line), log scale, 1× marked.

    The axis is set by the finite lifts. A pair whose lift is infinite (nobody without
    the micro conversion converted) is not drawn, since its interval reaches as far as
    the data allows and would squeeze every other pair into a corner: such pairs are
    listed under the chart. A pair whose lift is zero (nobody with it converted) has
    its interval drawn and no dot (a log scale has no place for 0), and "0.00×".
    """
    apart = _listed_apart([r for r in rows if _infinite(r)][:LIFT_ROWS])
    shown = [r for r in rows if r.lift_ci_low and r.lift_ci_high and not _infinite(r)]
    shown = shown[:LIFT_ROWS]
    if not shown:
        return apart
    values: list[float] = []
    for r in shown:
        values.extend(v for v in (r.lift, r.lift_ci_low, r.lift_ci_high) if v)
    # Powers of two around the values, within 1/256× to 4096×: an interval reaching
    # further is drawn to the edge.
    low = max(2.0**-8, min(0.5, *values))
    high = min(2.0**12, max(2.0, *values))
    low, high = 2.0 ** math.floor(math.log2(low)), 2.0 ** math.ceil(math.log2(high))
    width, label_w, row_h = 760, 260, 24
    plot_w = width - label_w - 70
    height = 30 + len(shown) * row_h + 24

    def x(value: float) -> float:
        value = min(high, max(low, value))
        return label_w + plot_w * (math.log(value) - math.log(low)) / (
            math.log(high) - math.log(low)
        )

    parts = []
    bottom = 20 + len(shown) * row_h
    for tick in _log_ticks(low, high):
        tx = x(tick)
        parts.append(f'<line class="axis" x1="{tx:.1f}" y1="14" x2="{tx:.1f}" y2="{bottom}"/>')
        label = f"{tick:g}×" if tick >= 0.125 else f"1/{round(1 / tick)}×"
        parts.append(svg_text(tx, bottom + 16, label, anchor="middle", cls="muted"))
    one = x(1.0)
    parts.append(f'<line class="ref" x1="{one:.1f}" y1="10" x2="{one:.1f}" y2="{bottom}"/>')
    for i, row in enumerate(shown):
        y = 26 + i * row_h
        parts.append(svg_text(0, y + 4, f"{row.micro} → {row.macro}"))
        if row.lift_ci_low is not None and row.lift_ci_high is not None:
            parts.append(
                f'<line class="whisker" x1="{x(row.lift_ci_low):.1f}" y1="{y}" '
                f'x2="{x(row.lift_ci_high):.1f}" y2="{y}"/>'
            )
        if row.lift:
            parts.append(f'<circle class="dot" cx="{x(row.lift):.1f}" cy="{y}" r="5"/>')
        value = fmt.lift(row.lift, row.did.rate, row.did_not.rate)
        parts.append(svg_text(width - 4, y + 4, value, anchor="end"))
    return (
        svg(width, height, "Lift of each micro conversion on each macro conversion", parts) + apart
    )


def _listed_apart(infinite: Sequence[LiftRow]) -> str:
    """The note naming the pairs of infinite lift the chart leaves out ("" if none)."""
    if not infinite:
        return ""
    pairs = ", ".join(f"{r.micro} → {r.macro}" for r in infinite)
    return (
        '<p class="note">Not drawn, lift ∞× (every converter did the micro conversion '
        f"first): {esc(pairs)}.</p>"
    )


def _infinite(row: LiftRow) -> bool:
    return row.lift is None and bool(row.did.rate) and row.did_not.rate == 0


def variant_chart(variants: VariantBreakdown) -> str:
    """Each variant's macro conversion rate as a bar, with its 95 % interval: the control
    in one colour, the other variants in another, and visitors outside the experiment
    ("(none)") last, in grey."""
    rows = [r for r in variants.rows if r.conversion_rate is not None]
    if not rows:
        return ""
    width, label_w, row_h = 760, 160, 30
    plot_w = width - label_w - 90
    top = max(max(r.ci_high or 0.0, r.conversion_rate or 0.0) for r in rows) or 1.0
    parts = []
    for i, row in enumerate(rows):
        y = 6 + i * row_h
        rate = row.conversion_rate or 0.0
        parts.append(svg_text(0, y + 15, row.value))
        cls = "bar" if row.value == variants.control else "bar2"
        if row.value == NONE:
            cls = "bar0"
        if rate:
            parts.append(
                f'<rect class="{cls}" x="{label_w}" y="{y + 3}" '
                f'width="{plot_w * rate / top:.1f}" height="16" rx="2"/>'
            )
        if row.ci_low is not None and row.ci_high is not None:
            x1 = label_w + plot_w * row.ci_low / top
            x2 = label_w + plot_w * row.ci_high / top
            parts.append(
                f'<line class="whisker" x1="{x1:.1f}" y1="{y + 11}" x2="{x2:.1f}" y2="{y + 11}"/>'
            )
        parts.append(svg_text(width - 4, y + 15, fmt.percent(rate, 2), anchor="end"))
    return svg(width, 12 + len(rows) * row_h, "Conversion rate by variant", parts)


def histogram_chart(ttc: TimeToConvert) -> str:
    """Visitors per time-to-convert bucket, as columns."""
    buckets = ttc.histogram
    if not buckets:
        return ""
    width, height, base = 760, 230, 180
    col_w = (width - 20) / len(buckets)
    peak = max(b.visitors for b in buckets) or 1
    parts = [f'<line class="axis" x1="10" y1="{base}" x2="{width - 10}" y2="{base}"/>']
    for i, bucket in enumerate(buckets):
        h = (base - 24) * bucket.visitors / peak
        x = 10 + i * col_w
        if h:
            parts.append(
                f'<rect class="bar" x="{x + 6:.1f}" y="{base - h:.1f}" '
                f'width="{col_w - 12:.1f}" height="{h:.1f}" rx="2"/>'
            )
        parts.append(
            svg_text(x + col_w / 2, base - h - 5, fmt.count(bucket.visitors), anchor="middle")
        )
        parts.append(svg_text(x + col_w / 2, base + 16, bucket.label, anchor="middle", cls="muted"))
    return svg(width, height, "Time from first visit to first macro conversion", parts)
