"""System checks (``manage.py check``): a bad ``CONVSDK_*`` configuration is reported
before a request is served.

- ``convsdk.E001``: a setting or environment variable no option has, or a bad value;
- ``convsdk.E002``: goals that do not validate (file, goal and field named);
- ``convsdk.W001``: no ``CONVSDK_SECRET_KEY``, so convsdk runs cookieless;
- ``convsdk.W002``: ``CONVSDK_SECRET_KEY`` is Django's ``SECRET_KEY``;
- ``convsdk.W003``: the app is installed but the middleware is not in ``MIDDLEWARE``.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings as django_settings
from django.core import checks

from ... import options as _options
from ... import runtime
from ...errors import ConfigError
from ...goals import resolve_goals
from . import settings as _settings

__all__ = ["MIDDLEWARE_PATH", "check_configuration", "check_middleware"]

#: How the middleware is listed in ``MIDDLEWARE``.
MIDDLEWARE_PATH = "convsdk.integrations.django.ConversionMiddleware"


def check_configuration(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """Every ``CONVSDK_*`` setting and environment variable parsed, the goals loaded."""
    try:
        config = _settings.convsdk_settings()
        options = _settings.tracker_options(config)
        _options.resolve([_options.MIDDLEWARE, _options.BEACON], {}, config=config)
    except ConfigError as exc:
        return [checks.Error(str(exc), id="convsdk.E001", obj="settings")]
    goals = options.get("goals")
    try:
        if goals:
            resolve_goals(goals)
    except ConfigError as exc:
        return [checks.Error(str(exc), id="convsdk.E002", obj="CONVSDK_GOALS")]
    return _secret_key_messages(config)


def _secret_key_messages(config: dict[str, Any]) -> list[checks.CheckMessage]:
    key = _settings.secret_key(config)
    if key is None and runtime.default is not None:
        key = runtime.default.secret_key  # convsdk.init(secret_key=...) in the project
    if key is None:
        return [
            checks.Warning(
                "CONVSDK_SECRET_KEY is not set: convsdk counts visitors without cookies "
                "(a daily hash: a visitor returning tomorrow is a new one)",
                hint="Set CONVSDK_SECRET_KEY (a key of its own, not SECRET_KEY) in the "
                "settings or the environment.",
                id="convsdk.W001",
            )
        ]
    if key == getattr(django_settings, "SECRET_KEY", None):
        return [
            checks.Warning(
                "CONVSDK_SECRET_KEY is Django's SECRET_KEY",
                hint="Give convsdk a key of its own: rotating SECRET_KEY would then turn "
                "every returning visitor into a new one.",
                id="convsdk.W002",
            )
        ]
    return []


def check_middleware(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """The app is installed: the middleware should be too, or nothing is recorded."""
    if MIDDLEWARE_PATH in (getattr(django_settings, "MIDDLEWARE", None) or ()):
        return []
    return [
        checks.Warning(
            "convsdk's middleware is not in MIDDLEWARE: no page view, form or goal is recorded",
            hint=f"Add {MIDDLEWARE_PATH!r} to MIDDLEWARE, right after SecurityMiddleware.",
            id="convsdk.W003",
        )
    ]
