"""The DuckDB reader's rows, once the log is loaded, folded into a :class:`Dataset`.

The rows are those of the SQL readers (one per visitor, one per visitor, goal and
currency), and become summaries the same way (:class:`~convsdk.report.sql.visitors.VisitorRows`).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from typing import Any

from ..._json import loads
from ..dataset import Dataset
from ..people import merge_people, person_macro_times
from ..rules import crawler, utm_of, variant_text
from ..sql.visitors import (
    ConversionRow,
    VisitorRows,
    add_conversions,
    add_touchpoints,
    set_totals,
)

__all__ = ["Run", "summarise"]

#: ``run(name, parameters)``: the rows of the query called ``name``.
Run = Callable[[str, Mapping[str, Any]], list[Any]]


def summarise(
    run: Run, step_goals: Collection[str], goal_kinds: Mapping[str, str], include_bots: bool
) -> Dataset:
    """Run the queries that follow the load, in order, and fold their rows."""
    ((events, first, last, *anonymous),) = run("totals", {})
    kinds: dict[str, str] = dict(run("kinds", {}))
    run("conversions", {})
    merged = {**kinds, **goal_kinds}
    run("macro", {"macro": sorted(g for g, kind in merged.items() if kind == "macro")})
    links = _people(run, include_bots)
    builder = VisitorRows(include_bots)
    _visitors(builder, run("visitors", {}))
    linked = sorted({visitor_id for visitor_id, _ in links})
    for visitor_id, first_at, last_at in run("touch times", {"ids": linked}):
        summary = builder.get(visitor_id)
        if summary is not None and summary.first_touch is not None:
            summary.touch_times = (first_at, last_at)
    dataset = builder.dataset()
    rows = run("conversion rows", {"steps": sorted(step_goals)})
    add_conversions(builder, dataset, _conversion_rows(rows, kinds))
    arrivals = run("arrivals", {})
    add_touchpoints(builder, ((v, at, _json(utm), r, url) for v, at, utm, r, url in arrivals))
    set_totals(
        dataset,
        events,
        first,
        last,
        (anonymous[0], anonymous[1], anonymous[2], anonymous[3]),
        kinds,
    )
    merge_people(dataset, builder.kept(), links)
    return dataset


def _people(run: Run, include_bots: bool) -> list[tuple[str, str]]:
    """The links of the visitors kept; every visitor id of a person who converted gets
    the person's first macro conversion in the ``macro`` table, which the touches read."""
    rows = run("links", {})
    links = [(v, u) for v, u, agent in rows if include_bots or not crawler(agent)]
    ids = sorted({visitor_id for visitor_id, _ in links})
    converted = run("linked macro", {"ids": ids})
    limits = person_macro_times(converted, links, set(ids))
    run("person macro", {"ids": list(limits)})
    run("person macro rows", {"ids": list(limits), "moments": list(limits.values())})
    return links


def _visitors(builder: VisitorRows, rows: Iterable[Any]) -> None:
    """Start every visitor from their first event; set their variant and touches."""
    for visitor_id, first_seen, landing, variant, exposed, first_utm, last_utm in rows:
        summary = builder.first(
            visitor_id,
            first_seen,
            landing["referrer"],
            landing["url"],
            landing["user_agent"],
            _json(landing["utm"]),
        )
        if variant is not None:
            summary.variant = variant_text(loads(variant))
            summary.exposed = exposed
        if first_utm is not None:
            summary.first_touch = utm_of(loads(first_utm))
            summary.last_touch = utm_of(loads(last_utm))


def _conversion_rows(rows: Iterable[Any], kinds: Mapping[str, str]) -> Iterator[ConversionRow]:
    """The conversion rows in the form the SQL readers give them."""
    for visitor_id, goal, currency, count, first, revenue, times, last in rows:
        yield visitor_id, goal, kinds[goal], currency, count, first, revenue, times, last


def _json(text: str | None) -> object:
    return None if text is None else loads(text)
