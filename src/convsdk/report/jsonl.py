"""JSON Lines logs (the ``file://`` backend): streamed in two passes, never loaded.

The log is the file and its rotated siblings, oldest first (``events.jsonl.N`` ...
``events.jsonl.1``, then ``events.jsonl``), as :class:`convsdk.backends.file.FileBackend`
writes them. Events re-sent after a failed delivery appear twice and count once:

1. the first pass reads only event ids (sliced out of each line, not parsed) into a bit
   set of about one byte per seventy bytes of log; an id whose bit is already set may be
   a repeat and becomes a *candidate*;
2. the second pass parses the events, and remembers exact ids for candidates only.

Memory therefore grows with the number of visitors (and of transactions), not with the
size of the log. :func:`convsdk.backends.file.read_events` reads the same files with the
same rules, as :class:`~convsdk.Event` objects; this reader keeps to plain dicts and
byte offsets because a report reads millions of events, and a progress bar wants bytes.

A torn last line (a crash mid-write) or a line that is not an event is skipped with a
warning on the ``convsdk.report`` logger.
"""

from __future__ import annotations

import io
import logging
import operator
import os
import re
from collections.abc import Collection, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from .._json import loads
from ..errors import BackendError, ConfigError
from ..event import format_timestamp, parse_timestamp
from .progress import ProgressCallback, report_progress
from .summary import (
    Dataset,
    GoalHits,
    VisitorSummary,
    add_conversion,
    first_macro,
    merge_kind,
    referrer_domain,
    text_micros,
    utm_of,
    variant_text,
)

__all__ = ["FileReader"]

_log = logging.getLogger("convsdk.report")

_ID_PREFIX = b'{"event_id":"'
_ID_START = len(_ID_PREFIX)
_ID_END = _ID_START + 36  # a UUID's length
_CHUNK = 4 << 20
_TOUCH_ORDER = operator.itemgetter(0, 1)  # a touch is (time, event id, utm)

_Handles = list[tuple[Path, io.BufferedReader, int]]


class _VisitorState:
    """One visitor while a log is streamed; becomes a :class:`VisitorSummary`."""

    __slots__ = (
        "first",
        "first_id",
        "first_touch",
        "goals",
        "last_touch",
        "referrer",
        "touch_first",
        "touch_first_id",
        "touch_last",
        "touch_last_id",
        "touches",
        "url",
        "variant",
        "variant_at",
        "variant_id",
    )

    def __init__(self, moment: str, event_id: str, referrer: object, url: object) -> None:
        # Times are stored timestamps (text; see _canonical), ids break their ties.
        self.first = moment
        self.first_id = event_id
        self.referrer = referrer
        self.url = url
        self.first_touch: Any = None
        self.touch_first = ""
        self.touch_first_id = ""
        self.last_touch: Any = None
        self.touch_last = ""
        self.touch_last_id = ""
        # Every touch, once there are two: which of them count is known only at the end
        # (those up to the first macro conversion), and most visitors have one.
        self.touches: list[tuple[str, str, dict[str, Any]]] | None = None
        self.variant: object = None
        self.variant_at = ""
        self.variant_id = ""
        self.goals: dict[str, GoalHits] = {}


def _parsed_key(line: bytes) -> bytes | None:
    """The event id of a line that does not start with it; ``None`` if not an event."""
    try:
        data = loads(line)
    except ValueError:
        return None
    event_id = data.get("event_id") if isinstance(data, dict) else None
    return event_id.encode() if isinstance(event_id, str) else None


def _blocks(handle: io.BufferedReader, size: int) -> Iterator[tuple[list[bytes], int, bool]]:
    """``(lines, bytes read, torn)`` blocks of the file's first ``size`` bytes.

    Lines come without their newline. The last block is ``([tail], 0, True)`` when the
    file does not end with a newline (a torn write, or one still in progress). Reading
    stops at ``size``, the size when the file was opened, so both passes see the same
    events while a tracker keeps appending.
    """
    handle.seek(0)
    rest = b""
    left = size
    while left > 0:
        data = handle.read(min(_CHUNK, left))
        if not data:
            break
        left -= len(data)
        lines = (rest + data).split(b"\n") if rest else data.split(b"\n")
        rest = lines.pop()
        yield lines, len(data), False
    if rest:
        yield [rest], 0, True


class FileReader:
    """Reads a JSON Lines event log and its rotated siblings (see the module docs).

    >>> FileReader("/var/log/shop/events.jsonl").read(since=datetime(2026, 11, 1, tzinfo=UTC))
    """

    def __init__(self, path: str | os.PathLike[str], *, source: str | None = None) -> None:
        self.path = Path(os.path.abspath(os.fspath(path)))
        self.source = source or os.fspath(path)

    @classmethod
    def from_url(cls, url: str) -> FileReader:
        """``file:///absolute/events.jsonl`` or ``file://relative/events.jsonl``."""
        from ..backends.file import FileBackend

        return cls(FileBackend.from_url(url).path, source=url)

    def files(self) -> list[Path]:
        """The log's files, oldest first: ``events.jsonl.N`` ... ``.1``, then the file."""
        pattern = re.compile(re.escape(self.path.name) + r"\.([1-9][0-9]*)\Z")
        rotated: list[tuple[int, Path]] = []
        try:
            entries = list(os.scandir(self.path.parent))
        except (FileNotFoundError, NotADirectoryError):
            entries = []
        for entry in entries:
            match = pattern.match(entry.name)
            if match and entry.is_file():
                rotated.append((int(match.group(1)), Path(entry.path)))
        files = [path for _, path in sorted(rotated, reverse=True)]
        if self.path.is_file():
            files.append(self.path)
        return files

    def read(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        step_goals: Collection[str] = (),
        progress: ProgressCallback | None = None,
    ) -> Dataset:
        """Summarise the events from ``since`` (inclusive) to ``until`` (exclusive)."""
        names = self.files()
        if not names:
            raise ConfigError(
                "no event log here (nor rotated files of it)", field="source", source=str(self.path)
            )
        handles: _Handles = []
        try:
            # Everything is opened first, so a rotation while reading moves no event
            # from a file not yet read into one already read.
            for name in names:
                try:
                    handle = open(name, "rb")
                except FileNotFoundError:
                    continue  # rotated away since listed: its events moved to an older name
                handles.append((name, handle, os.fstat(handle.fileno()).st_size))
            candidates = _candidates(handles, progress)
            return _summarise(handles, candidates, since, until, set(step_goals), progress)
        except OSError as exc:
            raise BackendError(f"cannot read {self.path}: {exc}", backend="file") from exc
        finally:
            for _, handle, _ in handles:
                handle.close()


def _candidates(handles: _Handles, progress: ProgressCallback | None) -> set[bytes]:
    """First pass: the ids that may occur twice (a superset of the repeated ones)."""
    total = sum(size for _, _, size in handles)
    # About 16 bits per event (an event line is 150 bytes or more), so that a few
    # percent of the ids are false candidates, which costs a set entry each.
    bits = 1 << max(16, (total * 16 // 150).bit_length())
    mask = bits - 1
    seen = bytearray(bits >> 3)
    candidates: set[bytes] = set()
    done = 0
    report_progress(progress, "scanning", 0, total)
    for _, handle, size in handles:
        for lines, read, torn in _blocks(handle, size):
            done += read
            report_progress(progress, "scanning", done, total)
            if torn:
                continue
            for line in lines:
                # Lines written by convsdk start with the id (Event.to_dict's first key):
                # slicing it out is far cheaper than parsing the line.
                if line[:_ID_START] == _ID_PREFIX and line[_ID_END : _ID_END + 1] == b'"':
                    key: bytes | None = line[_ID_START:_ID_END]
                else:
                    key = _parsed_key(line)
                    if key is None:
                        continue
                h = hash(key) & mask
                byte, bit = h >> 3, 1 << (h & 7)
                if seen[byte] & bit:
                    candidates.add(key)  # type: ignore[arg-type]
                else:
                    seen[byte] |= bit
    return candidates


def _canonical(timestamp: object) -> str:
    """A timestamp in the form convsdk stores, whose text order is time order."""
    if (
        type(timestamp) is str
        and len(timestamp) == 32
        and timestamp[10] == "T"
        and timestamp[26:] == "+00:00"
    ):
        return timestamp
    if not isinstance(timestamp, str):
        raise TypeError(f"timestamp is not a string: {timestamp!r}")
    return format_timestamp(parse_timestamp(timestamp))


def _summarise(
    handles: _Handles,
    candidates: set[bytes],
    since: datetime | None,
    until: datetime | None,
    step_goals: set[str],
    progress: ProgressCallback | None,
) -> Dataset:
    """Second pass: fold every distinct event of the range into per-visitor state."""
    # Times stay text here (in the stored form, whose text order is time order):
    # comparing text is cheaper than parsing a million timestamps. Only first times
    # and conversions become numbers.
    low = format_timestamp(since) if since is not None else None
    high = format_timestamp(until) if until is not None else None
    visitors: dict[str, _VisitorState] = {}
    anonymous: dict[str, GoalHits] = {}
    kinds: dict[str, str] = {}
    # (goal, transaction id) -> (time, event id, visitor id, value, currency) of the
    # earliest conversion seen with it: the one that counts.
    transactions: dict[tuple[str, str], tuple[str, str, Any, Any, Any]] = {}
    seen: set[bytes] = set()
    events = anonymous_events = anonymous_plain = 0
    first_event = last_event = ""
    total = sum(size for _, _, size in handles)
    done = 0
    get_visitor = visitors.get
    report_progress(progress, "reading", 0, total)
    for name, handle, size in handles:
        lineno = 0
        for lines, read, torn in _blocks(handle, size):
            done += read
            report_progress(progress, "reading", done, total)
            if torn:
                if lines[0].strip():
                    _log.warning("%s:%d: skipped a torn last line (no newline)", name, lineno + 1)
                continue
            for line in lines:
                lineno += 1
                if line[:_ID_START] == _ID_PREFIX and line[_ID_END : _ID_END + 1] == b'"':
                    key: bytes | None = line[_ID_START:_ID_END]
                else:
                    key = _parsed_key(line)
                    if key is None:
                        if line.strip():
                            _log.warning("%s:%d: skipped a line that is not an event", name, lineno)
                        continue
                if key in candidates:
                    if key in seen:
                        continue
                    seen.add(key)  # type: ignore[arg-type]
                try:
                    data = loads(line)
                    event_id = data["event_id"]
                    moment = _canonical(data["timestamp"])
                    if type(data["name"]) is not str:
                        raise TypeError("name is not a string")
                except Exception as exc:
                    _log.warning(
                        "%s:%d: skipped a line that is not an event: %s", name, lineno, exc
                    )
                    continue
                if (low is not None and moment < low) or (high is not None and moment >= high):
                    continue
                events += 1
                if not first_event or moment < first_event:
                    first_event = moment
                if moment > last_event:
                    last_event = moment
                get = data.get
                visitor_id = get("visitor_id")
                kind = get("kind")
                state: _VisitorState | None = None
                if visitor_id is None:
                    anonymous_events += 1
                    if kind is None:
                        anonymous_plain += 1
                else:
                    context = get("context")
                    if type(context) is not dict:
                        context = {}
                    state = get_visitor(visitor_id)
                    if state is None:
                        state = visitors[visitor_id] = _VisitorState(
                            moment, event_id, context.get("referrer"), context.get("url")
                        )
                    elif moment < state.first or (
                        moment == state.first and event_id < state.first_id
                    ):
                        state.first, state.first_id = moment, event_id
                        state.referrer, state.url = context.get("referrer"), context.get("url")
                    utm = context.get("utm")
                    if utm and type(utm) is dict:
                        _touch(state, utm, moment, event_id)
                    variant = context.get("variant")
                    if variant is not None and (
                        state.variant is None
                        or moment < state.variant_at
                        or (moment == state.variant_at and event_id < state.variant_id)
                    ):
                        state.variant = variant
                        state.variant_at, state.variant_id = moment, event_id
                if kind is None:
                    continue
                goal = get("goal")
                if goal is None:
                    goal = data["name"]
                merge_kind(kinds, goal, kind)
                value = get("value")
                if type(value) is not float and type(value) is not int:
                    value = None
                transaction = get("transaction_id")
                if transaction is None:
                    add_conversion(
                        anonymous if state is None else state.goals,
                        goal,
                        text_micros(moment),
                        value,
                        get("currency"),
                        state is not None and goal in step_goals,
                    )
                    continue
                held = transactions.get((goal, transaction))
                if held is None or (moment, event_id) < (held[0], held[1]):
                    transactions[goal, transaction] = (
                        moment,
                        event_id,
                        visitor_id,
                        value,
                        get("currency"),
                    )
    for (goal, _), (moment, _, visitor_id, value, currency) in transactions.items():
        state = None if visitor_id is None else visitors.get(visitor_id)
        add_conversion(
            anonymous if state is None else state.goals,
            goal,
            text_micros(moment),
            value,
            currency,
            state is not None and goal in step_goals,
        )
    summaries = []
    for state in visitors.values():
        first_touch, last_touch = _touches_before(state, first_macro(state.goals, kinds))
        summaries.append(
            VisitorSummary(
                first_seen=text_micros(state.first),
                referrer=referrer_domain(state.referrer, state.url),
                first_touch=utm_of(first_touch),
                last_touch=utm_of(last_touch),
                variant=variant_text(state.variant),
                goals=state.goals,
            )
        )
    return Dataset(
        visitors=summaries,
        events=events,
        first_event=text_micros(first_event) if first_event else None,
        last_event=text_micros(last_event) if last_event else None,
        anonymous_events=anonymous_events,
        anonymous_interactions=anonymous_plain,
        anonymous_goals=anonymous,
        goal_kinds=kinds,
    )


def _touch(state: _VisitorState, utm: dict[str, Any], moment: str, event_id: str) -> None:
    """Keep ``utm`` as the visitor's first and/or last touch if it is."""
    if state.first_touch is not None:
        if state.touches is None:
            state.touches = [(state.touch_first, state.touch_first_id, state.first_touch)]
        state.touches.append((moment, event_id, utm))
    if (
        state.first_touch is None
        or moment < state.touch_first
        or (moment == state.touch_first and event_id < state.touch_first_id)
    ):
        state.first_touch = utm
        state.touch_first, state.touch_first_id = moment, event_id
    if (
        state.last_touch is None
        or moment > state.touch_last
        or (moment == state.touch_last and event_id > state.touch_last_id)
    ):
        state.last_touch = utm
        state.touch_last, state.touch_last_id = moment, event_id


def _touches_before(state: _VisitorState, macro_at: int | None) -> tuple[Any, Any]:
    """The visitor's first and last touch, of those up to ``macro_at`` if given."""
    if state.first_touch is None or macro_at is None or text_micros(state.touch_last) <= macro_at:
        return state.first_touch, state.last_touch
    touches = state.touches or [(state.touch_first, state.touch_first_id, state.first_touch)]
    kept = [touch for touch in touches if text_micros(touch[0]) <= macro_at]
    if not kept:
        return None, None
    # Ordered by (time, event id), never by the UTM dict.
    return min(kept, key=_TOUCH_ORDER)[2], max(kept, key=_TOUCH_ORDER)[2]
