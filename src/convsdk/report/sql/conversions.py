"""The conversions of a time range with each goal's repeated transaction ids counted
once, as a ``WITH`` clause both SQL readers put before their own grouping."""

from __future__ import annotations

__all__ = ["deduplicated"]


def deduplicated(table: str, where: str, tie: str) -> str:
    """``WITH k AS (...), c AS (...)``: ``c`` holds the conversions (``visitor_id, g,
    kind, value, currency, timestamp``) of ``table`` in the range ``where``, a goal's
    repeated transaction id once: its first event, ties broken by ``tie`` (the event
    id, compared byte by byte).

    Only the conversions with a transaction id go through the window (few: the others
    all count, and sorting them for it took half the query's time).
    """
    return f"""
            WITH k AS (
              SELECT visitor_id, COALESCE(goal, name) AS g, kind, value, currency, timestamp,
                     transaction_id, event_id
              FROM {table} WHERE kind IS NOT NULL AND {where}),
            c AS (
              SELECT visitor_id, g, kind, value, currency, timestamp
              FROM k WHERE transaction_id IS NULL
              UNION ALL
              SELECT visitor_id, g, kind, value, currency, timestamp FROM (
                SELECT *, ROW_NUMBER() OVER (
                            PARTITION BY g, transaction_id ORDER BY timestamp, {tie}) AS rn
                FROM k WHERE transaction_id IS NOT NULL) d
              WHERE rn = 1)"""
