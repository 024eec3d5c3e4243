"""A baseline for the report benchmark: DuckDB's own SQL over the same events.

Not convsdk's report (no rules for bots, touches, channels, attribution, no rendering):
the core figures an analyst would write by hand in DuckDB — goals (a transaction counted
once), funnel steps in order within the window, micro → macro lift, variants, time to
convert — each answered by DuckDB from the events loaded once. The JSON Lines log is
read directly; the SQLite database is exported once to Parquet (DuckDB's SQLite scanner
is an extension downloaded at run time), cached beside it.

``python bench/_duck_baseline.py SOURCE`` prints ``{"seconds", "rss"}`` as JSON, where
SOURCE is the log's first file or a ``.parquet`` file; ``--export events.db`` writes
``events.parquet`` beside it.
"""

from __future__ import annotations

import csv
import json
import resource
import sqlite3
import sys
import time
from pathlib import Path

_FIELDS = (
    "event_id",
    "name",
    "kind",
    "goal",
    "value",
    "currency",
    "transaction_id",
    "timestamp",
    "visitor_id",
    "context",
)
_STEPS = ("viewed_pricing", "add_to_cart", "started_checkout", "purchase")
_WINDOW_US = 7 * 86_400 * 1_000_000

_LOAD_JSONL = """
    CREATE TABLE ev AS
    SELECT DISTINCT event_id, coalesce(goal, name) AS g, kind, value, currency,
           transaction_id AS txn, epoch_us(timestamp::TIMESTAMPTZ) AS t, visitor_id,
           context ->> '$.variant' AS variant
    FROM read_json(?, format = 'newline_delimited', ignore_errors = true,
                   columns = {event_id: 'VARCHAR', name: 'VARCHAR', kind: 'VARCHAR',
                              goal: 'VARCHAR', value: 'DOUBLE', currency: 'VARCHAR',
                              transaction_id: 'VARCHAR', timestamp: 'VARCHAR',
                              visitor_id: 'VARCHAR', context: 'JSON'})
    WHERE event_id IS NOT NULL"""
_LOAD_PARQUET = """
    CREATE TABLE ev AS
    SELECT event_id, coalesce(goal, name) AS g, kind, TRY_CAST(value AS DOUBLE) AS value,
           currency, transaction_id AS txn, epoch_us(timestamp::TIMESTAMPTZ) AS t,
           visitor_id, context::JSON ->> '$.variant' AS variant
    FROM read_parquet(?)"""

_QUERIES = {
    "conversions": """
        CREATE TABLE conv AS SELECT * FROM ev WHERE kind IS NOT NULL
        QUALIFY txn IS NULL
             OR row_number() OVER (PARTITION BY g, txn ORDER BY t, event_id) = 1""",
    "firsts": """
        CREATE TABLE firsts AS SELECT visitor_id, g, min(t) AS t FROM conv
        WHERE visitor_id IS NOT NULL GROUP BY ALL""",
    "visitors": """
        CREATE TABLE visitors AS SELECT visitor_id, min(t) AS first_seen,
               arg_min(variant, (t, event_id)) AS variant
        FROM ev WHERE visitor_id IS NOT NULL GROUP BY visitor_id""",
    "goals": """
        SELECT g, count(*), count(DISTINCT visitor_id), currency, sum(value)
        FROM conv GROUP BY g, currency""",
    "funnel": """
        WITH s1 AS (SELECT visitor_id, min(t) AS t FROM conv WHERE g = $1 GROUP BY 1),
        s2 AS (SELECT c.visitor_id, min(c.t) AS t FROM conv c JOIN s1 USING (visitor_id)
               WHERE c.g = $2 AND c.t BETWEEN s1.t AND s1.t + $5 GROUP BY 1),
        s3 AS (SELECT c.visitor_id, min(c.t) AS t FROM conv c JOIN s2 USING (visitor_id)
               WHERE c.g = $3 AND c.t BETWEEN s2.t AND s2.t + $5 GROUP BY 1),
        s4 AS (SELECT c.visitor_id, min(c.t) AS t FROM conv c JOIN s3 USING (visitor_id)
               WHERE c.g = $4 AND c.t BETWEEN s3.t AND s3.t + $5 GROUP BY 1)
        SELECT (SELECT count(*) FROM s1), (SELECT count(*) FROM s2),
               (SELECT count(*) FROM s3), (SELECT count(*) FROM s4)""",
    "lift": """
        WITH macro AS (SELECT DISTINCT visitor_id FROM conv WHERE kind = 'macro'),
        n AS (SELECT count(*) AS n, count(m.visitor_id) AS k
              FROM visitors v LEFT JOIN macro m USING (visitor_id))
        SELECT f.g, count(*) AS with_micro, count(m.visitor_id) AS both,
               any_value(n.n), any_value(n.k)
        FROM firsts f LEFT JOIN macro m USING (visitor_id), n
        WHERE f.g IN (SELECT g FROM conv WHERE kind = 'micro') GROUP BY f.g""",
    "variants": """
        SELECT v.variant, count(*), count(f.visitor_id)
        FROM visitors v LEFT JOIN firsts f ON f.visitor_id = v.visitor_id
                                         AND f.g = 'purchase' AND f.t >= v.first_seen
        GROUP BY v.variant""",
    "time to convert": """
        SELECT quantile_cont((f.t - v.first_seen) / 1e6, [0.5, 0.9])
        FROM firsts f JOIN visitors v USING (visitor_id) WHERE f.g = 'purchase'""",
}


def export_parquet(database: Path, target: Path) -> None:
    """Copy the SQLite events into a Parquet file, once (through a CSV file)."""
    import duckdb

    staging = target.with_suffix(".csv")
    with (
        sqlite3.connect(f"file:{database}?mode=ro", uri=True) as conn,
        open(staging, "w", newline="") as out,
    ):
        writer = csv.writer(out)
        writer.writerow(_FIELDS)
        writer.writerows(conn.execute(f"SELECT {', '.join(_FIELDS)} FROM convsdk_events"))
    duckdb.execute(
        f"COPY (SELECT * FROM read_csv(?, header = true, all_varchar = true)) "
        f"TO '{target}' (FORMAT parquet)",
        [str(staging)],
    )
    staging.unlink()


def run(source: str) -> dict[str, float]:
    """Load the events and answer every query; the time it took and the peak RSS."""
    import duckdb

    started = time.perf_counter()
    conn = duckdb.connect(config={"preserve_insertion_order": False})
    if source.endswith(".parquet"):
        conn.execute(_LOAD_PARQUET, [source])
    else:
        files = sorted(Path(source).parent.glob(Path(source).name + "*"), reverse=True)
        conn.execute(_LOAD_JSONL, [[str(f) for f in files]])
    for name, query in _QUERIES.items():
        parameters = [*_STEPS, _WINDOW_US] if name == "funnel" else []
        conn.execute(query, parameters).fetchall()
    elapsed = time.perf_counter() - started
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {"seconds": elapsed, "rss": rss}


if __name__ == "__main__":
    if sys.argv[1] == "--export":
        database = Path(sys.argv[2])
        export_parquet(database, database.with_suffix(".parquet"))
    else:
        print(json.dumps(run(sys.argv[1])))
