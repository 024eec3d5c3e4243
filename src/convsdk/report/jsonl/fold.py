"""The second pass over a log: every distinct event of the range, folded per visitor.

Times stay text here (in the stored form, whose text order is time order): comparing
text is cheaper than parsing a million timestamps. Only first times and conversions
become numbers.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any

from ...event import format_timestamp
from ..dataset import Dataset, GoalHits, VisitorStream, text_micros
from ..people import kept_links, person_macro_times
from ..rules import (
    add_conversion,
    crawler,
    merge_kind,
)
from .events import canonical, checked, finite, parse_event
from .lines import event_key
from .parts import Part, Settled, may_convert
from .shared import Shared
from .state import VisitorState, touch
from .summaries import macro_times, people

__all__ = ["Fold"]

_log = logging.getLogger("convsdk.report")


class Fold:
    """What the second pass has gathered so far; :meth:`dataset` once every line is in.

    Lines of a log go in by :meth:`block`; events from anywhere else (a stream, a
    plugin's reader) by :meth:`add`, one at a time: the same rules for both.
    """

    def __init__(
        self,
        candidates: set[bytes],
        since: datetime | None,
        until: datetime | None,
        step_goals: Collection[str],
        goal_kinds: Mapping[str, str] | None = None,
        include_bots: bool = False,
        part: Part | None = None,
    ) -> None:
        """``candidates``: the event ids that may occur twice (see :func:`candidates`);
        ``goal_kinds``: the goal file's kinds, over the stored ones; ``include_bots``:
        keep visitors whose first event's user agent is a known bot; ``part``: the part
        of a log read in parts that this fold reads (see :mod:`.parts`)."""
        self.candidates = candidates
        self.goal_kinds = goal_kinds or {}
        self.include_bots = include_bots
        self.low = format_timestamp(since) if since is not None else None
        self.high = format_timestamp(until) if until is not None else None
        self.step_goals = step_goals
        self.visitors: dict[str, VisitorState] = {}
        self.anonymous: dict[str, GoalHits] = {}
        self.kinds: dict[str, str] = {}
        # (goal, transaction id) -> (time, event id, visitor id, value, currency) of the
        # earliest conversion seen with it: the one that counts.
        self.transactions: Settled = {}
        self.part = part  # its lines, and the kinds and transactions of the whole log
        if part is not None:
            self.kinds = dict(part.kinds)
        self.seen: set[bytes] = set()
        self.ids: set[str] = set()  # every id given to add(): a stream has no first pass
        self.events = self.anonymous_events = self.anonymous_plain = self.server_side = 0
        self.server_users: set[str] = set()
        self.links: set[tuple[str, str]] = set()  # (visitor id, user id), see report.people
        self.first_event = self.last_event = ""
        self.shared = Shared()  # the values many visitors share, kept once

    def block(self, name: object, lines: list[bytes], lineno: int) -> int:
        """Fold the events of ``lines``, which follow line ``lineno`` of file ``name``.

        Returns the number of the last line.
        """
        candidates, seen, low, high = self.candidates, self.seen, self.low, self.high
        events, first_event, last_event = self.events, self.first_event, self.last_event
        part = self.part
        # The first part of a log in parts reads every line's id, and every conversion.
        first = part is not None and part.first
        at = 0
        for line in lines:
            lineno += 1
            mine = True
            if part is not None:
                at = part.where(line)
                mine = at == part.index
                if not (mine or first):
                    continue
            key = event_key(line)
            if key is None:
                if mine and line.strip():
                    _log.warning("%s:%d: skipped a line that is not an event", name, lineno)
                continue
            if key in candidates:
                if part is not None:
                    if not part.first_time(key, at, seen):
                        continue
                elif key in seen:
                    continue
                else:
                    seen.add(key)
            if not (mine or may_convert(line)):
                continue
            try:
                data, event_id, moment = parse_event(line)
            except Exception as exc:
                if mine:
                    _log.warning(
                        "%s:%d: skipped a line that is not an event: %s", name, lineno, exc
                    )
                continue
            if (low is not None and moment < low) or (high is not None and moment >= high):
                continue
            if not mine:
                kind = data.get("kind")
                if kind is not None:
                    self.convert(data, kind, None, moment, event_id, own=False)
                continue
            events += 1
            if not first_event or moment < first_event:
                first_event = moment
            if moment > last_event:
                last_event = moment
            self.event(data, event_id, moment)
        self.events, self.first_event, self.last_event = events, first_event, last_event
        return lineno

    def add(self, data: dict[str, Any]) -> None:
        """Fold one event in its serialised form (:meth:`convsdk.Event.to_dict`), given
        one at a time by a source that may repeat it: it counts once, by its id.

        Raises ``KeyError``, ``TypeError`` or ``ValueError`` for data that is not an event.
        """
        data = checked(data)
        event_id = data["event_id"]
        moment = canonical(data["timestamp"])
        if event_id in self.ids:
            return
        self.ids.add(event_id)
        if (self.low is not None and moment < self.low) or (
            self.high is not None and moment >= self.high
        ):
            return
        self.events += 1
        if not self.first_event or moment < self.first_event:
            self.first_event = moment
        if moment > self.last_event:
            self.last_event = moment
        self.event(data, event_id, moment)

    def event(self, data: dict[str, Any], event_id: str, moment: str) -> None:
        """Fold one event of the range, already known to be distinct."""
        get = data.get
        visitor_id = get("visitor_id")
        kind = get("kind")
        state: VisitorState | None = None
        if visitor_id is None:
            self.anonymous_events += 1
            if kind is None:
                self.anonymous_plain += 1
            if not get("context"):
                self.server_side += 1
                user_id = get("user_id")
                if user_id is not None:
                    self.server_users.add(user_id)
        else:
            state = self.visit(visitor_id, get("context"), moment, event_id)
            user_id = get("user_id")
            if user_id is not None:
                self.links.add((visitor_id, str(user_id)))
        if kind is not None:
            self.convert(data, kind, state, moment, event_id)

    def visit(self, visitor_id: str, context: Any, moment: str, event_id: str) -> VisitorState:
        """Update the visitor's first event, touches and variant with one of their events."""
        if type(context) is not dict:
            context = {}
        shared = self.shared.text
        utm = context.get("utm")
        if utm and type(utm) is dict:
            utm = self.shared.utm(utm)
        state = self.visitors.get(visitor_id)
        if state is None:
            state = self.visitors[visitor_id] = VisitorState(
                moment, event_id, shared(context.get("referrer")), shared(context.get("url"))
            )
            state.user_agent = shared(context.get("user_agent"))
            state.landing_utm = utm
        elif moment < state.first or (moment == state.first and event_id < state.first_id):
            state.first, state.first_id = moment, event_id
            state.referrer = shared(context.get("referrer"))
            state.url = shared(context.get("url"))
            state.user_agent = shared(context.get("user_agent"))
            state.landing_utm = utm
        if utm and type(utm) is dict:
            touch(state, utm, moment, event_id)
        referrer, url = context.get("referrer"), context.get("url")
        # Most events are no arrival: told here without a call when the URL has no click
        # id and the referrer is none, or starts with the URL's origin and a "/".
        if utm:
            arrival = True
        elif type(url) is str and "clid=" not in url and "braid=" not in url:
            if referrer is None:
                arrival = False
            else:
                path = url.find("/", 8)  # past "https://", as _origin
                arrival = (
                    path < 0
                    or type(referrer) is not str
                    or not referrer.startswith(url[: path + 1])
                ) and _maybe_arrival(referrer, url)
        else:
            arrival = _maybe_arrival(referrer, url)
        if arrival:
            # Kept as it is: which of these are arrivals matters for converters only,
            # told once the fold knows who they are.
            if state.arrivals is None:
                state.arrivals = []
            state.arrivals.append((moment, self.shared.arrival(utm, referrer, url)))
        variant = context.get("variant")
        if variant is not None and (
            state.variant is None
            or moment < state.variant_at
            or (moment == state.variant_at and event_id < state.variant_id)
        ):
            state.variant = shared(variant)
            state.variant_at, state.variant_id = moment, event_id
        return state

    def convert(
        self,
        data: dict[str, Any],
        kind: str,
        state: VisitorState | None,
        moment: str,
        event_id: str,
        own: bool = True,
    ) -> None:
        """Count a conversion now, or hold it until its transaction's earliest is known;
        ``own=False``: another part's, of which the first part keeps the kind and the
        transaction only."""
        get = data.get
        goal = get("goal")
        if goal is None:
            goal = data["name"]
        goal = self.shared.text(goal)
        value = finite(get("value"))
        transaction = get("transaction_id")
        if transaction is None or (self.part is not None and not self.part.first):
            if transaction is None:
                merge_kind(self.kinds, goal, kind)  # (an order's, once it is settled)
            if transaction is None and own:
                add_conversion(
                    self.anonymous if state is None else state.goals,
                    goal,
                    text_micros(moment),
                    value,
                    get("currency"),
                    state is not None and goal in self.step_goals,
                )
            return  # (a later part's order: the first part found each one's earliest)
        held = self.transactions.get((goal, transaction))
        if held is None or (moment, event_id) < (held[0], held[1]):
            visitor_id, currency = get("visitor_id"), get("currency")
            self.transactions[goal, transaction] = (
                moment, event_id, visitor_id, value, currency, kind
            )  # fmt: skip

    def settle(self) -> None:
        """Count the earliest conversion of each transaction (a part: of its visitors),
        and its kind: the first part's (or a whole log's) fold, which saw every one."""
        part = self.part
        first = part is None or part.first
        settled = self.transactions if part is None or first else part.transactions
        for (goal, _), (moment, _, visitor_id, value, currency, kind) in settled.items():
            if first:
                merge_kind(self.kinds, goal, kind)  # a repeated order's kind is its first's
            state = None if visitor_id is None else self.visitors.get(visitor_id)
            if part is not None and ((state is None) if visitor_id is not None else not part.first):
                continue  # another part's visitor; events without one are the first's
            add_conversion(
                self.anonymous if state is None else state.goals,
                goal,
                text_micros(moment),
                value,
                currency,
                state is not None and goal in self.step_goals,
            )

    def dataset(self) -> Dataset:
        """The totals, and the people as a stream made from the visitors' states once every
        event is folded and settled: each state is let go as its summary is made, so the
        report's memory holds the states, or what is left of them, never the states and
        every summary besides."""
        kinds = {**self.kinds, **self.goal_kinds}
        visitors = self.visitors
        bots = {v for v, state in visitors.items() if self._bot(state)}
        # Touches count up to the person's first macro conversion, on every device.
        links = kept_links(((v, u) for v, u in self.links if v not in bots), visitors)
        limits = person_macro_times(macro_times(visitors, kinds), links, visitors)
        dataset = Dataset(
            visitors=[],
            events=self.events,
            first_event=text_micros(self.first_event) if self.first_event else None,
            last_event=text_micros(self.last_event) if self.last_event else None,
            anonymous_events=self.anonymous_events,
            anonymous_interactions=self.anonymous_plain,
            server_side_events=self.server_side,
            server_side_users=len(self.server_users),
            anonymous_goals=self.anonymous,
            goal_kinds=self.kinds,
            bot_visitors=len(bots),
            links=links,
        )
        # Needed no more: only the states are, until they are read.
        self.seen, self.ids, self.transactions, self.links = set(), set(), {}, set()
        dataset.visitors = VisitorStream(people(visitors, limits, links, bots))
        return dataset

    def _bot(self, state: VisitorState) -> bool:
        """Whether the visitor is left out as a known bot."""
        return not self.include_bots and crawler(state.user_agent)


def _maybe_arrival(referrer: object, url: object) -> bool:
    """A cheap first look: a referrer from another origin, or an ad click id in the URL
    (:func:`~convsdk.report.channels.touchpoint` decides, for converters only)."""
    if type(url) is str and ("clid=" in url or "braid=" in url):
        return True
    if type(referrer) is not str or not referrer:
        return False
    if type(url) is not str:
        return True
    return _origin(referrer) != _origin(url)


def _origin(url: str) -> str:
    """``https://host:port`` of an absolute URL (the text up to its path)."""
    end = url.find("/", 8)  # past "https://"
    return url if end < 0 else url[:end]
