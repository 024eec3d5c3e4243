"""The Django app: ``"convsdk.integrations.django"`` in ``INSTALLED_APPS`` gives the
``{% convsdk_script %}`` template tag (``{% load convsdk %}``), the system checks and the
``convsdk_report`` command."""

from __future__ import annotations

from django.apps import AppConfig
from django.core import checks

from .checks import check_configuration, check_middleware

__all__ = ["ConvSDKConfig"]


class ConvSDKConfig(AppConfig):  # type: ignore[misc]  # Django ships no type hints
    """convsdk's app config (label ``convsdk``)."""

    name = "convsdk.integrations.django"
    label = "convsdk"
    verbose_name = "convsdk conversion tracking"
    default = True

    def ready(self) -> None:
        """Register the system checks."""
        checks.register(check_configuration)
        checks.register(check_middleware)
