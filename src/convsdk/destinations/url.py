"""Reading a destination's URL: the account id in the host's place, options in the
query, ``endpoint=`` replacing the service's scheme and host, ``events=`` renaming goals.

::

    ga4://G-XXXX?api_secret=...&endpoint=http://127.0.0.1:8123
    segment://WRITE_KEY?events=demo_booked:Demo%20Booked

The id (a measurement id, a pixel id, a write key) is read as written: ``urlsplit``
would lower-case it, and a write key is case-sensitive. A destination whose id is a
secret (Segment's write key) gives ``secret_id=True``: its URL then reaches messages as
``segment://***``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import unquote, urlsplit

from ..adapters import OptionType, ParsedURL, parse_url
from ..errors import ConfigError
from ..options import Type

__all__ = ["destination_url", "endpoint_type", "event_names_type", "service_url"]


def destination_url(
    url: str,
    scheme: str,
    id_name: str,
    options: Mapping[str, OptionType],
    *,
    overrides: Mapping[str, Any],
    defaults: Mapping[str, Any] | None = None,
    secret_id: bool = False,
) -> tuple[str, ParsedURL]:
    """The id in ``url`` and the URL read by :func:`convsdk.adapters.parse_url`.

    Raises :class:`~convsdk.ConfigError` naming ``id_name`` when the id is missing, and
    naming the option for a bad or unknown one.
    """
    if not isinstance(url, str) or "://" not in url:
        raise ConfigError(f"a {scheme}:// URL looks like '{scheme}://ID?...'", field="backend")
    parts = urlsplit(url)
    ident = unquote(parts.netloc)
    shown = url
    if secret_id:
        shown = f"{parts.scheme}://***" + (f"?{parts.query}" if parts.query else "")
    if not ident or "@" in ident or parts.path.strip("/"):
        example = f"{scheme}://{id_name.upper()}"
        raise ConfigError(
            f"a {scheme}:// URL names the {id_name} in the host's place: {example!r}",
            field=id_name,
            source=shown if secret_id else url.split("?", 1)[0],
        )
    parsed = parse_url(shown, options, overrides=overrides, defaults=defaults, schemes={scheme})
    return ident, parsed


def service_url(endpoint: str | None, default: str, path: str) -> str:
    """``path`` on ``endpoint`` (scheme, host and any path prefix) or else on ``default``."""
    return (endpoint or default).rstrip("/") + path


def _endpoint_check(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"must be a URL such as 'https://proxy.example.com', got {value!r}")
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query:
        raise ValueError(
            f"must be an http(s) URL with a host and no query, such as "
            f"'https://proxy.example.com', got {value!r}"
        )
    return value.strip().rstrip("/")


def endpoint_type() -> Type:
    """The ``endpoint`` option: an ``http(s)://host[:port][/prefix]`` replacing the
    service's scheme and host (a test server, a proxy, a regional host)."""
    return Type("endpoint", _endpoint_check, _endpoint_check)


def event_names_type(check_name: Callable[[str], str]) -> Type:
    """The ``events`` option: goal names mapped to the service's event names, given as a
    mapping or as text ``goal:name,other_goal:OtherName``; each name passes
    ``check_name`` (which raises ``ValueError`` for one the service refuses)."""

    def check(value: Any) -> dict[str, str]:
        if not isinstance(value, Mapping):
            raise ValueError(f"must map goal names to event names, got {value!r}")
        names: dict[str, str] = {}
        for goal, name in value.items():
            if not isinstance(goal, str) or not isinstance(name, str) or not goal or not name:
                raise ValueError(f"goal and event names must be text, got {goal!r}: {name!r}")
            names[goal] = check_name(name)
        return names

    def parse(text: str) -> dict[str, str]:
        pairs: dict[str, str] = {}
        for item in filter(None, (piece.strip() for piece in text.split(","))):
            goal, colon, name = item.partition(":")
            if not colon:
                raise ValueError(f"each item reads 'goal:event_name', got {item!r}")
            pairs[goal.strip()] = name.strip()
        return check(pairs)

    return Type("events", check, parse)
