"""People: visitor ids linked by one user id are one person in the report.

A user who logs in on their phone and on their laptop has two visitor ids (one a
browser); ``identify()`` (or any event carrying both a ``visitor_id`` and a
``user_id``) links each to the user id. Every reader returns those links in
:attr:`Dataset.links <convsdk.report.dataset.Dataset.links>` and hands its visitors'
summaries to :func:`persons` as it makes them (:func:`merge_people` does the same for
summaries all held at once); :func:`merge_summaries` is the one place the summaries of
linked visitors become one (union-find over visitor ↔ user links, so a visitor linked
to two user ids joins them):

- ``first_seen``, arrival, referrer, landing page, device: the earliest visitor's;
- first touch: the earliest of the visitors' first touches; last touch: the latest of
  their last touches (ties: the order of the visitors below);
- goals: counts and revenue added, times merged and sorted, first and last the
  earliest and latest;
- variant: the one of the earliest exposure;
- touchpoints: all of them, oldest first.

Visitors are ordered by first seen, then visitor id, so every store merges the same way.

Touches count up to the *person's* first macro conversion, on every device: a campaign
that brings them back on their phone after they bought on their laptop gets no credit,
and the phone's arrivals before the purchase are among the person's touchpoints even
though the phone itself never converted. Readers therefore read the links before the
touches and ask :func:`person_macro_times` for each visitor id's limit.
"""

from __future__ import annotations

from collections.abc import Container, Iterable, Iterator, Mapping

from .dataset import MAX_STEP_TIMES, Dataset, GoalHits, VisitorSummary

__all__ = [
    "groups",
    "kept_links",
    "merge_hits",
    "merge_people",
    "merge_summaries",
    "merged_counts",
    "person_macro_times",
    "persons",
]


def groups(links: Iterable[tuple[str, str]]) -> list[list[str]]:
    """The visitor ids linked through user ids, in groups of two or more (sorted)."""
    parent: dict[tuple[str, str], tuple[str, str]] = {}

    def find(node: tuple[str, str]) -> tuple[str, str]:
        root = parent.setdefault(node, node)
        while root != parent[root]:
            root = parent[root]
        while node != root:  # path compression
            parent[node], node = root, parent[node]
        return root

    for visitor_id, user_id in links:
        a, b = find(("v", visitor_id)), find(("u", user_id))
        if a != b:
            parent[max(a, b)] = min(a, b)
    found: dict[tuple[str, str], list[str]] = {}
    for kind, name in list(parent):
        if kind == "v":
            found.setdefault(find((kind, name)), []).append(name)
    return sorted(sorted(ids) for ids in found.values() if len(ids) > 1)


def merged_counts(links: Iterable[tuple[str, str]]) -> tuple[int, int]:
    """``(visitor ids merged, people they make)``: "N visitor ids merged into M people"."""
    found = groups(links)
    return sum(len(ids) for ids in found), len(found)


def kept_links(
    links: Iterable[tuple[str, object]], visitors: Container[str]
) -> list[tuple[str, str]]:
    """The distinct ``(visitor id, user id)`` links of ``visitors``, sorted; user ids as text."""
    return sorted({(v, str(u)) for v, u in links if v in visitors and u is not None})


def person_macro_times(
    macro_times: Iterable[tuple[str, int]],
    links: Iterable[tuple[str, object]],
    visitors: Container[str],
) -> dict[str, int]:
    """Each visitor id's limit for touches: their person's first macro conversion.

    ``macro_times`` are ``(visitor id, first macro conversion)`` of the visitors who
    converted; ``links`` the reader's links, of which those of ``visitors`` (the kept
    ones, as :func:`merge_people` keeps them) count. Every visitor id of a person who
    converted on any device gets the earliest time of the person; a visitor id alone
    keeps their own.
    """
    limits = dict(macro_times)
    for ids in groups(kept_links(links, visitors)):
        times = [limits[v] for v in ids if v in limits]
        if times:
            at = min(times)
            for visitor_id in ids:
                limits[visitor_id] = at
    return limits


def merge_people(
    dataset: Dataset,
    visitors: Mapping[str, VisitorSummary],
    links: Iterable[tuple[str, str]],
) -> None:
    """Make ``dataset.visitors`` one summary per person and keep the links of its visitors.

    ``visitors`` are the dataset's summaries by visitor id (bots left out); ``links``
    the (visitor id, user id) pairs the reader found. Links of visitors not in
    ``visitors`` are dropped.
    """
    kept = kept_links(links, visitors)
    dataset.links = kept
    found = groups(kept)
    if not found:
        dataset.visitors = list(visitors.values())
        return
    person_of = {visitor_id: ids for ids in found for visitor_id in ids}
    people: list[VisitorSummary] = []
    for visitor_id, summary in visitors.items():
        ids = person_of.get(visitor_id)
        if ids is None:
            people.append(summary)
        elif ids[0] == visitor_id:  # once a person, at their first id (sorted)
            people.append(merge_summaries([(v, visitors[v]) for v in ids]))
    dataset.visitors = people


def persons(
    summaries: Iterable[tuple[str, VisitorSummary]], links: Iterable[tuple[str, str]]
) -> Iterator[VisitorSummary]:
    """One summary per person, from ``(visitor id, summary)`` pairs read one at a time
    (``links``: the kept ones, as :func:`merge_people` keeps them): a visitor alone
    passes at once, the visitor ids of a person wait for the last of them and become one
    (:func:`merge_summaries`), so that only those are ever held."""
    person_of = {visitor_id: ids for ids in groups(links) for visitor_id in ids}
    waiting: dict[str, list[tuple[str, VisitorSummary]]] = {}
    for visitor_id, summary in summaries:
        ids = person_of.get(visitor_id)
        if ids is None:
            yield summary
            continue
        members = waiting.setdefault(ids[0], [])
        members.append((visitor_id, summary))
        if len(members) == len(ids):  # the person's last visitor id
            del waiting[ids[0]]
            yield merge_summaries(members)
    for members in waiting.values():  # pragma: no cover - every kept link has a visitor
        yield merge_summaries(members)


def merge_summaries(members: list[tuple[str, VisitorSummary]]) -> VisitorSummary:
    """One person's summary from their visitors' ``(visitor id, summary)`` pairs."""
    ordered = [s for _, s in sorted(members, key=lambda m: (m[1].first_seen, m[0]))]
    first = ordered[0]
    person = VisitorSummary(
        first_seen=first.first_seen,
        referrer=first.referrer,
        landing_page=first.landing_page,
        device=first.device,
        arrival=first.arrival,
    )
    # min() and max() keep the first of equals: ties go to the earlier visitor for the
    # first touch, the later one for the last.
    firsts = [s for s in ordered if s.first_touch is not None]
    lasts = [s for s in reversed(ordered) if s.last_touch is not None]
    if firsts and lasts:  # readers give both or neither
        opener = min(firsts, key=lambda s: _touched(s)[0])
        closer = max(lasts, key=lambda s: _touched(s)[1])
        person.first_touch, person.last_touch = opener.first_touch, closer.last_touch
        person.touch_times = (_touched(opener)[0], _touched(closer)[1])
    exposed = [s for s in ordered if s.exposed is not None]
    if exposed:
        earliest = min(exposed, key=lambda s: s.exposed or 0)  # stable: ties keep order
        person.variant, person.exposed = earliest.variant, earliest.exposed
    touchpoints = [point for s in ordered for point in s.touchpoints or ()]
    person.touchpoints = sorted(touchpoints) if touchpoints else None
    for summary in ordered:
        for goal, hits in summary.goals.items():
            merge_hits(person.goals, goal, hits)
    return person


def _touched(summary: VisitorSummary) -> tuple[int, int]:
    """When a visitor's first and last touch happened; their first seen for a summary
    made without the times."""
    return summary.touch_times or (summary.first_seen, summary.first_seen)


def merge_hits(goals: dict[str, GoalHits], goal: str, hits: GoalHits) -> None:
    """Add ``hits`` to ``goals[goal]`` (a copy of them if the goal has none yet)."""
    mine = goals.get(goal)
    if mine is None:
        goals[goal] = GoalHits(
            count=hits.count,
            first=hits.first,
            last=hits.last,
            times=list(hits.times) if hits.times is not None else None,
            capped=hits.capped,
            revenue=dict(hits.revenue) if hits.revenue is not None else None,
        )
        return
    mine.count += hits.count
    mine.first = min(mine.first, hits.first)
    mine.last = max(mine.last, hits.last)
    mine.capped = mine.capped or hits.capped
    if hits.times is not None:
        times = sorted([*(mine.times or ()), *hits.times])
        if len(times) > MAX_STEP_TIMES:
            mine.capped = True
            del times[MAX_STEP_TIMES:]
        mine.times = times
    if hits.revenue is not None:
        for currency, amount in hits.revenue.items():
            mine.add_value(amount, currency)
