"""What a ``postgresql://`` URL says: the libpq connection string, the table and the
statement timeout (:class:`Settings`), and opening a connection with them."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlencode

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from ..._urls import with_query
from ...adapters import OptionType, parse_url
from ...errors import ConfigError
from ...options import did_you_mean

__all__ = ["BACKEND", "DEFAULT_TABLE", "OPTIONS", "Settings", "first_line"]

DEFAULT_TABLE = "convsdk_events"
#: The name errors give the backend.
BACKEND = "postgresql"
#: The query parameters (and keywords) that are convsdk's, not libpq's.
OPTIONS = ("table", "statement_timeout")

# 48 characters leave room for the index-name suffixes within PostgreSQL's 63-byte limit.
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,47}\Z")

# libpq settings added unless the URL says otherwise: fail fast on a dead server, and
# notice a silently vanished peer instead of waiting on the socket forever.
_CONNECTION_DEFAULTS = {
    "connect_timeout": "10",
    "application_name": "convsdk",
    "keepalives": "1",
    "keepalives_idle": "30",
    "keepalives_interval": "10",
    "keepalives_count": "3",
}
if psycopg.pq.version() >= 120000:  # libpq 12 added it
    _CONNECTION_DEFAULTS["tcp_user_timeout"] = "30000"


class Settings:
    """A parsed URL: libpq connection string, table and statement timeout."""

    __slots__ = ("conninfo", "source", "statement_timeout", "table")

    def __init__(self, url: str, options: Mapping[str, Any]) -> None:
        # Our options are checked; the other query parameters are libpq's.
        parsed = parse_url(
            url,
            _TYPES,
            overrides=options,
            defaults={"table": _check_table(DEFAULT_TABLE), "statement_timeout": 30.0},
            schemes=("postgresql", "postgres"),
            passthrough=True,
        )
        libpq = list(parsed.extra)
        self.source = parsed.source
        self.table: tuple[str, ...] = parsed.options["table"]
        self.statement_timeout: float = parsed.options["statement_timeout"]
        present = {key for key, _ in libpq}
        libpq.extend((k, v) for k, v in _CONNECTION_DEFAULTS.items() if k not in present)
        conninfo = with_query(url, urlencode(libpq, quote_via=quote))
        try:
            conninfo_to_dict(conninfo)
        except psycopg.Error as exc:
            for key, _ in libpq:  # a misspelt option of ours reaches libpq, which refuses it
                hint = did_you_mean(key, OPTIONS)
                if hint and f'"{key}"' in str(exc):
                    raise ConfigError(
                        f"unknown option{hint}", field=key, source=self.source
                    ) from exc
            raise ConfigError(str(exc), field="backend", source=self.source) from exc
        self.conninfo = conninfo

    def connect(self, *, autocommit: bool) -> psycopg.Connection[Any]:
        """Open a connection; ``statement_timeout`` bounds every statement server-side."""
        conn = psycopg.connect(self.conninfo, autocommit=autocommit)
        try:
            conn.execute(
                sql.SQL("SET statement_timeout = {}").format(
                    sql.Literal(int(self.statement_timeout * 1000))
                )
            )
            if not autocommit:
                conn.commit()
        except Exception:
            conn.close()
            raise
        return conn


def _check_table(value: Any) -> tuple[str, ...]:
    parts = value.split(".") if isinstance(value, str) else []
    if not 1 <= len(parts) <= 2 or not all(_IDENTIFIER.match(p) for p in parts):
        raise ValueError(
            "must be a name of letters, digits and underscores (at most 48, not "
            "starting with a digit), optionally schema-qualified"
        )
    return tuple(parts)


def _check_timeout(value: Any) -> float:
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        seconds = -1.0
    if not 0 < seconds < 86_400:
        raise ValueError("must be a number of seconds, more than 0 and less than a day")
    return seconds


_TYPES: dict[str, OptionType] = {"table": _check_table, "statement_timeout": _check_timeout}


def first_line(exc: BaseException) -> str:
    """The first line of an error's text (psycopg's run over several), or its class name."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
