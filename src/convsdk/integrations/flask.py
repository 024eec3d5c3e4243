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
- otherwise a tracker built from the tracker options (``CONVSDK_*`` config keys, then
  ``CONVSDK_*`` environment variables, then defaults), made the default tracker when
  there is none yet (so decorators and ``convsdk.track`` use it). Apps configured the
  same way (an app factory called for each test, say) share that one tracker.

``app.extensions["convsdk"]`` is the middleware; its ``tracker`` is the tracker in use.
The tracker lives as long as the process (it flushes at interpreter exit); nothing is
closed at app-context teardown.

Config keys are the ``CONVSDK_<NAME>`` of every option of :mod:`convsdk.options`
(tracker, middleware and browser-event options; values may be strings, as a
config file or the environment gives them: ``CONVSDK_*`` environment variables are
read directly, so ``app.config.from_prefixed_env()`` is not needed for them).
Precedence: keyword argument > app config > environment > default.
``CONVSDK_SECRET_KEY`` falls back to the environment, then ``app.secret_key``. An
unknown ``CONVSDK_*`` key is a :class:`convsdk.ConfigError` with "did you mean". With
the collect endpoint on, templates get ``{{ convsdk_script() }}``, the browser script's
tag.

Keyword options given to ``ConvSDK(...)`` override the middleware keys (and may
include ``consent`` and ``clock``, which a config file cannot hold).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from flask import Flask

from .. import options as _options
from .. import runtime
from ..errors import ConfigError
from ..tracker import Tracker
from ..tracker.shared import shared_tracker
from .browser import register_flask_template_helper
from .wsgi import ConversionMiddleware

__all__ = ["ConvSDK"]

log = logging.getLogger("convsdk.integrations.flask")

_SOURCE = "Flask config"


def _tracker_options(config: Mapping[str, Any], secret_key: Any) -> dict[str, Any]:
    """Every tracker option: config > environment > default."""
    found = _options.resolve([_options.TRACKER], {}, config=config, config_source=_SOURCE)
    if found.get("secret_key") is None and secret_key:
        found["secret_key"] = secret_key
    return {**_options.defaults(_options.TRACKER), **found}


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
        self._tracker = tracker
        self._middleware: ConversionMiddleware | None = None
        self.options = options
        if app is not None:
            self.init_app(app)

    @property
    def tracker(self) -> Tracker | None:
        """The tracker in use: the one given, else that of the app set up last."""
        if self._tracker is not None:
            return self._tracker
        if self._middleware is not None:
            return self._middleware.tracker
        return runtime.default

    def init_app(self, app: Flask, tracker: Tracker | None = None) -> ConversionMiddleware:
        """Install the middleware on ``app`` and return it; :class:`ConfigError` if done before."""
        if "convsdk" in app.extensions:
            raise ConfigError("convsdk is already registered on this app", source=app.name)
        config = app.config
        tracker = tracker or self._tracker
        # Every CONVSDK_* key must name an option (a typo is an error, not silence).
        named = _options.from_mapping(
            config, [_options.TRACKER, _options.MIDDLEWARE, _options.BEACON], source=_SOURCE
        )
        options = {
            **_options.from_mapping(config, [_options.MIDDLEWARE, _options.BEACON], source=_SOURCE),
            **self.options,
        }
        if options.get("secret_key") is None:
            options.pop("secret_key", None)
        tracker_keys = set(_options.names(_options.TRACKER)) - {"secret_key"}
        configured = any(name in tracker_keys for name in named)
        built = None
        if tracker is None and (configured or runtime.default is None):
            tracker = built = shared_tracker(_tracker_options(config, app.secret_key))
        # A tracker built here becomes the default tracker (unless there is one), and
        # the middleware follows the default: a later convsdk.init() replaces it.
        default = runtime.default
        follows_default = built is not None and (default is None or default is built)
        secret_key = (
            named.get("secret_key")
            or _options.resolve([_options.TRACKER], {}).get("secret_key")
            or app.secret_key
            or None
        )
        if "secret_key" not in options and secret_key:
            if follows_default or tracker is None or not tracker.secret_key:
                options["secret_key"] = secret_key
        middleware = ConversionMiddleware(
            app.wsgi_app, tracker=None if follows_default else tracker, **options
        )
        if follows_default:
            assert built is not None
            runtime.set_default(built)
            middleware.recorder.identity(built)  # the cookie signer, built at startup
        app.wsgi_app = middleware  # type: ignore[method-assign]
        app.extensions["convsdk"] = middleware
        self._middleware = middleware
        if middleware.beacon is not None:
            register_flask_template_helper(app, middleware.beacon)
        return middleware
