"""A log's visitors made into the report's people, once every line is folded: each
visitor's state let go as its summary is made."""

from __future__ import annotations

from collections.abc import Container, Iterator

from ..channels import arrival, touchpoint
from ..dataset import UTM, VisitorSummary, text_micros
from ..people import persons
from ..rules import device, first_macro, landing_page, referrer_domain, utm_of, variant_text
from .state import VisitorState, touches_before

__all__ = ["macro_times", "people", "summary"]


def people(
    visitors: dict[str, VisitorState],
    limits: dict[str, int],
    links: list[tuple[str, str]],
    bots: Container[str],
) -> Iterator[VisitorSummary]:
    """One summary per person, visitors in the order the log first named them (see
    :func:`~convsdk.report.people.persons`), each visitor's state taken out of
    ``visitors`` once read; ``limits``: each visitor's person's first macro conversion,
    up to which touches count; ``bots`` are left out."""
    return persons(_summaries(visitors, limits, {v for v, _ in links}, bots), links)


def _summaries(
    visitors: dict[str, VisitorState],
    limits: dict[str, int],
    linked: Container[str],
    bots: Container[str],
) -> Iterator[tuple[str, VisitorSummary]]:
    for visitor_id in list(visitors):
        state = visitors.pop(visitor_id)
        if visitor_id not in bots:
            yield visitor_id, summary(state, limits.get(visitor_id), visitor_id in linked)


def macro_times(
    visitors: dict[str, VisitorState], kinds: dict[str, str]
) -> Iterator[tuple[str, int]]:
    """``(visitor id, first macro conversion)`` of the visitors who have one."""
    for visitor_id, state in visitors.items():
        at = first_macro(state.goals, kinds)
        if at is not None:
            yield visitor_id, at


def summary(state: VisitorState, converted: int | None, linked: bool) -> VisitorSummary:
    """A visitor's summary; ``converted``: their person's first macro conversion, up to
    which touches count; ``linked``: the visitor id is linked to a user id (the touches'
    times are kept)."""
    first_touch, last_touch = touches_before(state, converted)
    return VisitorSummary(
        first_seen=text_micros(state.first),
        referrer=referrer_domain(state.referrer, state.url),
        arrival=arrival(state.landing_utm, state.referrer, state.url),
        landing_page=landing_page(state.url),
        device=device(state.user_agent),
        touchpoints=touchpoints(state, converted),
        first_touch=utm_of(first_touch[2]) if first_touch else None,
        last_touch=utm_of(last_touch[2]) if last_touch else None,
        touch_times=(
            (text_micros(first_touch[0]), text_micros(last_touch[0]))
            if first_touch and last_touch and linked
            else None
        ),
        variant=variant_text(state.variant),
        exposed=text_micros(state.variant_at) if state.variant_at else None,
        goals=state.goals,
    )


def touchpoints(state: VisitorState, converted: int | None) -> list[tuple[int, UTM]] | None:
    """A converter's arrivals up to ``converted``, their person's first macro conversion,
    oldest first."""
    if converted is None or not state.arrivals:
        return None
    found = []
    for moment, (utm, referrer, url) in state.arrivals:
        at = text_micros(moment)
        if at <= converted:
            touch = touchpoint(utm, referrer, url)
            if touch is not None:
                found.append((at, touch))
    return sorted(found) or None
