"""The PostgreSQL reader's queries, as templates of :mod:`psycopg.sql`.

``{t}`` is the table, ``{where}`` the time range, ``{utm_ok}`` the test of a UTM value.
Ties between events at the same time are broken by event id, byte by byte
(``COLLATE "C"``), as in SQLite and Python.
"""

from __future__ import annotations

from datetime import datetime

__all__ = ["QUERIES", "UTM_OK", "time_range"]

#: A ``context.utm`` that carries parameters.
UTM_OK = "jsonb_typeof(context->'utm') = 'object' AND context->'utm' <> '{}'::jsonb"

#: The queries by name, in the order they run.
QUERIES = {
    "totals": """SELECT COUNT(*), MIN(timestamp), MAX(timestamp),
                          COUNT(*) FILTER (WHERE visitor_id IS NULL),
                          COUNT(*) FILTER (WHERE visitor_id IS NULL AND kind IS NULL),
                          COUNT(*) FILTER (WHERE visitor_id IS NULL AND context = '{{}}'),
                          COUNT(DISTINCT user_id)
                              FILTER (WHERE visitor_id IS NULL AND context = '{{}}')
                   FROM {t} WHERE {where}""",
    "visitors": """SELECT DISTINCT ON (visitor_id) visitor_id, timestamp,
                          context->>'referrer', context->>'url', context->>'user_agent',
                          context->'utm'
                   FROM {t} WHERE visitor_id IS NOT NULL AND {where}
                   ORDER BY visitor_id, timestamp, event_id COLLATE "C" """,
    "conversions": """WITH c AS (
                     SELECT visitor_id, COALESCE(goal, name) AS g, kind, value, currency,
                            timestamp, transaction_id,
                            ROW_NUMBER() OVER (
                              PARTITION BY COALESCE(goal, name), transaction_id
                              ORDER BY timestamp, event_id COLLATE "C") AS rn
                     FROM {t} WHERE kind IS NOT NULL AND {where})
                   SELECT visitor_id, g, MIN(kind), currency, COUNT(*), MIN(timestamp),
                          SUM(value), array_agg(timestamp) FILTER (WHERE g = ANY(%s::text[])),
                          MAX(timestamp)
                   FROM c WHERE transaction_id IS NULL OR rn = 1
                   GROUP BY visitor_id, g, currency""",
    # Visitors linked to user ids (identify(), or any event carrying both).
    "links": """SELECT DISTINCT visitor_id, user_id FROM {t}
                   WHERE visitor_id IS NOT NULL AND user_id IS NOT NULL AND {where}""",
    # A converter's touches count up to their first macro conversion (m.at): the
    # person's, for every visitor id of a person who converted on any device.
    "first touches": """SELECT DISTINCT ON (e.visitor_id) e.visitor_id, context->'utm',
                          timestamp
                   FROM {t} e LEFT JOIN unnest(%s::text[], %s::timestamptz[]) AS m(v, at)
                        ON m.v = e.visitor_id
                   WHERE e.visitor_id IS NOT NULL AND {where} AND {utm_ok}
                     AND (m.at IS NULL OR timestamp <= m.at)
                   ORDER BY e.visitor_id, timestamp, event_id COLLATE "C" """,
    "last touches": """SELECT DISTINCT ON (e.visitor_id) e.visitor_id, context->'utm',
                          timestamp
                   FROM {t} e LEFT JOIN unnest(%s::text[], %s::timestamptz[]) AS m(v, at)
                        ON m.v = e.visitor_id
                   WHERE e.visitor_id IS NOT NULL AND {where} AND {utm_ok}
                     AND (m.at IS NULL OR timestamp <= m.at)
                   ORDER BY e.visitor_id, timestamp DESC, event_id COLLATE "C" DESC""",
    # A converter's arrivals up to their first macro conversion: events with UTM
    # parameters, a referrer or an ad click id (Python tells which are arrivals).
    "arrivals": """SELECT e.visitor_id, timestamp, context->'utm', context->>'referrer',
                          context->>'url'
                   FROM {t} e JOIN unnest(%s::text[], %s::timestamptz[]) AS m(v, at)
                        ON m.v = e.visitor_id
                   WHERE {where} AND timestamp <= m.at
                     AND (jsonb_typeof(context->'utm') = 'object'
                          OR context->>'referrer' IS NOT NULL
                          OR context->>'url' LIKE '%%clid=%%'
                          OR context->>'url' LIKE '%%braid=%%')""",
    "variants": """SELECT DISTINCT ON (visitor_id) visitor_id, context->'variant', timestamp
                   FROM {t}
                   WHERE visitor_id IS NOT NULL AND {where}
                     AND context ? 'variant' AND jsonb_typeof(context->'variant') <> 'null'
                   ORDER BY visitor_id, timestamp, event_id COLLATE "C" """,
}


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
