"""Django settings of the Wagtail field run: Wagtail's own test settings, and convsdk.

Used by ``run_django.py`` for both runs of Wagtail's suite. ``FIELD_MEDIA``: a fresh
directory for the run's media and static files (Wagtail's tests name uploads after
what earlier runs left there). ``FIELD_EVENTS`` set: the convsdk run, with the Django
middleware first in ``MIDDLEWARE`` (so it sees every response, those of Wagtail's
redirect middleware included), its app installed (template tag, checks), and the
settings of :mod:`field_django_convsdk` (goals that make it read form bodies, the
store).
"""

from __future__ import annotations

import os

import field_django_convsdk as convsdk
from wagtail.test.settings import *  # noqa: F403
from wagtail.test.settings import INSTALLED_APPS, MIDDLEWARE

MEDIA_ROOT = os.path.join(os.environ["FIELD_MEDIA"], "media")
STATIC_ROOT = os.path.join(os.environ["FIELD_MEDIA"], "static")

if convsdk.active():
    MIDDLEWARE = [convsdk.MIDDLEWARE, *MIDDLEWARE]
    INSTALLED_APPS = [*INSTALLED_APPS, convsdk.APP]
    globals().update(convsdk.settings())
