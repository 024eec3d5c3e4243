"""The funnel and micro → macro lift tables."""

from __future__ import annotations

from .. import formatting as fmt
from ..metrics import Report
from .table import Table

__all__ = ["funnel_tables", "lift_table"]


def funnel_tables(report: Report) -> list[Table]:
    """One table per funnel."""
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
        if funnel.capped_visitors:
            table.note += f"; {fmt.capped(funnel.capped_visitors)}"
        result.append(table)
    return result


def lift_table(report: Report, top: int) -> Table:
    """The first ``top`` micro × macro pairs, most predictive first."""
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
