"""The options of a SQL store's URL: the ``table`` to read, and the readers' time limits."""

from __future__ import annotations

import re
from collections.abc import Collection
from urllib.parse import parse_qsl, urlencode, urlsplit

from ..._urls import redact_url as redact
from ...errors import ConfigError

__all__ = [
    "CONNECT_TIMEOUT",
    "DEFAULT_TABLE",
    "SQLITE_BUSY_TIMEOUT",
    "STATEMENT_TIMEOUT",
    "split_options",
    "table_name",
]

DEFAULT_TABLE = "convsdk_events"
#: Seconds to wait for a PostgreSQL connection.
CONNECT_TIMEOUT = 10
#: Seconds a PostgreSQL query may take (reports read a lot).
STATEMENT_TIMEOUT = 600.0
#: Seconds to wait for a SQLite database another process holds locked.
SQLITE_BUSY_TIMEOUT = 10.0

_TABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}(?:\.[A-Za-z_][A-Za-z0-9_]{0,62})?\Z")


def split_options(url: str, ours: Collection[str]) -> tuple[str, dict[str, str]]:
    """``url`` without the query parameters named in ``ours``, and their values."""
    found: dict[str, str] = {}
    rest = []
    for key, value in parse_qsl(urlsplit(url).query, keep_blank_values=True):
        if key in ours:
            found[key] = value
        else:
            rest.append((key, value))
    # Rebuilt by hand: urlunsplit() turns "sqlite:////abs.db" into "sqlite://abs.db".
    base = url.split("?", 1)[0]
    return (f"{base}?{urlencode(rest)}" if rest else base), found


def table_name(value: str, url: str, *, schema: bool = True) -> str:
    """``value`` if it is a table name (``schema.table`` too, with ``schema``).

    Raises :class:`convsdk.ConfigError` naming ``url`` (without its password) otherwise.
    """
    if not _TABLE.match(value) or (not schema and "." in value):
        where = ", optionally schema.table" if schema else ""
        raise ConfigError(
            f"not a table name: {value!r} (letters, digits and _{where})",
            field="table",
            source=redact(url),
        )
    return value
