"""The whole page: head, sections in order, definitions."""

from __future__ import annotations

from .. import formatting as fmt
from ..metrics import Report
from .analysis import funnel_section, lift_section
from .channels import breakdown_table, variants_section
from .charts import histogram_chart
from .markup import esc
from .overview import goals_section, summary_cards
from .style import CSS
from .trends import (
    attribution_section,
    comparison_section,
    segments_section,
    trend_section,
)

__all__ = ["DEFINITIONS", "render_html"]

DEFINITIONS = (
    (
        "Visitor",
        "A distinct visitor id with at least one event in the period (GA4: users; "
        "PostHog: unique users). Events under Do-Not-Track or Global Privacy Control, and "
        "server-side events tracked outside a request, are counted apart, never in a rate. "
        "Visitors whose first event came from a known bot are left out and counted.",
    ),
    (
        "Micro / macro conversion",
        "Micro: a step towards the goal or a sign of intent (viewing pricing, a newsletter "
        "signup). Macro: the goal itself (a purchase, a signup); GA4 calls it a key event. "
        "The goal file's kind wins over the kind stored on events.",
    ),
    (
        "Conversion rate",
        "Visitors who converted on any macro goal (or on the goal named) divided by all "
        "visitors: GA4's user conversion rate.",
    ),
    (
        "Funnel",
        "A visitor reaches a step after doing every earlier step in order, each at or "
        "after the previous one, all within the funnel's window of the first step (GA4: a "
        "closed funnel with a time limit; PostHog: sequential, conversion window). Exact: "
        "at most 10,000 conversions of one step per visitor are kept, and a funnel says "
        "how many visitors that bound touched.",
    ),
    (
        "Lift",
        "How many times more often visitors who did a micro conversion went on to the "
        "macro one than visitors who did not, with a 95% interval (Katz log method).",
    ),
    (
        "First arrival: source / medium, channel",
        "From a visitor's first event: its UTM parameters, else an ad click id in the URL, "
        "else its referrer (search engines: organic), else direct. The channel follows "
        "GA4's default channel group rules (GA4: first user source / medium, first user "
        "default channel group).",
    ),
    (
        "First and last touch (UTM)",
        "The first and last events carrying UTM parameters, up to a converter's first macro "
        "conversion: a campaign that brings a customer back after they bought gets no "
        "credit for that purchase.",
    ),
    (
        "Experiment",
        "Each variant against the control, on conversions after a visitor's first exposure "
        "to it: a two-sided pooled z-test, Holm-adjusted with "
        "more than one variant, significant below 0.05; the smallest difference detectable "
        "with 80% power at α = 0.05; a sample-ratio check (chi-square of an equal split), "
        "a mismatch below p = 0.001 meaning the test cannot be trusted.",
    ),
    (
        "Trend",
        "Visitors by the day, week or month of their first event in the period, and their "
        "macro conversions (a cohort view, as GA4's cohort exploration).",
    ),
    (
        "Compared with the period before",
        "The same figures for the period as long just before the report's start, with the "
        "change and relative change (GA4: compare date ranges).",
    ),
    ("Revenue", "Sum of conversion values per currency; a repeated transaction id counts once."),
)


def render_html(report: Report, *, title: str = "Conversion report") -> str:
    """The whole report as a self-contained HTML document (a string)."""
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{esc(title)}</title><style>{CSS}</style></head><body><main>",
        f"<h1>{esc(title)}</h1>",
        f'<p class="meta">{esc(_described(report))}</p>',
        summary_cards(report),
        '<h2 id="goals">Goals</h2>',
        goals_section(report),
    ]
    if report.funnels:
        parts.append('<h2 id="funnels">Funnels</h2>')
        parts.extend(funnel_section(f) for f in report.funnels)
    if report.comparison is not None:
        parts.append('<h2 id="comparison">Compared with the period before</h2>')
        parts.append(comparison_section(report.comparison, report.meta.timezone))
    if report.segments is not None:
        by = report.segments.by.replace("_", " ")
        parts.append(f'<h2 id="segments">Goals by {esc(by)}</h2>')
        parts.append(segments_section(report.segments))
    if report.trend is not None:
        parts.append(f'<h2 id="trend">Trend by {esc(report.trend.interval)}</h2>')
        parts.append(trend_section(report.trend, report.meta.timezone))
    parts.append('<h2 id="lift">Which micro conversions predict a macro conversion</h2>')
    parts.append(
        lift_section(report)
        if report.lift
        else '<p class="note">No micro and macro goals to pair.</p>'
    )
    parts.append('<h2 id="variants">Experiment variants</h2>')
    parts.append(variants_section(report.breakdowns.variant))
    parts.extend(_channels(report))
    parts.extend(_time_to_convert(report))
    parts.append('<h2 id="definitions">Definitions</h2><dl>')
    for term, text in DEFINITIONS:
        parts.append(f"<dt>{esc(term)}</dt><dd>{esc(text)}</dd>")
    parts.append("</dl></main></body></html>\n")
    return "\n".join(parts)


def _described(report: Report) -> str:
    """Where the figures come from: source, period, goal file, when."""
    meta = report.meta
    s = report.summary
    period = fmt.period(s.first_event, s.last_event, meta.timezone, seconds=False)
    described = [f"Source: {meta.source}" if meta.source else "", f"Events: {period}"]
    if meta.goals_file:
        described.append(f"Goals: {meta.goals_file}")
    if meta.generated_at:
        described.append(f"Generated {meta.generated_at}")
    return " · ".join(d for d in described if d)


def _channels(report: Report) -> list[str]:
    b = report.breakdowns
    parts = []
    if report.attribution is not None and report.attribution.models["last"].get("channel"):
        parts.append('<h2 id="attribution">Attribution of macro conversions</h2>')
        parts.append(attribution_section(report.attribution))
    parts.append('<h2 id="channels">Channels</h2><div class="grid2">')
    parts.append(breakdown_table("Default channel group (first arrival)", b.channel))
    parts.append(breakdown_table("Source / medium (first arrival)", b.source_medium))
    tagged = (("First UTM-tagged visit", b.first_touch), ("Last before buying", b.last_touch))
    for touch, groups in tagged:
        for dimension, rows in groups.items():
            parts.append(breakdown_table(f"{touch}: UTM {dimension}", rows))
    parts.append(breakdown_table("Referrer domain (first touch)", b.referrer))
    parts.append("</div>")
    return parts


def _time_to_convert(report: Report) -> list[str]:
    ttc = report.time_to_convert
    if not ttc.timing.count:
        return [
            '<h2 id="time">Time to convert</h2>',
            '<p class="note">No macro conversion in this period.</p>',
        ]
    return [
        '<h2 id="time">Time to convert</h2>',
        f"<figure>{histogram_chart(ttc)}<figcaption>From a visitor's first event to their "
        f"first macro conversion: median {esc(fmt.duration(ttc.timing.median))}, p90 "
        f"{esc(fmt.duration(ttc.timing.p90))}, over {esc(fmt.count(ttc.timing.count))} "
        "visitors.</figcaption></figure>",
    ]
