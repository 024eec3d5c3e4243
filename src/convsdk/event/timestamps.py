"""Event timestamps as text: ISO-8601 in UTC with microseconds, so they sort as text."""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["format_ns", "format_timestamp", "parse_timestamp"]

_second_cache: tuple[int, str] = (-1, "")


def format_ns(ns: int) -> str:
    """``format_timestamp`` for a clock reading, with the date part cached per second."""
    global _second_cache
    sec, us = divmod(ns // 1000, 1_000_000)
    cached = _second_cache
    if cached[0] != sec:
        cached = _second_cache = (
            sec,
            datetime.fromtimestamp(sec, UTC).strftime("%Y-%m-%dT%H:%M:%S"),
        )
    return f"{cached[1]}.{us:06d}+00:00"


def format_timestamp(ts: datetime) -> str:
    """ISO-8601 in UTC with microseconds, so stored timestamps sort as text."""
    if ts.tzinfo is not UTC:
        ts = ts.astimezone(UTC) if ts.tzinfo else ts.replace(tzinfo=UTC)
    return ts.isoformat(timespec="microseconds")


def parse_timestamp(text: str) -> datetime:
    """Parse an ISO-8601 timestamp; a naive one is taken as UTC."""
    ts = datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)
