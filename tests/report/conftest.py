"""Shared pieces of the report tests: a small event history, written to each store.

``scenario()`` is a day of a shop, small enough to compute every figure of its report
by hand (the tests say how); ``write_sqlite``, ``write_jsonl`` and the ``postgres_table``
fixture put it in the three stores the report reads. The ``store`` fixture makes a
store of either SQL kind that can take more events (the rollup tests').
"""

from __future__ import annotations

import os
import socket
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from convsdk.backends.file import FileBackend
from convsdk.backends.sqlite import SQLiteBackend
from convsdk.event import Event
from convsdk.goals import Funnel, Goal, GoalSet

T0 = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
POSTGRES_URL = os.environ.get(
    "CONVSDK_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)

GOALS = GoalSet(
    [
        Goal.micro("viewed_pricing", event="page_view", path="/pricing", stage="consideration"),
        Goal.micro("newsletter", event="form_submit", path="/newsletter", role="secondary"),
        Goal.macro("purchase", event="checkout", path="/checkout*", stage="decision"),
    ],
    [Funnel("buy", ["viewed_pricing", "purchase"], window="1d")],
)

_ids = iter(range(1, 1_000_000))


def event_id(n: int | None = None) -> str:
    """A UUID-shaped, sortable event id."""
    return f"00000000-0000-7000-8000-{next(_ids) if n is None else n:012d}"


def make(
    name: str,
    seconds: float,
    visitor: str | None,
    *,
    path: str = "/",
    referrer: str | None = None,
    utm: dict[str, str] | None = None,
    variant: str | None = None,
    **fields: Any,
) -> Event:
    """An event ``seconds`` after :data:`T0`, with a request context like the middleware's."""
    context: dict[str, Any] = {
        "method": "POST" if name != "page_view" else "GET",
        "path": path,
        "url": f"https://shop.example{path}",
        "referrer": referrer,
        "user_agent": "Mozilla/5.0",
        "ip": "203.0.113.0",
        "status": 200,
        "utm": utm,
    }
    if variant is not None:
        context["variant"] = variant
    return Event(
        name,
        timestamp=T0 + timedelta(seconds=seconds),
        visitor_id=visitor,
        session_id=None if visitor is None else f"s-{visitor}",
        context=context,
        event_id=fields.pop("event_id", None) or event_id(),
        **fields,
    )


def scenario() -> list[Event]:
    """Four visitors, an anonymous one and an early bird, in time order.

    - alice: lands from Google with UTM google/cpc/brand, variant B; views pricing (+60 s),
      plays a video (a micro conversion with no goal, +70 s), buys order T1 for USD 30
      (+120 s) and the thank-you page sends T1 again (+125 s, counts once); the next day
      she comes back from the newsletter (UTM newsletter/email/weekly), which gets no
      credit for a purchase made before it: her last touch stays google/cpc/brand.
    - bob: direct, variant A; views pricing at +300 s, buys T2 for EUR 20 (+500 s) and
      then EUR 15 without a transaction id (+600 s).
    - carol: arrives from the site itself (an internal referrer), no variant; subscribes
      to the newsletter (+30 s).
    - dave: variant A; views pricing two days later (+2 d) and never buys.
    - an anonymous visitor (Do-Not-Track): a page view and order T3 for USD 50.
    - erin: one page view a day *before* T0 (outside a report that starts at T0).
    """
    google = {"source": "google", "medium": "cpc", "campaign": "brand"}
    newsletter = {"source": "newsletter", "medium": "email", "campaign": "weekly"}
    events = [
        make("page_view", -86_400, "erin", referrer="https://bing.com/"),
        make(
            "page_view",
            0,
            "alice",
            referrer="https://www.google.com/search?q=x",
            utm=google,
            variant="B",
        ),
        make("page_view", 10, "bob", variant="A"),
        make("page_view", 20, "carol", referrer="https://shop.example/blog", path="/x"),
        make("form_submit", 30, "carol", path="/newsletter", kind="micro", goal="newsletter"),
        make("page_view", 40, None),
        make(
            "checkout",
            50,
            None,
            path="/checkout",
            kind="macro",
            goal="purchase",
            value=50.0,
            currency="USD",
            transaction_id="T3",
        ),
        make(
            "page_view",
            60,
            "alice",
            path="/pricing",
            variant="B",
            kind="micro",
            goal="viewed_pricing",
        ),
        make("video_played", 70, "alice", variant="B", kind="micro"),
        make(
            "checkout",
            120,
            "alice",
            path="/checkout",
            variant="B",
            kind="macro",
            goal="purchase",
            value=30.0,
            currency="USD",
            transaction_id="T1",
        ),
        make(
            "checkout",
            125,
            "alice",
            path="/checkout",
            variant="B",
            kind="macro",
            goal="purchase",
            value=30.0,
            currency="USD",
            transaction_id="T1",
        ),
        make(
            "page_view",
            300,
            "bob",
            path="/pricing",
            variant="A",
            kind="micro",
            goal="viewed_pricing",
        ),
        make(
            "checkout",
            500,
            "bob",
            path="/checkout",
            variant="A",
            kind="macro",
            goal="purchase",
            value=20.0,
            currency="EUR",
            transaction_id="T2",
        ),
        make(
            "checkout",
            600,
            "bob",
            path="/checkout",
            variant="A",
            kind="macro",
            goal="purchase",
            value=15.0,
            currency="EUR",
        ),
        make(
            "page_view",
            172_800,
            "dave",
            path="/pricing",
            variant="A",
            kind="micro",
            goal="viewed_pricing",
        ),
        make("page_view", 86_400, "alice", utm=newsletter, variant="B"),
    ]
    return sorted(events, key=lambda e: e.timestamp)


def write_sqlite(path: Path, events: list[Event]) -> str:
    """Store ``events`` with the SQLite backend; return the report source URL."""
    backend = SQLiteBackend(path)
    try:
        backend.write(events)
    finally:
        backend.close()
    return f"sqlite:///{path}"


def write_jsonl(path: Path, events: list[Event], *, split: int | None = None) -> str:
    """Store ``events`` with the file backend, the first ``split`` in a rotated file."""
    if split is not None:
        rotated = FileBackend(path.with_name(path.name + ".1"), max_bytes=0)
        rotated.write(events[:split])
        rotated.close()
        events = events[split:]
    backend = FileBackend(path, max_bytes=0)
    backend.write(events)
    backend.close()
    return f"file://{path}"


def _postgres_unusable() -> str | None:
    parts = urlsplit(POSTGRES_URL)
    try:
        socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 5432), 2).close()
        import psycopg

        with psycopg.connect(POSTGRES_URL, connect_timeout=2) as conn:
            conn.execute("SELECT 1")
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


@pytest.fixture(params=["duckdb", "python", "python in parts"])
def engine(request: pytest.FixtureRequest) -> str:
    """How ``load_report`` reads JSON Lines logs: every figure must be the same either way.

    "python in parts": the streaming reader reading a log of more than 400 bytes in
    parts (:mod:`convsdk.report.jsonl.parts`), one or two events a part.
    """
    if request.param == "duckdb":
        pytest.importorskip("duckdb")
    if request.param == "python in parts":
        monkeypatch: pytest.MonkeyPatch = request.getfixturevalue("monkeypatch")
        monkeypatch.setattr("convsdk.report.jsonl.reader.PART_BYTES", 400)
        return "python"
    return str(request.param)


def require_postgres() -> None:
    """Skip the test when the PostgreSQL server is not there (fail it, with
    ``CONVSDK_REQUIRE_SERVICES=1``)."""
    reason = _postgres_unusable()
    if reason is not None:
        message = f"PostgreSQL not reachable at {POSTGRES_URL} ({reason})"
        if os.environ.get("CONVSDK_REQUIRE_SERVICES") == "1":
            pytest.fail(f"{message}; CONVSDK_REQUIRE_SERVICES=1 requires it")
        pytest.skip(f"{message}; set CONVSDK_REQUIRE_SERVICES=1 to fail instead")


def drop_postgres_table(conn: Any, table: str) -> None:
    """Drop ``table`` and the rollup tables named after it."""
    from psycopg import sql

    for name in ["", "_rollup_visitor_days", "_rollup_days", "_rollup_transactions"] + [
        "_rollup_links",
        "_rollup_watermark",
    ]:
        conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(table + name)))


@pytest.fixture
def postgres_table() -> Iterator[tuple[str, Callable[[list[Event]], None]]]:
    """``(report URL with ?table=, write(events))`` for a table of this test's own."""
    require_postgres()
    import psycopg
    from psycopg import sql
    from psycopg.types.json import Jsonb

    table = f"convsdk_report_test_{uuid.uuid4().hex[:12]}"
    ident = sql.Identifier(table)
    conn = psycopg.connect(POSTGRES_URL, autocommit=True, connect_timeout=5)
    # The schema the PostgreSQL backend documents.
    conn.execute(
        sql.SQL(
            "CREATE TABLE {} (event_id TEXT PRIMARY KEY, name TEXT NOT NULL, kind TEXT, "
            "goal TEXT, value DOUBLE PRECISION, currency TEXT, transaction_id TEXT, "
            "timestamp TIMESTAMPTZ NOT NULL, visitor_id TEXT, session_id TEXT, user_id TEXT, "
            "properties JSONB NOT NULL, context JSONB NOT NULL)"
        ).format(ident)
    )

    def write(events: list[Event]) -> None:
        rows = [
            (
                e.event_id,
                e.name,
                e.kind,
                e.goal,
                e.value,
                e.currency,
                e.transaction_id,
                e.timestamp,
                e.visitor_id,
                e.session_id,
                e.user_id,
                Jsonb(e.properties),
                Jsonb(e.context),
            )
            for e in events
        ]
        with conn.cursor() as cursor:
            cursor.executemany(
                sql.SQL("INSERT INTO {} VALUES ({}) ON CONFLICT DO NOTHING").format(
                    ident, sql.SQL(", ").join([sql.Placeholder()] * 13)
                ),
                rows,
            )

    sep = "&" if "?" in POSTGRES_URL else "?"
    try:
        yield f"{POSTGRES_URL}{sep}table={table}", write
    finally:
        drop_postgres_table(conn, table)
        conn.close()


def add_sqlite(url: str, events: list[Event]) -> None:
    """Store ``events`` in the SQLite store at ``url``, as the tracker's backend does."""
    backend = SQLiteBackend(url.removeprefix("sqlite:///"))
    try:
        backend.write(events)
    finally:
        backend.close()


@dataclass
class Store:
    """A store of the test's own: its report URL, its events table, and its SQL."""

    url: str
    table: str
    add: Callable[[list[Event]], None]
    """Store more events, as the tracker's backend does."""
    sql: Callable[[str], None]
    """Run a statement (``{t}``: the events table)."""


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[..., Store]]:
    """``store(events)``: a store of that kind holding ``events``."""
    if request.param == "sqlite":

        def sqlite_store(events: list[Event]) -> Store:
            url = write_sqlite(tmp_path / "events.db", events)

            def run(statement: str) -> None:
                conn = sqlite3.connect(url.removeprefix("sqlite:///"))
                conn.execute(statement.format(t="convsdk_events"))
                conn.commit()
                conn.close()

            return Store(url, "convsdk_events", lambda more: add_sqlite(url, more), run)

        yield sqlite_store
        return
    require_postgres()
    psycopg = pytest.importorskip("psycopg")
    from convsdk.backends.postgres import PostgresBackend

    table = f"convsdk_rollup_test_{uuid.uuid4().hex[:12]}"
    url = f"{POSTGRES_URL}{'&' if '?' in POSTGRES_URL else '?'}table={table}"
    conn = psycopg.connect(POSTGRES_URL, autocommit=True)

    def add(events: list[Event]) -> None:
        backend = PostgresBackend.from_url(url)
        try:
            backend.write(events)
        finally:
            backend.close()

    def postgres_store(events: list[Event]) -> Store:
        add(events)
        return Store(url, table, add, lambda statement: conn.execute(statement.format(t=table)))

    try:
        yield postgres_store
    finally:
        drop_postgres_table(conn, table)
        conn.close()
