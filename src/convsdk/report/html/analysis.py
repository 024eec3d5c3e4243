"""The funnel and micro → macro lift sections."""

from __future__ import annotations

from .. import formatting as fmt
from ..metrics import FunnelReport, Report
from .charts import funnel_chart, lift_chart
from .markup import esc, table

__all__ = ["funnel_section", "lift_section"]


def funnel_section(funnel: FunnelReport) -> str:
    """A funnel: its bars, its table and how many completed it."""
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
        f"<h3>{esc(funnel.name)} <small>(within {esc(fmt.window(funnel.window_seconds))})</small>"
        f"</h3><figure>{funnel_chart(funnel)}</figure>"
        + table(headers, rows)
        + f'<p class="note">{esc(fmt.count(funnel.completed))} completed, '
        f"{esc(fmt.percent(funnel.completion_rate))} of those who started."
        + (f" {esc(fmt.capped(funnel.capped_visitors))}." if funnel.capped_visitors else "")
        + "</p>"
    )


def lift_section(report: Report) -> str:
    """The lift forest plot and the table of every micro × macro pair."""
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
    return figure + table(headers, rows) + f'<p class="note">{esc(note)}</p>'
