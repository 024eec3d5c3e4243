"""Django settings of the django CMS field run: django CMS's own test settings, and convsdk.

Used by ``run_django.py`` for both runs of django CMS's suite (``cms.tests.settings``:
pages, placeholders, plugins, menus, apphooks, the toolbar and the admin, with Django's
per-site cache middleware around them). ``FIELD_EVENTS`` set: the convsdk run, with the
Django middleware first in ``MIDDLEWARE`` (outside the cache middleware, so a page
served from the cache is recorded too), its app installed, goals that make it read
form bodies, and events stored in that JSON Lines file.
"""

from __future__ import annotations

import os

from cms.tests.settings import *  # noqa: F403
from cms.tests.settings import INSTALLED_APPS, MIDDLEWARE

if os.environ.get("FIELD_EVENTS"):
    MIDDLEWARE = ["convsdk.integrations.django.ConversionMiddleware", *MIDDLEWARE]
    INSTALLED_APPS = [*INSTALLED_APPS, "convsdk.integrations.django"]
    CONVSDK_SECRET_KEY = "convsdk-field-secret"
    CONVSDK_BACKEND = "file://" + os.environ["FIELD_EVENTS"]
    CONVSDK_GOALS = os.environ["FIELD_GOALS"]
    CONVSDK_SPOOL_DIR = ""
