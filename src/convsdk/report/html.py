"""The report as one self-contained HTML file: inline CSS, inline SVG charts, no script.

>>> Path("report.html").write_text(render_html(report), encoding="utf-8")

The page loads nothing from anywhere (no fonts, scripts, images or style sheets), so it
can be mailed, archived or opened offline, and it shows the same figures as the JSON
output: summary cards, goals, each funnel (bars and table), the micro → macro lift
ranking (a forest plot of lifts with their 95 % intervals, on a log scale), experiment
variants (rates with intervals), channel breakdowns and a time-to-convert histogram.
Light and dark themes follow the reader's system setting.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from html import escape

from . import formatting as fmt
from .metrics import BreakdownRow, FunnelReport, LiftRow, Report, TimeToConvert, VariantBreakdown

__all__ = ["render_html"]

_CSS = """
:root { --fg: #1d2330; --muted: #5f6b7a; --bg: #ffffff; --panel: #f5f7fa; --line: #dde3ea;
  --accent: #2f6fde; --accent2: #17a398; --warn: #d9822b; --bad: #c8443b; }
@media (prefers-color-scheme: dark) {
  :root { --fg: #e6e9ee; --muted: #9aa5b4; --bg: #14171c; --panel: #1d222a; --line: #2e3540;
    --accent: #6b9cf0; --accent2: #3cc4b4; --warn: #f0a656; --bad: #ef6f66; }
}
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg);
  font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
main { max-width: 1080px; margin: 0 auto; padding: 24px 20px 64px; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 19px; margin: 40px 0 8px; padding-bottom: 4px;
  border-bottom: 1px solid var(--line); }
h3 { font-size: 15px; margin: 22px 0 6px; }
p.meta, p.note, figcaption { color: var(--muted); font-size: 13px; margin: 4px 0 10px; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(170px, 1fr)); gap: 12px;
  margin-top: 18px; }
.card { background: var(--panel); border: 1px solid var(--line); border-radius: 8px;
  padding: 12px 14px; }
.card .label { color: var(--muted); font-size: 12px; text-transform: uppercase;
  letter-spacing: .04em; }
.card .value { font-size: 22px; font-weight: 600; margin-top: 2px; }
.card .value.small { font-size: 17px; }
.card .sub { color: var(--muted); font-size: 12px; }
table { border-collapse: collapse; width: 100%; font-size: 13.5px; margin: 6px 0 4px; }
th, td { padding: 5px 8px; border-bottom: 1px solid var(--line); text-align: right;
  white-space: nowrap; }
th { font-weight: 600; color: var(--muted); font-size: 12px; }
th:first-child, td:first-child, td.l, th.l { text-align: left; }
tr.dim td { color: var(--muted); font-style: italic; }
.scroll { overflow-x: auto; }
.grid2 { display: grid; grid-template-columns: repeat(auto-fit, minmax(420px, 1fr));
  gap: 8px 28px; }
figure { margin: 10px 0 6px; }
svg { max-width: 100%; height: auto; display: block; }
svg text { fill: var(--fg); font: 12px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
svg text.muted { fill: var(--muted); font-size: 11px; }
svg .bar { fill: var(--accent); }
svg .bar2 { fill: var(--accent2); }
svg .track { fill: var(--panel); stroke: var(--line); }
svg .axis { stroke: var(--line); }
svg .ref { stroke: var(--warn); stroke-dasharray: 4 3; }
svg .whisker { stroke: var(--fg); stroke-width: 1.5; }
svg .dot { fill: var(--accent); stroke: var(--bg); stroke-width: 1.5; }
.sig { color: var(--accent2); font-weight: 600; }
dl { font-size: 13px; color: var(--muted); }
dt { font-weight: 600; color: var(--fg); margin-top: 8px; }
dd { margin: 2px 0 0 0; }
"""

_LIFT_ROWS = 15


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def _lines(value: str) -> str:
    """Escaped text, each ``\\n`` a line break (one amount per currency a line)."""
    return "<br>".join(_e(line) for line in value.split("\n"))


def _money(amounts: dict[str, float], digits: int = 2) -> str:
    return fmt.money(amounts, digits).replace(" · ", "\n")


def _table(
    headers: Sequence[str], rows: Iterable[Sequence[str]], *, dim: Iterable[int] = ()
) -> str:
    dimmed = set(dim)
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = []
    for i, row in enumerate(rows):
        cls = ' class="dim"' if i in dimmed else ""
        body.append(f"<tr{cls}>" + "".join(f"<td>{_lines(c)}</td>" for c in row) + "</tr>")
    return (
        f'<div class="scroll"><table><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )


def _card(label: str, value: str, sub: str = "") -> str:
    extra = f'<div class="sub">{_e(sub)}</div>' if sub else ""
    size = " small" if "\n" in value else ""
    return (
        f'<div class="card"><div class="label">{_e(label)}</div>'
        f'<div class="value{size}">{_lines(value)}</div>{extra}</div>'
    )


def _svg(width: int, height: int, title: str, body: Iterable[str]) -> str:
    # No xmlns: inline SVG in HTML needs none, and the page then holds no URL at all.
    return (
        f'<svg viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'role="img" aria-label="{_e(title)}"><title>{_e(title)}</title>{"".join(body)}</svg>'
    )


def _text(x: float, y: float, text: str, *, anchor: str = "start", cls: str = "") -> str:
    klass = f' class="{cls}"' if cls else ""
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}"{klass}>{_e(text)}</text>'


# -- charts --------------------------------------------------------------------------


def funnel_chart(funnel: FunnelReport) -> str:
    """Horizontal bars, one a step, as wide as the share of step 1 that reached it."""
    width, label_w, row_h = 760, 190, 46
    bar_w = width - label_w - 150
    top = max((s.visitors for s in funnel.steps), default=0)
    parts = []
    for k, step in enumerate(funnel.steps):
        y = 8 + k * row_h
        w = bar_w * step.visitors / top if top else 0
        parts.append(_text(0, y + 19, f"{k + 1}. {step.goal}"))
        parts.append(
            f'<rect class="track" x="{label_w}" y="{y + 4}" width="{bar_w}" height="22" rx="3"/>'
        )
        if w:
            parts.append(
                f'<rect class="bar" x="{label_w}" y="{y + 4}" width="{w:.1f}" height="22" rx="3"/>'
            )
        parts.append(
            _text(
                label_w + bar_w + 8,
                y + 19,
                f"{fmt.count(step.visitors)} · {fmt.percent(step.conversion_overall)}",
            )
        )
        if step.drop_off is not None:
            parts.append(
                _text(
                    label_w,
                    y + 40,
                    f"↓ {fmt.percent(step.conversion_from_previous)} continued, "
                    f"{fmt.count(step.drop_off)} dropped off since the previous step",
                    cls="muted",
                )
            )
    height = 8 + len(funnel.steps) * row_h
    return _svg(width, height, f"Funnel {funnel.name}", parts)


def _log_ticks(low: float, high: float) -> list[float]:
    """Powers of two from ``low`` to ``high`` (both powers of two), at most ten, 1 included."""
    first, last = round(math.log2(low)), round(math.log2(high))
    step = max(1, math.ceil((last - first + 1) / 10))
    return [2.0**e for e in range(first, last + 1) if e % step == 0]


def lift_chart(rows: Sequence[LiftRow]) -> str:
    """Forest plot: each pair's lift (dot) and 95 % interval (line), log scale, 1× marked.

    A pair whose lift is infinite (nobody without the micro conversion converted) or
    zero (nobody with it converted) has its interval drawn, no dot (a log scale has no
    place for either), and "∞×" or "0.00×" for a value.
    """
    shown = [r for r in rows if r.lift_ci_low and r.lift_ci_high][:_LIFT_ROWS]
    if not shown:
        return ""
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
        parts.append(_text(tx, bottom + 16, label, anchor="middle", cls="muted"))
    one = x(1.0)
    parts.append(f'<line class="ref" x1="{one:.1f}" y1="10" x2="{one:.1f}" y2="{bottom}"/>')
    for i, row in enumerate(shown):
        y = 26 + i * row_h
        parts.append(_text(0, y + 4, f"{row.micro} → {row.macro}"))
        if row.lift_ci_low is not None and row.lift_ci_high is not None:
            parts.append(
                f'<line class="whisker" x1="{x(row.lift_ci_low):.1f}" y1="{y}" '
                f'x2="{x(row.lift_ci_high):.1f}" y2="{y}"/>'
            )
        if row.lift:
            parts.append(f'<circle class="dot" cx="{x(row.lift):.1f}" cy="{y}" r="5"/>')
        value = fmt.lift(row.lift, row.did.rate, row.did_not.rate)
        parts.append(_text(width - 4, y + 4, value, anchor="end"))
    return _svg(width, height, "Lift of each micro conversion on each macro conversion", parts)


def variant_chart(variants: VariantBreakdown) -> str:
    """Each variant's macro conversion rate as a bar, with its 95 % interval."""
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
        parts.append(_text(0, y + 15, row.value))
        cls = "bar" if row.value == variants.control else "bar2"
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
        parts.append(_text(width - 4, y + 15, fmt.percent(rate, 2), anchor="end"))
    return _svg(width, 12 + len(rows) * row_h, "Conversion rate by variant", parts)


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
            _text(x + col_w / 2, base - h - 5, fmt.count(bucket.visitors), anchor="middle")
        )
        parts.append(_text(x + col_w / 2, base + 16, bucket.label, anchor="middle", cls="muted"))
    return _svg(width, height, "Time from first visit to first macro conversion", parts)


# -- sections ------------------------------------------------------------------------


def _summary(report: Report) -> str:
    s = report.summary
    cards = [
        _card("Visitors", fmt.count(s.visitors), f"{fmt.count(s.events)} events"),
        _card(
            "Converted",
            fmt.percent(s.conversion_rate, 2),
            f"{fmt.count(s.converters)} visitors with a macro conversion",
        ),
        _card("Revenue", _money(s.revenue), "of macro goals"),
        _card("Revenue per visitor", _money(s.revenue_per_visitor, 4)),
        _card(
            "Micro converters",
            fmt.count(s.micro_converters),
            "visitors with a micro conversion",
        ),
        _card(
            "Anonymous",
            fmt.count(s.anonymous.events),
            f"events without a visitor id, {fmt.count(s.anonymous.conversions)} conversions",
        ),
    ]
    return f'<div class="cards">{"".join(cards)}</div>'


def _goals(report: Report) -> str:
    rows = []
    anonymous = 0
    anonymous_revenue: dict[str, float] = {}
    for g in report.goals:
        rows.append(
            [
                g.goal + ("" if g.defined else " *"),
                g.kind,
                g.stage or "",
                g.role or "",
                fmt.count(g.conversions),
                fmt.count(g.visitors),
                fmt.percent(g.conversion_rate, 2),
                _money(g.revenue),
                _money(g.revenue_per_visitor, 4),
                fmt.duration(g.time_to_convert.median),
                fmt.duration(g.time_to_convert.p90),
            ]
        )
        anonymous += g.anonymous_conversions
        for currency, amount in g.anonymous_revenue.items():
            anonymous_revenue[currency] = anonymous_revenue.get(currency, 0.0) + amount
    dim = []
    if anonymous:
        dim.append(len(rows))
        money = _money(dict(sorted(anonymous_revenue.items())))
        rows.append(["(anonymous)", "", "", "", fmt.count(anonymous), "–", "–", money] + ["–"] * 3)
    headers = [
        "Goal",
        "Kind",
        "Stage",
        "Role",
        "Conversions",
        "Visitors",
        "Rate",
        "Revenue",
        "Per visitor",
        "Time to convert (median)",
        "(p90)",
    ]
    note = (
        "Rate: converting visitors of all visitors. Time to convert: from a visitor's first "
        "event to their first conversion of the goal."
    )
    if any(not g.defined for g in report.goals):
        note += " * seen in the events, not defined in the goal file."
    return _table(headers, rows, dim=dim) + f'<p class="note">{_e(note)}</p>'


def _funnel(funnel: FunnelReport) -> str:
    rows = []
    for k, step in enumerate(funnel.steps, 1):
        later = k > 1
        rows.append(
            [
                f"{k}. {step.goal}",
                fmt.count(step.visitors),
                fmt.percent(step.conversion_from_previous) if later else "",
                fmt.percent(step.conversion_overall),
                fmt.count(step.drop_off) if later else "",
                fmt.percent(step.drop_off_rate) if later else "",
                fmt.duration(step.time_from_previous.median) if later else "",
                fmt.duration(step.time_from_previous.p90) if later else "",
                fmt.duration(step.time_from_first.median) if later else "",
                fmt.duration(step.time_from_first.p90) if later else "",
            ]
        )
    headers = [
        "Step",
        "Visitors",
        "From previous",
        "Overall",
        "Drop-off",
        "Drop-off %",
        "From previous: median",
        "p90",
        "From first: median",
        "p90",
    ]
    return (
        f"<h3>{_e(funnel.name)} <small>(within {_e(fmt.window(funnel.window_seconds))})</small>"
        f"</h3><figure>{funnel_chart(funnel)}</figure>"
        + _table(headers, rows)
        + f'<p class="note">{_e(fmt.count(funnel.completed))} completed, '
        f"{_e(fmt.percent(funnel.completion_rate))} of those who started.</p>"
    )


def _lift(report: Report) -> str:
    rows = []
    for r in report.lift:
        ci = (
            f"{r.lift_ci_low:.2f}–{r.lift_ci_high:.2f}"
            if r.lift_ci_low is not None and r.lift_ci_high is not None
            else "–"
        )
        rows.append(
            [
                r.micro,
                r.macro,
                fmt.percent(r.did.rate, 2),
                fmt.count(r.did.visitors),
                fmt.percent(r.did_not.rate, 2),
                fmt.count(r.did_not.visitors),
                fmt.lift(r.lift, r.did.rate, r.did_not.rate),
                ci,
                fmt.duration(r.lag.median),
                fmt.duration(r.lag.p90),
            ]
        )
    headers = [
        "Micro",
        "Macro",
        "Did it: rate",
        "visitors",
        "Did not: rate",
        "visitors",
        "Lift",
        "95% CI",
        "Lag (median)",
        "(p90)",
    ]
    chart = lift_chart(report.lift)
    figure = (
        f"<figure>{chart}<figcaption>Dots: lift; lines: 95% interval (Katz); dashed: no "
        "effect (1×); ∞: nobody else converted. Log scale.</figcaption></figure>"
        if chart
        else ""
    )
    note = (
        "Visitors who did the micro conversion before their first macro conversion (or did it "
        "and never converted) against everyone else. Ranked by the lower bound of the lift's "
        "interval: the first rows are the surest predictors. ∞×: nobody converted without it, "
        "a step every converter took (starting the checkout) rather than a sign of intent; "
        "these come after the others. Lag: from the first micro to the first macro conversion."
    )
    return figure + _table(headers, rows) + f'<p class="note">{_e(note)}</p>'


def _breakdown_table(title: str, rows: Sequence[BreakdownRow]) -> str:
    body = [
        [
            r.value,
            fmt.count(r.visitors),
            fmt.count(r.converters),
            fmt.count(r.conversions),
            fmt.percent(r.conversion_rate, 2),
            _money(r.revenue),
        ]
        for r in rows
    ]
    headers = ["Value", "Visitors", "Converted", "Conversions", "Rate", "Revenue"]
    return f"<div><h3>{_e(title)}</h3>{_table(headers, body)}</div>"


def _variants(variants: VariantBreakdown) -> str:
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
            p = "" if r.p_value is None else f"{r.p_value:.4f}"
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
                _money(r.revenue),
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
        "Revenue",
    ]
    chart = variant_chart(variants)
    return (
        (f"<figure>{chart}</figure>" if chart else "")
        + _table(headers, rows)
        + '<p class="note">Two-sided pooled z-test of each variant\'s macro conversion rate '
        "against the control; p &lt; 0.05 is the usual bar for a real difference.</p>"
    )


_DEFINITIONS = (
    (
        "Visitor",
        "A distinct visitor id with at least one event in the period. Anonymous "
        "events (Do-Not-Track, Global Privacy Control) are counted apart, never in a rate.",
    ),
    (
        "Micro / macro conversion",
        "Micro: a step towards the goal or a sign of intent "
        "(viewing pricing, a newsletter signup). Macro: the goal itself (a purchase, a signup).",
    ),
    (
        "Funnel",
        "A visitor reaches a step after doing every earlier step in order, each at or "
        "after the previous one, all within the funnel's window of the first step.",
    ),
    (
        "Lift",
        "How many times more often visitors who did a micro conversion went on to the "
        "macro one than visitors who did not.",
    ),
    ("Revenue", "Sum of conversion values per currency; a repeated transaction id counts once."),
)


def render_html(report: Report, *, title: str = "Conversion report") -> str:
    """The whole report as a self-contained HTML document (a string)."""
    meta = report.meta
    s = report.summary
    first, last = (s.first_event or "–")[:16], (s.last_event or "–")[:16]
    period = f"{first.replace('T', ' ')} → {last.replace('T', ' ')} UTC"
    described = [f"Source: {meta.source}" if meta.source else "", f"Events: {period}"]
    if meta.goals_file:
        described.append(f"Goals: {meta.goals_file}")
    if meta.generated_at:
        described.append(f"Generated {meta.generated_at}")
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body><main>",
        f"<h1>{_e(title)}</h1>",
        f'<p class="meta">{_e(" · ".join(d for d in described if d))}</p>',
        _summary(report),
        '<h2 id="goals">Goals</h2>',
        _goals(report),
    ]
    if report.funnels:
        parts.append('<h2 id="funnels">Funnels</h2>')
        parts.extend(_funnel(f) for f in report.funnels)
    parts.append('<h2 id="lift">Which micro conversions predict a macro conversion</h2>')
    parts.append(
        _lift(report) if report.lift else '<p class="note">No micro and macro goals to pair.</p>'
    )
    parts.append('<h2 id="variants">Experiment variants</h2>')
    parts.append(_variants(report.breakdowns.variant))
    b = report.breakdowns
    parts.append('<h2 id="channels">Channels</h2><div class="grid2">')
    for touch, groups in (("First touch", b.first_touch), ("Last touch", b.last_touch)):
        for dimension, rows in groups.items():
            parts.append(_breakdown_table(f"{touch}: UTM {dimension}", rows))
    parts.append(_breakdown_table("Referrer domain (first touch)", b.referrer))
    parts.append("</div>")
    ttc = report.time_to_convert
    parts.append('<h2 id="time">Time to convert</h2>')
    if ttc.timing.count:
        parts.append(
            f"<figure>{histogram_chart(ttc)}<figcaption>From a visitor's first event to their "
            f"first macro conversion: median {_e(fmt.duration(ttc.timing.median))}, p90 "
            f"{_e(fmt.duration(ttc.timing.p90))}, over {_e(fmt.count(ttc.timing.count))} "
            "visitors.</figcaption></figure>"
        )
    else:
        parts.append('<p class="note">No macro conversion in this period.</p>')
    parts.append('<h2 id="definitions">Definitions</h2><dl>')
    for term, text in _DEFINITIONS:
        parts.append(f"<dt>{_e(term)}</dt><dd>{_e(text)}</dd>")
    parts.append("</dl></main></body></html>\n")
    return "\n".join(parts)
