"""What rollups save a report on a million events, and what keeping them up costs.

``python bench/bench_rollup.py [--events N] [--repeats 3] [--postgres URL] [--no-sqlite]``

Works on a copy of ``bench_report.py``'s SQLite store (generated once, cached in the
system temp directory; the cache itself is never written) and, with ``--postgres``, on
the same events copied into a PostgreSQL table made by ``convsdk migrate`` (dropped
afterwards, rollups and all). It times, for each store, each step in a fresh process:

1. the whole report read from the events (``rollups=False``);
2. ``convsdk rollup --goals`` from nothing (the rollups, and the counts of the report
   of those goals kept beside them), the report through the rollups (its counts read),
   and another report (``--interval week``, whose counts are not kept: its people are
   read from the rollups);
3. 1% more events appended: new visitors and late events of known ones, all with
   timestamps of days already rolled up, and orders sent again; the report again before
   rolling them up (the people they change recounted), then ``convsdk rollup --goals``
   and the report again.

Each report is checked to be the one read from the events (meta aside). Aim: the
report again after 1% more events within 10% of step 1. Times are medians of
wall-clock seconds, with the process's CPU seconds beside them (the machine is shared:
CPU time moves less).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SRC = str(HERE.parent / "src")
sys.path.insert(0, str(HERE))

from _util import byte_compile  # noqa: E402
from bench_report import generate  # noqa: E402

_REPORT = """
import json, resource, sys, time
started = time.perf_counter()
sys.path.insert(0, {src!r})
from convsdk.goals import load_goals
from convsdk.report import load_report
report = load_report({source!r}, goals=load_goals({goals!r}), rollups={rollups!r},
                     interval={interval!r})
data = json.loads(report.to_json())
del data["meta"]
usage = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({{"seconds": time.perf_counter() - started, "cpu": usage.ru_utime + usage.ru_stime,
                  "rss": usage.ru_maxrss * 1024, "figures": data}}))
"""

_ROLLUP = """
import json, resource, sys, time
started = time.perf_counter()
sys.path.insert(0, {src!r})
from convsdk.goals import load_goals
from convsdk.report.rollup import KeptReport, roll_up
done = roll_up({source!r}, keep=KeptReport(load_goals({goals!r})))
usage = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({{"seconds": time.perf_counter() - started, "cpu": usage.ru_utime + usage.ru_stime,
                  "rss": usage.ru_maxrss * 1024, "events": done.events,
                  "visitor_days": done.visitor_days}}))
"""


def _child(code: str) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True, timeout=900
    )
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def _report(
    source: str, goals: Path, rollups: bool, repeats: int, interval: str | None = None
) -> dict[str, Any]:
    code = _REPORT.format(
        src=SRC, source=source, goals=str(goals), rollups=rollups, interval=interval
    )
    runs = [_child(code) for _ in range(repeats)]
    return _median(runs)


def _median(runs: list[dict[str, Any]]) -> dict[str, Any]:
    found = dict(runs[0])
    for key in ("seconds", "cpu"):
        found[key] = statistics.median(float(r[key]) for r in runs)
    found["rss"] = max(float(r["rss"]) for r in runs)
    return found


def _append(database: Path, share: float, work: Path) -> int:
    """Append ``share`` of the store's events again: generated ones (timestamps of the
    days already there), a third of them given to known visitors, and copies of known
    orders under new event ids, a few seconds off (a thank-you page reloaded)."""
    extra = work / "extra"
    conn = sqlite3.connect(database)
    (total,) = conn.execute("SELECT COUNT(*) FROM convsdk_events").fetchone()
    generate(extra, int(total * share), seed=2)
    conn.execute("ATTACH ? AS extra", (str(extra / "events.db"),))
    conn.execute(
        # Correlated with the row (its event id), so that each row draws its own.
        "UPDATE extra.convsdk_events AS x SET visitor_id = COALESCE((SELECT visitor_id "
        "FROM main.convsdk_events WHERE rowid = 1 + (abs(random()) + length(x.event_id)) % ?), "
        "x.visitor_id) WHERE x.visitor_id IS NOT NULL AND abs(random()) % 3 = 0",
        (total,),
    )
    conn.execute("INSERT INTO main.convsdk_events SELECT * FROM extra.convsdk_events")
    conn.execute(
        "INSERT INTO main.convsdk_events SELECT lower(hex(randomblob(16))), name, kind, goal, "
        "value, currency, transaction_id, strftime('%Y-%m-%dT%H:%M:%f000+00:00', timestamp, "
        "(abs(random()) % 7 - 3) || ' seconds'), visitor_id, session_id, user_id, properties, "
        "context FROM main.convsdk_events WHERE transaction_id IS NOT NULL LIMIT 200"
    )
    conn.commit()
    (after,) = conn.execute("SELECT COUNT(*) FROM convsdk_events").fetchone()
    conn.close()
    shutil.rmtree(extra)
    return int(after - total)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--postgres", metavar="URL", help="also measure a PostgreSQL store")
    parser.add_argument("--no-sqlite", action="store_true", help="leave the SQLite store out")
    args = parser.parse_args()
    byte_compile()  # each step imports convsdk in a fresh process, as an installed one
    cache = Path(tempfile.gettempdir()) / f"convsdk-bench-report-{args.events}"
    if not (cache / "complete").exists():
        generate(cache, args.events)
    work = Path(tempfile.mkdtemp(prefix="convsdk-bench-rollup-"))
    try:
        if not args.no_sqlite:
            print("SQLite")
            _run(cache, work, args.repeats, _SQLite(work / "events.db"))
        if args.postgres:
            print("PostgreSQL")
            _run(cache, work, args.repeats, _Postgres(args.postgres, work / "pg.db"))
        return 0
    finally:
        shutil.rmtree(work)


class _SQLite:
    """The store measured: a copy of the cached SQLite database."""

    def __init__(self, database: Path) -> None:
        self.database = database
        self.source = f"sqlite:///{database}"

    def load(self, cache: Path) -> None:
        shutil.copyfile(cache / "events.db", self.database)

    def added(self, rowid: int) -> None:
        """The rows after ``rowid`` were appended to :attr:`database`: nothing to copy."""

    def drop(self) -> None:
        """Nothing to remove but the work directory."""


class _Postgres:
    """The store measured: the cached events copied into a table of its own."""

    def __init__(self, url: str, database: Path) -> None:
        self.url = url
        self.database = database  # the SQLite copy new events are made in first
        self.table = f"convsdk_bench_rollup_{os.getpid()}"
        self.source = f"{url}{'&' if '?' in url else '?'}table={self.table}"

    def load(self, cache: Path) -> None:
        import subprocess

        shutil.copyfile(cache / "events.db", self.database)
        subprocess.run([sys.executable, "-m", "convsdk", "migrate", self.source], check=True)
        self.added(0)

    def added(self, rowid: int) -> None:
        """Copy the SQLite rows after ``rowid`` into the table, as COPY does."""
        import psycopg

        source = sqlite3.connect(self.database)
        columns = (
            "event_id, name, kind, goal, value, currency, transaction_id, timestamp, "
            "visitor_id, session_id, user_id, properties, context"
        )
        with psycopg.connect(self.url, autocommit=True) as conn:
            with conn.cursor().copy(f"COPY {self.table} ({columns}) FROM STDIN") as copy:
                query = f"SELECT {columns} FROM convsdk_events WHERE rowid > ?"
                for row in source.execute(query, (rowid,)):
                    copy.write_row(row)
            conn.execute(f"ANALYZE {self.table}")
        source.close()

    def drop(self) -> None:
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            for suffix in ("", *_ROLLUP_SUFFIXES):
                conn.execute(f"DROP TABLE IF EXISTS {self.table}{suffix}")


_ROLLUP_SUFFIXES = ("_rollup_visitor_days", "_rollup_days", "_rollup_transactions") + (
    "_rollup_links",
    "_rollup_counts",
    "_rollup_watermark",
)


def _run(cache: Path, work: Path, repeats: int, store: _SQLite | _Postgres) -> None:
    store.load(cache)
    try:
        _steps(cache, work, repeats, store)
    finally:
        store.drop()


def _steps(cache: Path, work: Path, repeats: int, store: _SQLite | _Postgres) -> None:
    database, source, goals = store.database, store.source, cache / "goals.toml"
    rollup = _ROLLUP.format(src=SRC, source=source, goals=str(goals))
    rows: list[tuple[str, dict[str, Any]]] = []
    raw = _report(source, goals, False, repeats)
    rows.append(("report from the events", raw))
    rows.append(("convsdk rollup --goals, from nothing", _child(rollup)))
    rows.append(("report through the rollups (counts kept)", _check(
        _report(source, goals, True, repeats), raw)))  # fmt: skip
    weekly = _report(source, goals, False, 1, "week")
    rows.append(("  another report (--interval week)", _check(
        _report(source, goals, True, repeats, "week"), weekly)))  # fmt: skip
    conn = sqlite3.connect(database)
    (last,) = conn.execute("SELECT MAX(rowid) FROM convsdk_events").fetchone()
    conn.close()
    added = _append(database, 0.01, work)
    store.added(last)
    raw = _report(source, goals, False, 1)
    again = _check(_report(source, goals, True, repeats), raw)
    rows.append((f"+{added:,} events: report, not rolled up", again))
    refresh = _child(rollup)
    rows.append(("convsdk rollup --goals of them", refresh))
    after = _check(_report(source, goals, True, repeats), raw)
    rows.append(("report through the rollups (counts kept)", after))
    _print(rows, again["seconds"], refresh["seconds"] + after["seconds"], rows[0][1]["seconds"])


def _check(found: dict[str, Any], expected: dict[str, Any]) -> dict[str, Any]:
    if found["figures"] != expected["figures"]:
        raise SystemExit("the report through the rollups differs from the events'")
    return found


def _print(
    rows: list[tuple[str, dict[str, Any]]], again: float, refreshed: float, full: float
) -> None:
    print(f"{'step':<44}{'wall s':>8}{'CPU s':>8}{'peak RSS MB':>13}")
    for name, run in rows:
        print(f"{name:<44}{run['seconds']:>8.2f}{run['cpu']:>8.2f}{run['rss'] / 1e6:>13.0f}")
    print(
        f"the report again after 1% more events: {again:.2f} s, {again / full:.1%} of the "
        f"report from the events (aim: 10%)"
    )
    print(
        f"rollup of the new events + report: {refreshed:.2f} s, {refreshed / full:.0%} of the "
        "report from the events"
    )


if __name__ == "__main__":
    raise SystemExit(main())
