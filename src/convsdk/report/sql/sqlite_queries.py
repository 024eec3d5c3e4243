"""The SQLite reader's queries, and how it picks between the timestamp index and a scan.

The per-visitor aggregates go into temporary tables (:data:`TEMP_TABLES`, on disk: the
reader sets ``temp_store``), from which the people are read back in visitor-id order
(:data:`STREAMS`): memory in Python does not grow with the visitors.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime

from ..dataset import to_micros
from .conversions import deduplicated

__all__ = [
    "NARROW",
    "STREAMS",
    "TEMP_QUERIES",
    "TEMP_TABLES",
    "has_rowid",
    "keyed_value",
    "narrow",
    "range_condition",
    "sqlite_queries",
]

# A time range spanning at most this share of the table's time is read through the
# timestamp index; a wider one by reading the table in order (measured: the crossover
# on a million events lies between a week and a month of thirty days).
NARROW = 0.25


def keyed_value(text: str) -> str:
    """The value of a ``"<timestamp> <event id> <value>"`` string."""
    return text.split(" ", 2)[2]


def range_condition(since: datetime | None, until: datetime | None, *, indexed: bool) -> str:
    """The SQL condition of a time range; ``indexed=False`` keeps SQLite off the index."""
    # A unary + makes the column an expression, which no index serves: for a range
    # holding most of the table, reading the table in order beats an index lookup a row.
    column = "timestamp" if indexed else "+timestamp"
    clauses = []
    if since is not None:
        clauses.append(f"{column} >= ?")
    if until is not None:
        clauses.append(f"{column} < ?")
    return " AND ".join(clauses) or "1"


def has_rowid(conn: sqlite3.Connection, table: str) -> bool:
    """Whether ``table`` (quoted) has a rowid: a store of the first layout is a ``WITHOUT
    ROWID`` table (see :mod:`convsdk.backends.sqlite`)."""
    try:
        conn.execute(f"SELECT rowid FROM {table} LIMIT 0")
    except sqlite3.OperationalError:
        return False
    return True


def narrow(
    conn: sqlite3.Connection, table: str, since: datetime | None, until: datetime | None
) -> bool:
    """Whether the range spans little enough of the table's time for its index to pay."""
    if since is None and until is None:
        return False
    from ...event import parse_timestamp

    low, high = conn.execute(f"SELECT MIN(timestamp), MAX(timestamp) FROM {table}").fetchone()
    if low is None:
        return True
    first, last = to_micros(parse_timestamp(low)), to_micros(parse_timestamp(high))
    start = max(first, to_micros(since)) if since is not None else first
    end = min(last, to_micros(until)) if until is not None else last
    return (end - start) <= NARROW * max(1, last - first)


# Stored timestamps sort as times (ISO-8601, UTC, microseconds). "<timestamp>
# <event id> <value>" strings carry a value along with the key that orders it, so
# MIN() and MAX() of them pick the value of the first or last event.
# Every event's context has a "utm" key, mostly null: the text tests rule those
# out before any JSON is parsed. They can only let too much through (the JSON test
# decides), so a writer spacing its JSON differently costs time, not correctness.
# GLOB '*text*' is instr(context, 'text') > 0 (both case-sensitive, and the texts hold
# no wildcard), at half its cost in SQLite: a loop over characters, not a memcmp() call
# a position. The null test first: it rules out most events, reading up to "utm".
_HAS_UTM = (
    """NOT context GLOB '*"utm":null*' AND context GLOB '*"utm"*' """
    """AND NOT context GLOB '*"utm": null*'"""
)
_UTM = (
    f"CASE WHEN {_HAS_UTM} AND json_type(context, '$.utm') = 'object' "
    "AND json_extract(context, '$.utm') <> '{}' AND (m.at IS NULL OR timestamp <= m.at) "
    "THEN timestamp || ' ' || event_id || ' ' || json_extract(context, '$.utm') END"
)


def variant(context: str) -> str:
    """SQL of the ``variant`` of a ``context``: its value as ``json_extract`` gives it,
    but for ``true`` and ``false``, which it gives as 1 and 0 (the variant ``1``)."""
    return (
        f"CASE json_type({context}, '$.variant') WHEN 'true' THEN 'true' "
        f"WHEN 'false' THEN 'false' ELSE json_extract({context}, '$.variant') END"
    )


#: The reader's temporary tables: ``first`` (each visitor's first event), ``conversions``
#: (per visitor, goal and currency; anonymous ones under a null visitor id), ``macro``
#: (each converter's limit for touches: their person's first macro conversion),
#: ``person`` (the visitor ids linked into people), ``need`` (visitors whose first
#: event has no variant) and ``touches`` (touches, variant, a converter's arrivals).
#: Columns without a type keep SQLite's values as they are (a number stays one).
TEMP_TABLES = (
    """CREATE TEMP TABLE convsdk_report_first (visitor_id TEXT PRIMARY KEY, k TEXT NOT NULL,
         referrer, url, variant, user_agent, utm) WITHOUT ROWID""",
    """CREATE TEMP TABLE convsdk_report_conversions (visitor_id TEXT, g TEXT NOT NULL,
         kind TEXT NOT NULL, currency TEXT, n INTEGER NOT NULL, first TEXT NOT NULL,
         revenue REAL, times TEXT, last TEXT NOT NULL)""",
    """CREATE TEMP TABLE convsdk_report_macro (visitor_id TEXT PRIMARY KEY,
         at TEXT NOT NULL) WITHOUT ROWID""",
    """CREATE TEMP TABLE convsdk_report_person (visitor_id TEXT PRIMARY KEY,
         person INTEGER NOT NULL) WITHOUT ROWID""",
    "CREATE TEMP TABLE convsdk_report_need (visitor_id TEXT PRIMARY KEY) WITHOUT ROWID",
    """CREATE TEMP TABLE convsdk_report_touches (visitor_id TEXT PRIMARY KEY, first_utm,
         last_utm, variant, arrivals) WITHOUT ROWID""",
)

#: The rows read back, each in visitor-id order: one per visitor (their first event, and
#: their touches and variant if the first event has none), their conversions, and a
#: converter's possible arrivals (a JSON list of ``[time, utm, referrer, url]``).
STREAMS = {
    "people": """
        SELECT f.visitor_id, f.k, f.referrer, f.url, f.variant, f.user_agent, f.utm,
               t.first_utm, t.last_utm, t.variant
        FROM temp.convsdk_report_first f
             LEFT JOIN temp.convsdk_report_touches t ON t.visitor_id = f.visitor_id
        ORDER BY f.visitor_id""",
    "conversion rows": """
        SELECT visitor_id, g, kind, currency, n, first, revenue, times, last
        FROM temp.convsdk_report_conversions WHERE visitor_id IS NOT NULL
        ORDER BY visitor_id, g, currency""",
    "arrivals": """
        SELECT visitor_id, arrivals FROM temp.convsdk_report_touches
        WHERE arrivals IS NOT NULL ORDER BY visitor_id""",
}


def sqlite_queries(
    t: str, indexed: str, where: str, steps: int, rowid: bool = True
) -> dict[str, str]:
    """The reader's queries on table ``t`` before the people are read, by name, in the
    order they run; ``?`` takes the time range, then what :class:`SQLiteReader` adds.
    ``rowid``: the table has one (a store of the first layout, ``WITHOUT ROWID``, has not).
    """
    step_list = ", ".join("?" * steps)
    # The first event's row: by the rowid SQLite's single MIN() gives as a bare column (the
    # row holding the minimum; the keys are unique: no tie), one lookup where the event
    # id's index takes two.
    first_row = "rowid AS r" if rowid else "NULL AS r"
    first_join = "e.rowid = f.r" if rowid else "e.event_id = substr(f.k, instr(f.k, ' ') + 1)"
    return {
        # Answered from the timestamp index alone, each figure apart: SQLite finds a lone
        # MIN() or MAX() at one end of the index, but scans the whole index for the
        # three together (0.17 s against 0.03 s on a million events). It tests the range
        # thrice, so it takes the range's parameters thrice (a numbered mark given a
        # sequence warns on Python 3.12.0 to 3.12.3).
        "totals": f"""
            SELECT (SELECT COUNT(*) FROM {t} WHERE {indexed}),
                   (SELECT MIN(timestamp) FROM {t} WHERE {indexed}),
                   (SELECT MAX(timestamp) FROM {t} WHERE {indexed})""",
        # Read through the partial index of the events without a visitor.
        "anonymous": f"""
            SELECT COUNT(*), COUNT(*) FILTER (WHERE kind IS NULL),
                   COUNT(*) FILTER (WHERE context = '{{}}'),
                   COUNT(DISTINCT user_id) FILTER (WHERE context = '{{}}')
            FROM {t} WHERE visitor_id IS NULL AND {where}""",
        # Each visitor's first event, found in one pass (no visitor index: it would halve
        # the writes, see convsdk.backends.sqlite.schema); only those rows are then read.
        "first events": f"""
            INSERT INTO temp.convsdk_report_first
            WITH f AS (
              SELECT visitor_id, MIN(timestamp || ' ' || event_id) AS k, {first_row}
              FROM {t} WHERE visitor_id IS NOT NULL AND {where} GROUP BY visitor_id)
            SELECT f.visitor_id, f.k, json_extract(e.context, '$.referrer'),
                   json_extract(e.context, '$.url'), {variant("e.context")},
                   json_extract(e.context, '$.user_agent'), json_extract(e.context, '$.utm')
            FROM f JOIN {t} e ON {first_join}""",
        # A repeated transaction id of a goal counts once: its first event.
        # MIN(kind): "macro" sorts before "micro", so a goal any event called macro is.
        "conversions": f"""
            INSERT INTO temp.convsdk_report_conversions
            {deduplicated(t, where, "event_id")}
            SELECT visitor_id, g, MIN(kind), currency, COUNT(*), MIN(timestamp), SUM(value),
                   group_concat(CASE WHEN g IN ({step_list}) THEN timestamp END),
                   MAX(timestamp)
            FROM c GROUP BY visitor_id, g, currency""",
        # Visitors linked to user ids (identify(), or any event carrying both).
        "links": f"""
            SELECT DISTINCT visitor_id, user_id FROM {t}
            WHERE visitor_id IS NOT NULL AND user_id IS NOT NULL AND {where}""",
        # Every visitor id of a person who converted counts touches up to the person's
        # first macro conversion (m.at); the touches then read the table once more.
        "touches": _touches(t, where),
    }


#: Queries of the temporary tables alone (no time range), by name.
TEMP_QUERIES = {
    "kinds": "SELECT g, MIN(kind) FROM temp.convsdk_report_conversions GROUP BY g ORDER BY g",
    "anonymous goals": """
        SELECT visitor_id, g, kind, currency, n, first, revenue, times, last
        FROM temp.convsdk_report_conversions WHERE visitor_id IS NULL""",
    "bots": """
        SELECT user_agent, COUNT(*) FROM temp.convsdk_report_first GROUP BY user_agent""",
    # ? is a JSON list of visitor ids.
    "linked agents": """
        SELECT visitor_id, user_agent FROM temp.convsdk_report_first
        WHERE visitor_id IN (SELECT value FROM json_each(?))""",
    # ? is a JSON list of the macro goals.
    "macro": """
        INSERT INTO temp.convsdk_report_macro
        SELECT visitor_id, MIN(first) FROM temp.convsdk_report_conversions
        WHERE visitor_id IS NOT NULL AND g IN (SELECT value FROM json_each(?))
        GROUP BY visitor_id""",
    "person macro": """
        INSERT OR REPLACE INTO temp.convsdk_report_macro
        SELECT p.visitor_id, m.at FROM temp.convsdk_report_person p JOIN (
          SELECT q.person, MIN(n.at) AS at
          FROM temp.convsdk_report_person q
               JOIN temp.convsdk_report_macro n ON n.visitor_id = q.visitor_id
          GROUP BY q.person) m ON m.person = p.person""",
    "need variant": """
        INSERT INTO temp.convsdk_report_need
        SELECT visitor_id FROM temp.convsdk_report_first WHERE variant IS NULL""",
}


def _touches(t: str, where: str) -> str:
    """First and last UTM touch, variant, and a converter's possible arrivals, in one
    pass over the table (the unary + keeps SQLite from walking the visitor index, which
    would read the rows in random order). Only rows with UTM parameters, a variant of
    a visitor still without one, or a converter's referrer or ad click id are grouped;
    a converter's touches and arrivals count up to their first macro conversion
    (m.at: the person's, for every visitor id of a person who converted); the
    arrivals come as a JSON list (Python tells which are arrivals)."""
    return f"""
            INSERT INTO temp.convsdk_report_touches
            SELECT e.visitor_id, MIN({_UTM}), MAX({_UTM}),
                   MIN(CASE WHEN e.visitor_id IN temp.convsdk_report_need
                            AND json_type(context, '$.variant') NOT IN ('null')
                       THEN timestamp || ' ' || event_id || ' '
                            || {variant("context")} END),
                   NULLIF(json_group_array(json_array(timestamp,
                                                      json_extract(context, '$.utm'),
                                                      json_extract(context, '$.referrer'),
                                                      json_extract(context, '$.url')))
                            FILTER (WHERE m.at IS NOT NULL AND timestamp <= m.at), '[]')
            FROM {t} e LEFT JOIN temp.convsdk_report_macro m ON m.visitor_id = e.visitor_id
            WHERE +e.visitor_id IS NOT NULL AND {where}
              AND (({_HAS_UTM})
                   OR (e.visitor_id IN temp.convsdk_report_need
                       AND context GLOB '*"variant"*')
                   OR (m.at IS NOT NULL AND timestamp <= m.at
                       AND (context GLOB '*"referrer":"*'
                            OR context GLOB '*clid=*' OR context GLOB '*braid=*')))
            GROUP BY +e.visitor_id"""
