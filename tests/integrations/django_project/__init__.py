"""A small Django project for the Django integration's tests (configured in-process)."""

from __future__ import annotations


def setup() -> None:
    """Configure Django with this project's settings, once per process."""
    import django
    from django.conf import settings

    if settings.configured:
        return
    from . import settings as project

    settings.configure(**{name: getattr(project, name) for name in dir(project) if name.isupper()})
    django.setup()
