"""The Flask extension: the WSGI middleware installed and configured from ``app.config``.

::

    from convsdk.integrations.flask import ConvSDK

    app = Flask(__name__)
    app.config.update(CONVSDK_BACKEND="sqlite:///convsdk.db", CONVSDK_GOALS="goals.toml")
    ConvSDK(app)                      # or: convsdk_ext = ConvSDK(); convsdk_ext.init_app(app)

``init_app`` wraps ``app.wsgi_app`` in :class:`convsdk.integrations.wsgi.ConversionMiddleware`
and stores it as ``app.extensions["convsdk"]`` (its ``tracker`` attribute is the
tracker in use). Registering twice on one app raises :class:`convsdk.ConfigError`.

Which tracker records:

- the one given to ``ConvSDK(app, tracker=...)`` / ``init_app(app, tracker=...)``;
- otherwise, when the config names no tracker option and :func:`convsdk.init` made a
  default tracker, that default tracker (looked up per request);
- otherwise a tracker built from the ``CONVSDK_*`` tracker keys, made the default
  tracker when there is none yet (so decorators and ``convsdk.track`` use it).

The tracker lives as long as the process (it flushes at interpreter exit); nothing is
closed at app-context teardown.

Config keys (values may be strings, as ``app.config.from_prefixed_env()`` gives them:
lists as comma-separated text, numbers and booleans as text):

- tracker: ``CONVSDK_BACKEND``, ``CONVSDK_GOALS``, ``CONVSDK_SECRET_KEY`` (falls back
  to the ``CONVSDK_SECRET_KEY`` environment variable, then ``app.secret_key``),
  ``CONVSDK_BATCH_SIZE``, ``CONVSDK_FLUSH_INTERVAL``, ``CONVSDK_MAX_QUEUE_SIZE``,
  ``CONVSDK_SPOOL_DIR``, ``CONVSDK_DURABLE``, ``CONVSDK_FSYNC``, ``CONVSDK_BACKPRESSURE``,
  ``CONVSDK_MAX_SPOOL_BYTES``, ``CONVSDK_MAX_RETRIES``, ``CONVSDK_RETRY_MAX_DELAY``,
  ``CONVSDK_RETRY_TIMEOUT``, ``CONVSDK_SHUTDOWN_TIMEOUT``,
  ``CONVSDK_ANONYMIZE_IP``, ``CONVSDK_RESPECT_DNT``, ``CONVSDK_FILTER_BOTS``,
  ``CONVSDK_SESSION_TIMEOUT``, ``CONVSDK_CURRENCY``;
- middleware: ``CONVSDK_TRUSTED_PROXIES``, ``CONVSDK_CHECKOUT_PATHS``,
  ``CONVSDK_EXCLUDE_PATHS``, ``CONVSDK_EXCLUDE_DEFAULTS``, ``CONVSDK_CAPTURE_FIELDS``,
  ``CONVSDK_MAX_BODY_SIZE``, ``CONVSDK_VARIANT_COOKIE``, ``CONVSDK_VARIANT_HEADER``,
  ``CONVSDK_DNT``, ``CONVSDK_VISITOR_COOKIE``, ``CONVSDK_SESSION_COOKIE``,
  ``CONVSDK_VISITOR_MAX_AGE``, ``CONVSDK_COOKIE_DOMAIN``, ``CONVSDK_SECURE_COOKIES``;
- browser events (see :mod:`convsdk.beacon`): ``CONVSDK_COLLECT``,
  ``CONVSDK_BROWSER_EVENTS``, ``CONVSDK_ALLOWED_HOSTS``. With the collect endpoint on,
  templates get ``{{ convsdk_script() }}``, the browser script's tag.

Keyword options given to ``ConvSDK(...)`` override the middleware keys (and may
include ``consent`` and ``clock``, which a config file cannot hold).
"""

from __future__ import annotations

import difflib
import logging
import os
from collections.abc import Callable, Mapping
from typing import Any

from flask import Flask

from .. import tracker as _tracker
from ..errors import ConfigError
from ..tracker import Tracker
from .browser import register_flask_template_helper
from .wsgi import ConversionMiddleware

__all__ = ["ConvSDK"]

log = logging.getLogger("convsdk.integrations.flask")

_SOURCE = "Flask config"
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})


def _text(key: str, value: Any) -> Any:
    return value


def _integer(key: str, value: Any) -> Any:
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            message = f"must be a whole number, got {value!r}"
            raise ConfigError(message, field=key, source=_SOURCE) from None
    return value


def _number(key: str, value: Any) -> Any:
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            message = f"must be a number, got {value!r}"
            raise ConfigError(message, field=key, source=_SOURCE) from None
    return value


def _boolean(key: str, value: Any) -> Any:
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise ConfigError(f"must be true or false, got {value!r}", field=key, source=_SOURCE)
    return value


def _optional_boolean(key: str, value: Any) -> Any:
    if value is None or (isinstance(value, str) and value.strip().lower() in ("", "auto")):
        return None
    return _boolean(key, value)


def _flag_or_text(key: str, value: Any) -> Any:
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE - {""}:
        return _boolean(key, value)
    return value


def _items(key: str, value: Any) -> Any:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


_Coerce = Callable[[str, Any], Any]

# config key suffix -> (option name, coercion)
_TRACKER_KEYS: dict[str, tuple[str, _Coerce]] = {
    "BACKEND": ("backend", _text),
    "GOALS": ("goals", _text),
    "BATCH_SIZE": ("batch_size", _integer),
    "FLUSH_INTERVAL": ("flush_interval", _number),
    "MAX_QUEUE_SIZE": ("max_queue_size", _integer),
    "SPOOL_DIR": ("spool_dir", _text),
    "DURABLE": ("durable", _boolean),
    "FSYNC": ("fsync", _flag_or_text),
    "BACKPRESSURE": ("backpressure", _text),
    "MAX_SPOOL_BYTES": ("max_spool_bytes", _integer),
    "MAX_RETRIES": ("max_retries", _integer),
    "RETRY_MAX_DELAY": ("retry_max_delay", _number),
    "RETRY_TIMEOUT": ("retry_timeout", _number),
    "SHUTDOWN_TIMEOUT": ("shutdown_timeout", _number),
    "ANONYMIZE_IP": ("anonymize_ip", _boolean),
    "RESPECT_DNT": ("respect_dnt", _boolean),
    "FILTER_BOTS": ("filter_bots", _boolean),
    "SESSION_TIMEOUT": ("session_timeout", _integer),
    "CURRENCY": ("currency", _text),
    "MAX_VALUE": ("max_value", _number),
}
_MIDDLEWARE_KEYS: dict[str, tuple[str, _Coerce]] = {
    "TRUSTED_PROXIES": ("trusted_proxies", _integer),
    "CHECKOUT_PATHS": ("checkout_paths", _items),
    "EXCLUDE_PATHS": ("exclude_paths", _items),
    "EXCLUDE_DEFAULTS": ("exclude_defaults", _boolean),
    "CAPTURE_FIELDS": ("capture_fields", _items),
    "MAX_BODY_SIZE": ("max_body_size", _integer),
    "BODY_TIMEOUT": ("body_timeout", _number),
    "VARIANT_COOKIE": ("variant_cookie", _text),
    "VARIANT_HEADER": ("variant_header", _text),
    "DNT": ("dnt", _text),
    "VISITOR_COOKIE": ("visitor_cookie", _text),
    "SESSION_COOKIE": ("session_cookie", _text),
    "VISITOR_MAX_AGE": ("visitor_max_age", _integer),
    "COOKIE_DOMAIN": ("cookie_domain", _text),
    "SECURE_COOKIES": ("secure_cookies", _optional_boolean),
}
_BEACON_KEYS: dict[str, tuple[str, _Coerce]] = {
    "COLLECT": ("collect", _boolean),
    "BROWSER_EVENTS": ("browser_events", _items),
    "ALLOWED_HOSTS": ("allowed_hosts", _items),
}
_KNOWN = {"SECRET_KEY", *_TRACKER_KEYS, *_MIDDLEWARE_KEYS, *_BEACON_KEYS}


def _options(config: Mapping[str, Any], keys: dict[str, tuple[str, _Coerce]]) -> dict[str, Any]:
    options: dict[str, Any] = {}
    for suffix, (option, coerce) in keys.items():
        key = f"CONVSDK_{suffix}"
        if key in config:
            options[option] = coerce(key, config[key])
    return options


def _check_keys(config: Mapping[str, Any]) -> None:
    for key in config:
        if isinstance(key, str) and key.startswith("CONVSDK_") and key[8:] not in _KNOWN:
            close = difflib.get_close_matches(key[8:], sorted(_KNOWN), n=1)
            hint = f" (did you mean CONVSDK_{close[0]}?)" if close else ""
            log.warning("unknown config key %s ignored%s", key, hint)


class ConvSDK:
    """Flask extension recording page views, form submits and checkouts.

    >>> ConvSDK(app, tracker=tracker)                       # or ConvSDK().init_app(app)
    >>> ConvSDK(app, capture_fields=["plan"], consent=lambda request: ...)

    ``options`` are middleware options (see
    :class:`convsdk.integrations.wsgi.ConversionMiddleware`); they override the
    ``CONVSDK_*`` middleware keys of the app's config.
    """

    def __init__(
        self, app: Flask | None = None, tracker: Tracker | None = None, **options: Any
    ) -> None:
        self.tracker = tracker
        self.options = options
        if app is not None:
            middleware = self.init_app(app)
            if self.tracker is None:
                self.tracker = middleware.tracker or _tracker._get_default()

    def init_app(self, app: Flask, tracker: Tracker | None = None) -> ConversionMiddleware:
        """Install the middleware on ``app`` and return it; :class:`ConfigError` if done before."""
        if "convsdk" in app.extensions:
            raise ConfigError("convsdk is already registered on this app", source=app.name)
        config = app.config
        _check_keys(config)
        tracker = tracker or self.tracker
        secret_key = (
            config.get("CONVSDK_SECRET_KEY")
            or os.environ.get("CONVSDK_SECRET_KEY")
            or app.secret_key
            or None
        )
        tracker_options = _options(config, _TRACKER_KEYS)
        options = {
            **_options(config, _MIDDLEWARE_KEYS),
            **_options(config, _BEACON_KEYS),
            **self.options,
        }
        built = None
        if tracker is None and (tracker_options or _tracker._get_default() is None):
            tracker = built = Tracker(secret_key=secret_key, **tracker_options)
        # A tracker built here becomes the default tracker (unless there is one), and
        # the middleware follows the default: a later convsdk.init() replaces it.
        follows_default = built is not None and _tracker._get_default() is None
        if "secret_key" not in options and secret_key:
            if follows_default or tracker is None or not tracker.secret_key:
                options["secret_key"] = secret_key
        try:
            middleware = ConversionMiddleware(
                app.wsgi_app, tracker=None if follows_default else tracker, **options
            )
        except Exception:
            if built is not None:
                built.close()
            raise
        if follows_default:
            assert built is not None
            _tracker.set_default(built)
            middleware.recorder.identity(built)  # the cookie signer, built at startup
        app.wsgi_app = middleware  # type: ignore[method-assign]
        app.extensions["convsdk"] = middleware
        if middleware.beacon is not None:
            register_flask_template_helper(app, middleware.beacon)
        return middleware
