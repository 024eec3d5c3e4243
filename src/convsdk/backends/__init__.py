"""Where events go: the :class:`Backend` protocol and :func:`from_url`.

A backend is any object with ``write(events)`` and ``close()``. ``write`` is called
from the dispatcher thread only, one batch at a time; it raises to signal failure
(:class:`convsdk.BackendError` with ``retryable=False`` when resending cannot help).

Built-in URL schemes::

    memory://                          in-process list (tests, demos)
    file:///var/log/events.jsonl       JSON Lines, rotated by size
    sqlite:///convsdk.db               embedded default
    postgresql://user@host/db          extra ``postgres``
    http(s)://collector/ingest         extra ``http``
    redis://host:6379/0/stream-name    extra ``redis``
    nats://host:4222/subject           extra ``nats``

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
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable
from urllib.parse import urlsplit

from .._urls import check_userinfo, redact_url
from ..errors import ConfigError, missing_extra

if TYPE_CHECKING:
    from ..event import Event

__all__ = ["Backend", "from_url", "register", "registered_schemes"]


@runtime_checkable
class Backend(Protocol):
    """What the dispatcher needs from a backend.

    ``write`` stores a batch or raises; it may be called again with the same events
    after a failure (delivery is at-least-once), so sinks that can should drop
    duplicates by ``event_id``. ``close`` releases connections and files.

    A backend may also have ``check()``: raise :class:`~convsdk.BackendError` unless
    the store takes events now (reachable, database and table there or created).
    ``convsdk collect`` calls it before it starts listening. The SQLite, file,
    PostgreSQL and Redis backends have one.
    """

    def write(self, events: Sequence[Event]) -> None:
        """Store ``events`` (in order) or raise."""
        ...

    def close(self) -> None:
        """Release resources; called once, from the thread that owns the backend."""
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
}

_registered: dict[str, Callable[..., Backend] | type] = {}


def register(scheme: str, factory: Callable[..., Backend] | type) -> None:
    """Register a backend for ``scheme`` at run time (entry points are the packaged way)."""
    _registered[scheme.lower()] = factory


def registered_schemes() -> list[str]:
    """Every scheme :func:`from_url` knows: built-ins, run-time and entry-point ones."""
    names = set(_BUILTIN) | set(_registered)
    names.update(ep.name for ep in entry_points(group="convsdk.backends"))
    return sorted(names)


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
    for ep in entry_points(group="convsdk.backends"):
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
