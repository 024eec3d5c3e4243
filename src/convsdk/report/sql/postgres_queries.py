"""The PostgreSQL reader's queries, as templates of :mod:`psycopg.sql`.

``{t}`` is the table, ``{where}`` the time range, ``{utm_ok}`` the test of a UTM value.
Ties between events at the same time are broken by event id, byte by byte
(``COLLATE "C"``), as in SQLite and Python.

The per-visitor aggregates go into temporary tables on the server
(:data:`TEMP_TABLES`), from which the people are read back in visitor-id order
(:data:`STREAMS`): memory in Python does not grow with the visitors.
"""

from __future__ import annotations

from datetime import datetime

from .conversions import deduplicated

__all__ = ["FIRST_KEY", "QUERIES", "RANGED", "STREAMS", "TEMP_TABLES", "UTM_OK", "time_range"]

#: A ``context.utm`` that carries parameters.
UTM_OK = "jsonb_typeof(context->'utm') = 'object' AND context->'utm' <> '{}'::jsonb"

#: The reader's temporary tables, dropped with its transaction: ``conversions`` (per
#: visitor, goal and currency; anonymous ones under a null visitor id), ``macro`` (each
#: converter's limit for touches: their person's first macro conversion), ``person``
#: (the visitor ids linked into people), ``touches`` and ``variants``. ``first`` (each
#: visitor's first event) is made by its query.
TEMP_TABLES = (
    """CREATE TEMP TABLE convsdk_report_conversions (visitor_id text, g text NOT NULL,
         kind text NOT NULL, currency text, n bigint NOT NULL, first timestamptz NOT NULL,
         revenue double precision, times timestamptz[], last timestamptz NOT NULL)
         ON COMMIT DROP""",
    """CREATE TEMP TABLE convsdk_report_macro (visitor_id text PRIMARY KEY,
         at timestamptz NOT NULL) ON COMMIT DROP""",
    """CREATE TEMP TABLE convsdk_report_person (visitor_id text PRIMARY KEY,
         person integer NOT NULL) ON COMMIT DROP""",
    """CREATE TEMP TABLE convsdk_report_touches (visitor_id text PRIMARY KEY,
         first_utm jsonb, first_at timestamptz, last_utm jsonb, last_at timestamptz)
         ON COMMIT DROP""",
    """CREATE TEMP TABLE convsdk_report_variants (visitor_id text PRIMARY KEY,
         variant jsonb, exposed timestamptz) ON COMMIT DROP""",
)


def micros(column: str) -> str:
    """SQL of ``column`` (a ``timestamptz``, in a UTC session) as integer microseconds
    since the epoch, exact on every server version (``EXTRACT(EPOCH ...)`` is a float
    before PostgreSQL 14): the rows read back carry numbers, not datetimes that Python
    would then make numbers, a third of a µs each, on every time of every visitor."""
    whole = f"EXTRACT(EPOCH FROM date_trunc('second', {column}))::int8"
    return f"({whole} * 1000000 + mod(EXTRACT(MICROSECONDS FROM {column})::int8, 1000000))"


def _micros_array(column: str) -> str:
    return f"ARRAY(SELECT {micros('x')} FROM unnest({column}) x)"


#: The key of the first events' table, once the query made it.
FIRST_KEY = "ALTER TABLE convsdk_report_first ADD PRIMARY KEY (visitor_id)"

# A conversion row as read back: its times as microseconds (see micros()).
_CONVERSION_COLUMNS = (
    f"visitor_id, g, kind, currency, n, {micros('first')}, revenue, "
    f"{_micros_array('times')}, {micros('last')}"
)

#: The queries by name, in the order they run; ``%s`` takes the time range (if the query
#: reads the table), then what :class:`PostgresReader` adds.
QUERIES = {
    "totals": """SELECT COUNT(*), MIN(timestamp), MAX(timestamp),
                          COUNT(*) FILTER (WHERE visitor_id IS NULL),
                          COUNT(*) FILTER (WHERE visitor_id IS NULL AND kind IS NULL),
                          COUNT(*) FILTER (WHERE visitor_id IS NULL AND context = '{{}}'),
                          COUNT(DISTINCT user_id)
                              FILTER (WHERE visitor_id IS NULL AND context = '{{}}')
                   FROM {t} WHERE {where}""",
    # Made by CREATE TABLE AS, which PostgreSQL may run on parallel workers (an INSERT
    # ... SELECT never is): half the time on two cores. Its key comes after (FIRST_KEY).
    "first events": """CREATE TEMP TABLE convsdk_report_first ON COMMIT DROP AS
                   SELECT DISTINCT ON (visitor_id) visitor_id, timestamp AS ts,
                          context->>'referrer' AS referrer, context->>'url' AS url,
                          context->>'user_agent' AS user_agent, context->'utm' AS utm,
                          context->'variant' AS variant
                   FROM {t} WHERE visitor_id IS NOT NULL AND {where}
                   ORDER BY visitor_id, timestamp, event_id COLLATE "C" """,
    "conversions": f"""INSERT INTO convsdk_report_conversions
                   {deduplicated("{t}", "{where}", 'event_id COLLATE "C"')}
                   SELECT visitor_id, g, MIN(kind), currency, COUNT(*), MIN(timestamp),
                          SUM(value), array_agg(timestamp) FILTER (WHERE g = ANY(%s::text[])),
                          MAX(timestamp)
                   FROM c GROUP BY visitor_id, g, currency""",
    "kinds": """SELECT g, MIN(kind) FROM convsdk_report_conversions GROUP BY g ORDER BY g""",
    "anonymous goals": f"""SELECT {_CONVERSION_COLUMNS}
                   FROM convsdk_report_conversions WHERE visitor_id IS NULL""",
    # Visitors linked to user ids (identify(), or any event carrying both).
    "links": """SELECT DISTINCT visitor_id, user_id FROM {t}
                   WHERE visitor_id IS NOT NULL AND user_id IS NOT NULL AND {where}""",
    "linked agents": """SELECT visitor_id, user_agent FROM convsdk_report_first
                   WHERE visitor_id = ANY(%s::text[])""",
    # Each converter's first conversion of a macro goal (%s).
    "macro": """INSERT INTO convsdk_report_macro
                   SELECT visitor_id, MIN(first) FROM convsdk_report_conversions
                   WHERE visitor_id IS NOT NULL AND g = ANY(%s::text[])
                   GROUP BY visitor_id""",
    # Every visitor id of a person who converted on any device: the person's first.
    "person macro": """INSERT INTO convsdk_report_macro
                   SELECT p.visitor_id, m.at FROM convsdk_report_person p JOIN (
                     SELECT q.person, MIN(n.at) AS at
                     FROM convsdk_report_person q
                          JOIN convsdk_report_macro n ON n.visitor_id = q.visitor_id
                     GROUP BY q.person) m ON m.person = p.person
                   ON CONFLICT (visitor_id) DO UPDATE SET at = EXCLUDED.at""",
    # Each visitor's first and last touch, from one pass over the table (the events with
    # UTM parameters, a few); a converter's touches count up to their person's first
    # macro conversion (m.at).
    "touches": """INSERT INTO convsdk_report_touches
                   WITH u AS MATERIALIZED (
                     SELECT e.visitor_id, context->'utm' AS utm, timestamp AS at, event_id
                     FROM {t} e LEFT JOIN convsdk_report_macro m ON m.visitor_id = e.visitor_id
                     WHERE e.visitor_id IS NOT NULL AND {where} AND {utm_ok}
                       AND (m.at IS NULL OR timestamp <= m.at))
                   SELECT f.visitor_id, f.utm, f.at, l.utm, l.at
                   FROM (SELECT DISTINCT ON (visitor_id) visitor_id, utm, at FROM u
                         ORDER BY visitor_id, at, event_id COLLATE "C") f
                   JOIN (SELECT DISTINCT ON (visitor_id) visitor_id, utm, at FROM u
                         ORDER BY visitor_id, at DESC, event_id COLLATE "C" DESC) l
                     ON l.visitor_id = f.visitor_id""",
    # A visitor's first event with a variant: their first event, usually (the variant is
    # on every event); the events are searched (sorted) only for the visitors whose
    # first event has none.
    "variants": """INSERT INTO convsdk_report_variants
                   SELECT visitor_id, variant, ts FROM convsdk_report_first
                   WHERE jsonb_typeof(variant) <> 'null'
                   UNION ALL
                   (SELECT DISTINCT ON (e.visitor_id) e.visitor_id, e.context->'variant',
                           e.timestamp
                    FROM {t} e JOIN convsdk_report_first f ON f.visitor_id = e.visitor_id
                    WHERE (f.variant IS NULL OR jsonb_typeof(f.variant) = 'null') AND {where}
                      AND e.context ? 'variant'
                      AND jsonb_typeof(e.context->'variant') <> 'null'
                    ORDER BY e.visitor_id, e.timestamp, e.event_id COLLATE "C")""",
}

#: The rows read back through server-side cursors, a few thousand at a time: the user
#: agents of first events, then in visitor-id order one row per visitor, their
#: conversions, and a converter's possible arrivals up to their person's first macro
#: conversion (events with UTM parameters, a referrer or an ad click id: Python tells
#: which are arrivals).
STREAMS = {
    # How many visitors' first event had each user agent (bots are left out).
    "bots": """SELECT user_agent, COUNT(*) FROM convsdk_report_first GROUP BY user_agent""",
    "people": f"""SELECT f.visitor_id, {micros("f.ts")}, f.referrer, f.url, f.user_agent,
                          f.utm, v.variant, {micros("v.exposed")}, t.first_utm,
                          {micros("t.first_at")}, t.last_utm, {micros("t.last_at")}
                   FROM convsdk_report_first f
                        LEFT JOIN convsdk_report_touches t ON t.visitor_id = f.visitor_id
                        LEFT JOIN convsdk_report_variants v ON v.visitor_id = f.visitor_id
                   ORDER BY f.visitor_id""",
    "conversion rows": f"""SELECT {_CONVERSION_COLUMNS}
                   FROM convsdk_report_conversions WHERE visitor_id IS NOT NULL
                   ORDER BY visitor_id, g, currency""",
    "arrivals": f"""SELECT m.visitor_id, {micros("timestamp")}, context->'utm',
                          context->>'referrer',
                          context->>'url'
                   FROM {{t}} e JOIN convsdk_report_macro m ON m.visitor_id = e.visitor_id
                   WHERE {{where}} AND timestamp <= m.at
                     AND (jsonb_typeof(context->'utm') = 'object'
                          OR context->>'referrer' IS NOT NULL
                          OR context->>'url' LIKE '%%clid=%%'
                          OR context->>'url' LIKE '%%braid=%%')
                   ORDER BY m.visitor_id""",
}

#: The queries that read the table (and so take the time range's parameters).
RANGED = frozenset(
    ("totals", "first events", "conversions", "links", "touches", "variants", "arrivals")
)


def time_range(since: datetime | None, until: datetime | None) -> tuple[str, list[datetime]]:
    """The SQL condition of a time range (``TRUE`` for all time) and its parameters."""
    clauses, params = [], []
    if since is not None:
        clauses.append("timestamp >= %s")
        params.append(since)
    if until is not None:
        clauses.append("timestamp < %s")
        params.append(until)
    return " AND ".join(clauses) or "TRUE", params
