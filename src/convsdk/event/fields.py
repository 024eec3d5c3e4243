"""What an event holds: :data:`FIELDS`, the one list of its fields, and the limits on them.

The limits are documented in :mod:`convsdk.event`; the request-path checks
(:mod:`~convsdk.event.validation`), the schema (:mod:`~convsdk.event.schema`) and
the fast loader (:mod:`~convsdk.event.loading`) all take them from here.
"""

from __future__ import annotations

import re
from typing import Literal

__all__ = [
    "COLUMNS",
    "FIELDS",
    "MAX_DEPTH",
    "MAX_ID",
    "MAX_LIST",
    "MAX_PROPERTIES",
    "MAX_PROPERTIES_CHARS",
    "MAX_STRING",
    "NAME",
    "Kind",
]

Kind = Literal["micro", "macro"]

MAX_PROPERTIES = 64
MAX_STRING = 4096
MAX_LIST = 256
MAX_DEPTH = 4
MAX_PROPERTIES_CHARS = 32_768
MAX_ID = 128

#: An event or goal name: letters, digits and ``_``, 1 to 64 characters.
NAME = re.compile(r"[A-Za-z0-9_]{1,64}\Z")

#: The fields of a serialised event, in their stored order: the one list that SQL
#: columns, row readers and comparisons derive from.
FIELDS: tuple[str, ...] = (
    "event_id",
    "name",
    "kind",
    "goal",
    "value",
    "currency",
    "transaction_id",
    "timestamp",
    "visitor_id",
    "session_id",
    "user_id",
    "properties",
    "context",
)

#: The columns of a table of events, in order: the fields of an event, one a column
#: (``properties`` and ``context`` hold JSON). :meth:`Event.to_row` and
#: :meth:`Event.from_row` use this order; the SQL backends create their tables from it.
COLUMNS: tuple[str, ...] = FIELDS
