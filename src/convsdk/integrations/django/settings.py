"""convsdk's options read from Django settings: the ``CONVSDK_*`` names of the environment.

Every option of :mod:`convsdk.options` can be a Django setting of the same name as its
environment variable (``CONVSDK_BACKEND``, ``CONVSDK_GOALS``, ``CONVSDK_SECRET_KEY``,
...). Precedence: settings > environment > default. A ``CONVSDK_*`` setting no option
has is a :class:`convsdk.ConfigError` with "did you mean".

Django's ``SECRET_KEY`` is never used to sign convsdk's cookies: without
``CONVSDK_SECRET_KEY`` (setting or environment) convsdk runs cookieless, and
``manage.py check`` says so (``convsdk.W001``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.conf import settings as django_settings

from ... import options as _options
from ... import runtime
from ...tracker import Tracker
from ...tracker.shared import shared_tracker

__all__ = [
    "SOURCE",
    "convsdk_settings",
    "given_tracker_options",
    "middleware_options",
    "project_tracker",
    "secret_key",
    "tracker_options",
]

#: How a bad value names where it came from.
SOURCE = "Django settings"

_ALL = [_options.TRACKER, _options.MIDDLEWARE, _options.BEACON]

# Trackers built from settings, by their options: every handler Django builds (one per
# test client, say) shares one tracker and one worker thread. Weak: it goes with them.


def convsdk_settings() -> dict[str, Any]:
    """The project's ``CONVSDK_*`` settings, checked: an unknown name is a ConfigError."""
    found = {
        name: getattr(django_settings, name)
        for name in dir(django_settings)
        if name.startswith(_options.ENVIRONMENT_PREFIX)
    }
    _options.from_mapping(found, _ALL, source=SOURCE)
    return found


def middleware_options(config: Mapping[str, Any]) -> dict[str, Any]:
    """The middleware and browser-event options the settings give (the rest: environment)."""
    return _options.from_mapping(config, [_options.MIDDLEWARE, _options.BEACON], source=SOURCE)


def tracker_options(config: Mapping[str, Any]) -> dict[str, Any]:
    """Every tracker option: settings > environment > default."""
    return {**_options.defaults(_options.TRACKER), **given_tracker_options(config)}


def given_tracker_options(config: Mapping[str, Any]) -> dict[str, Any]:
    """The tracker options the settings or the environment give (the tracker defaults
    the rest, some by where it runs: see :func:`convsdk.tracker.config.settings`)."""
    return _options.resolve([_options.TRACKER], {}, config=config, config_source=SOURCE)


def secret_key(config: Mapping[str, Any]) -> str | bytes | None:
    """``CONVSDK_SECRET_KEY`` from the settings, else the environment; never ``SECRET_KEY``."""
    found = _options.resolve([_options.TRACKER], {}, config=config, config_source=SOURCE)
    key: str | bytes | None = found.get("secret_key")
    return key


def _configures_tracker(config: Mapping[str, Any]) -> bool:
    """Whether the settings name a tracker option (the secret key aside: the
    middleware signs with it whichever tracker records)."""
    named = _options.from_mapping(config, [_options.TRACKER], source=SOURCE)
    return any(name != "secret_key" for name in named)


def project_tracker(config: Mapping[str, Any]) -> tuple[Tracker | None, bool]:
    """The tracker the middleware records with, and whether it follows the default.

    - settings naming a tracker option: a tracker built from them (settings >
      environment > default), shared by every handler configured the same way;
    - otherwise, a default tracker made by :func:`convsdk.init` (looked up per request);
    - otherwise a tracker built from the environment, made the default tracker.

    ``(None, True)`` means: follow the default tracker, whichever it is when a
    request comes.
    """
    if not _configures_tracker(config) and runtime.default is not None:
        return None, True
    tracker = shared_tracker(given_tracker_options(config))
    if runtime.default is None:
        runtime.set_default(tracker)
    return tracker, runtime.default is tracker
