"""pytest plugin: convsdk's Django middleware in a suite whose conftest configures Django.

Loaded with ``-p convsdk_field_django`` by ``run_suites.py`` when it runs Django REST
framework's own test suite. Once the suite's ``pytest_configure`` has configured Django
(this hook runs after it), ``ConversionMiddleware`` goes first in ``MIDDLEWARE``, where
a project lists it. It records with the default tracker, :mod:`field_tracker`'s, which
also gives the summary at the end.
"""

from __future__ import annotations

from typing import Any

import field_tracker
import pytest
from field_tracker import tracker

MIDDLEWARE = "convsdk.integrations.django.ConversionMiddleware"


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    from django.conf import settings

    tracker()
    settings.MIDDLEWARE = (MIDDLEWARE, *settings.MIDDLEWARE)


def _summary() -> dict[str, Any]:
    return field_tracker.summary(f"{MIDDLEWARE.rsplit('.', 1)[1]} first in MIDDLEWARE")


pytest_terminal_summary, pytest_unconfigure = field_tracker.reporting(_summary, "convsdk field")
