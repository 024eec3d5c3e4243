"""A backend URL read into its parts and typed options: :func:`parse_url`.

A backend URL says where events go and how::

    scheme://[user[:password]@]host[:port]/destination?option=value&other_option=value

- the **path** names the destination inside the server: a database, a table, a
  subject or a stream (``postgresql://db/analytics``, ``nats://host/shop.events``);
  :attr:`ParsedURL.path` gives its segments, decoded;
- **options** are query parameters spelt in ``snake_case`` (``?batch_size=50``), each
  with a type; keyword arguments given to ``from_url(url, **options)`` override them;
- a password goes in the user info, percent-encoded, and never reaches a message:
  :attr:`ParsedURL.source` is the URL with it (and secret query values) hidden.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import SplitResult, parse_qsl, unquote, urlsplit

from .._urls import check_userinfo, redact_url
from ..errors import ConfigError
from ..options import BOOL, Type, did_you_mean

__all__ = ["OptionType", "ParsedURL", "convert_option", "parse_url"]

#: The type of an option: ``str``, ``int``, ``float``, ``bool``; a
#: :class:`convsdk.options.Type` (``integer(1)``, ``seconds()``, ``byte_size()``, ...:
#: the types of convsdk's own options, with their limits); or any callable that turns
#: the text (or the value given in code) into the value, raising ``ValueError`` or
#: ``TypeError`` for a bad one.
OptionType = type | Type | Callable[[Any], Any]


@dataclass(frozen=True, slots=True)
class ParsedURL:
    """What a backend URL says, from :func:`parse_url`."""

    scheme: str
    """Lower-cased, e.g. ``"kafka"``."""
    host: str | None
    """Lower-cased host name, or ``None`` (a local socket, a file)."""
    port: int | None
    """The port, if the URL gives one."""
    user: str | None
    """The user name, decoded."""
    password: str | None = field(repr=False)
    """The password, decoded; never put it in a message (use :attr:`source`)."""
    path: tuple[str, ...] = ()
    """The path's non-empty segments, decoded: the destination (database, table...)."""
    options: dict[str, Any] = field(default_factory=dict)
    """Every option given or defaulted, converted to its type."""
    source: str = ""
    """The URL without its secrets, for messages and errors."""
    extra: tuple[tuple[str, str], ...] = field(default=())
    """Query parameters that are not options, as ``(name, value)`` pairs, in order
    (with ``passthrough=True`` only: a driver's own settings, for instance)."""


def parse_url(
    url: str,
    options: Mapping[str, OptionType] | None = None,
    *,
    defaults: Mapping[str, Any] | None = None,
    overrides: Mapping[str, Any] | None = None,
    schemes: Collection[str] | None = None,
    passthrough: bool = False,
) -> ParsedURL:
    """Read ``url`` into a :class:`ParsedURL`, its options checked against ``options``.

    ``options`` maps each option's name to its type (see :data:`OptionType`);
    ``overrides`` (the keyword arguments of ``from_url``) win over the query, and
    ``defaults`` fill in what neither gives (used as they are). ``schemes`` limits the
    schemes accepted. Booleans are spelt ``1/true/yes/on`` or ``0/false/no/off``.

    Raises :class:`convsdk.ConfigError` naming the option at fault: an unknown one
    (with "did you mean", unless ``passthrough=True`` keeps unknown query parameters
    in :attr:`ParsedURL.extra`), or a value of the wrong type; and for a bad scheme,
    port or password.

    >>> url = parse_url("kafka://app:s3cret@broker:9092/orders?batch=50&tls=yes",
    ...                 {"batch": int, "tls": bool, "timeout": float},
    ...                 defaults={"timeout": 5.0})
    >>> url.host, url.port, url.path, url.options
    ('broker', 9092, ('orders',), {'batch': 50, 'tls': True, 'timeout': 5.0})
    >>> url.source
    'kafka://app:***@broker:9092/orders?batch=50&tls=yes'
    """
    if not isinstance(url, str) or "://" not in url:
        raise ConfigError(
            f"a backend URL looks like 'scheme://host/path', got {url!r}", field="backend"
        )
    check_userinfo(url)
    source = redact_url(url)
    parts, port = _split(url, source)
    scheme = parts.scheme.lower()
    if schemes is not None and scheme not in schemes:
        raise ConfigError(
            f"expected a {' or '.join(f'{s}://' for s in sorted(schemes))} URL",
            field="backend",
            source=source,
        )
    types = dict(options or {})
    given, extra = _query(parts.query, types, passthrough, source)
    values = _values(types, given, overrides or {}, defaults or {}, source)
    return ParsedURL(
        scheme=scheme,
        host=parts.hostname,
        port=port,
        user=unquote(parts.username) if parts.username is not None else None,
        password=unquote(parts.password) if parts.password is not None else None,
        path=tuple(unquote(segment) for segment in parts.path.split("/") if segment),
        options=values,
        source=source,
        extra=tuple(extra),
    )


def _values(
    types: Mapping[str, OptionType],
    given: dict[str, Any],
    overrides: Mapping[str, Any],
    defaults: Mapping[str, Any],
    source: str,
) -> dict[str, Any]:
    """The options' values: the query's, overridden by keywords, converted, then defaults."""
    for name, value in overrides.items():
        if name not in types:
            raise _unknown(name, types, source)
        given[name] = value
    values = {name: convert_option(name, types[name], v, source) for name, v in given.items()}
    for name, value in defaults.items():
        values.setdefault(name, value)
    return values


def _split(url: str, source: str) -> tuple[SplitResult, int | None]:
    """The URL's parts and port; a ConfigError for a malformed one."""
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise ConfigError(f"not a URL: {exc}", field="backend", source=source) from None
    try:
        return parts, parts.port
    except ValueError as exc:
        if parts.hostname:  # without a host (sqlite://:memory:) there is no port to read
            raise ConfigError(f"bad port: {exc}", field="port", source=source) from None
        return parts, None


def _query(
    query: str, types: Mapping[str, OptionType], passthrough: bool, source: str
) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """The query's options (as text) and, with ``passthrough``, its other parameters."""
    given: dict[str, str] = {}
    extra: list[tuple[str, str]] = []
    for name, value in parse_qsl(query, keep_blank_values=True):
        if name in types:
            given[name] = value
        elif passthrough:
            extra.append((name, value))
        else:
            raise _unknown(name, types, source)
    return given, extra


def _unknown(name: str, known: Collection[str], source: str) -> ConfigError:
    listed = f"; known: {', '.join(sorted(known))}" if known else "; this URL takes none"
    return ConfigError(
        f"unknown option{did_you_mean(name, known)}{listed}", field=name, source=source
    )


def convert_option(name: str, kind: OptionType, value: Any, source: str | None = None) -> Any:
    """``value`` (text from a query, or a value given in code) as option ``name`` of type
    ``kind``; a :class:`convsdk.ConfigError` naming the option if it is not one.

    >>> convert_option("timeout", float, "2.5")
    2.5
    """
    if kind is bool:
        kind = BOOL
    if kind is int:
        number = _number(value, int)
        if type(number) is not int:
            raise ConfigError(f"must be a whole number, got {value!r}", field=name, source=source)
        return number
    if kind is float:
        number = _number(value, float)
        if type(number) not in (int, float) or not math.isfinite(number):
            raise ConfigError(f"must be a number, got {value!r}", field=name, source=source)
        return float(number)
    if kind is str:
        if not isinstance(value, str):
            raise ConfigError(f"must be text, got {value!r}", field=name, source=source)
        return value
    if isinstance(kind, Type):
        try:
            if isinstance(value, str) and kind.parse is not None:
                value = kind.parse(value)
            return kind.check(value)
        except ValueError as exc:  # its message shows the value
            raise ConfigError(str(exc), field=name, source=source) from None
    try:
        return kind(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(
            f"{exc or 'bad value'} (got {value!r})", field=name, source=source
        ) from None


def _number(value: Any, kind: type[int] | type[float]) -> Any:
    """``value`` parsed as ``kind`` if it is text, else as given (``bool`` is no number)."""
    if isinstance(value, str):
        try:
            return kind(value.strip())
        except ValueError:
            return None
    return None if isinstance(value, bool) else value
