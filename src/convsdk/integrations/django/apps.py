"""The Django app: ``"convsdk.integrations.django"`` in ``INSTALLED_APPS`` gives the
``{% convsdk_script %}`` template tag (``{% load convsdk %}``), the system checks and the
``convsdk_report`` command, and makes the project's tracker the default one as Django
starts: code outside a request (a Celery task confirming a payment, a management
command) records with the ``CONVSDK_*`` settings too."""

from __future__ import annotations

import logging

from django.apps import AppConfig
from django.core import checks

from ...errors import ConfigError
from .checks import check_configuration, check_middleware
from .settings import convsdk_settings, project_tracker

log = logging.getLogger("convsdk.integrations.django")

__all__ = ["ConvSDKConfig"]


class ConvSDKConfig(AppConfig):  # type: ignore[misc]  # Django ships no type hints
    """convsdk's app config (label ``convsdk``)."""

    name = "convsdk.integrations.django"
    label = "convsdk"
    verbose_name = "convsdk conversion tracking"
    default = True

    def ready(self) -> None:
        """Register the system checks; make the project's tracker the default one."""
        checks.register(check_configuration)
        checks.register(check_middleware)
        # The middleware would build the same tracker at its first request, but a
        # process that serves none (a Celery worker, a management command) had none,
        # and its convsdk.track() recorded nothing. Building one opens no file and
        # starts no thread before the first event.
        try:
            project_tracker(convsdk_settings())
        except ConfigError as exc:  # the system checks and the middleware report it
            log.debug("no project tracker: %s", exc)
