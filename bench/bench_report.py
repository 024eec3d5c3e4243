"""How long the full report takes on a million events, and how much memory it needs.

``python bench/bench_report.py [--events N[,M…]] [--repeats 3] [--postgres URL]``

Generates synthetic traffic once (about ten events a visitor: page views, micro and
macro conversions, UTM-tagged and referred arrivals, an A/B test, Do-Not-Track
visitors, re-sent purchases) into SQLite and into a rotated JSON Lines log, cached in
the system temp directory and reused by later runs. Then it runs the whole report
(read, goals, funnels, lift, breakdowns, JSON and HTML rendering) on each store, each
run in a fresh process, and prints the median time and the peak resident memory.
A JSON Lines log is read both ways (``--engine duckdb`` and ``python``).

Beside each store, a baseline: DuckDB's own SQL for the core figures (goals, funnel
steps, lift, variants, time to convert) on the same events (see ``_duck_baseline.py``),
its time and peak memory, and the ratio of convsdk's time to it.

Aim: under 10 s and under 500 MB for a million events.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))
sys.path.insert(0, str(HERE))

from _util import byte_compile  # noqa: E402

from convsdk.backends.file import FileBackend  # noqa: E402
from convsdk.backends.sqlite import SQLiteBackend  # noqa: E402
from convsdk.event import Event  # noqa: E402

GOALS_TOML = """\
[[goals]]
name = "viewed_pricing"
kind = "micro"
event = "page_view"
path = "/pricing"
stage = "consideration"

[[goals]]
name = "newsletter"
kind = "micro"
event = "form_submit"
path = "/newsletter"
role = "secondary"

[[goals]]
name = "add_to_cart"
kind = "micro"
event = "form_submit"
path = "/cart"
stage = "intent"

[[goals]]
name = "started_checkout"
kind = "micro"
event = "page_view"
path = "/checkout"
stage = "decision"

[[goals]]
name = "purchase"
kind = "macro"
event = "checkout"
path = "/checkout*"
value_from = "form:total"
currency = "USD"
stage = "decision"

[[funnels]]
name = "purchase_path"
steps = ["viewed_pricing", "add_to_cart", "started_checkout", "purchase"]
window = "7d"
"""

_CHANNELS = (
    # (weight, utm or None, referrer or None)
    (0.25, {"source": "google", "medium": "cpc", "campaign": "brand"}, None),
    (0.20, None, "https://www.google.com/"),
    (
        0.15,
        {"source": "facebook", "medium": "paid_social", "campaign": "launch"},
        "https://l.facebook.com/",
    ),
    (0.10, {"source": "newsletter", "medium": "email", "campaign": "weekly"}, None),
    (0.05, None, "https://news.ycombinator.com/"),
    (0.25, None, None),
)
_PAGES = ("/", "/blog/a", "/blog/b", "/product/grinder", "/product/kettle", "/about")
_UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0"
_BASE = datetime(2026, 10, 1, tzinfo=UTC)


def _visitor(rng: random.Random, index: int) -> list[Event]:
    anonymous = rng.random() < 0.05
    visitor = None if anonymous else f"v{index:07d}-{rng.getrandbits(40):010x}"
    variant = rng.choice(("control", "b"))
    weights = [c[0] for c in _CHANNELS]
    now = _BASE + timedelta(seconds=rng.uniform(0, 30 * 86400))
    events: list[Event] = []
    intent = 1.0
    viewed_pricing = carted = False

    def emit(
        name: str,
        path: str,
        method: str,
        *,
        utm: dict[str, str] | None = None,
        referrer: str | None = None,
        **fields: object,
    ) -> None:
        nonlocal now
        now += timedelta(seconds=rng.uniform(5, 120))
        context = {
            "method": method,
            "path": path,
            "url": f"https://shop.example{path}",
            "referrer": referrer,
            "user_agent": _UA,
            "ip": "203.0.113.0",
            "status": 200,
            "utm": utm,
            "variant": variant,
        }
        events.append(
            Event(
                name,
                timestamp=now,
                visitor_id=visitor,
                session_id=None if anonymous else f"s{len(events)}",
                context=context,
                **fields,
            )
        )  # type: ignore[arg-type]

    for session in range(1 + min(3, int(rng.expovariate(1.5)))):
        if session:
            now += timedelta(hours=rng.uniform(2, 72))
        _, utm, referrer = rng.choices(_CHANNELS, weights)[0]
        emit("page_view", rng.choice(_PAGES), "GET", utm=utm, referrer=referrer)
        for _ in range(rng.randint(2, 8)):
            emit("page_view", rng.choice(_PAGES), "GET", referrer="https://shop.example/")
        if rng.random() < 0.4:
            viewed_pricing = True
            intent *= 1.8
            emit("page_view", "/pricing", "GET", kind="micro", goal="viewed_pricing")
        if rng.random() < 0.06:
            intent *= 1.3
            emit("form_submit", "/newsletter", "POST", kind="micro", goal="newsletter")
        if rng.random() < 0.12 * intent * (1.25 if variant == "b" else 1.0):
            carted = True
            emit("form_submit", "/cart", "POST", kind="micro", goal="add_to_cart")
        if carted and rng.random() < 0.6:
            emit("page_view", "/checkout", "GET", kind="micro", goal="started_checkout")
            if rng.random() < (0.55 if viewed_pricing else 0.35):
                currency = "EUR" if rng.random() < 0.1 else "USD"
                order = f"o{index}-{session}"
                value = round(rng.uniform(9, 400), 2)
                emit(
                    "checkout",
                    "/checkout",
                    "POST",
                    kind="macro",
                    goal="purchase",
                    value=value,
                    currency=currency,
                    transaction_id=order,
                )
                if rng.random() < 0.03:  # the thank-you page reloaded: the same order again
                    emit(
                        "checkout",
                        "/checkout",
                        "POST",
                        kind="macro",
                        goal="purchase",
                        value=value,
                        currency=currency,
                        transaction_id=order,
                    )
                carted = False
    return events


def generate(directory: Path, events: int, seed: int = 1) -> None:
    """Write about ``events`` events to ``directory`` (events.db, events.jsonl*)."""
    directory.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    sqlite = SQLiteBackend(directory / "events.db")
    # Every rotated file kept (the default keeps 10, 2 GB: fewer events than SQLite's
    # past about 3.5 million).
    log = FileBackend(directory / "events.jsonl", max_bytes=200 * 1024 * 1024, backups=1000)
    written = index = 0
    batch: list[Event] = []
    started = time.perf_counter()
    try:
        while written < events:
            batch.extend(_visitor(rng, index))
            index += 1
            if len(batch) >= 5000 or written + len(batch) >= events:
                batch = batch[: events - written]
                sqlite.write(batch)
                log.write(batch)
                # At-least-once delivery: now and then a batch is sent twice.
                if rng.random() < 0.01:
                    log.write(batch[:50])
                written += len(batch)
                batch = []
    finally:
        sqlite.close()
        log.close()
    (directory / "goals.toml").write_text(GOALS_TOML)
    (directory / "complete").write_text(json.dumps({"events": written, "visitors": index}))
    print(
        f"generated {written:,} events of {index:,} visitors in "
        f"{time.perf_counter() - started:.0f} s into {directory}"
    )


_RUN = """
import json, resource, sys, time
sys.path.insert(0, {src!r})
started = time.perf_counter()
from convsdk.goals import load_goals
from convsdk.report import load_report, render_html
goals = load_goals({goals!r})
# From the events: rollups a store may hold (convsdk rollup run on it) are not read.
report = load_report({source!r}, goals=goals, engine={engine!r}, rollups=False)
text = report.to_json()
html = render_html(report)
elapsed = time.perf_counter() - started
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({{"seconds": elapsed, "rss": rss, "visitors": report.summary.visitors,
                  "events": report.summary.events}}))
"""


def _run(source: str, goals: Path, engine: str) -> dict[str, float]:
    code = _RUN.format(src=str(HERE.parent / "src"), goals=str(goals), source=source, engine=engine)
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True, timeout=600
    )
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def _duck(source: str) -> dict[str, float]:
    """DuckDB's own queries on ``source`` in a fresh process (see _duck_baseline.py)."""
    out = subprocess.run(
        [sys.executable, str(HERE / "_duck_baseline.py"), source],
        check=True,
        capture_output=True,
        text=True,
        timeout=600,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--events",
        type=_sizes,
        default=[1_000_000],
        help="how many events, or several sizes (1000000,5000000): memory that does not "
        "grow with events shows side by side",
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--postgres",
        metavar="URL",
        help="also copy the events into this PostgreSQL database, read them there, and "
        "drop the table afterwards",
    )
    args = parser.parse_args()
    byte_compile()  # each run imports convsdk in a fresh process, as an installed one
    baseline = _baseline()
    print(f"median of {args.repeats} runs, each in a fresh process")
    print(
        f"{'events':>10} {'source':<14}{'median s':>10}{'min s':>8}{'max s':>8}"
        f"{'peak RSS MB':>13}{'visitors':>10}{'DuckDB s':>10}{'RSS MB':>8}{'ratio':>7}"
    )
    try:
        for events in args.events:
            _measure(events, args.repeats, args.postgres)
    finally:
        if args.postgres:
            _drop_postgres(args.postgres, args.events)
    print(
        f"(an interpreter with convsdk.report imported and nothing read: {baseline / 1e6:.0f} MB)"
    )
    return 0


def _sizes(text: str) -> list[int]:
    return [int(part.replace("_", "")) for part in text.split(",") if part.strip()]


def _measure(events: int, repeats: int, postgres: str | None) -> None:
    """One line per store for ``events`` events."""
    cache = Path(tempfile.gettempdir()) / f"convsdk-bench-report-{events}"
    if not (cache / "complete").exists():
        generate(cache, events)
    _migrate(cache / "events.db")
    # (name, source, engine, what DuckDB reads for the baseline)
    sources: list[tuple[str, str, str, str | None]] = [
        ("sqlite", f"sqlite:///{cache / 'events.db'}", "auto", _parquet(cache)),
        ("jsonl python", f"file://{cache / 'events.jsonl'}", "python", str(cache / "events.jsonl")),
        ("jsonl duckdb", f"file://{cache / 'events.jsonl'}", "duckdb", str(cache / "events.jsonl")),
    ]
    if postgres:
        loaded = _load_postgres(postgres, cache, events)
        sources.append(("postgresql", loaded, "auto", _parquet(cache)))
    duck_runs: dict[str, dict[str, float]] = {}
    for name, source, engine, duck_source in sources:
        runs = [_run(source, cache / "goals.toml", engine) for _ in range(repeats)]
        seconds = [r["seconds"] for r in runs]
        rss = max(r["rss"] for r in runs) / 1e6
        line = (
            f"{int(runs[0]['events']):>10,} {name:<14}{statistics.median(seconds):>10.2f}"
            f"{min(seconds):>8.2f}{max(seconds):>8.2f}{rss:>13.0f}{int(runs[0]['visitors']):>10,}"
        )
        if duck_source is not None:
            if duck_source not in duck_runs:
                duck = [_duck(duck_source) for _ in range(repeats)]
                duck_runs[duck_source] = {
                    "seconds": statistics.median(d["seconds"] for d in duck),
                    "rss": max(d["rss"] for d in duck),
                }
            duck_run = duck_runs[duck_source]
            ratio = statistics.median(seconds) / duck_run["seconds"]
            line += f"{duck_run['seconds']:>10.2f}{duck_run['rss'] / 1e6:>8.0f}{ratio:>6.1f}x"
        print(line, flush=True)


def _migrate(database: Path) -> None:
    """Bring a cached database to the current schema (its indexes), as a tracker's first
    use would; in a process of its own, like every measured step."""
    code = (
        f"import sys; sys.path.insert(0, {str(HERE.parent / 'src')!r}); "
        "from convsdk.backends.sqlite import connect; "
        f"connect({str(database)!r}).close()"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=600)


def _parquet(cache: Path) -> str:
    """The SQLite events as Parquet for DuckDB's baseline, exported once (in a process of
    its own: a child's peak RSS starts from its parent's)."""
    target = cache / "events.parquet"
    if not target.exists():
        subprocess.run(
            [sys.executable, str(HERE / "_duck_baseline.py"), "--export", str(cache / "events.db")],
            check=True,
            timeout=1800,
        )
    return str(target)


def _baseline() -> float:
    code = (
        f"import resource, sys; sys.path.insert(0, {str(HERE.parent / 'src')!r}); "
        "import convsdk.report, convsdk.goals; "
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True, timeout=60
    )
    return float(out.stdout.strip())


_PG_TABLE = "convsdk_bench_report"


def _load_postgres(url: str, cache: Path, events: int) -> str:
    """Copy the SQLite events into a PostgreSQL table; return its report URL.

    A table left by an earlier run is used again when it holds every event; any other
    is loaded again. The load is one transaction: an interrupted one leaves no table.
    """
    import sqlite3

    import psycopg

    table = f"{_PG_TABLE}_{events}"
    source = sqlite3.connect(cache / "events.db")
    try:
        (count,) = source.execute("SELECT COUNT(*) FROM convsdk_events").fetchone()
        with psycopg.connect(url, connect_timeout=10) as conn:
            exists = conn.execute("SELECT to_regclass(%s)", [table]).fetchone()
            if exists is not None and exists[0] is not None:
                (held,) = conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone() or (0,)
                if held == count:
                    conn.commit()
                    return _table_url(url, table)
                conn.execute(f"DROP TABLE {table}")
            conn.execute(
                f"""CREATE TABLE {table} (
                  event_id TEXT PRIMARY KEY, name TEXT NOT NULL, kind TEXT, goal TEXT,
                  value DOUBLE PRECISION, currency TEXT, transaction_id TEXT,
                  timestamp TIMESTAMPTZ NOT NULL, visitor_id TEXT, session_id TEXT,
                  user_id TEXT, properties JSONB NOT NULL, context JSONB NOT NULL)"""
            )
            with conn.cursor().copy(f"COPY {table} FROM STDIN") as copy:
                for row in source.execute("SELECT * FROM convsdk_events"):
                    copy.write_row(row)
            conn.execute(f"CREATE INDEX ON {table} (timestamp)")
            conn.execute(f"CREATE INDEX ON {table} (visitor_id, timestamp)")
            conn.execute(f"ANALYZE {table}")
    finally:
        source.close()
    return _table_url(url, table)


def _table_url(url: str, table: str) -> str:
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}table={table}"


def _drop_postgres(url: str, sizes: list[int]) -> None:
    """Remove the tables again: they are big, and the server may be shared."""
    import psycopg

    with psycopg.connect(url, autocommit=True, connect_timeout=10) as conn:
        for events in sizes:
            conn.execute(f"DROP TABLE IF EXISTS {_PG_TABLE}_{events}")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    raise SystemExit(main())
