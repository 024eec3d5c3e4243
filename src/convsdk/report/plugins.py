"""Readers of other stores, by URL scheme: the ``convsdk.readers`` entry-point group and
:func:`register_reader`.

A package that stores events elsewhere (its own backend) lets ``convsdk report`` read
them back by naming a reader under the group, the URL scheme as the name::

    [project.entry-points."convsdk.readers"]
    kafka = "convsdk_kafka:KafkaReader"

The object registered is a class with a ``from_url(url)`` classmethod, or any callable
``factory(url)``. What it returns is either

- a full reader (:class:`~convsdk.report.reader.Reader`: ``source`` and
  ``read(since=, until=, step_goals=, progress=)``), which can count in the store; or
- simpler, any object with ``read_events(since, until)`` returning an iterable of
  :class:`~convsdk.Event` (and optionally a ``source`` naming it in the report): convsdk
  folds those events with the same rules as every other store
  (:class:`~convsdk.report.events.EventsReader`).

Built-in schemes come first; then those registered at run time, then entry points.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .._urls import redact_url
from ..errors import ConfigError, ConvSDKError
from .events import EventsReader

if TYPE_CHECKING:
    from .protocol import Reader

__all__ = [
    "ENTRY_POINT_GROUP",
    "ReaderFactory",
    "plugin_reader",
    "plugin_schemes",
    "register_reader",
    "unregister_reader",
]

#: The entry-point group third-party readers register under.
ENTRY_POINT_GROUP = "convsdk.readers"

#: A class with ``from_url(url)``, or a callable ``factory(url)``.
ReaderFactory = Callable[[str], Any] | type

_registered: dict[str, ReaderFactory] = {}


def register_reader(scheme: str, factory: ReaderFactory) -> None:
    """Read ``scheme://`` stores with ``factory`` (see the module docs for what it returns).

    Entry points are the packaged way; this is for applications and tests.

    >>> register_reader("mystore", MyStoreReader)
    >>> load_report("mystore://events")
    """
    _registered[scheme.lower()] = factory


def unregister_reader(scheme: str) -> None:
    """Forget a reader :func:`register_reader` registered (nothing if there is none)."""
    _registered.pop(scheme.lower(), None)


def plugin_schemes() -> list[str]:
    """The schemes of readers registered at run time or under the entry-point group."""
    from importlib.metadata import entry_points  # 30 ms to import: when asked

    names = set(_registered)
    names.update(ep.name.lower() for ep in entry_points(group=ENTRY_POINT_GROUP))
    return sorted(names)


def _factory(scheme: str, source: str) -> ReaderFactory | None:
    if scheme in _registered:
        return _registered[scheme]
    from importlib.metadata import entry_points

    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name.lower() == scheme:
            try:
                loaded: ReaderFactory = ep.load()
            except Exception as exc:
                raise ConfigError(
                    f"the reader plugin {ep.value!r} for {scheme}:// failed to load: {exc}",
                    field="source",
                    source=source,
                ) from exc
            return loaded
    return None


def plugin_reader(scheme: str, url: str) -> Reader | None:
    """The reader a plugin gives for ``url``, or ``None`` if no plugin reads ``scheme``.

    Raises :class:`convsdk.ConfigError` when the plugin fails to load, refuses the URL
    (``TypeError``/``ValueError``), or returns an object that is no reader.
    """
    source = redact_url(url)
    factory = _factory(scheme.lower(), source)
    if factory is None:
        return None
    builder = getattr(factory, "from_url", None) or factory
    try:
        made = builder(url)
    except ConvSDKError:
        raise
    except (TypeError, ValueError) as exc:
        raise ConfigError(str(exc), field="source", source=source) from exc
    if callable(getattr(made, "read", None)) and isinstance(getattr(made, "source", None), str):
        return made  # type: ignore[no-any-return]
    read_events = getattr(made, "read_events", None)
    if callable(read_events):
        name = getattr(made, "source", None)
        return EventsReader(read_events, name if isinstance(name, str) else source)
    raise ConfigError(
        f"the reader for {scheme}:// gave {type(made).__name__}, which has neither "
        "read_events(since, until) nor read(...) and a source",
        field="source",
        source=source,
    )
