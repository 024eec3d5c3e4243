"""Numbers as people read them, shared by the terminal and HTML renderers."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from ..errors import ConfigError
from .dataset import MAX_STEP_TIMES, NO_CURRENCY
from .metrics.model import Attribution, Change, Segments, Summary, VariantBreakdown

__all__ = [
    "capped",
    "count",
    "duration",
    "attribution_table",
    "change_row",
    "experiment_note",
    "lift",
    "merged_text",
    "money",
    "percent",
    "period",
    "segment_table",
    "ratio",
    "window",
]

_DASH = "–"


def period(first: str | None, last: str | None, zone: str, *, seconds: bool = True) -> str:
    """Two of the report's moments (ISO-8601 text) as the report's time zone reads them,
    named: ``2026-11-01 09:30:00 → 2026-11-07 18:02:11 America/New_York``."""
    from .period import parse_zone

    try:
        tz = parse_zone(zone)
    except ConfigError:  # a fixed offset given as a tzinfo: its moments stay in UTC
        tz, zone = None, "UTC"
    shape = "%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M"

    def local(text: str | None) -> str:
        if not text:
            return _DASH
        moment = datetime.fromisoformat(text)
        return (moment if tz is None else moment.astimezone(tz)).strftime(shape)

    return f"{local(first)} → {local(last)} {zone}"


def count(value: int | None) -> str:
    """``12,345``; a dash for ``None``."""
    return _DASH if value is None else f"{value:,}"


def merged_text(summary: Summary) -> str:
    """``3 visitor ids merged into 1 person``: visitors linked by a user id."""
    people = summary.merged_people
    noun = "person" if people == 1 else "people"
    return f"{count(summary.merged_visitor_ids)} visitor ids merged into {count(people)} {noun}"


def percent(rate: float | None, digits: int = 1) -> str:
    """``12.3%`` from ``0.123``; a dash for ``None``."""
    return _DASH if rate is None else f"{rate * 100:.{digits}f}%"


def ratio(value: float | None) -> str:
    """A lift: ``2.31×``; a dash for ``None``."""
    return _DASH if value is None else f"{value:.2f}×"


def lift(value: float | None, converted: float | None, others: float | None) -> str:
    """A lift, ``∞×`` when only visitors who did the micro conversion converted."""
    if value is None and converted and others == 0:
        return "∞×"
    return ratio(value)


def money(amounts: Mapping[str, float], digits: int = 2) -> str:
    """``USD 1,234.50 · EUR 99.00``: one amount per currency, never added up; values
    stored without a currency read ``12.00 (no currency)``."""
    if not amounts:
        return _DASH
    return " · ".join(
        f"{amount:,.{digits}f} (no currency)"
        if currency == NO_CURRENCY
        else f"{currency} {amount:,.{digits}f}"
        for currency, amount in amounts.items()
    )


def duration(seconds: float | None) -> str:
    """``45s``, ``12m``, ``3.2h``, ``2.5d``; a dash for ``None``."""
    if seconds is None:
        return _DASH
    if seconds < 60:
        return f"{seconds:.0f}s"
    if seconds < 3600:
        return f"{seconds / 60:.0f}m"
    if seconds < 86400:
        return f"{seconds / 3600:.1f}h"
    return f"{seconds / 86400:.1f}d"


def window(seconds: float) -> str:
    """A funnel window: ``7d``, ``36h``, ``30m``."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


def capped(visitors: int) -> str:
    """The note of a funnel whose step times were cut for memory ("" when none were)."""
    if not visitors:
        return ""
    return (
        f"{count(visitors)} visitors converted on one step more than "
        f"{count(MAX_STEP_TIMES)} times: only their first {count(MAX_STEP_TIMES)} counted"
    )


def experiment_note(variants: VariantBreakdown) -> str:
    """What the variants table compares, how, and whether the split can be trusted."""
    goal = f"the {variants.goal!r} rate" if variants.goal else "the macro conversion rate"
    tested = sum(row.p_adjusted is not None for row in variants.rows)
    how = "Holm-adjusted " if tested > 1 else ""
    parts = [f"{how}two-sided pooled z-test of {goal} vs the control; significant: p < 0.05"]
    if variants.mde is not None:
        parts.append(
            "smallest difference detectable with 80% power at this size: "
            f"±{variants.mde * 100:.2f} pt"
        )
    if variants.srm_p_value is not None:
        if variants.srm_mismatch:
            parts.append(
                f"SAMPLE RATIO MISMATCH (p = {variants.srm_p_value:.2g}): visitors were not "
                "split equally; fix the assignment before trusting this test"
            )
        else:
            parts.append(f"split between variants as planned (p = {variants.srm_p_value:.2f})")
    return "; ".join(parts)


def change_row(change: Change) -> list[str]:
    """``[figure, now, before, change, relative change]`` of a compared figure, as text."""
    name = change.figure.replace("_", " ").capitalize()
    if change.figure == "conversion_rate":
        shown = [percent(change.current, 2), percent(change.previous, 2)]
        delta = "" if change.delta is None else f"{change.delta * 100:+.2f} pt"
    elif change.figure.startswith("revenue "):
        currency = change.figure.split(" ", 1)[1]
        shown = [
            money({currency: v}) if v is not None else _DASH
            for v in (change.current, change.previous)
        ]
        delta = "" if change.delta is None else f"{change.delta:+,.2f}"
        name = f"Revenue ({currency})" if currency != NO_CURRENCY else "Revenue (no currency)"
    else:
        shown = [count(_whole(change.current)), count(_whole(change.previous))]
        delta = "" if change.delta is None else f"{change.delta:+,.0f}"
    relative = "" if change.relative is None else f"{change.relative * 100:+.1f}%"
    return [name, *shown, delta, relative]


def _whole(value: float | None) -> int | None:
    return None if value is None else round(value)


#: Goals shown side by side in a breakdown (the JSON report has them all).
SEGMENT_GOALS = 6


def segment_table(segments: Segments) -> tuple[list[str], list[list[str]]]:
    """Headers and rows of a breakdown: each group's visitors, the conversion rate of
    each goal (macro ones first) and the completion of each funnel."""
    groups = segments.groups
    if not groups:
        return [], []
    goals = sorted(groups[0].goals, key=lambda g: g.kind != "macro")[:SEGMENT_GOALS]
    names = [g.goal for g in goals]
    funnels = [f.name for f in groups[0].funnels]
    headers = [segments.by.replace("_", " ").capitalize(), "Visitors"]
    headers += names + [f"{name} done" for name in funnels]
    rows = []
    for group in groups:
        rates = {g.goal: g.conversion_rate for g in group.goals}
        done = {f.name: f.completion_rate for f in group.funnels}
        rows.append(
            [group.value, count(group.visitors)]
            + [percent(rates.get(name)) for name in names]
            + [percent(done.get(name)) for name in funnels]
        )
    return headers, rows


def attribution_table(
    attribution: Attribution, dimension: str = "channel"
) -> tuple[list[str], list[list[str]]]:
    """Headers and rows: each value of ``dimension`` and the macro conversions each
    model credits it, the last-touch order first."""
    models = list(attribution.models)
    credited = {
        model: {row.value: row.conversions for row in rows.get(dimension, [])}
        for model, rows in attribution.models.items()
    }
    values: list[str] = []
    for model in ("last", *models):  # the last-touch order, then values it credits nothing
        for row in attribution.models[model].get(dimension, []):
            if row.value not in values:
                values.append(row.value)
    headers = [dimension.replace("_", " / ").capitalize()]
    headers += [model.replace("_", " ").capitalize() for model in models]
    rows = [
        [value] + [f"{credited[model].get(value, 0.0):,.1f}" for model in models]
        for value in values
    ]
    return headers, rows
