"""The summary cards and the goals table."""

from __future__ import annotations

from .. import formatting as fmt
from ..metrics import GoalRow, Report
from ..metrics.goals import anonymous_total
from .markup import card, cell_money, esc, table

__all__ = ["goals_section", "summary_cards"]


def summary_cards(report: Report) -> str:
    """The headline figures as cards."""
    s = report.summary
    cards = [
        card("Visitors", fmt.count(s.visitors), f"{fmt.count(s.events)} events"),
        card(
            "Converted",
            fmt.percent(s.conversion_rate, 2),
            f"{fmt.count(s.converters)} visitors with a macro conversion",
        ),
        card("Revenue", cell_money(s.revenue), "of macro goals"),
        card("Revenue per visitor", cell_money(s.revenue_per_visitor, 4)),
        card(
            "Micro converters",
            fmt.count(s.micro_converters),
            "visitors with a micro conversion",
        ),
    ]
    anonymous = s.anonymous
    if anonymous.events - anonymous.server_side:
        cards.append(
            card(
                "Anonymous",
                fmt.count(anonymous.events - anonymous.server_side),
                "events under Do-Not-Track or Global Privacy Control",
            )
        )
    if s.bot_visitors:
        cards.append(
            card("Bots left out", fmt.count(s.bot_visitors), "visitors with a known bot's agent")
        )
    if s.merged_visitor_ids:
        cards.append(card("People", fmt.count(s.merged_people), fmt.merged_text(s)))
    if anonymous.server_side:
        cards.append(
            card(
                "Server-side",
                fmt.count(anonymous.server_side),
                f"events tracked outside a request, {fmt.count(anonymous.server_side_users)} users",
            )
        )
    return f'<div class="cards">{"".join(cards)}</div>'


def goals_section(report: Report) -> str:
    """The goals table, with the anonymous conversions dimmed, and its note."""
    rows = [_goal_row(g) for g in report.goals]
    anonymous, anonymous_revenue = anonymous_total(report.goals)
    dim = []
    if anonymous:
        dim.append(len(rows))
        money = cell_money(anonymous_revenue)
        rows.append(["(no visitor)", "", "", "", fmt.count(anonymous), "–", "–", money] + ["–"] * 3)
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
    return table(headers, rows, dim=dim) + f'<p class="note">{esc(note)}</p>'


def _goal_row(g: GoalRow) -> list[str]:
    return [
        g.goal + ("" if g.defined else " *"),
        g.kind,
        g.stage or "",
        g.role or "",
        fmt.count(g.conversions),
        fmt.count(g.visitors),
        fmt.percent(g.conversion_rate, 2),
        cell_money(g.revenue),
        cell_money(g.revenue_per_visitor, 4),
        fmt.duration(g.time_to_convert.median),
        fmt.duration(g.time_to_convert.p90),
    ]
