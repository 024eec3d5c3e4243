"""Events per second into the embedded backends, ``file://`` and ``sqlite://``.

Run: ``python bench/bench_backends_embedded.py [--events 50000] [--repeats 5]``.

Each figure is the median over ``--repeats`` runs of writing ``--events`` events in
batches of 100 and 1,000 into a fresh file or database in a temporary directory, from
construction to ``close()``. Every run gets events of its own, as the tracker hands
them to the dispatcher (id and timestamp not yet formatted: formatting them is part of
writing), built before the clock starts. The runs of all rows are interleaved (one run
of each, then again), so a burst of load from elsewhere falls on every row alike. The
events are what the middleware records: page views with their request context (URL,
referrer, user agent, UTM) from 5,000 visitors, one in five a micro or macro conversion.

Side by side, for scale:

- the file backend with ``orjson`` (the ``fast`` extra) and with the standard
  library's ``json`` (convsdk's fallback encoder, loaded as it is when ``orjson``
  cannot be imported);
- by hand: ``logging.handlers.RotatingFileHandler`` writing one ``json.dumps`` line
  per event, what one would write without convsdk;
- the SQLite backend writing into a database of the first layout (``user_version`` 1,
  a ``WITHOUT ROWID`` table on 4 KiB pages), as an existing database is kept;
- by hand: ``executemany`` of a one-row ``INSERT`` with rows built in advance (``None``
  for NULL), into the same table with the same pragmas: what one would write with the
  ``sqlite3`` module, given rows for free.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import logging
import logging.handlers
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from _util import NOTE, table  # noqa: E402

import convsdk.event.model as file_module  # noqa: E402  (Event.to_json's dumps)
from convsdk import _json  # noqa: E402
from convsdk.backends.file import FileBackend  # noqa: E402
from convsdk.backends.sqlite import SQLiteBackend, connect  # noqa: E402
from convsdk.event import Event, make_event  # noqa: E402

BATCHES = (100, 1000)
USER_AGENT = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
)
PAGES = ["/", "/pricing", "/features", "/blog/launch", "/signup", "/checkout"]


def build_events(count: int) -> list[Event]:
    """Realistic middleware events, with ids and timestamps formatted in advance."""
    rng = random.Random(42)
    events = []
    for i in range(count):
        visitor = f"v{rng.randrange(5000):021d}"
        path = rng.choice(PAGES)
        context = {
            "method": "GET",
            "path": path,
            "url": f"https://shop.example{path}?utm_source=google&utm_medium=cpc",
            "referrer": "https://www.google.com/",
            "user_agent": USER_AGENT,
            "ip": "203.0.113.0",
            "status": 200,
            "utm": {"source": "google", "medium": "cpc", "campaign": "spring_sale"},
        }
        common: dict[str, Any] = {
            "visitor_id": visitor,
            "session_id": f"s{visitor}",
            "context": context,
        }
        if i % 20 == 0:
            event = make_event(
                "checkout",
                kind="macro",
                goal="purchase",
                value=rng.choice([19.0, 49.0, 99.0]),
                currency="USD",
                transaction_id=f"order-{i}",
                properties={"items": rng.randrange(1, 5), "coupon": None},
                **common,
            )
        elif i % 5 == 0:
            event = make_event("page_view", kind="micro", goal="viewed_pricing", **common)
        else:
            event = make_event("page_view", **common)
        events.append(event)
    return events


def fresh(events: Sequence[Event]) -> list[Event]:
    """Copies of ``events`` as the tracker makes them: stamped now, nothing formatted."""
    return [
        Event(
            e.name,
            kind=e.kind,
            goal=e.goal,
            value=e.value,
            currency=e.currency,
            transaction_id=e.transaction_id,
            visitor_id=e.visitor_id,
            session_id=e.session_id,
            user_id=e.user_id,
            properties=e.properties,
            context=e.context,
        )
        for e in events
    ]


def stdlib_json() -> ModuleType | None:
    """convsdk's JSON module as loaded without orjson, or None when orjson is absent."""
    if _json.IMPLEMENTATION != "orjson":
        return None
    saved = sys.modules.get("orjson")
    sys.modules["orjson"] = None  # type: ignore[assignment]  # makes `import orjson` fail
    try:
        spec = importlib.util.spec_from_file_location("convsdk_json_stdlib", _json.__file__)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.modules["orjson"] = saved  # type: ignore[assignment]
    return module


@contextlib.contextmanager
def file_encoder(module: ModuleType) -> Iterator[None]:
    """The file backend serialising with ``module.dumps`` for the duration (it writes
    each event's ``Event.to_json``, which calls the event module's ``dumps``)."""
    saved = file_module.dumps
    file_module.dumps = module.dumps
    try:
        yield
    finally:
        file_module.dumps = saved


def file_backend(target: str, events: Sequence[Event], batch: int) -> None:
    backend = FileBackend(target)
    for i in range(0, len(events), batch):
        backend.write(events[i : i + batch])
    backend.close()


def logging_handler(target: str, events: Sequence[Event], batch: int) -> None:
    handler = logging.handlers.RotatingFileHandler(
        target, maxBytes=100 * 1024 * 1024, backupCount=10, encoding="utf-8"
    )
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger = logging.getLogger("bench.events")
    logger.propagate = False
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        for i in range(0, len(events), batch):
            for event in events[i : i + batch]:
                logger.info(json.dumps(event.to_dict(), ensure_ascii=False))
    finally:
        logger.removeHandler(handler)
        handler.close()


def sqlite_backend(target: str, events: Sequence[Event], batch: int) -> None:
    backend = SQLiteBackend(target)
    for i in range(0, len(events), batch):
        backend.write(events[i : i + batch])
    backend.close()


FIRST_LAYOUT = """
PRAGMA page_size = 4096;
PRAGMA journal_mode = WAL;
CREATE TABLE convsdk_events (
  event_id TEXT PRIMARY KEY, name TEXT NOT NULL, kind TEXT, goal TEXT, value REAL,
  currency TEXT, transaction_id TEXT, timestamp TEXT NOT NULL, visitor_id TEXT,
  session_id TEXT, user_id TEXT, properties TEXT NOT NULL, context TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX convsdk_events_timestamp ON convsdk_events (timestamp);
PRAGMA user_version = 1;
"""


def first_layout(target: str) -> None:
    """An empty database of the first layout (not timed)."""
    conn = sqlite3.connect(target)
    conn.executescript(FIRST_LAYOUT)
    conn.close()


COLUMNS = (
    "event_id", "name", "kind", "goal", "value", "currency", "transaction_id", "timestamp",
    "visitor_id", "session_id", "user_id", "properties", "context",
)  # fmt: skip
INSERT = (
    f"INSERT OR IGNORE INTO convsdk_events ({', '.join(COLUMNS)}) "
    f"VALUES ({', '.join('?' * len(COLUMNS))})"
)


def prebuilt_rows(events: Sequence[Event]) -> list[tuple[Any, ...]]:
    rows = []
    for event in events:
        d = event.to_dict()
        d["properties"] = json.dumps(d["properties"])
        d["context"] = json.dumps(d["context"])
        rows.append(tuple(d[c] for c in COLUMNS))
    return rows


def sqlite_by_hand(target: str, rows: Sequence[tuple[Any, ...]], batch: int) -> float:
    """Seconds to insert prebuilt ``rows``, from connecting to closing."""
    start = time.perf_counter()
    conn = connect(target)  # same pragmas and schema
    for i in range(0, len(rows), batch):
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(INSERT, rows[i : i + batch])
        conn.execute("COMMIT")
    conn.close()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    events = build_events(args.events)
    rows = prebuilt_rows(events)
    stdlib = stdlib_json()

    def timed(
        write_all: Callable[[str, Sequence[Event], int], None],
        prepare: Callable[[str], None] | None = None,
    ) -> Callable[[str, int], float]:
        def run(target: str, batch: int) -> float:
            mine = fresh(events)
            if prepare is not None:
                prepare(target)
            start = time.perf_counter()
            write_all(target, mine, batch)
            return time.perf_counter() - start

        return run

    def timed_stdlib(target: str, batch: int) -> float:
        assert stdlib is not None
        with file_encoder(stdlib):
            return timed(file_backend)(target, batch)

    by_hand_file = "  by hand: RotatingFileHandler + json.dumps"
    by_hand_sqlite = "  by hand: executemany of prebuilt rows"
    # label -> (run(target, batch) -> seconds, file suffix)
    configs: dict[str, tuple[Callable[[str, int], float], str]] = {
        f"file:// ({_json.IMPLEMENTATION})": (timed(file_backend), ".jsonl"),
    }
    if stdlib is not None:
        configs["file:// (json)"] = (timed_stdlib, ".jsonl")
    configs[by_hand_file] = (timed(logging_handler), ".jsonl")
    configs[f"sqlite:// ({_json.IMPLEMENTATION})"] = (timed(sqlite_backend), ".db")
    configs["sqlite:// into a first-layout database"] = (
        timed(sqlite_backend, first_layout),
        ".db",
    )
    configs[by_hand_sqlite] = (
        lambda target, batch: sqlite_by_hand(target, rows, batch),
        ".db",
    )

    seconds: dict[tuple[str, int], list[float]] = {}
    for _ in range(args.repeats):
        for batch in BATCHES:
            for label, (run, suffix) in configs.items():
                with tempfile.TemporaryDirectory(prefix="convsdk-bench-") as tmp:
                    took = run(os.path.join(tmp, f"events{suffix}"), batch)
                seconds.setdefault((label, batch), []).append(took)
    rate = {key: len(events) / statistics.median(values) for key, values in seconds.items()}

    table_rows: list[list[object]] = []
    for section, reference in (("file", by_hand_file), ("sqlite", by_hand_sqlite)):
        for batch in BATCHES:
            for label in configs:
                if label.startswith(section):
                    ratio = rate[label, batch] / rate[reference, batch]
                    table_rows.append([label, batch, rate[label, batch], f"{ratio:.2f}x by hand"])
            table_rows.append([reference, batch, rate[reference, batch], ""])

    size = sum(len(_json.dumps(e.to_dict())) + 1 for e in events) / len(events)
    print(
        f"Embedded backends: events/s, median of {args.repeats} interleaved runs of "
        f"{args.events:,} events (~{size:.0f} bytes a JSON line), in a temp dir"
    )
    print(table(["backend", "batch", "events/s", "ratio"], table_rows))
    print(NOTE)


if __name__ == "__main__":
    main()
