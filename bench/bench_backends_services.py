"""Events per second into the server backends: PostgreSQL, Redis streams, NATS JetStream.

Run: ``python bench/bench_backends_services.py [--events 20000] [--repeats 5]``, with the
servers on their usual local ports (override with ``CONVSDK_TEST_POSTGRES_URL``,
``CONVSDK_TEST_REDIS_URL``, ``CONVSDK_TEST_NATS_URL``); a server that does not answer is
left out, and the script says so.

Each figure is the median over ``--repeats`` runs of writing ``--events`` pre-built
events (ids and timestamps already formatted, as the dispatcher hands them over) in
batches of 100 and 1,000, from the backend's construction to its ``close()``, into a
fresh table / stream key / JetStream stream. Runs are interleaved (one run of each row,
then again) so a burst of load from elsewhere falls on every row alike. The events are
what the middleware records: page views with their request context from 5,000
visitors, one in five a micro or macro conversion.

Side by side, what one would write by hand with the same driver, for scale:

- PostgreSQL: ``COPY`` of rows built in advance, one transaction a batch, into the
  same table with the same indexes (the ceiling: convsdk adds serialising the events);
- Redis: a redis-py ``pipeline(transaction=False)`` of ``xadd`` calls;
- NATS: ``asyncio.gather`` of ``js.publish`` calls, each awaiting its ack.

PostgreSQL commits every batch durably (``synchronous_commit`` as the server has it):
with small batches the disk's flush time, not convsdk, sets the pace.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from _util import NOTE, table  # noqa: E402

from convsdk import _json  # noqa: E402
from convsdk.backends import from_url  # noqa: E402
from convsdk.event import Event, make_event  # noqa: E402

POSTGRES = os.environ.get("CONVSDK_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS = os.environ.get("CONVSDK_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
NATS = os.environ.get("CONVSDK_TEST_NATS_URL", "nats://127.0.0.1:4222")
BATCHES = (100, 1000)
USER_AGENT = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
)
PAGES = ["/", "/pricing", "/features", "/blog/launch", "/signup", "/checkout"]

# A run: (events, batch) -> seconds.
Run = Callable[[Sequence[Event], int], float]


def build_events(count: int) -> list[Event]:
    """Realistic middleware events, with ids and timestamps formatted in advance."""
    rng = random.Random(42)
    events = []
    for i in range(count):
        visitor = f"v{rng.randrange(5000):021d}"
        path = rng.choice(PAGES)
        common: dict[str, Any] = {
            "visitor_id": visitor,
            "session_id": f"s{visitor}",
            "context": {
                "method": "GET",
                "path": path,
                "url": f"https://shop.example{path}?utm_source=google&utm_medium=cpc",
                "referrer": "https://www.google.com/",
                "user_agent": USER_AGENT,
                "ip": "203.0.113.0",
                "status": 200,
                "utm": {"source": "google", "medium": "cpc", "campaign": "spring_sale"},
            },
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
        event.to_dict()  # formats the id and timestamp once, as the dispatcher would have
        events.append(event)
    return events


def _batches(events: Sequence[Event], batch: int) -> list[Sequence[Event]]:
    return [events[i : i + batch] for i in range(0, len(events), batch)]


def _through_backend(url: str, cleanup: Callable[[], None]) -> Run:
    def run(events: Sequence[Event], batch: int) -> float:
        chunks = _batches(events, batch)
        try:
            start = time.perf_counter()
            backend = from_url(url)
            for chunk in chunks:
                backend.write(chunk)
            backend.close()
            return time.perf_counter() - start
        finally:
            cleanup()

    return run


# -- PostgreSQL ---------------------------------------------------------------------------


def postgres_runs() -> dict[str, Run]:
    import psycopg

    from convsdk.backends.postgres import COLUMNS, migrate

    with psycopg.connect(POSTGRES, connect_timeout=2) as conn:
        conn.execute("SELECT 1")

    def fresh() -> tuple[str, str]:
        table = f"convsdk_bench_{uuid.uuid4().hex[:10]}"
        return table, f"{POSTGRES}{'&' if '?' in POSTGRES else '?'}table={table}"

    def drop(table: str) -> None:
        with psycopg.connect(POSTGRES, autocommit=True) as conn:
            conn.execute(f'DROP TABLE IF EXISTS "{table}"')

    def convsdk(events: Sequence[Event], batch: int) -> float:
        table, url = fresh()
        return _through_backend(url, lambda: drop(table))(events, batch)

    def by_hand(events: Sequence[Event], batch: int) -> float:
        table, url = fresh()
        migrate(url)  # the same table and indexes
        dumps = _json.dumps_str
        rows = [
            (
                *(getattr(e, c) for c in COLUMNS[:-2]),
                dumps(e.properties),
                dumps(e.context),
            )
            for e in events
        ]
        copy_sql = f'COPY "{table}" ({", ".join(COLUMNS)}) FROM STDIN'
        try:
            with psycopg.connect(POSTGRES, autocommit=True) as conn:
                start = time.perf_counter()
                for i in range(0, len(rows), batch):
                    with conn.transaction(), conn.cursor().copy(copy_sql) as copy:
                        for row in rows[i : i + batch]:
                            copy.write_row(row)
                return time.perf_counter() - start
        finally:
            drop(table)

    return {
        "postgresql:// (COPY, dedupe on resend)": convsdk,
        "  ceiling: psycopg COPY of prebuilt rows": by_hand,
    }


# -- Redis --------------------------------------------------------------------------------


def redis_runs() -> dict[str, Run]:
    import redis

    client = redis.Redis.from_url(REDIS, socket_timeout=5, socket_connect_timeout=2)
    client.ping()
    base = REDIS.rstrip("/")
    if base.count("/") < 3:
        base += "/0"

    def convsdk(events: Sequence[Event], batch: int) -> float:
        key = f"convsdk:bench:{uuid.uuid4().hex[:10]}"
        return _through_backend(f"{base}/{key}", lambda: client.delete(key))(events, batch)

    def by_hand(events: Sequence[Event], batch: int) -> float:
        key = f"convsdk:bench:{uuid.uuid4().hex[:10]}"
        dumps = _json.dumps
        try:
            start = time.perf_counter()
            for chunk in _batches(events, batch):
                pipe = client.pipeline(transaction=False)
                for e in chunk:
                    pipe.xadd(
                        key,
                        {"event_id": e.event_id, "data": dumps(e.to_dict())},
                        maxlen=1_000_000,
                        approximate=True,
                    )
                pipe.execute()
            return time.perf_counter() - start
        finally:
            client.delete(key)

    return {
        "redis:// (XADD MAXLEN ~, one round trip)": convsdk,
        "  by hand: redis-py pipeline of xadd": by_hand,
    }


# -- NATS ---------------------------------------------------------------------------------


def nats_runs() -> dict[str, Run]:
    import nats

    async def call(work: Callable[[Any], Any]) -> Any:
        client = await nats.connect(NATS, connect_timeout=2, allow_reconnect=False)
        try:
            return await work(client.jetstream())
        finally:
            await client.close()

    async def noop(js: Any) -> None:
        await js.account_info()

    asyncio.run(call(noop))

    def delete(stream: str) -> None:
        async def work(js: Any) -> None:
            await js.delete_stream(stream)

        asyncio.run(call(work))

    def convsdk(events: Sequence[Event], batch: int) -> float:
        token = uuid.uuid4().hex[:10]
        stream = f"CONVSDK_BENCH_{token.upper()}"
        url = f"{NATS.rstrip('/')}/convsdk.bench.{token}?stream={stream}"
        return _through_backend(url, lambda: delete(stream))(events, batch)

    def by_hand(events: Sequence[Event], batch: int) -> float:
        token = uuid.uuid4().hex[:10]
        stream, subject = f"CONVSDK_BENCH_{token.upper()}", f"convsdk.bench.{token}"
        dumps = _json.dumps

        async def work(js: Any) -> float:
            await js.add_stream(name=stream, subjects=[subject])
            start = time.perf_counter()
            for chunk in _batches(events, batch):
                await asyncio.gather(
                    *(
                        js.publish(subject, dumps(e.to_dict()), headers={"Nats-Msg-Id": e.event_id})
                        for e in chunk
                    )
                )
            took = time.perf_counter() - start
            await js.delete_stream(stream)
            return took

        seconds: float = asyncio.run(call(work))
        return seconds

    return {
        "nats:// (JetStream, Nats-Msg-Id)": convsdk,
        "  by hand: gather of js.publish": by_hand,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    events = build_events(args.events)

    runs: dict[str, Run] = {}
    missing = []
    for name, make in (("PostgreSQL", postgres_runs), ("Redis", redis_runs), ("NATS", nats_runs)):
        try:
            runs.update(make())
        except Exception as exc:  # a server or driver that is not there: leave it out
            missing.append(f"{name} left out: {type(exc).__name__}: {exc}")

    seconds: dict[tuple[str, int], list[float]] = {}
    for _ in range(args.repeats):
        for batch in BATCHES:
            for label, run in runs.items():
                seconds.setdefault((label, batch), []).append(run(events, batch))
    rate = {key: len(events) / statistics.median(values) for key, values in seconds.items()}

    rows: list[list[object]] = []
    labels = list(runs)
    for convsdk_label, reference in zip(labels[::2], labels[1::2], strict=True):
        for batch in BATCHES:
            ratio = rate[convsdk_label, batch] / rate[reference, batch]
            rows.append([convsdk_label, batch, rate[convsdk_label, batch], f"{ratio:.2f}x"])
            rows.append([reference, batch, rate[reference, batch], ""])

    size = sum(len(_json.dumps(e.to_dict())) for e in events) / len(events)
    print(
        f"Server backends: events/s, median of {args.repeats} interleaved runs of "
        f"{args.events:,} events (~{size:.0f} bytes of JSON each), JSON: {_json.IMPLEMENTATION}"
    )
    if rows:
        print(table(["backend", "batch", "events/s", "ratio"], rows))
    for line in missing:
        print(line)
    print(NOTE)


if __name__ == "__main__":
    main()
