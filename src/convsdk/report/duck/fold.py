"""The DuckDB reader's rows, once the log is loaded, as a :class:`Dataset`.

The queries leave in the database what the SQL readers leave in their temporary tables
(each visitor's first event, their conversions, a converter's limit for touches), and
the people are streamed from them in visitor-id order as theirs are
(:mod:`convsdk.report.stream`): everything else is known when :func:`summarise`
returns, the people come as the report counts them.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping
from typing import Any

from ..._json import loads
from ..dataset import Dataset
from ..people import kept_links, person_macro_times
from ..rules import crawler, utm_of, variant_text
from ..stream import (
    ArrivalRow,
    ConversionRow,
    PeopleMerge,
    VisitorRow,
    anonymous_goals,
    closing_stream,
    count_bots,
    set_totals,
)
from .session import Session

__all__ = ["summarise"]


def summarise(
    session: Session,
    step_goals: Collection[str],
    goal_kinds: Mapping[str, str],
    include_bots: bool,
) -> Dataset:
    """Run the queries that follow the load, in order; the dataset's people stream from
    what they leave in the database, and close ``session`` once read or dropped."""
    ((events, first, last, *anonymous),) = session.run("totals")
    session.run("conversions")
    kinds: dict[str, str] = dict(session.run("kinds"))
    dataset = Dataset(visitors=())
    set_totals(
        dataset,
        events,
        first,
        last,
        (anonymous[0], anonymous[1], anonymous[2], anonymous[3]),
        kinds,
    )
    rows = session.run("anonymous goals")
    dataset.anonymous_goals = anonymous_goals(_conversion_rows(rows, kinds))
    session.run("first events")
    ((visitors,),) = session.run("visitor count")
    bots = count_bots(session.rows("bots"))  # a row per user agent, a batch at a time
    dataset.bot_visitors = 0 if include_bots else bots
    merged = {**kinds, **goal_kinds}
    session.run("macro", {"macro": sorted(g for g, kind in merged.items() if kind == "macro")})
    links = session.run("links")
    dataset.links = _person_macro(session, links, include_bots)
    session.keep_order()
    session.run("visitor rows")
    session.run("goal rows", {"steps": sorted(step_goals)})
    session.run("arrival rows")
    session.run("drop")
    session.shrink()
    merge = PeopleMerge(dataset.links, {v for v, _, _ in links}, include_bots)
    people = merge.people(
        _visitor_rows(session.people(visitors)),
        _conversion_rows(session.rows("goals"), kinds),
        _arrival_rows(session.rows("arrivals")),
    )
    dataset.visitors = closing_stream(people, session.close)
    return dataset


def _person_macro(
    session: Session, links: Iterable[tuple[str, str, object]], include_bots: bool
) -> list[tuple[str, str]]:
    """The links of the visitors kept; every visitor id of a person who converted gets
    the person's first macro conversion in the ``macro`` table, which the touches read."""
    found = [(v, u) for v, u, agent in links if include_bots or not crawler(agent)]
    ids = sorted({visitor_id for visitor_id, _ in found})
    converted = session.run("linked macro", {"ids": ids})
    limits = person_macro_times(converted, found, set(ids))
    session.run("person macro", {"ids": list(limits)})
    session.run("person macro rows", {"ids": list(limits), "moments": list(limits.values())})
    return kept_links(found, set(ids))


def _visitor_rows(rows: Iterable[Any]) -> Iterator[VisitorRow]:
    """The people stream's rows as :class:`VisitorRow`."""
    for row in rows:
        visitor_id, first_seen, referrer, url, user_agent, utm, variant, exposed = row[:8]
        first_utm, last_utm, first_at, last_at = row[8:]
        first_touch = last_touch = touch_times = None
        if first_utm is not None:
            first_touch, last_touch = utm_of(loads(first_utm)), utm_of(loads(last_utm))
            touch_times = (first_at, last_at)
        yield VisitorRow(
            visitor_id,
            first_seen,
            referrer,
            url,
            user_agent,
            _json(utm),
            None if variant is None else variant_text(loads(variant)),
            None if variant is None else exposed,
            first_touch,
            last_touch,
            touch_times,
        )


def _conversion_rows(rows: Iterable[Any], kinds: Mapping[str, str]) -> Iterator[ConversionRow]:
    """The conversion rows in the form the stream takes them (with the goal's kind)."""
    for visitor_id, goal, currency, count, first, revenue, times, last in rows:
        yield visitor_id, goal, kinds[goal], currency, count, first, revenue, times, last


def _arrival_rows(rows: Iterable[Any]) -> Iterator[ArrivalRow]:
    """A converter's possible arrivals, their UTM parameters read."""
    for visitor_id, moment, utm, referrer, url in rows:
        yield visitor_id, moment, _json(utm), referrer, url


def _json(text: str | None) -> object:
    return None if text is None else loads(text)
