"""A large log read in parts: each pass folds the people of one part, so the report's
memory holds a part's visitors at a time, not every visitor of the log.

Every visitor of a person (visitor ids linked by a user id, :mod:`~convsdk.report.people`)
falls in the same part, chosen by a hash of the person's first visitor id. What a part
cannot tell alone is gathered by the first pass, over every line (:class:`Facts`): the
goals' kinds, the earliest conversion of each transaction (whichever visitor made it),
and the links that make people. Those lines are few, and only they are parsed; a
part's pass reads each line's visitor id from its bytes and parses only its own lines.
Events without a visitor are read by the first part.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..._json import loads
from ...event import format_timestamp
from ..dataset import Dataset
from ..people import groups
from ..rules import merge_kind
from .events import parse_event
from .lines import ID_END, ID_PREFIX

__all__ = [
    "MAX_PARTS",
    "PART_BYTES",
    "Facts",
    "Part",
    "Parts",
    "Settled",
    "add_totals",
    "visitor_key",
]

#: Bytes of log read in one part: a log of up to this size is read in one pass. A
#: million events take about 550 MB and 160 MB of memory in one pass.
PART_BYTES = 1 << 30

#: The most parts a log is read in (the part of each line is kept in a byte).
MAX_PARTS = 255

#: (goal, transaction id) -> (time, event id, visitor id, value, currency) of the
#: transaction's earliest conversion: the one that counts.
Settled = dict[tuple[str, str], tuple[str, str, Any, Any, Any]]

_KIND = b',"kind":'
_USER = b',"user_id":'
_VISITOR = b',"visitor_id":'
# A convsdk line's timestamp (canonical, 32 characters) comes right before its visitor.
_STAMP = b'"timestamp":"'
_STAMP_BACK = len(_STAMP) + 32 + 1
_NAME = b'","name":'
_QUOTE = ord('"')


def _layout(line: bytes) -> bool:
    """Whether ``line`` has the layout convsdk writes (keys in the order of
    ``Event.to_dict``, compact): then its fields can be found in its bytes (a field's key
    first found is the event's own: a text before it holds no unescaped quote)."""
    return line.startswith(ID_PREFIX) and line.startswith(_NAME, ID_END)


def visitor_key(line: bytes) -> object:
    """What tells an event line's visitor apart: the UTF-8 bytes of its ``visitor_id``
    when a text (read from a convsdk line's bytes, else parsed), the id itself when
    another JSON value, ``None`` for none (or for a line that is not an event)."""
    # Every pass over the log asks this of every line: no slice but the id's own.
    if line.startswith(ID_PREFIX) and line.startswith(_NAME, ID_END):
        at = line.find(_VISITOR, ID_END)
        if at > 0 and line.startswith(_STAMP, at - _STAMP_BACK):
            start = at + len(_VISITOR)
            if line[start] == _QUOTE:
                end = line.find(b'"', start + 1)
                if end > 0 and line.find(b"\\", start + 1, end) < 0:
                    return line[start + 1 : end]
            elif line.startswith(b"null,", start):
                return None
    try:
        data = loads(line)
    except ValueError:
        return None
    return _key(data.get("visitor_id")) if isinstance(data, dict) else None


def _key(visitor_id: object) -> object:
    """:func:`visitor_key` of a parsed ``visitor_id``."""
    if type(visitor_id) is str:
        return visitor_id.encode("utf-8", "surrogatepass")
    return visitor_id


class Facts:
    """What the first pass learns of every line that is a conversion or carries a user
    id: the goals' kinds, each transaction's earliest conversion and the links."""

    def __init__(self, since: datetime | None, until: datetime | None) -> None:
        self.low = format_timestamp(since) if since is not None else None
        self.high = format_timestamp(until) if until is not None else None
        self.kinds: dict[str, str] = {}
        self.transactions: Settled = {}
        self.links: set[tuple[str, str]] = set()

    def line(self, line: bytes) -> None:
        """Take what ``line`` says, if it is a conversion or names a user."""
        if _layout(line):
            at = line.find(_KIND, ID_END)
            if at > 0 and line.startswith(b"null,", at + len(_KIND)):
                at = line.find(_USER, at)
                if at > 0 and line.startswith(b"null,", at + len(_USER)):
                    return  # most lines: no conversion, no user
        try:
            data, event_id, moment = parse_event(line)
        except Exception:
            return  # not an event: the pass that reads it says so
        if type(event_id) is not str:
            return  # not an event either (see lines.event_key)
        visitor_id = data.get("visitor_id")
        user_id = data.get("user_id")
        if visitor_id is not None and user_id is not None:
            # Every link, whatever its time: a person is never split between parts.
            self.links.add((visitor_id, str(user_id)))
        kind = data.get("kind")
        if kind is None:
            return
        if (self.low is not None and moment < self.low) or (
            self.high is not None and moment >= self.high
        ):
            return
        goal = data.get("goal")
        if goal is None:
            goal = data["name"]
        merge_kind(self.kinds, goal, kind)
        transaction = data.get("transaction_id")
        if transaction is None:
            return
        held = self.transactions.get((goal, transaction))
        if held is None or (moment, event_id) < (held[0], held[1]):
            value = data.get("value")
            if type(value) is not float and type(value) is not int:
                value = None
            self.transactions[goal, transaction] = (
                moment,
                event_id,
                visitor_id,
                value,
                data.get("currency"),
            )


@dataclass(frozen=True, slots=True)
class Part:
    """One part of a log, as its fold reads it."""

    keep: Callable[[bytes], bool]
    """Whether a line is of this part."""
    first: bool
    """The first part, which also reads the events without a visitor."""
    kinds: dict[str, str]
    """The goals' kinds over the whole log (:attr:`Facts.kinds`)."""
    transactions: Settled
    """Each transaction's earliest conversion over the whole log."""


class Parts:
    """The parts of a log's people: ``count`` of them, each visitor's by a hash of its
    person's first visitor id (``links``: the (visitor id, user id) pairs).

    The first part's pass works out the part of every line, and keeps it in a byte a
    line: the passes after it read the log's lines in the same order, and look theirs up.
    """

    def __init__(self, count: int, links: set[tuple[str, str]]) -> None:
        if not 1 <= count <= MAX_PARTS:
            raise ValueError(f"a log is read in 1 to {MAX_PARTS} parts, not {count}")
        self.count = count
        # The visitor keys of linked visitors, to their person's first one.
        self.roots: dict[object, object] = {}
        for ids in groups(links):
            for visitor_id in ids:
                self.roots[_key(visitor_id)] = _key(ids[0])
        self.lines = bytearray()  # the part of each line, in the order the passes read them
        self._unread: Iterator[int] = iter(())

    def part(self, index: int, facts: Facts) -> Part:
        """Part ``index`` (from 0) of the log ``facts`` were gathered from; read in order,
        the first part first."""
        keep = self._first() if index == 0 else self._after(index)
        return Part(keep, index == 0, facts.kinds, facts.transactions)

    def of(self, line: bytes) -> int:
        """The part of ``line``: its visitor's person's, the first for a line without one."""
        key = visitor_key(line)
        if key is None:
            return 0
        roots = self.roots
        try:
            return hash(roots.get(key, key) if roots else key) % self.count
        except TypeError:  # an unhashable "visitor id": the fold refuses it, once
            return 0

    def _first(self) -> Callable[[bytes], bool]:
        of, lines = self.of, self.lines
        lines.clear()

        def keep(line: bytes) -> bool:
            part = of(line)
            lines.append(part)
            return part == 0

        return keep

    def _after(self, index: int) -> Callable[[bytes], bool]:
        parts = self._unread = iter(self.lines)

        def keep(line: bytes) -> bool:
            return next(parts, -1) == index

        return keep

    def read_alike(self) -> bool:
        """Whether the pass that just ended read as many lines as the first part's: a log
        truncated in place meanwhile reads fewer."""
        return next(self._unread, None) is None


def add_totals(dataset: Dataset, part: Dataset) -> None:
    """Add the totals of one part's dataset to the whole log's (its people and links
    apart); the events without a visitor, and their conversions, are the first part's."""
    dataset.events += part.events
    ends = (dataset.first_event, dataset.last_event, part.first_event, part.last_event)
    times = [moment for moment in ends if moment is not None]
    if times:
        dataset.first_event, dataset.last_event = min(times), max(times)
    dataset.anonymous_events += part.anonymous_events
    dataset.anonymous_interactions += part.anonymous_interactions
    dataset.server_side_events += part.server_side_events
    dataset.server_side_users += part.server_side_users
    dataset.anonymous_goals.update(part.anonymous_goals)
    dataset.bot_visitors += part.bot_visitors
    dataset.goal_kinds.update(part.goal_kinds)
