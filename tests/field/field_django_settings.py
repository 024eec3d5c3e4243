"""Django settings of the Django field run: the settings of Django's own suite, and convsdk.

Used by ``run_django.py`` for both runs of Django's suite (``tests/runtests.py`` of
Django's sdist). ``FIELD_EVENTS`` set: the convsdk run. ``runtests.py`` sets
``MIDDLEWARE`` and ``INSTALLED_APPS`` from its own lists when it starts, after it read
these settings: convsdk's ``ConversionMiddleware`` goes first in its list
(``ALWAYS_MIDDLEWARE``) and its app into ``ALWAYS_INSTALLED_APPS``; the ``CONVSDK_*``
settings are :mod:`field_django_convsdk`'s (goals that make it read form bodies, the
store).
"""

from __future__ import annotations

import sys

import field_django_convsdk as convsdk
from test_sqlite import *  # noqa: F403

TEST_RUNNER = "field_django_runner.Runner"

if convsdk.active():
    runtests = sys.modules["__main__"]
    runtests.ALWAYS_MIDDLEWARE.insert(0, convsdk.MIDDLEWARE)
    runtests.ALWAYS_INSTALLED_APPS.append(convsdk.APP)
    globals().update(convsdk.settings())
