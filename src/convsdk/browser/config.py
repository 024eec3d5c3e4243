"""The endpoint's options: each one checked, and the middleware's names for them.

:func:`pop_beacon_options` takes the endpoint's options out of a middleware's
``**options`` (``collect=True, browser_events=[...]``); the other helpers check one
option each and raise :class:`~convsdk.ConfigError` naming it.
"""

from __future__ import annotations

from typing import Any

from ..checks import is_int, is_number
from ..errors import ConfigError
from ..interactions import Recorder

__all__ = ["MIDDLEWARE_OPTIONS", "middleware_error", "pop_beacon_options"]


def positive_int(option: str, value: Any) -> int:
    """A positive whole number, or a :class:`~convsdk.ConfigError` naming ``option``."""
    if not is_int(value) or value <= 0:
        raise ConfigError(f"must be a positive whole number, got {value!r}", field=option)
    return value


def path_option(option: str, value: Any) -> str:
    """A URL path starting with ``/``, or a :class:`~convsdk.ConfigError` naming ``option``."""
    if not isinstance(value, str) or not value.startswith("/") or len(value) > 256:
        raise ConfigError(f"must be a URL path starting with '/', got {value!r}", field=option)
    return value


def seconds_option(option: str, value: Any) -> float:
    """A positive number of seconds, or a :class:`~convsdk.ConfigError` naming ``option``."""
    if not is_number(value):
        raise ConfigError("must be a number of seconds", field=option)
    if not value > 0:
        raise ConfigError("must be positive", field=option)
    return float(value)


def recorder_option(recorder: Recorder | None, options: dict[str, Any]) -> Recorder:
    """The middleware's :class:`~convsdk.interactions.Recorder`, or one built from ``options``."""
    if recorder is not None and options:
        raise ConfigError(
            f"give the recorder or its options ({', '.join(sorted(options))}), not both",
            field="recorder",
        )
    return recorder if recorder is not None else Recorder(**options)


#: middleware option -> BeaconEndpoint argument
MIDDLEWARE_OPTIONS = {
    "browser_events": "browser_events",
    "allowed_hosts": "allowed_hosts",
    "collect_path": "path",
    "script_path": "script_path",
    "max_beacon_bytes": "max_body_bytes",
    "max_beacon_events": "max_events",
    "beacon_rate_limit": "rate_limit",
    "beacon_network_rate_limit": "network_rate_limit",
    "beacon_rate_limit_url": "rate_limit_url",
    "beacon_max_visitors": "max_visitors",
    "auto_scroll": "auto_scroll",
    "time_thresholds": "time_thresholds",
    "scroll_depths": "scroll_depths",
    "serve_script": "serve_script",
}


def middleware_error(error: ConfigError) -> ConfigError:
    """``error``, raised by the endpoint for one of its arguments, naming the middleware
    option that argument came from (``rate_limit`` -> ``beacon_rate_limit``)."""
    names = {target: name for name, target in MIDDLEWARE_OPTIONS.items()}
    name = names.get(error.field or "")
    if name is None or name == error.field:
        return error
    return ConfigError(error.reason, field=name, source=error.source, goal=error.goal)


def pop_beacon_options(options: dict[str, Any]) -> dict[str, Any] | None:
    """Take the collect endpoint's options out of a middleware's ``**options``.

    Returns the :class:`~convsdk.browser.BeaconEndpoint` keyword arguments, or ``None`` when the
    endpoint is off. It is on with ``collect=True``, or when any of its options is
    given and ``collect`` is not ``False``. The middleware names:

    ``collect``, ``browser_events``, ``allowed_hosts``, ``collect_path``,
    ``script_path``, ``max_beacon_bytes``, ``max_beacon_events``,
    ``beacon_rate_limit``, ``beacon_network_rate_limit``, ``beacon_rate_limit_url``,
    ``beacon_max_visitors``, ``auto_scroll``,
    ``time_thresholds``, ``scroll_depths``, ``serve_script``.

    >>> options = {"collect": True, "browser_events": ["scroll_depth"], "trusted_proxies": 1}
    >>> pop_beacon_options(options), options
    ({'browser_events': ['scroll_depth']}, {'trusted_proxies': 1})
    """
    collect = options.pop("collect", None)
    found = {
        target: options.pop(name) for name, target in MIDDLEWARE_OPTIONS.items() if name in options
    }
    if collect is None:
        collect = bool(found)
    elif not isinstance(collect, bool):
        raise ConfigError(f"must be True or False, got {collect!r}", field="collect")
    if not collect:
        if found:
            names = ", ".join(sorted(k for k, v in MIDDLEWARE_OPTIONS.items() if v in found))
            raise ConfigError(f"{names} given, but collect=False", field="collect")
        return None
    return found
