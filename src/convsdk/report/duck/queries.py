"""The DuckDB reader's queries: one scan of the log into a table, then the summaries.

The scan (:func:`load_query`) parses each line once, keeps only what the report reads,
and checks every field's JSON type against what the streaming reader accepts (``ok``):
the reader hands the log over to that reader when a line fails, so that odd logs give
the same report and the same warnings. An event delivered twice is then kept once
(``clean``). The queries (:data:`QUERIES`) then leave the people's rows in three tables
in visitor-id order, which the reader streams (:data:`STREAMS`). Times are integer
microseconds; ties between events at the same time are broken by event id, as in every
other reader.
"""

from __future__ import annotations

from ...event import FIELDS

__all__ = ["QUERIES", "STREAMS", "load_query"]

# The fields of a line the report reads (all of an event's but the session id and the
# properties), all read as JSON so that their types can be checked.
_FIELDS = tuple(name for name in FIELDS if name not in ("session_id", "properties"))
_COLUMNS = "{" + ", ".join(f"'{name}': 'JSON'" for name in _FIELDS) + "}"
_TEXT_OR_NULL = ("kind", "goal", "currency", "transaction_id", "visitor_id", "user_id")

# A timestamp in the form convsdk stores (see convsdk.report.jsonl.events.canonical).
_CANONICAL = "length(ts) = 32 AND ts[11] = 'T' AND ts[27:] = '+00:00'"

# The origin of a URL, as the streaming reader's first look at arrivals takes it: the
# text up to the first "/" after "https://".
_ORIGIN = "CASE WHEN strpos({0}[9:], '/') = 0 THEN {0} ELSE left({0}, 7 + strpos({0}[9:], '/')) END"


def _text(field: str) -> str:
    """A JSON string field as text: NULL for anything else (the rules ignore the rest)."""
    return f"CASE WHEN starts_with({field}::VARCHAR, '\"') THEN {field} ->> '$' END"


def _is_text(field: str, null: bool = True) -> str:
    """Whether a JSON field is a string (or null, or missing, with ``null``)."""
    # The scan gives each value as compact JSON text: its first character tells its type.
    text = f"starts_with({field}::VARCHAR, '\"')"
    return f"({field} IS NULL OR {field}::VARCHAR = 'null' OR {text})" if null else text


def load_query(since: bool, until: bool) -> str:
    """Create the table ``ev`` from the files (``$files``), events in the range only.

    ``since`` and ``until`` say whether ``$since`` and ``$until`` (stored timestamps,
    as text) bound the range.
    """
    typed = " AND ".join(
        [
            *(_is_text(f, null=False) for f in ("event_id", "name", "timestamp")),
            *(_is_text(f) for f in _TEXT_OR_NULL),
            "(context IS NULL OR context::VARCHAR = 'null' OR starts_with(context::VARCHAR, '{'))",
        ]
    )
    bounds = []
    if since:
        bounds.append("ts >= $since")
    if until:
        bounds.append("ts < $until")
    in_range = " AND ".join(bounds) or "true"
    return f"""
        CREATE OR REPLACE TABLE ev AS
        WITH raw AS (
          SELECT coalesce({typed}, false) AS typed, timestamp ->> '$' AS ts,
                 epoch_us(TRY_CAST(timestamp ->> '$' AS TIMESTAMPTZ)) AS moment, *,
                 json_extract(context, ['$.referrer', '$.url', '$.user_agent', '$.utm',
                                        '$.variant']) AS c
          FROM read_json($files, format = 'newline_delimited', ignore_errors = true,
                         columns = {_COLUMNS}))
        SELECT coalesce(typed AND {_CANONICAL} AND moment IS NOT NULL, false) AS ok,
               event_id ->> '$' AS event_id,
               moment,
               visitor_id ->> '$' AS visitor_id,
               kind ->> '$' AS kind,
               CASE WHEN kind ->> '$' IS NOT NULL
                    THEN coalesce(goal ->> '$', name ->> '$') END AS g,
               CASE WHEN json_type(value) IN ('DOUBLE', 'BIGINT', 'UBIGINT')
                         AND isfinite(value::DOUBLE)
                    THEN value::DOUBLE END AS value,
               currency ->> '$' AS currency,
               transaction_id ->> '$' AS txn,
               user_id ->> '$' AS user_id,
               context IS NULL OR context::VARCHAR IN ('{{}}', 'null') AS server,
               {_text("c[1]")} AS referrer,
               {_text("c[2]")} AS url,
               {_text("c[3]")} AS user_agent,
               CASE WHEN starts_with(c[4]::VARCHAR, '{{') AND c[4]::VARCHAR <> '{{}}'
                    THEN c[4]::VARCHAR END AS utm,
               CASE WHEN c[5]::VARCHAR <> 'null' THEN c[5]::VARCHAR END AS variant
        FROM raw
        WHERE NOT coalesce(typed AND {_CANONICAL} AND moment IS NOT NULL, false)
           OR ({in_range})"""


#: The queries run after the load, by name, in order; their rows are few (none per
#: visitor but the linked ones', which the dataset keeps anyway).
QUERIES = {
    # Lines that are no event (the streaming reader would warn about each), and ids
    # given to two different events (which of them counts depends on the lines' order).
    "check": """
        WITH shared AS (
          SELECT event_id FROM ev WHERE ok GROUP BY event_id HAVING count(*) > 1)
        SELECT (SELECT count(*) FROM ev WHERE NOT ok),
               (SELECT count(*) - count(DISTINCT event_id) FROM (
                  SELECT DISTINCT * EXCLUDE (ok) FROM ev
                  WHERE ok AND event_id IN (SELECT event_id FROM shared)))""",
    # An event delivered twice counts once.
    "clean": """
        DELETE FROM ev WHERE NOT ok OR rowid IN (
          SELECT rowid FROM ev
          WHERE ok AND event_id IN (
            SELECT event_id FROM ev WHERE ok GROUP BY event_id HAVING count(*) > 1)
          QUALIFY row_number() OVER (PARTITION BY event_id ORDER BY rowid) > 1)""",
    "totals": """
        SELECT count(*), min(moment), max(moment),
               count(*) FILTER (WHERE visitor_id IS NULL),
               count(*) FILTER (WHERE visitor_id IS NULL AND kind IS NULL),
               count(*) FILTER (WHERE visitor_id IS NULL AND server),
               count(DISTINCT user_id) FILTER (WHERE visitor_id IS NULL AND server)
        FROM ev""",
    # A repeated transaction id of a goal counts once: its first conversion.
    "conversions": """
        CREATE OR REPLACE TABLE conv AS
        SELECT visitor_id, g, kind, value, currency, moment FROM ev
        WHERE kind IS NOT NULL
        QUALIFY txn IS NULL
             OR row_number() OVER (PARTITION BY g, txn ORDER BY moment, event_id) = 1""",
    # "macro" sorts before "micro": a goal any conversion that counts called macro is
    # macro (an order sent again counts once, and so does its kind: the first's).
    "kinds": "SELECT g, min(kind) FROM conv GROUP BY g",
    # The conversions without a visitor id, in the form of "conversion rows".
    "anonymous goals": """
        SELECT NULL, g, currency, count(*), min(moment), sum(value), NULL, max(moment)
        FROM conv WHERE visitor_id IS NULL GROUP BY g, currency""",
    # Each visitor's first event (its landing fields in one value: arg_min skips a
    # NULL), and the variant of their first event carrying one, shown at "exposed".
    "first events": """
        CREATE OR REPLACE TABLE firsts AS
        SELECT visitor_id, min(moment) AS first_seen,
               arg_min({'referrer': referrer, 'url': url, 'user_agent': user_agent,
                        'utm': utm}, (moment, event_id)) AS landing,
               arg_min(variant, (moment, event_id)) AS variant,
               min(moment) FILTER (WHERE variant IS NOT NULL) AS exposed
        FROM ev WHERE visitor_id IS NOT NULL GROUP BY visitor_id""",
    "visitor count": "SELECT count(*) FROM firsts",
    # Each converter's first macro conversion: their touches count up to it (the
    # person's: see "person macro").
    "macro": """
        CREATE OR REPLACE TABLE macro AS
        SELECT visitor_id, min(moment) AS moment FROM conv
        WHERE visitor_id IS NOT NULL AND list_contains($macro::VARCHAR[], g) GROUP BY visitor_id""",
    # Visitors linked by a user id are one person (see convsdk.report.people), with the
    # user agent of their first event (a bot's links are dropped).
    "links": """
        SELECT l.visitor_id, l.user_id, f.landing.user_agent
        FROM (SELECT DISTINCT visitor_id, user_id FROM ev
              WHERE visitor_id IS NOT NULL AND user_id IS NOT NULL) l
        JOIN firsts f ON f.visitor_id = l.visitor_id""",
    # The first macro conversion of the linked visitors ($ids) who have one.
    "linked macro": """
        SELECT visitor_id, moment FROM macro
        WHERE visitor_id IN (SELECT unnest($ids::VARCHAR[]))""",
    # Every visitor id of a person who converted counts up to the person's first macro
    # conversion ($ids, $moments).
    "person macro": "DELETE FROM macro WHERE visitor_id IN (SELECT unnest($ids::VARCHAR[]))",
    "person macro rows": """
        INSERT INTO macro SELECT unnest($ids::VARCHAR[]), unnest($moments::BIGINT[])""",
    # The people's three row streams are written in visitor-id order (the reader keeps
    # the insertion order from here on), then read side by side: sorted once, spilled to
    # disk if need be, rather than three sorts each holding its memory while it is read.
    # First event, variant, and first and last touch (up to the first macro conversion)
    # with their times.
    "visitor rows": """
        CREATE OR REPLACE TABLE visitor_rows AS
        WITH touches AS (
          SELECT e.visitor_id,
                 arg_min(utm, (e.moment, event_id)) AS first_utm,
                 arg_max(utm, (e.moment, event_id)) AS last_utm,
                 min(e.moment) AS first_at, max(e.moment) AS last_at
          FROM ev e LEFT JOIN macro m ON m.visitor_id = e.visitor_id
          WHERE e.visitor_id IS NOT NULL AND utm IS NOT NULL
            AND (m.moment IS NULL OR e.moment <= m.moment)
          GROUP BY e.visitor_id)
        SELECT f.visitor_id, f.first_seen, f.landing.referrer, f.landing.url,
               f.landing.user_agent, f.landing.utm, f.variant, f.exposed,
               t.first_utm, t.last_utm, t.first_at, t.last_at
        FROM firsts f LEFT JOIN touches t ON t.visitor_id = f.visitor_id
        ORDER BY f.visitor_id""",
    # The times of each conversion of a funnel step ($steps) are listed.
    "goal rows": """
        CREATE OR REPLACE TABLE goal_rows AS
        SELECT visitor_id, g, currency, count(*), min(moment), sum(value),
               list(moment ORDER BY moment) FILTER (WHERE list_contains($steps::VARCHAR[], g)),
               max(moment)
        FROM conv WHERE visitor_id IS NOT NULL
        GROUP BY visitor_id, g, currency ORDER BY visitor_id""",
    # A converter's possible arrivals up to their first macro conversion (the rules
    # tell which are): UTM parameters, a referrer of another origin, an ad click id.
    "arrival rows": f"""
        CREATE OR REPLACE TABLE arrival_rows AS
        SELECT e.visitor_id, e.moment, utm, referrer, url
        FROM ev e JOIN macro m ON m.visitor_id = e.visitor_id
        WHERE e.moment <= m.moment
          AND (utm IS NOT NULL
               OR contains(url, 'clid=') OR contains(url, 'braid=')
               OR (referrer <> '' AND (url IS NULL
                                       OR {_ORIGIN.format("referrer")}
                                          <> {_ORIGIN.format("url")})))
        ORDER BY e.visitor_id""",
    # Only the people's rows are read from here on: the rest goes, and frees its memory.
    "drop": "DROP TABLE ev; DROP TABLE conv; DROP TABLE firsts; DROP TABLE macro",
}

#: The row streams, by name, read a batch at a time: the first events' user agents
#: (for the bots), then the people's, each in the order it was written in (see
#: :mod:`convsdk.report.stream`).
STREAMS = {
    "bots": "SELECT landing.user_agent, count(*) FROM firsts GROUP BY ALL",
    "visitors": "SELECT * FROM visitor_rows",
    "goals": "SELECT * FROM goal_rows",
    "arrivals": "SELECT * FROM arrival_rows",
}
