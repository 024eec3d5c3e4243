"""Testing helpers: a pytest plugin to check what an app records, and a contract kit for
backend authors.

**Checking an app's conversions.** pytest loads this module as a plugin (the ``pytest11``
entry point), so every test can ask for the ``convsdk_events`` fixture::

    def test_checkout(client, convsdk_events):
        client.post("/checkout", data={"total": "49.90"})
        assert convsdk_events.macro("purchase").value == 49.9
        assert convsdk_events.names() == ["page_view", "purchase"]

For the test's duration an in-memory tracker is the default tracker, and every
tracker's events go to it: the decorators, :func:`convsdk.track`, middleware given a
``tracker=`` of its own, and trackers built during the test (an app factory calling
:func:`convsdk.init` or ``ConvSDK(app)``) all record into the capture, so a test run
never writes into a real store. Trackers built during the test build no backend, spool
or thread at all (and record nothing once the test is over). Each event is still built
by the tracker that recorded it, with its goals and settings.

The capturing tracker copies the goals, secret key, currency and privacy settings of the
default tracker it stands in for (so ``convsdk.init(goals=...)`` at import time still
classifies requests), except that bots are not filtered: test clients such as httpx send
user agents that look like bots. Override any option by defining a
``convsdk_tracker_options`` fixture returning :class:`~convsdk.Tracker` keyword arguments::

    @pytest.fixture
    def convsdk_tracker_options():
        return {"goals": "goals.toml", "secret_key": "test"}

Outside pytest, :func:`capture_events` is the same thing as a context manager.

**Testing a backend.** Subclass :class:`BackendContract` in a test module, name the
subclass ``Test...``, and pytest runs the contract against your backend; see its docstring.

This module is imported by every pytest run where convsdk is installed: it imports no web
framework nor driver.
"""

from __future__ import annotations

import abc
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar

import pytest

from . import runtime
from .backends import Backend, from_url
from .backends.memory import MemoryBackend
from .event import (
    FIELDS,
    MAX_DEPTH,
    MAX_ID,
    MAX_LIST,
    MAX_PROPERTIES,
    MAX_PROPERTIES_CHARS,
    MAX_STRING,
    Event,
    check_properties,
    make_event,
)
from .tracker import Tracker, redirect_events, set_default

__all__ = [
    "BackendContract",
    "CapturedEvents",
    "assert_events_equal",
    "capture_events",
    "convsdk_events",
    "convsdk_tracker_options",
    "large_events",
    "large_properties",
    "numbered_events",
    "round_trip_events",
    "unicode_events",
]

_KINDS = ("micro", "macro")
# Settings a capturing tracker takes from the default tracker it replaces.
_INHERITED = (
    "goals",
    "secret_key",
    "currency",
    "anonymize_ip",
    "respect_dnt",
    "session_timeout",
)


# -- capturing an app's events --------------------------------------------------------


class CapturedEvents:
    """The events a test recorded, read from an in-memory tracker.

    Reading methods flush the tracker first, so an assertion never races the dispatcher
    thread. ``tracker`` is the capturing :class:`~convsdk.Tracker`, to hand to middleware
    built in the test.

    >>> assert convsdk_events.macro("purchase").value == 49.9
    >>> assert [e.goal for e in convsdk_events.conversions(kind="micro")] == ["signup"]
    """

    def __init__(
        self, tracker: Tracker, backend: MemoryBackend, *, flush_timeout: float = 5.0
    ) -> None:
        self.tracker = tracker
        self.backend = backend
        self.flush_timeout = flush_timeout

    def all(self) -> list[Event]:
        """Every event recorded so far, in the order it was recorded."""
        __tracebackhide__ = True
        if not self.tracker.flush(self.flush_timeout):
            raise AssertionError(
                f"convsdk could not deliver every event within {self.flush_timeout}s "
                f"(tracker stats: {self.tracker.stats()})"
            )
        return self.backend.events

    def __iter__(self) -> Iterator[Event]:
        return iter(self.all())

    def __len__(self) -> int:
        return len(self.all())

    def names(self) -> list[str]:
        """The names of the events recorded so far, in order: ``["page_view", "purchase"]``."""
        return [event.name for event in self.all()]

    def conversions(self, kind: str | None = None, goal: str | None = None) -> list[Event]:
        """The micro and macro conversions recorded, optionally only of ``kind`` / ``goal``.

        Plain interactions (``kind`` ``None``, such as an unmatched page view) are left out.
        """
        if kind is not None and kind not in _KINDS:
            raise ValueError(f"kind must be 'micro', 'macro' or None, got {kind!r}")
        return [
            event
            for event in self.all()
            if event.kind is not None
            and (kind is None or event.kind == kind)
            and (goal is None or event.goal == goal)
        ]

    def macro(self, goal: str | None = None) -> Event:
        """The one macro conversion (of ``goal``) recorded; AssertionError unless exactly one."""
        __tracebackhide__ = True
        return self._single("macro", goal)

    def micro(self, goal: str | None = None) -> Event:
        """The one micro conversion (of ``goal``) recorded; AssertionError unless exactly one."""
        __tracebackhide__ = True
        return self._single("micro", goal)

    def clear(self) -> None:
        """Forget what was recorded so far (after delivering what is in flight)."""
        self.all()
        self.backend.clear()

    def _single(self, kind: str, goal: str | None) -> Event:
        __tracebackhide__ = True
        recorded = self.all()
        found = [
            event
            for event in recorded
            if event.kind == kind and (goal is None or event.goal == goal)
        ]
        if len(found) == 1:
            return found[0]
        wanted = f"{kind} conversion" + (f" for goal {goal!r}" if goal is not None else "")
        lines = [f"expected exactly one {wanted}, found {len(found)}."]
        if recorded:
            lines.append(f"Recorded events ({len(recorded)}):")
            lines.extend(f"  {i}. {_describe(event)}" for i, event in enumerate(recorded, 1))
        else:
            lines.append(
                "No events were recorded. If the app uses a tracker of its own, give it "
                "convsdk_events.tracker instead (e.g. ConvSDK(app, "
                "tracker=convsdk_events.tracker)); the decorators and module-level "
                "convsdk.track() use the default tracker, which this fixture replaced."
            )
        raise AssertionError("\n".join(lines))

    def __repr__(self) -> str:
        return f"<CapturedEvents {len(self.backend.events)} events>"


def _describe(event: Event) -> str:
    parts = [event.name]
    if event.kind is not None:
        parts.append(f"{event.kind} goal={event.goal!r}")
    if event.value is not None:
        parts.append(f"value={event.value!r} {event.currency or ''}".rstrip())
    if event.transaction_id is not None:
        parts.append(f"transaction_id={event.transaction_id!r}")
    path = event.context.get("path")
    if path:
        parts.append(f"{event.context.get('method') or ''} {path}".strip())
    return ", ".join(parts)


@contextmanager
def capture_events(*, flush_timeout: float = 5.0, **options: Any) -> Iterator[CapturedEvents]:
    """Make an in-memory tracker the default one for the ``with`` block.

    ``options`` are :class:`~convsdk.Tracker` keyword arguments; what they leave out is
    taken from the current default tracker (goals, secret key, currency, privacy
    settings). Bots are not filtered unless ``filter_bots=True``. On exit the previous
    default comes back and the capturing tracker is closed.

    >>> with capture_events() as events:
    ...     convsdk.track("signup", kind="micro")
    >>> events.names()
    ['signup']
    """
    if "backend" in options:
        raise TypeError("capture_events() always records into memory; backend= is not allowed")
    settings: dict[str, Any] = {}
    previous = runtime.default
    if previous is not None:
        settings.update({name: getattr(previous, name) for name in _INHERITED})
    settings.update(spool_dir=None, filter_bots=False, enabled=True)
    settings.update(options)
    backend = MemoryBackend()
    outer = redirect_events(None)  # built for real, even inside another capture
    try:
        tracker = Tracker(backend=backend, **settings)
    finally:
        redirect_events(outer)
    replaced = set_default(tracker)
    redirected = redirect_events(tracker)
    try:
        yield CapturedEvents(tracker, backend, flush_timeout=flush_timeout)
    finally:
        redirect_events(redirected)
        set_default(replaced)
        tracker.close()


@pytest.fixture
def convsdk_tracker_options() -> dict[str, Any]:
    """Extra :class:`~convsdk.Tracker` options for ``convsdk_events``; override to set some."""
    return {}


@pytest.fixture
def convsdk_events(convsdk_tracker_options: Mapping[str, Any]) -> Iterator[CapturedEvents]:
    """The events this test records (a :class:`CapturedEvents`), via an in-memory tracker.

    >>> def test_signup(client, convsdk_events):
    ...     client.post("/signup", data={"email": "a@example.com"})
    ...     assert convsdk_events.micro("signup")
    """
    with capture_events(**dict(convsdk_tracker_options)) as captured:
        yield captured


# -- comparing events -----------------------------------------------------------------

_FIELDS = FIELDS
_MAX_REPORTED = 8


def assert_events_equal(
    expected: Sequence[Event], actual: Iterable[Event], *, ordered: bool = True
) -> None:
    """Assert ``actual`` holds the ``expected`` events, field by field.

    Timestamps must be timezone-aware and equal to the microsecond; values compare as
    floats (a ``Decimal`` or ``int`` read back is fine); properties and context compare
    as JSON data. With ``ordered=False`` events are matched by ``event_id`` and each must
    appear exactly once. The AssertionError names the event and field that differ.
    """
    __tracebackhide__ = True
    got = list(actual)
    problems: list[str] = []
    if ordered:
        if [e.event_id for e in got] != [e.event_id for e in expected]:
            _compare_ids(expected, got, problems)
            if not problems:
                problems.append(
                    "the events came back in another order than they were written: "
                    f"first difference at position {_first_mismatch(expected, got)}"
                )
        else:
            for index, (want, have) in enumerate(zip(expected, got, strict=True)):
                where = f"event {index} {want.name} ({want.event_id})"
                problems.extend(f"{where}: {p}" for p in _diff_event(want, have))
    else:
        _compare_ids(expected, got, problems)
        if not problems:
            by_id = {event.event_id: event for event in got}
            for want in expected:
                problems.extend(
                    f"event {want.event_id} ({want.name}): {p}"
                    for p in _diff_event(want, by_id[want.event_id])
                )
    if problems:
        shown = problems[:_MAX_REPORTED]
        if len(problems) > _MAX_REPORTED:
            shown.append(f"... and {len(problems) - _MAX_REPORTED} more differences")
        raise AssertionError(
            f"{len(got)} events read back, {len(expected)} written; differences:\n  "
            + "\n  ".join(shown)
        )


def _first_mismatch(expected: Sequence[Event], got: Sequence[Event]) -> int:
    for index, (want, have) in enumerate(zip(expected, got, strict=False)):
        if want.event_id != have.event_id:
            return index
    return min(len(expected), len(got))


def _compare_ids(expected: Sequence[Event], got: Sequence[Event], problems: list[str]) -> None:
    want = [e.event_id for e in expected]
    counts: dict[str, int] = {}
    for event in got:
        counts[event.event_id] = counts.get(event.event_id, 0) + 1
    written = set(want)
    missing = [i for i in want if i not in counts]
    extra = [i for i in counts if i not in written]
    doubled = [i for i, n in counts.items() if n > 1]
    if missing:
        problems.append(f"{len(missing)} events missing, e.g. {missing[:3]}")
    if extra:
        problems.append(f"{len(extra)} events that were not written, e.g. {extra[:3]}")
    if doubled:
        problems.append(f"{len(doubled)} events stored more than once, e.g. {doubled[:3]}")


def _diff_event(want: Event, have: Any) -> list[str]:
    if not isinstance(have, Event):
        return [f"read_back() returned {type(have).__name__}, not an Event"]
    problems = []
    for field in _FIELDS:
        expected, actual = getattr(want, field), getattr(have, field)
        if field == "value":
            if expected is None:
                same = actual is None
            else:
                same = _is_number(actual) and float(actual) == float(expected)
        elif field == "timestamp":
            same = (
                isinstance(actual, datetime)
                and actual.utcoffset() is not None
                and actual == expected
            )
            if not same:
                problems.append(
                    f"timestamp: expected {expected.isoformat()}, got "
                    f"{actual.isoformat() if isinstance(actual, datetime) else repr(actual)}"
                    + (" (naive)" if isinstance(actual, datetime) and not actual.tzinfo else "")
                )
                continue
        elif field in ("properties", "context"):
            where = _first_difference(expected, actual, field)
            if where is not None:
                problems.append(where)
            continue
        else:
            same = type(actual) is type(expected) and actual == expected
        if not same:
            problems.append(f"{field}: expected {expected!r}, got {actual!r}")
    return problems


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def _first_difference(expected: Any, actual: Any, path: str) -> str | None:
    """Where two JSON values differ first, as ``path: expected ..., got ...``; None if equal."""
    if isinstance(expected, Mapping):
        if not isinstance(actual, Mapping):
            return f"{path}: expected a dict, got {actual!r:.200}"
        for key in expected:
            if key not in actual:
                return f"{path}: key {key!r} is missing"
            found = _first_difference(expected[key], actual[key], f"{path}.{key}")
            if found:
                return found
        for key in actual:
            if key not in expected:
                return f"{path}: unexpected key {key!r}"
        return None
    if isinstance(expected, list | tuple):
        if not isinstance(actual, list | tuple) or len(actual) != len(expected):
            return f"{path}: expected a list of {len(expected)} items, got {actual!r:.200}"
        for index, (want, have) in enumerate(zip(expected, actual, strict=True)):
            found = _first_difference(want, have, f"{path}[{index}]")
            if found:
                return found
        return None
    same_kind = isinstance(actual, bool) == isinstance(expected, bool) and (
        type(actual) is type(expected) or {type(actual), type(expected)} <= {int, float}
    )
    if not same_kind or actual != expected:
        return f"{path}: expected {expected!r:.200}, got {actual!r:.200}"
    return None


# -- events the contract writes -------------------------------------------------------

# Microseconds on purpose: a store that keeps milliseconds (or none) fails the round trip.
_T0 = datetime(2025, 3, 14, 15, 9, 26, 535897, tzinfo=UTC)

_CONTEXT: dict[str, Any] = {
    "method": "POST",
    "path": "/checkout",
    "url": "https://shop.example/checkout?utm_source=newsletter",
    "referrer": "https://shop.example/cart",
    "user_agent": "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
    "ip": "203.0.113.0",
    "status": 303,
    "utm": {
        "source": "newsletter",
        "medium": "email",
        "campaign": "spring_sale",
        "term": "running shoes",
        "content": "hero_button",
    },
    "variant": "checkout_b",
    "source": "middleware",
}


def round_trip_events() -> list[Event]:
    """Events that between them use every field and the shapes each field can take."""
    return [
        make_event(
            "purchase",
            kind="macro",
            goal="purchase",
            value=49.9,
            currency="EUR",
            transaction_id="order-1001",
            visitor_id="0f8e6c2a9b7d4e1f8a3c5b6d7e8f9a0b",
            session_id="5d1c9e7b3a2f4d6e",
            user_id="user-42",
            properties={
                "items": 3,
                "coupon": None,
                "gift": False,
                "first_order": True,
                "ratio": 0.125,
                "big": 2**53 - 1,
                "negative": -7,
                "empty_text": "",
                "empty_list": [],
                "empty_dict": {},
                "cart": [
                    {"sku": "SHOE-1", "qty": 1, "price": 39.9},
                    {"sku": "SOCK-2", "qty": 2, "price": 5.0, "tags": ["sale", "cotton"]},
                ],
                "address": {"country": "DE", "geo": {"lat": 52.52, "lon": 13.405}},
            },
            context=_CONTEXT,
            timestamp=_T0,
        ),
        make_event(
            "newsletter",
            kind="micro",
            goal="newsletter",
            visitor_id="0f8e6c2a9b7d4e1f8a3c5b6d7e8f9a0b",
            session_id="5d1c9e7b3a2f4d6e",
            properties={"list": "weekly"},
            context={"method": "POST", "path": "/newsletter", "status": 200, "utm": {}},
            timestamp=_T0 + timedelta(microseconds=1),
        ),
        # A value of zero is still a value; a store mapping falsy values to NULL loses it.
        make_event(
            "trial_started",
            kind="micro",
            goal="trial",
            value=0.0,
            currency="USD",
            timestamp=datetime(2025, 1, 1, tzinfo=UTC),
        ),
        make_event(
            "refund",
            kind="macro",
            goal="refund",
            value=-1234567.89,
            currency="JPY",
            transaction_id="r-1",
            timestamp=datetime(2099, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        ),
        # A plain interaction: no kind, goal, value, ids, properties nor context.
        make_event("page_view", timestamp=_T0 - timedelta(seconds=1)),
    ]


def numbered_events(count: int, *, tag: str = "batch") -> list[Event]:
    """``count`` small events whose timestamps are shuffled, so that a store sorting by
    time (rather than keeping write order) is told apart."""
    kinds: tuple[str | None, ...] = (None, "micro", "macro")
    events = []
    for i in range(count):
        kind = kinds[i % 3]
        events.append(
            make_event(
                "page_view" if kind is None else f"step_{i % 5}",
                kind=kind,
                goal=None if kind is None else f"step_{i % 5}",
                value=float(i) + 0.5 if kind == "macro" else None,
                properties={"i": i, "tag": tag},
                # 7919 is prime, so i * 7919 mod count visits every slot once, out of order.
                timestamp=_T0 + timedelta(microseconds=(i * 7919) % max(count, 1) * 1000 + 1),
            )
        )
    return events


def unicode_events() -> list[Event]:
    """Events whose free text is emoji, right-to-left scripts, combining marks and
    characters that need escaping in CSV, JSON or SQL (never NUL)."""
    text = {
        "emoji": "🛒💳 👩\u200d👩\u200d👧\u200d👦 🇫🇷 🏳️\u200d🌈",
        "rtl": "مرحبا بالعالم — שלום עולם",
        # Decomposed on purpose: a store that normalises Unicode changes these.
        "combining": "e\u0301 n\u0303 a\u0308 \u0915\u094d\u0937",
        "cjk": "購入完了 결제 완료",
        "escapes": "quote \" apostrophe ' back\\slash, comma; tab\t cr\r lf\n crlf\r\n end",
        "ктоключ": "значение",
        "🔑": "emoji key",
    }
    return [
        make_event(
            "purchase",
            kind="macro",
            goal="purchase",
            value=19.99,
            currency="EUR",
            transaction_id="订单-42-🧾",
            user_id="usér-ßø-😀",
            properties=text,
            context={
                "method": "GET",
                "path": "/café/über/🛒",
                "url": "https://shop.example/café/über/🛒?q=☕",
                "referrer": "https://例え.jp/パス?q=検索",
                "user_agent": "Mozilla/5.0 (Linux; Android 14) 表示 ✓",
                "status": 200,
                "utm": {"source": "ñandú", "campaign": "été 🌞", "content": "عرض"},
                "variant": "B – ünïcödé",
            },
            timestamp=_T0,
        ),
        make_event(
            "signup",
            kind="micro",
            properties={"nested": {"list": list(text.values())}},
            timestamp=_T0 + timedelta(milliseconds=1),
        ),
    ]


def _chars(value: Any) -> int:
    """Characters of strings and keys in a JSON value, as the event limits count them."""
    if isinstance(value, str):
        return len(value)
    if isinstance(value, dict):
        return sum(len(k) + _chars(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return sum(_chars(v) for v in value)
    return 0


def large_properties(tag: int) -> dict[str, Any]:
    """Properties at the documented limits: as many keys, as long a string and list, as
    deep a nesting and as many characters in all as an event may carry."""
    deepest: Any = "deep"
    for level in range(MAX_DEPTH, 1, -1):
        deepest = {f"level{level}": deepest}
    props: dict[str, Any] = {
        "tag": tag,
        "nested": deepest,
        "list": list(range(MAX_LIST)),
        # Four code points of 1 to 4 UTF-8 bytes each: MAX_STRING characters, 2.5x the bytes.
        "wide": ("aé€🛒" * MAX_STRING)[:MAX_STRING],
    }
    # Spread what is left of the character budget over the remaining keys, so that both
    # the key count and the character count end exactly at their limits.
    budget = MAX_PROPERTIES_CHARS - _chars(props)
    slots = MAX_PROPERTIES - len(props)
    for index in range(slots):
        key = f"k{index:03d}"
        size = min(MAX_STRING, budget // (slots - index) - len(key))
        props[key] = (f"{tag}-{index}-" + "x" * size)[: max(size, 0)]
        budget -= len(key) + len(props[key])
    return check_properties(props)


def large_events(count: int = 3) -> list[Event]:
    """Events carrying the largest properties, ids and request context allowed."""
    context = {
        "method": "OPTIONS",
        "path": "/" + "p" * 2047,
        "url": "https://shop.example/" + "u" * (4096 - 21),
        "referrer": "https://ref.example/" + "r" * (4096 - 20),
        "user_agent": "Mozilla/5.0 " + "a" * (1024 - 12),
        "ip": "2001:db8:85a3::",
        "status": 599,
        "utm": {key: key[0] * 256 for key in ("source", "medium", "campaign", "term", "content")},
        "variant": "v" * 128,
    }
    return [
        make_event(
            "large",
            kind="macro",
            goal="g" * 64,
            value=1e15,
            currency="USD",
            transaction_id=f"{i}".ljust(MAX_ID, "t"),
            visitor_id=f"{i}".ljust(MAX_ID, "v"),
            session_id=f"{i}".ljust(MAX_ID, "s"),
            user_id=f"{i}".ljust(MAX_ID, "u"),
            properties=large_properties(i),
            context=context,
            timestamp=_T0 + timedelta(seconds=i),
        )
        for i in range(count)
    ]


# -- the backend contract -------------------------------------------------------------

_CLOSED = pytest.StashKey[set[int]]()
_BROKEN = pytest.StashKey[set[int]]()


class BackendContract(abc.ABC):
    """Tests every backend must pass; subclass it (as ``Test...``) to run them on yours.

    ::

        from convsdk.testing import BackendContract

        class TestKafkaBackend(BackendContract):
            supports_dedupe = False          # a re-sent batch may be stored twice
            preserves_order = True           # read_back() returns a batch in write order

            def make_backend(self, tmp_path):
                return KafkaBackend(...)

            def read_back(self, backend):
                return [...]                 # every Event the store holds now

            def break_backend(self, backend):  # optional: make the store fail
                ...

            def make_url(self, tmp_path):      # optional: exercise from_url()
                return "kafka://localhost:9092/events"

    ``make_backend(tmp_path)`` returns a new backend on an empty store for each test.
    ``read_back(backend)`` returns what the store holds, as :class:`~convsdk.Event`
    objects; it is also called after ``close()``, so it should read through a
    connection of its own. ``break_backend(backend)`` makes the underlying store fail
    (stop the server, drop the table...); without it that test is skipped.
    ``make_url(tmp_path)`` (or a ``url`` class attribute) gives a URL for
    :func:`convsdk.backends.from_url` reaching an empty store; without one the
    ``from_url`` test is skipped. Fixtures your backend needs (a server's URL, say)
    come in through an ``autouse`` fixture method storing them on ``self``; it runs
    before ``make_backend``.

    ``supports_dedupe``: a batch written again is stored once (sinks keyed by
    ``event_id``); otherwise each event must be stored at least once.
    ``preserves_order``: events come back in the order they were written.

    The base class is abstract and not named ``Test...``, so importing it into a test
    module does not make pytest collect it. Helpers to write more tests of your own:
    :func:`assert_events_equal`, :func:`round_trip_events`, :func:`numbered_events`,
    :func:`unicode_events`, :func:`large_events`.
    """

    supports_dedupe: ClassVar[bool] = False
    preserves_order: ClassVar[bool] = True
    url: str | None = None

    @abc.abstractmethod
    def make_backend(self, tmp_path: Path) -> Backend:
        """A new backend writing to an empty store."""

    @abc.abstractmethod
    def read_back(self, backend: Any) -> Iterable[Event]:
        """Every event the store behind ``backend`` holds now."""

    def break_backend(self, backend: Any) -> None:
        """Make the store behind ``backend`` fail, so that the next write must raise."""
        raise NotImplementedError

    def make_url(self, tmp_path: Path) -> str | None:
        """A ``from_url`` URL reaching an empty store (default: the ``url`` attribute)."""
        return self.url

    # -- plumbing ---------------------------------------------------------------------

    @pytest.fixture
    def contract_backend(self, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
        """The backend under test; closed after the test unless the test closed it."""
        stash = request.node.stash
        stash[_CLOSED] = set()
        stash[_BROKEN] = set()
        backend = self.make_backend(tmp_path)
        yield backend
        if id(backend) in stash[_CLOSED]:
            return
        if id(backend) in stash[_BROKEN]:
            try:
                backend.close()
            except Exception:  # a broken store may fail to close; that is not under test
                pass
        else:
            backend.close()

    def _read(self, backend: Any) -> list[Event]:
        return list(self.read_back(backend))

    def _write_and_check(self, backend: Any, events: list[Event]) -> None:
        __tracebackhide__ = True
        backend.write(events)
        assert_events_equal(events, self._read(backend), ordered=self.preserves_order)

    # -- the contract -----------------------------------------------------------------

    def test_is_a_backend(self, contract_backend: Any) -> None:
        """The object has ``write(events)`` and ``close()``."""
        assert isinstance(contract_backend, Backend), (
            f"{type(contract_backend).__name__} lacks write(events) or close()"
        )

    def test_round_trip_every_field(self, contract_backend: Any) -> None:
        """Every field comes back as written: kinds, values, ids, microseconds, JSON data."""
        self._write_and_check(contract_backend, round_trip_events())

    def test_batch_of_one(self, contract_backend: Any) -> None:
        """A batch of a single event is stored."""
        self._write_and_check(contract_backend, numbered_events(1))

    def test_batch_of_a_thousand(self, contract_backend: Any) -> None:
        """A batch of 1,000 events is stored whole (in order, with ``preserves_order``)."""
        self._write_and_check(contract_backend, numbered_events(1000))

    def test_batches_accumulate(self, contract_backend: Any) -> None:
        """Each batch adds to what the store holds; none replaces an earlier one."""
        first, second = numbered_events(3, tag="first"), numbered_events(4, tag="second")
        contract_backend.write(first)
        contract_backend.write(second)
        assert_events_equal(
            first + second, self._read(contract_backend), ordered=self.preserves_order
        )

    def test_resent_batch(self, contract_backend: Any) -> None:
        """A batch written again after a partial failure is stored once with
        ``supports_dedupe``, and at least once otherwise."""
        events = numbered_events(10, tag="resent")
        contract_backend.write(events[:4])
        contract_backend.write(events)
        got = self._read(contract_backend)
        if self.supports_dedupe:
            assert_events_equal(events, got, ordered=False)
            return
        written = {e.event_id for e in events}
        seen = {e.event_id for e in got}
        assert seen == written, (
            f"a re-sent batch must be stored at least once: {len(written - seen)} missing, "
            f"{len(seen - written)} unknown events"
        )
        first: dict[str, Event] = {}
        for event in got:
            first.setdefault(event.event_id, event)
        assert_events_equal(events, list(first.values()), ordered=False)

    def test_unicode(self, contract_backend: Any) -> None:
        """Emoji, right-to-left scripts, combining marks and escapes survive unchanged."""
        self._write_and_check(contract_backend, unicode_events())

    def test_large_events(self, contract_backend: Any) -> None:
        """Events at the documented size limits (``convsdk.event.MAX_*``) are stored whole."""
        self._write_and_check(contract_backend, large_events())

    def test_empty_batch_is_a_no_op(self, contract_backend: Any) -> None:
        """``write([])`` stores nothing, raises nothing, and later writes still work."""
        contract_backend.write([])
        assert self._read(contract_backend) == [], "an empty batch stored something"
        self._write_and_check(contract_backend, numbered_events(2))

    def test_close_after_writes(
        self, contract_backend: Any, request: pytest.FixtureRequest
    ) -> None:
        """``close()`` after writes returns normally and keeps what was written."""
        events = numbered_events(5, tag="close")
        contract_backend.write(events)
        request.node.stash[_CLOSED].add(id(contract_backend))
        contract_backend.close()
        assert_events_equal(events, self._read(contract_backend), ordered=self.preserves_order)

    def test_close_without_writes(
        self, contract_backend: Any, request: pytest.FixtureRequest
    ) -> None:
        """``close()`` on a backend that never wrote (nor connected) returns normally."""
        request.node.stash[_CLOSED].add(id(contract_backend))
        contract_backend.close()

    def test_write_to_a_failed_store_raises(
        self, contract_backend: Any, request: pytest.FixtureRequest
    ) -> None:
        """When the store fails, ``write`` raises (the dispatcher then retries or spools);
        it never returns as if the events were stored."""
        if type(self).break_backend is BackendContract.break_backend:
            pytest.skip(f"{type(self).__name__} does not implement break_backend()")
        contract_backend.write(numbered_events(2, tag="before"))
        request.node.stash[_BROKEN].add(id(contract_backend))
        self.break_backend(contract_backend)
        try:
            contract_backend.write(numbered_events(2, tag="after"))
        except Exception:
            return
        raise AssertionError(
            f"{type(contract_backend).__name__}.write() returned normally after "
            "break_backend(): a failed write must raise, or events are lost silently"
        )

    def test_from_url(self, tmp_path: Path) -> None:
        """``convsdk.backends.from_url(url)`` builds a working backend for the scheme."""
        url = self.make_url(tmp_path)
        if url is None:
            pytest.skip(f"{type(self).__name__} sets neither url nor make_url()")
        backend = from_url(url)
        try:
            self._write_and_check(backend, round_trip_events())
        finally:
            backend.close()
