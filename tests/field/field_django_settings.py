"""Django settings of the Django field run: the settings of Django's own suite, and convsdk.

Used by ``run_django.py`` for both runs of Django's suite (``tests/runtests.py`` of
Django's sdist). ``FIELD_EVENTS`` set: the convsdk run. ``runtests.py`` sets
``MIDDLEWARE`` and ``INSTALLED_APPS`` from its own lists when it starts, after it read
these settings: convsdk's ``ConversionMiddleware`` goes first in its list
(``ALWAYS_MIDDLEWARE``) and its app into ``ALWAYS_INSTALLED_APPS``. Goals make the
middleware read form bodies; events are stored in that JSON Lines file.
"""

from __future__ import annotations

import os
import sys

from test_sqlite import *  # noqa: F403

TEST_RUNNER = "field_django_runner.Runner"

if os.environ.get("FIELD_EVENTS"):
    runtests = sys.modules["__main__"]
    runtests.ALWAYS_MIDDLEWARE.insert(0, "convsdk.integrations.django.ConversionMiddleware")
    runtests.ALWAYS_INSTALLED_APPS.append("convsdk.integrations.django")
    CONVSDK_SECRET_KEY = "convsdk-field-secret"
    CONVSDK_BACKEND = "file://" + os.environ["FIELD_EVENTS"]
    CONVSDK_GOALS = os.environ["FIELD_GOALS"]
    CONVSDK_SPOOL_DIR = ""
