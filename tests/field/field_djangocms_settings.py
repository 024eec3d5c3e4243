"""Django settings of the django CMS field run: django CMS's own test settings, and convsdk.

Used by ``run_django.py`` for both runs of django CMS's suite (``cms.tests.settings``:
pages, placeholders, plugins, menus, apphooks, the toolbar and the admin, with Django's
per-site cache middleware around them). ``FIELD_EVENTS`` set: the convsdk run, with
the Django middleware first in ``MIDDLEWARE`` (outside the cache middleware, so a page
served from the cache is recorded too), its app installed, and the settings of
:mod:`field_django_convsdk` (goals that make it read form bodies, the store).
"""

from __future__ import annotations

import field_django_convsdk as convsdk
from cms.tests.settings import *  # noqa: F403
from cms.tests.settings import INSTALLED_APPS, MIDDLEWARE

if convsdk.active():
    MIDDLEWARE = [convsdk.MIDDLEWARE, *MIDDLEWARE]
    INSTALLED_APPS = [*INSTALLED_APPS, convsdk.APP]
    globals().update(convsdk.settings())
