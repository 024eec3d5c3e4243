"""JSON for backends: orjson when installed (the ``fast`` extra), else the standard library.

Both produce compact UTF-8 (no spaces, non-ASCII kept as is)::

    >>> dumps({"plan": "pro", "city": "Zürich"})
    b'{"plan":"pro","city":"Z\\xc3\\xbcrich"}'
    >>> loads(b'{"plan":"pro"}')
    {'plan': 'pro'}

The two differ only on input events never carry (they are validated by
:func:`convsdk.event.make_event`): orjson writes ``NaN`` as ``null`` and rejects integers
wider than 64 bits, the standard library rejects ``NaN`` and accepts big integers. Both
raise a ``TypeError`` or ``ValueError`` for what they cannot encode. ``IMPLEMENTATION``
says which one is in use (``"orjson"`` or ``"json"``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

__all__ = ["IMPLEMENTATION", "dumps", "dumps_str", "loads", "loads_lenient"]

dumps: Callable[[Any], bytes]
dumps_str: Callable[[Any], str]
loads: Callable[[bytes | str], Any]

try:
    import orjson
except ImportError:  # the ``fast`` extra is optional
    _encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode

    def dumps(obj: Any) -> bytes:
        """Serialise ``obj`` to compact UTF-8 JSON bytes."""
        return _encode(obj).encode("utf-8")

    def dumps_str(obj: Any) -> str:
        """Serialise ``obj`` to a compact JSON string (for TEXT columns)."""
        return _encode(obj)

    def loads(data: bytes | str) -> Any:
        """Parse JSON from bytes (UTF-8) or a string."""
        return json.loads(data)

    IMPLEMENTATION = "json"
else:
    # Bound directly, not wrapped: this is the hot path of every backend.
    dumps = orjson.dumps
    loads = orjson.loads

    def dumps_str(obj: Any) -> str:
        """Serialise ``obj`` to a compact JSON string (for TEXT columns)."""
        return orjson.dumps(obj).decode()

    IMPLEMENTATION = "orjson"


def loads_lenient(data: bytes | str) -> Any:
    """:func:`loads`, reading also what orjson refuses and Python's json writes by
    default (``NaN``, ``Infinity``, integers wider than 64 bits), as DuckDB reads it:
    lines of a log another program wrote. Raises ``ValueError`` for what is not JSON."""
    try:
        return loads(data)
    except ValueError:
        return json.loads(data)
