"""A large log read in parts: each pass folds the people of one part, so the report's
memory holds a part's visitors at a time, not every visitor of the log.

Every visitor of a person (visitor ids linked by a user id, :mod:`~convsdk.report.people`)
falls in the same part, chosen by a hash of the person's first visitor id: the log's
first pass, which finds the event ids that may repeat, also gathers the links that make
people (:class:`Links`; only the lines that name a user are parsed for them). What a
part cannot tell alone, the goals' kinds and each transaction's earliest conversion
(whichever visitor made it), the first part's pass gathers from every line that may be
a conversion, with the same rules as its own lines (an event repeated counts once, the
first time), before the report starts. Each pass reads a line's visitor id from its
bytes and parses only its own lines; the first part also reads the events without a
visitor, and keeps the part of every line in a byte, which the later passes look up.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from ..dataset import Dataset
from ..people import groups, merge_hits
from .lines import ID_END, ID_PREFIX, parse_line

__all__ = [
    "MAX_PARTS",
    "PART_BYTES",
    "Links",
    "Part",
    "Parts",
    "Settled",
    "add_totals",
    "may_convert",
    "visitor_key",
]

#: Bytes of log read in one part: a log of up to this size is read in one pass. A
#: million events take about 550 MB and 160 MB of memory in one pass.
PART_BYTES = 1 << 30

#: The most parts a log is read in (the part of each line is kept in a byte).
MAX_PARTS = 255

#: (goal, transaction id) -> (time, event id, visitor id, value, currency, kind) of the
#: transaction's earliest conversion: the one that counts, and whose kind counts.
Settled = dict[tuple[str, str], tuple[str, str, Any, Any, Any, str]]

_KIND = b',"kind":'
_USER = b',"user_id":'
_VISITOR = b',"visitor_id":'
# A convsdk line's timestamp (canonical, 32 characters) comes right before its visitor.
_STAMP = b'"timestamp":"'
_STAMP_BACK = len(_STAMP) + 32 + 1
_NAME = b'","name":'


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
            if line.startswith(b'"', start):
                end = line.find(b'"', start + 1)
                if end > 0 and line.find(b"\\", start + 1, end) < 0:
                    return line[start + 1 : end]
            elif line.startswith(b"null,", start):
                return None
    try:
        data = parse_line(line)
    except ValueError:
        return None
    return _key(data.get("visitor_id")) if isinstance(data, dict) else None


def _key(visitor_id: object) -> object:
    """:func:`visitor_key` of a parsed ``visitor_id``."""
    if type(visitor_id) is str:
        return visitor_id.encode("utf-8", "surrogatepass")
    return visitor_id


def _null(line: bytes, field: bytes) -> bool:
    """Whether ``line`` is a convsdk line whose ``field`` (``b',"name":'``) is null."""
    if not _layout(line):
        return False
    at = line.find(field, ID_END)
    return at > 0 and line.startswith(b"null,", at + len(field))


def may_convert(line: bytes) -> bool:
    """Whether ``line`` may be a conversion: any line but a convsdk line of no ``kind``."""
    return not _null(line, _KIND)


class Links:
    """What the first pass learns of the lines that name a user: the (visitor id, user
    id) links, every one whatever its time or repeats, so that no person is split
    between parts."""

    def __init__(self) -> None:
        self.links: set[tuple[str, str]] = set()

    def line(self, line: bytes) -> None:
        """Take the link ``line`` makes, if any."""
        if _null(line, _USER):
            return  # most lines: no user
        try:
            data = parse_line(line)
        except ValueError:
            return  # not an event: the pass that reads it says so
        if isinstance(data, dict):
            visitor_id, user_id = data.get("visitor_id"), data.get("user_id")
            if visitor_id is not None and user_id is not None:
                try:
                    self.links.add((visitor_id, str(user_id)))
                except TypeError:  # an unhashable "visitor id": the fold refuses it
                    pass


@dataclass(frozen=True, slots=True)
class Part:
    """One part of a log, as its fold reads it."""

    index: int
    """Its number, from 0; the first part also reads the events without a visitor, and
    finds the goals' kinds and each transaction's earliest conversion in every line."""
    where: Callable[[bytes], int]
    """The part of each line, asked of every line of the log in order."""
    owners: dict[bytes, int]
    """The part of the first event under each id that may repeat (the first part's
    pass finds them): the event that counts, as in one pass."""
    kinds: dict[str, str]
    """The goals' kinds over the whole log (the first part's fold found them)."""
    transactions: Settled
    """Each transaction's earliest conversion over the whole log (the same)."""

    @property
    def first(self) -> bool:
        """Whether this is the first part."""
        return self.index == 0

    def first_time(self, key: bytes, at: int, seen: set[bytes]) -> bool:
        """Whether a line of part ``at`` under the id ``key``, which may repeat, is the
        first event under it: the one that counts, as in one pass. The first part, which
        reads every line's id, tells; a later part keeps its own in ``seen``."""
        if self.first:
            if key in self.owners:
                return False
            self.owners[key] = at
            return True
        if key in seen or self.owners.get(key) != at:
            return False
        seen.add(key)
        return True


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
        self.owners: dict[bytes, int] = {}
        self._unread: Iterator[int] = iter(())

    def part(
        self, index: int, kinds: dict[str, str] | None = None, transactions: Settled | None = None
    ) -> Part:
        """Part ``index`` (from 0), read in order, the first part first; the parts after
        it take the ``kinds`` and ``transactions`` its fold found."""
        where = self._first() if index == 0 else self._after()
        return Part(index, where, self.owners, kinds or {}, transactions or {})

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

    def _first(self) -> Callable[[bytes], int]:
        of, lines = self.of, self.lines
        lines.clear()
        self.owners.clear()

        def where(line: bytes) -> int:
            part = of(line)
            lines.append(part)
            return part

        return where

    def _after(self) -> Callable[[bytes], int]:
        parts = self._unread = iter(self.lines)

        def where(line: bytes) -> int:
            return next(parts, -1)

        return where

    def read_alike(self) -> bool:
        """Whether the pass that just ended read as many lines as the first part's: a log
        truncated in place meanwhile reads fewer."""
        return next(self._unread, None) is None


def add_totals(dataset: Dataset, part: Dataset) -> None:
    """Add the totals of one part's dataset to the whole log's (its people and links
    apart; its goals' kinds are the first part's, which found them in every line); the
    events without a visitor, and their conversions, are the first part's."""
    dataset.events += part.events
    ends = (dataset.first_event, dataset.last_event, part.first_event, part.last_event)
    times = [moment for moment in ends if moment is not None]
    if times:
        dataset.first_event, dataset.last_event = min(times), max(times)
    dataset.anonymous_events += part.anonymous_events
    dataset.anonymous_interactions += part.anonymous_interactions
    dataset.server_side_events += part.server_side_events
    dataset.server_side_users += part.server_side_users
    for goal, hits in part.anonymous_goals.items():
        merge_hits(dataset.anonymous_goals, goal, hits)
    dataset.bot_visitors += part.bot_visitors
