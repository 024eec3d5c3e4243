"""A forwarding destination: :class:`Destination`, a backend with the fan-out's options
(``forward=``, ``sample_page_views=``, ``before_send=``), and :class:`Route`, the
filter and page-view sampling those options compile to.

>>> Destination("ga4://G-XXXX?api_secret=...", forward="macro,newsletter")
>>> Destination(MyBackend(), sample_page_views=0.1, before_send=drop_test_orders)

In a URL the same options are query parameters, taken off before the backend sees the
URL: ``ga4://G-XXXX?api_secret=...&forward=purchase&sample_page_views=0.5``.
"""

from __future__ import annotations

import difflib
import hashlib
import re
from collections.abc import Callable, Iterable
from typing import Any, TypedDict, Unpack
from urllib.parse import parse_qsl, urlencode, urlsplit

from .._urls import redact_url, url_key, with_query
from ..backends import Backend, from_url
from ..destinations.events import IDENTIFY
from ..errors import ConfigError
from ..event import Event
from ..options import unknown_option

__all__ = ["KINDS", "Destination", "DestinationOptions", "Hook", "Route", "is_backend"]

#: A ``before_send`` hook: the event (a copy, free to edit) to send, or None to drop it.
Hook = Callable[[Event], Event | None]
#: The kinds ``forward=`` names; any other name is a goal's.
KINDS = ("all", "macro", "micro")
_SCALE = float(1 << 64)
#: A ``destination_key`` used as it is for a directory name; any other is digested.
_PLAIN_KEY = re.compile(r"[a-z0-9][a-z0-9._+-]{0,99}\Z")


def is_backend(value: object) -> bool:
    """Whether ``value`` can stand as a backend: it has ``write()`` and ``close()``."""
    return callable(getattr(value, "write", None)) and callable(getattr(value, "close", None))


class DestinationOptions(TypedDict, total=False):
    """The options of :class:`Destination` (a URL's query may give the first two).

    ``forward``: goal names and/or the kinds ``macro``, ``micro``, ``all`` (a list, or
    comma-separated text); default the backend's ``default_forward``, else ``all``.
    ``sample_page_views``: the share of visitors (0..1, default 1) whose page views are
    sent; conversions are never sampled. ``before_send``: a :data:`Hook`.
    """

    forward: str | Iterable[str] | None
    sample_page_views: float
    before_send: Hook | None


_URL_OPTIONS = ("forward", "sample_page_views")


class Destination:
    """A backend (URL or object) and what the fan-out sends it.

    >>> convsdk.init(backend=["sqlite:///convsdk.db",
    ...                       Destination("meta://PIXEL?access_token=...", forward="purchase")])

    An unknown option, ``forward=`` naming something like a kind that is not one, or
    ``sample_page_views`` outside 0..1 is a :class:`~convsdk.ConfigError` naming it.
    """

    __slots__ = ("before_send", "forward", "sample_page_views", "target")

    def __init__(self, backend: str | Backend, /, **options: Unpack[DestinationOptions]) -> None:
        known = DestinationOptions.__annotations__
        for name in options:
            if name not in known:
                raise unknown_option(name, known, source="Destination")
        given: dict[str, Any] = dict(options)
        if isinstance(backend, str):
            backend = _take_url_options(backend, given)
        elif not is_backend(backend):
            raise ConfigError(
                f"must be a backend URL or an object with write() and close(), got {backend!r}",
                field="backend",
            )
        self.target: str | Backend = backend
        self.forward: tuple[str, ...] | None = _forward(given.get("forward"))
        self.sample_page_views: float = _share(given.get("sample_page_views", 1.0))
        hook = given.get("before_send")
        if hook is not None and not callable(hook):
            raise ConfigError(f"must be a callable, got {hook!r}", field="before_send")
        self.before_send: Hook | None = hook

    def open(self) -> Backend:
        """The backend: built from the URL (without the fan-out's options), or the object."""
        target = self.target
        return from_url(target) if isinstance(target, str) else target

    def name(self) -> str:
        """How stats and logs name it: the URL without secrets, or the backend's class."""
        target = self.target
        return redact_url(target) if isinstance(target, str) else type(target).__name__

    def spool_name(self) -> str:
        """Its key, which names its spool directory and is recorded in it: stable
        across processes and never a secret.

        A URL's is its scheme and a digest of its host and path (never the user info or
        the query: secrets). A backend object's is its ``destination_key`` attribute
        (the built-in backends derive it from what they write to, as their URL would);
        a key that is not a plain lowercase name is digested, with the class name in
        front. An object without one goes by its class name, so two of one class are
        told apart only by their order in ``backend=``.
        """
        target = self.target
        if isinstance(target, str):
            return url_key(target)
        key = _destination_key(target)
        kind = type(target).__name__.lower()
        if key is None:
            return kind
        if _PLAIN_KEY.match(key):
            return key
        return f"{kind}-{hashlib.sha256(key.encode()).hexdigest()[:16]}"

    def route(self, backend: Backend) -> Route | None:
        """The filter and sampling for ``backend`` (this destination's, built), or None
        when it takes every event (a store with no ``forward`` or sampling)."""
        default = getattr(backend, "default_forward", None)
        forward = self.forward
        if forward is None:
            forward = _forward(default, field="default_forward") if default is not None else None
        if forward is None and default is None and self.sample_page_views >= 1.0:
            return None
        return Route(
            forward or ("all",),
            private=default is not None,
            share=self.sample_page_views,
            identify=bool(getattr(backend, "takes_identify", False)),
        )

    def __repr__(self) -> str:
        return f"<Destination {self.name()}>"


class Route:
    """Which events one destination gets: :meth:`admits` (consent and ``forward``) and
    :meth:`sampled_out` (page-view sampling, by visitor).

    A destination with ``default_forward`` (a forwarding one) never gets the events of a
    visitor who opted out (no ``visitor_id``, a request context): they stay in the stores.
    One that declares ``takes_identify = True`` (Segment: an identify call links the
    visitor to the user) gets the identify events whatever ``forward`` says, which
    filters conversions.
    """

    __slots__ = ("everything", "goals", "identify", "kinds", "private", "share", "threshold")

    def __init__(
        self, forward: Iterable[str], *, private: bool, share: float, identify: bool = False
    ) -> None:
        names = set(forward)
        self.everything = "all" in names
        self.kinds = frozenset(names & {"macro", "micro"})
        self.goals = frozenset(names - set(KINDS))
        self.private = private
        self.identify = identify
        self.share = share
        self.threshold = int(share * _SCALE)

    def admits(self, event: Event) -> bool:
        """Whether ``event`` passes the consent rule and the ``forward`` filter."""
        if self.private and event.visitor_id is None and event.context:
            return False
        if self.everything or (self.identify and event.name == IDENTIFY and event.kind is None):
            return True
        return event.kind in self.kinds or (event.goal is not None and event.goal in self.goals)

    def sampled_out(self, event: Event) -> bool:
        """Whether sampling leaves ``event`` out: a page view (not a conversion) of a
        visitor outside the sampled share; the same visitor is always in or always out."""
        if self.threshold >= _SCALE or event.name != "page_view" or event.kind is not None:
            return False
        key = event.visitor_id or event.session_id or event.event_id
        digest = hashlib.blake2b(key.encode(), digest_size=8).digest()
        return int.from_bytes(digest, "big") >= self.threshold


def _destination_key(backend: Backend) -> str | None:
    """The ``destination_key`` of a backend object (None: it has none);
    :class:`~convsdk.ConfigError` when it is not a non-empty string or reading it fails."""
    try:
        key = getattr(backend, "destination_key", None)
    except Exception as exc:
        raise ConfigError(
            f"{type(backend).__name__}.destination_key failed: {exc!r}", field="destination_key"
        ) from exc
    if key is None:
        return None
    if not isinstance(key, str) or not key.strip():
        raise ConfigError(
            f"{type(backend).__name__}.destination_key must be a non-empty string, got {key!r}",
            field="destination_key",
        )
    return key


def _take_url_options(url: str, given: dict[str, Any]) -> str:
    """``url`` without the fan-out's query parameters, which go into ``given`` (a keyword
    argument wins)."""
    query = urlsplit(url).query
    if not query:
        return url
    pairs = parse_qsl(query, keep_blank_values=True)
    for key, value in pairs:
        if key in _URL_OPTIONS:
            given.setdefault(key, _number(value) if key == "sample_page_views" else value)
    kept = [(key, value) for key, value in pairs if key not in _URL_OPTIONS]
    return with_query(url, urlencode(kept)) if len(kept) < len(pairs) else url


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ConfigError(
            f"must be a number from 0 to 1, got {text!r}", field="sample_page_views"
        ) from None


def _share(value: Any) -> float:
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    if not (ok and 0.0 <= value <= 1.0):
        raise ConfigError(f"must be a number from 0 to 1, got {value!r}", field="sample_page_views")
    return float(value)


def _forward(value: Any, *, field: str = "forward") -> tuple[str, ...] | None:
    """``forward=`` as a tuple of names (None: not given). A name that looks like a kind
    but is not one (``macros``, ``Micro``, ``makro``) is a :class:`~convsdk.ConfigError`:
    it would silently match no goal."""
    if value is None:
        return None
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, Iterable) or not all(isinstance(item, str) for item in items):
        raise ConfigError(f"must be goal names and/or kinds, got {value!r}", field=field)
    names = tuple(item.strip() for item in items if item.strip())
    if not names:
        raise ConfigError(f"names nothing: give goals and/or {', '.join(KINDS)}", field=field)
    for name in names:
        if name not in KINDS and (kind := _kind_like(name)) is not None:
            raise ConfigError(f"unknown kind {name!r} (did you mean {kind}?)", field=field)
    return names


def _kind_like(name: str) -> str | None:
    """The kind ``name`` is a misspelling of, if it is one."""
    base = name.lower().replace("-", "_").removesuffix("s").removesuffix("_conversion")
    if base in KINDS:
        return base
    close = difflib.get_close_matches(base, ("macro", "micro"), n=1, cutoff=0.8)
    return close[0] if close else None
