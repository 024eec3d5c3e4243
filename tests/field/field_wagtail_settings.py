"""Django settings of the Wagtail field run: Wagtail's own test settings, and convsdk.

Used by ``run_django.py`` for both runs of Wagtail's suite. ``FIELD_MEDIA``: a fresh
directory for the run's media and static files (Wagtail's tests name uploads after
what earlier runs left there). ``FIELD_EVENTS`` set: the convsdk run, with the Django
middleware first in ``MIDDLEWARE`` (so it sees every response, those of Wagtail's
redirect middleware included), its app installed (template tag, checks), goals that
make it read form bodies, and events stored in that JSON Lines file.
"""

from __future__ import annotations

import os

from wagtail.test.settings import *  # noqa: F403
from wagtail.test.settings import INSTALLED_APPS, MIDDLEWARE

MEDIA_ROOT = os.path.join(os.environ["FIELD_MEDIA"], "media")
STATIC_ROOT = os.path.join(os.environ["FIELD_MEDIA"], "static")

if os.environ.get("FIELD_EVENTS"):
    MIDDLEWARE = ("convsdk.integrations.django.ConversionMiddleware", *MIDDLEWARE)
    INSTALLED_APPS = [*INSTALLED_APPS, "convsdk.integrations.django"]
    CONVSDK_SECRET_KEY = "convsdk-field-secret"
    CONVSDK_BACKEND = "file://" + os.environ["FIELD_EVENTS"]
    CONVSDK_GOALS = os.environ["FIELD_GOALS"]
    CONVSDK_SPOOL_DIR = ""
