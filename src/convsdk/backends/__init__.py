"""Where events go: the :class:`Backend` protocol and :func:`from_url`.

A backend is any object with ``write(events)`` and ``close()``: see :class:`Backend`
for the whole protocol (errors, closing, threads, fork, time zones, URLs).

Built-in URL schemes::

    memory://                          in-process list (tests, demos)
    file:///var/log/events.jsonl       JSON Lines, rotated by size
    sqlite:///convsdk.db               embedded default
    postgresql://user@host/db          extra ``postgres``
    http(s)://collector/ingest         extra ``http``
    redis://host:6379/0/stream-name    extra ``redis``
    nats://host:4222/subject           extra ``nats``

Destinations, forwarded macro conversions by default (:mod:`convsdk.destinations`)::

    ga4://G-XXXX?api_secret=...        Google Analytics 4, extra ``http``
    meta://PIXEL_ID?access_token=...   Meta Conversions API, extra ``http``
    segment://WRITE_KEY                Segment (or RudderStack), extra ``http``

Third-party backends register a class (or factory) taking the URL under the
``convsdk.backends`` entry-point group::

    [project.entry-points."convsdk.backends"]
    kafka = "convsdk_kafka:KafkaBackend"

A registered object may be a class with a ``from_url(url, **options)`` classmethod
or any callable ``factory(url, **options) -> Backend``. :mod:`convsdk.adapters` has
what the built-in backends use to read their URLs, encode events and hold connections;
a reader under ``convsdk.readers`` lets ``convsdk report`` read the store back
(:mod:`convsdk.report.plugins`).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable
from urllib.parse import urlsplit

from .._urls import check_userinfo, redact_url
from ..errors import ConfigError, missing_extra

if TYPE_CHECKING:
    from ..event import Event

__all__ = ["Backend", "from_url", "register", "registered_schemes"]


@runtime_checkable
class Backend(Protocol):
    """What the dispatcher needs from a backend: the adapter protocol.

    **Writing.** ``write(events)`` stores the whole batch or raises. Delivery is
    at-least-once: after a failure the same events come again (from this instance, or
    from another one replaying the spool in the next process), so a store that can
    should drop duplicates by ``event_id`` in the store itself (a key, a message id),
    never in one instance's memory.

    **Errors.** Raise :class:`~convsdk.BackendError` (or any exception) to say the batch
    was not stored:

    - *retryable* (the default) for anything about the store's state or setup: a
      server down or unreachable, a timeout, a lost connection, and also a bad password,
      an unknown database, a missing table, a read-only replica found at run time. The
      batch is retried, then kept in the disk spool until the store is back, and the
      events are delivered once someone fixes it;
    - ``retryable=False`` only when *this batch* can never be stored: the store refuses
      an event's content (an HTTP 4xx for the payload, a value out of range). The
      dispatcher splits the batch until it finds the refused events and dead-letters
      only those. Marking an outage permanent throws good events away.

    **Closing.** ``close()`` releases connections and files; calling it again does
    nothing. A ``write`` after ``close()`` raises ``BackendError(retryable=False)`` and
    stores nothing (connecting again would leak a connection nobody closes).

    **Threads, fork, connecting.** The tracker writes from its dispatcher thread, one
    batch at a time, but one backend may be shared (several trackers, the app's own
    threads): guard the connection with a lock. Connect lazily, on the first write:
    ``convsdk.init()`` builds the backend at import time, when the server may be down,
    and a pre-forking server (gunicorn ``--preload``) forks after that. In a forked
    child (``os.getpid()`` changed), open a new connection and leave the parent's alone.

    **Data.** Timestamps are timezone-aware: store the instant (UTC, or with its offset)
    and read it back aware, never as the wall-clock time alone. ``properties`` and
    ``context`` are JSON objects; JSON has no ``NaN`` or infinity (store ``null``), and a
    store that cannot hold NUL characters replaces each by U+FFFD.

    **URLs.** A backend built by URL takes ``from_url(url, **options)``: the scheme names
    the backend, the host and port the server, the path the destination (a database and
    table, a stream, a subject: say which), and query parameters the options, spelt in
    snake_case (``?connect_timeout=5``). An unknown or malformed option is a
    :class:`~convsdk.ConfigError` naming it, raised by ``from_url`` itself. Never put a
    password in an error message: :func:`convsdk.adapters.redact_url`.

    **Spool key.** A backend may declare ``destination_key``: a string naming what it
    writes to (its store, stream, account), stable across processes and never a secret;
    :func:`convsdk.adapters.url_key` makes one from a URL, as the built-in backends do
    (a backend built as an object has the key its URL would give). Each spool directory
    records the key of its destination, and the tracker replays a spool only into the
    destination with that key (:mod:`convsdk.fanout.spools`), whatever the order of
    ``backend=``. Without one the class name serves, and two instances of one class are
    told apart by their order only.

    **Forwarding.** A backend that forwards to a service rather than storing declares
    ``default_forward = "macro"`` (what the fan-out sends it unless ``forward=`` says
    otherwise; never the events of visitors who opted out), and ``takes_identify =
    True`` when the service takes identify calls (the fan-out then sends it the
    ``identify`` events too). See :mod:`convsdk.fanout` and :mod:`convsdk.destinations`.

    **Checking.** A backend may also have ``check()``: raise
    :class:`~convsdk.BackendError` unless the store takes events now (reachable,
    database and table there or created). ``convsdk collect`` calls it before it starts
    listening. The SQLite, file, PostgreSQL and Redis backends have one.

    :class:`convsdk.testing.BackendContract` tests every point above.
    """

    def write(self, events: Sequence[Event]) -> None:
        """Store ``events`` (in order) or raise."""
        ...

    def close(self) -> None:
        """Release resources; a second call does nothing, a later write raises."""
        ...


# scheme -> ("module:attribute", extra that provides its dependencies)
_BUILTIN: dict[str, tuple[str, str | None]] = {
    "memory": ("convsdk.backends.memory:MemoryBackend", None),
    "file": ("convsdk.backends.file:FileBackend", None),
    "sqlite": ("convsdk.backends.sqlite:SQLiteBackend", None),
    "postgresql": ("convsdk.backends.postgres:PostgresBackend", "postgres"),
    "postgres": ("convsdk.backends.postgres:PostgresBackend", "postgres"),
    "http": ("convsdk.backends.http:HTTPBackend", "http"),
    "https": ("convsdk.backends.http:HTTPBackend", "http"),
    "redis": ("convsdk.backends.redis:RedisBackend", "redis"),
    "rediss": ("convsdk.backends.redis:RedisBackend", "redis"),
    "nats": ("convsdk.backends.nats:NATSBackend", "nats"),
    # Destinations: services events are forwarded to (macro conversions by default).
    "ga4": ("convsdk.destinations.ga4:GA4Destination", "http"),
    "meta": ("convsdk.destinations.meta:MetaDestination", "http"),
    "segment": ("convsdk.destinations.segment:SegmentDestination", "http"),
}

_registered: dict[str, Callable[..., Backend] | type] = {}


def register(scheme: str, factory: Callable[..., Backend] | type) -> None:
    """Register a backend for ``scheme`` at run time (entry points are the packaged way)."""
    _registered[scheme.lower()] = factory


def registered_schemes() -> list[str]:
    """Every scheme :func:`from_url` knows: built-ins, run-time and entry-point ones."""
    names = set(_BUILTIN) | set(_registered)
    names.update(ep.name for ep in _plugins())
    return sorted(names)


def _plugins() -> Any:
    """The backends installed packages declare (entry points of ``convsdk.backends``).

    ``importlib.metadata`` is imported here, on first use: it would add about a fifth
    to the time ``import convsdk`` takes (every worker process, every command).
    """
    from importlib.metadata import entry_points

    return entry_points(group="convsdk.backends")


def _resolve(scheme: str, url: str) -> Any:
    if scheme in _registered:
        return _registered[scheme]
    if scheme in _BUILTIN:
        target, extra = _BUILTIN[scheme]
        module_name, _, attr = target.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            if not extra:
                raise ConfigError(
                    f"the {scheme}:// backend cannot be loaded ({exc}); reinstall convsdk",
                    field="backend",
                    source=redact_url(url),
                ) from exc
            raise missing_extra(
                f"the {scheme}:// backend", extra, exc, field="backend", source=redact_url(url)
            ) from exc
        return getattr(module, attr)
    for ep in _plugins():
        if ep.name.lower() == scheme:
            try:
                return ep.load()
            except Exception as exc:
                raise ConfigError(
                    f"the backend plugin {ep.value!r} for {scheme}:// failed to load: {exc}",
                    field="backend",
                    source=redact_url(url),
                ) from exc
    raise ConfigError(
        f"unknown backend scheme {scheme!r}; known: {', '.join(registered_schemes())}",
        field="backend",
        source=redact_url(url),
    )


def from_url(url: str, **options: Any) -> Backend:
    """Build a backend from a URL such as ``sqlite:///convsdk.db``.

    Raises :class:`convsdk.ConfigError` for an unknown scheme, a malformed URL, or a
    backend whose optional dependencies are missing (naming the extra to install).
    """
    if not isinstance(url, str) or "://" not in url:
        raise ConfigError(
            f"a backend URL looks like 'sqlite:///convsdk.db', got {url!r}", field="backend"
        )
    check_userinfo(url)
    scheme = urlsplit(url).scheme.lower()
    factory = _resolve(scheme, url)
    builder = getattr(factory, "from_url", None) or factory
    try:
        backend = builder(url, **options)
    except ConfigError:
        raise
    except (TypeError, ValueError) as exc:
        raise ConfigError(str(exc), field="backend", source=redact_url(url)) from exc
    return backend  # type: ignore[no-any-return]
