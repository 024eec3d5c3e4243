"""The report as terminal tables: rich when installed (extra ``cli``), plain text otherwise.

>>> print(render_text(report))            # text, no colours: logs, e-mails, tests
>>> print_report(report)                  # to the terminal, with colours when it has them

Both show the same tables (:func:`tables`): summary, goals, each funnel, the micro →
macro lift ranking, breakdowns by channel and variant, and the time to convert. Long
tables show their first ``top`` rows; the JSON and HTML outputs have them all.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from typing import IO, Literal

from . import formatting as fmt
from .metrics import BreakdownRow, Report

__all__ = ["Table", "print_report", "render_text", "safe_text", "tables"]

Align = Literal["left", "right"]

# What a stored string (a visitor's UTM value, referrer, variant...) may not send to a
# terminal: escape sequences whole (CSI, OSC such as OSC-8 links, DCS/SOS/PM/APC strings,
# two-character escapes), then any other C0 or C1 control, DEL, and the bidirectional
# overrides that reorder what is shown.
_ESCAPES = re.compile(
    r"\x1b[\]P^_X][^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"  # OSC, DCS, PM, APC, SOS strings
    r"|[\x9d\x90\x9e\x9f\x98][^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"  # their 8-bit forms
    r"|(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]?"  # CSI (colours, cursor moves, clear screen)
    r"|\x1b[ -/]*[0-~]?"  # the other escapes
    r"|[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]"
)


def safe_text(text: str) -> str:
    """``text`` without terminal control characters or escape sequences (newlines stay).

    Stored strings come from visitors: printed raw, ``"\\x1b[2J"`` would clear the
    reader's screen and ``"\\x1b]8;;https://evil.example\\x07"`` add a link.

    >>> safe_text("google\\x1b[2J\\x1b[31m")
    'google'
    """
    if text.isprintable():  # the usual case: nothing to look for
        return text
    return _ESCAPES.sub("", text)


def _one_line(text: str) -> str:
    """A stored value as one line: a visitor's newline cannot fake a row."""
    return safe_text(text).replace("\n", " ")


@dataclass(slots=True)
class Table:
    """One table of the terminal report, independent of how it is drawn."""

    title: str
    columns: list[tuple[str, Align]]
    rows: list[list[str]] = field(default_factory=list)
    dim_rows: set[int] = field(default_factory=set)
    """Rows shown dimmed (the anonymous line)."""
    note: str | None = None


def _money(amounts: dict[str, float], digits: int = 2) -> str:
    # One currency a line: amounts in two currencies are never added, and a long
    # "EUR ... · USD ..." would squeeze the other columns.
    return fmt.money(amounts, digits).replace(" · ", "\n")


def _summary(report: Report) -> Table:
    s = report.summary
    table = Table("Summary", [("", "left"), ("", "right")])
    period = f"{(s.first_event or '–')[:19]} → {(s.last_event or '–')[:19]}"
    anonymous = s.anonymous
    table.rows = [
        ["Events", fmt.count(s.events)],
        ["Period (UTC)", period.replace("T", " ")],
        ["Visitors", fmt.count(s.visitors)],
        ["Visitors with a micro conversion", fmt.count(s.micro_converters)],
        ["Visitors with a macro conversion", fmt.count(s.converters)],
        ["Macro conversion rate", fmt.percent(s.conversion_rate, 2)],
        ["Revenue", fmt.money(s.revenue)],
        ["Revenue per visitor", fmt.money(s.revenue_per_visitor, 4)],
        [
            "Anonymous events (DNT / GPC)",
            f"{fmt.count(anonymous.events)} ({fmt.count(anonymous.conversions)} conversions)",
        ],
    ]
    if anonymous.revenue:
        table.rows.append(["Anonymous revenue", fmt.money(anonymous.revenue)])
    return table


def _goals(report: Report) -> Table:
    table = Table(
        "Goals",
        [
            ("Goal", "left"),
            ("Kind", "left"),
            ("Stage", "left"),
            ("Conversions", "right"),
            ("Visitors", "right"),
            ("Rate", "right"),
            ("Revenue", "right"),
            ("Per visitor", "right"),
            ("Time to\nconvert", "right"),
        ],
    )
    undefined = False
    anonymous_conversions = 0
    anonymous_revenue: dict[str, float] = {}
    for row in report.goals:
        name = row.goal
        if not row.defined:
            name += " *"
            undefined = True
        stage = row.stage or ""
        if row.role == "secondary":
            stage = f"{stage} (secondary)".strip()
        table.rows.append(
            [
                name,
                row.kind,
                stage,
                fmt.count(row.conversions),
                fmt.count(row.visitors),
                fmt.percent(row.conversion_rate, 2),
                _money(row.revenue),
                _money(row.revenue_per_visitor, 4),
                fmt.duration(row.time_to_convert.median),
            ]
        )
        anonymous_conversions += row.anonymous_conversions
        for currency, amount in row.anonymous_revenue.items():
            anonymous_revenue[currency] = anonymous_revenue.get(currency, 0.0) + amount
    if anonymous_conversions:
        table.dim_rows.add(len(table.rows))
        table.rows.append(
            [
                "(anonymous)",
                "",
                "",
                fmt.count(anonymous_conversions),
                "–",
                "–",
                _money(dict(sorted(anonymous_revenue.items()))),
                "–",
                "–",
            ]
        )
    notes = ["rate: of all visitors; time to convert: median, from a visitor's first event"]
    if undefined:
        notes.append("* seen in the events, not in the goal file")
    table.note = "; ".join(notes)
    return table


def _funnels(report: Report) -> list[Table]:
    result = []
    for funnel in report.funnels:
        table = Table(
            f"Funnel {funnel.name} (within {fmt.window(funnel.window_seconds)})",
            [
                ("Step", "left"),
                ("Visitors", "right"),
                ("From previous", "right"),
                ("Overall", "right"),
                ("Drop-off", "right"),
                ("From previous\nmedian / p90", "right"),
                ("From step 1\nmedian / p90", "right"),
            ],
        )
        for k, step in enumerate(funnel.steps, 1):
            drop = (
                ""
                if step.drop_off is None
                else f"{fmt.count(step.drop_off)} ({fmt.percent(step.drop_off_rate)})"
            )
            previous = step.time_from_previous
            first = step.time_from_first
            table.rows.append(
                [
                    f"{k}. {step.goal}",
                    fmt.count(step.visitors),
                    fmt.percent(step.conversion_from_previous) if k > 1 else "",
                    fmt.percent(step.conversion_overall),
                    drop,
                    f"{fmt.duration(previous.median)} / {fmt.duration(previous.p90)}"
                    if k > 1
                    else "",
                    f"{fmt.duration(first.median)} / {fmt.duration(first.p90)}" if k > 1 else "",
                ]
            )
        table.note = (
            f"{fmt.count(funnel.completed)} completed "
            f"({fmt.percent(funnel.completion_rate)} of those who started)"
        )
        result.append(table)
    return result


def _lift(report: Report, top: int) -> Table:
    table = Table(
        "Which micro conversions predict a macro one",
        [
            ("Micro", "left"),
            ("Macro", "left"),
            ("Did it: converted", "right"),
            ("Did not", "right"),
            ("Lift", "right"),
            ("95% CI", "right"),
            ("Median lag", "right"),
        ],
    )
    for row in report.lift[:top]:
        ci = (
            f"{row.lift_ci_low:.2f}–{row.lift_ci_high:.2f}"
            if row.lift_ci_low is not None and row.lift_ci_high is not None
            else "–"
        )
        table.rows.append(
            [
                row.micro,
                row.macro,
                f"{fmt.percent(row.did.rate)} of {fmt.count(row.did.visitors)}",
                f"{fmt.percent(row.did_not.rate)} of {fmt.count(row.did_not.visitors)}",
                fmt.lift(row.lift, row.did.rate, row.did_not.rate),
                ci,
                fmt.duration(row.lag.median),
            ]
        )
    note = (
        "ranked by the lower bound of the lift's 95% interval; ∞×: nobody converted "
        "without it (a step on the way, listed after the signs); micro before macro only"
    )
    if len(report.lift) > top:
        note += f"; {len(report.lift) - top} more pairs in the JSON and HTML reports"
    table.note = note
    return table


def _breakdown(title: str, groups: dict[str, list[BreakdownRow]], top: int) -> Table:
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
                    _one_line(row.value),
                    fmt.count(row.visitors),
                    fmt.count(row.converters),
                    fmt.percent(row.conversion_rate, 2),
                    _money(row.revenue),
                ]
            )
        hidden += max(0, len(rows) - top)
    note = "converted: visitors with a macro conversion"
    if hidden:
        note += f"; {hidden} more rows in the JSON and HTML reports"
    table.note = note
    return table


def _variants(report: Report) -> Table | None:
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
                _one_line(row.value),
                fmt.count(row.visitors),
                fmt.count(row.converters),
                rate,
                versus,
                "" if row.p_value is None else f"{row.p_value:.4f}",
                _money(row.revenue),
            ]
        )
    table.note = "two-sided pooled z-test of each variant's macro conversion rate vs the control"
    return table


def _time_to_convert(report: Report) -> Table:
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


def tables(report: Report, *, top: int = 10) -> list[Table]:
    """Every table of the terminal report, in order."""
    result = [_summary(report), _goals(report), *_funnels(report)]
    if report.lift:
        result.append(_lift(report, top))
    b = report.breakdowns
    result.append(_breakdown("First touch (UTM)", b.first_touch, top))
    result.append(_breakdown("Last touch (UTM)", b.last_touch, top))
    result.append(_breakdown("Referrer of the first visit", {"domain": b.referrer}, top))
    variants = _variants(report)
    if variants is not None:
        result.append(variants)
    if report.time_to_convert.timing.count:
        result.append(_time_to_convert(report))
    # An empty table says nothing the summary does not (no events, no goals yet).
    shown = [result[0], *(t for t in result[1:] if t.rows)]
    for table in shown:
        # Goal, stage and funnel names, currencies: any stored string may hold escapes.
        table.title = safe_text(table.title)
        table.rows = [[safe_text(cell) for cell in row] for row in table.rows]
        if table.note is not None:
            table.note = safe_text(table.note)
    return shown


def _plain(table: Table) -> str:
    headers = [name.replace("\n", " ") for name, _ in table.columns]
    rows = [[cell.replace("\n", " · ") for cell in row] for row in table.rows]
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]

    def line(cells: list[str]) -> str:
        parts = [
            cell.rjust(w) if align == "right" else cell.ljust(w)
            for cell, w, (_, align) in zip(cells, widths, table.columns, strict=True)
        ]
        return "  ".join(parts).rstrip()

    out = [table.title, "=" * len(table.title)]
    if any(headers):
        out.append(line(headers))
        out.append("  ".join("-" * w for w in widths))
    out.extend(line(row) for row in rows)
    if table.note:
        out.append(f"({table.note})")
    return "\n".join(out)


def _rich(table: Table) -> object:
    from rich import box
    from rich.markup import escape
    from rich.table import Table as RichTable

    show_header = any(name for name, _ in table.columns)
    # Cells are rich markup: escaped, a visitor's "[bold red]" is shown, not applied.
    rich_table = RichTable(
        title=escape(table.title),
        title_justify="left",
        title_style="bold",
        caption=None if table.note is None else escape(table.note),
        caption_justify="left",
        box=box.SIMPLE_HEAD,
        show_header=show_header,
        header_style="bold cyan",
    )
    for i, (name, align) in enumerate(table.columns):
        # The first column names the row: it never wraps; numbers wrap only if they must.
        widest = max((len(line) for row in table.rows for line in row[i].split("\n")), default=0)
        rich_table.add_column(
            name, justify=align, overflow="fold", min_width=widest if i == 0 else None
        )
    for i, row in enumerate(table.rows):
        rich_table.add_row(
            *(escape(cell) for cell in row), style="dim" if i in table.dim_rows else None
        )
    return rich_table


def _have_rich() -> bool:
    try:
        import rich  # noqa: F401
    except ImportError:
        return False
    return True


def render_text(report: Report, *, width: int = 120, color: bool = False, top: int = 10) -> str:
    """The terminal report as a string (rich box drawing if installed, else plain text)."""
    if not _have_rich():
        return "\n\n".join(_plain(t) for t in tables(report, top=top)) + "\n"
    from rich.console import Console

    buffer = io.StringIO()
    console = Console(
        file=buffer, width=width, force_terminal=color, no_color=not color, highlight=False
    )
    for table in tables(report, top=top):
        console.print(_rich(table))
    return buffer.getvalue()


def print_report(report: Report, file: IO[str] | None = None, *, top: int = 10) -> None:
    """Write the terminal report to ``file`` (standard output), coloured on a terminal."""
    if not _have_rich():
        import sys

        out = file if file is not None else sys.stdout
        out.write("\n\n".join(_plain(t) for t in tables(report, top=top)) + "\n")
        return
    from rich.console import Console

    console = Console(file=file, highlight=False)
    if not console.is_terminal:
        console.width = 120  # rich assumes 80 columns when piped: too narrow for the tables
    for table in tables(report, top=top):
        console.print(_rich(table))
