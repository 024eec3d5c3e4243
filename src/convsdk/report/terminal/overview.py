"""The summary and goals tables."""

from __future__ import annotations

from .. import formatting as fmt
from ..metrics import GoalRow, Report
from ..metrics.goals import anonymous_total
from .table import Table
from .text import cell_money

__all__ = ["goals_table", "summary_table"]


def summary_table(report: Report) -> Table:
    """The headline figures, one a row."""
    s = report.summary
    table = Table("Summary", [("", "left"), ("", "right")])
    period = fmt.period(s.first_event, s.last_event, report.meta.timezone)
    anonymous = s.anonymous
    table.rows = [
        ["Events", fmt.count(s.events)],
        ["Period", period],
        ["Visitors", fmt.count(s.visitors)],
        ["Visitors with a micro conversion", fmt.count(s.micro_converters)],
        ["Visitors with a macro conversion", fmt.count(s.converters)],
        ["Macro conversion rate", fmt.percent(s.conversion_rate, 2)],
        ["Revenue", fmt.money(s.revenue)],
        ["Revenue per visitor", fmt.money(s.revenue_per_visitor, 4)],
    ]
    if anonymous.events - anonymous.server_side:
        table.rows.append(
            ["Anonymous events (DNT / GPC)", fmt.count(anonymous.events - anonymous.server_side)]
        )
    if anonymous.server_side:
        users = fmt.count(anonymous.server_side_users)
        table.rows.append(
            [
                "Server-side events (no visitor)",
                f"{fmt.count(anonymous.server_side)} ({users} users)",
            ]
        )
    if anonymous.conversions:
        table.rows.append(["Conversions without a visitor", fmt.count(anonymous.conversions)])
    if s.bot_visitors:
        table.rows.append(["Known bots left out", f"{fmt.count(s.bot_visitors)} visitors"])
    if s.merged_visitor_ids:
        table.rows.append(["People (logged in on several devices)", fmt.merged_text(s)])
    if anonymous.revenue:
        table.rows.append(["Revenue without a visitor", fmt.money(anonymous.revenue)])
    return table


def goals_table(report: Report) -> Table:
    """One row per goal, and one for the anonymous conversions if there are any."""
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
    table.rows = [_goal_row(row) for row in report.goals]
    anonymous_conversions, anonymous_revenue = anonymous_total(report.goals)
    if anonymous_conversions:
        table.dim_rows.add(len(table.rows))
        table.rows.append(
            [
                "(no visitor)",
                "",
                "",
                fmt.count(anonymous_conversions),
                "–",
                "–",
                cell_money(anonymous_revenue),
                "–",
                "–",
            ]
        )
    notes = ["rate: of all visitors; time to convert: median, from a visitor's first event"]
    if any(not row.defined for row in report.goals):
        notes.append("* seen in the events, not in the goal file")
    table.note = "; ".join(notes)
    return table


def _goal_row(row: GoalRow) -> list[str]:
    stage = row.stage or ""
    if row.role == "secondary":
        stage = f"{stage} (secondary)".strip()
    return [
        row.goal if row.defined else row.goal + " *",
        row.kind,
        stage,
        fmt.count(row.conversions),
        fmt.count(row.visitors),
        fmt.percent(row.conversion_rate, 2),
        cell_money(row.revenue),
        cell_money(row.revenue_per_visitor, 4),
        fmt.duration(row.time_to_convert.median),
    ]
