"""Helpers for writing a backend (or a report reader) for another store.

Everything an adapter needs, in one import, and what the built-in backends use (so a
new backend reads its URL, names a bad option and encodes events as they do):

- :func:`parse_url` reads a backend URL into a :class:`ParsedURL`: host, port, user,
  password, the path's segments (the destination: database, table, subject...) and the
  options (query parameters in ``snake_case``) converted to their types, an unknown or
  bad one a :class:`~convsdk.ConfigError` naming it; :func:`redact_url` hides secrets.
- :func:`url_key`: the key a URL's destination goes by (scheme and a digest of host and
  path), for a backend's ``destination_key``: the attribute that keeps its spool its
  own when ``backend=`` is reordered (see :class:`~convsdk.backends.Backend`).
- :meth:`Event.to_json` / :meth:`Event.from_json`: an event as compact JSON bytes (orjson
  when installed, else the standard library); :func:`json_dumps` / :func:`json_loads` for
  anything else (a batch envelope).
- :data:`COLUMNS`, the columns of a table of events, and :meth:`Event.to_row` /
  :meth:`Event.from_row`: an event as the values of those columns (timestamps aware UTC;
  JSON columns as dicts or text).
- :class:`LazyConnection`: a connection made on first use, once per process (forks),
  thread-safe, and refusing writes after ``close()``.

::

    from convsdk.adapters import LazyConnection, ParsedURL, parse_url

    class KafkaBackend:
        @classmethod
        def from_url(cls, url: str, **options: object) -> "KafkaBackend":
            parsed = parse_url(url, {"acks": int, "timeout": float}, overrides=options,
                               defaults={"acks": 1, "timeout": 10.0}, schemes={"kafka"})
            return cls(parsed)

        def __init__(self, parsed: ParsedURL) -> None:
            self.topic = parsed.path[0] if parsed.path else "convsdk-events"
            self.producer = LazyConnection(lambda: connect(parsed), lambda p: p.close())

        def write(self, events):
            producer = self.producer.get()   # raises BackendError once closed
            for event in events:
                producer.send(self.topic, event.to_json())

        def close(self) -> None:
            self.producer.close()
"""

from .._json import dumps as json_dumps
from .._json import loads as json_loads
from .._urls import redact_url as redact_url
from .._urls import url_key as url_key
from ..event import COLUMNS as COLUMNS
from ..event import Event as Event
from .connection import LazyConnection as LazyConnection
from .urls import OptionType as OptionType
from .urls import ParsedURL as ParsedURL
from .urls import convert_option as convert_option
from .urls import parse_url as parse_url

__all__ = [
    "COLUMNS",
    "Event",
    "LazyConnection",
    "OptionType",
    "ParsedURL",
    "convert_option",
    "json_dumps",
    "json_loads",
    "parse_url",
    "redact_url",
    "url_key",
]
