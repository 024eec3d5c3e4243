"""Django: a middleware, settings, decorators' routing, a template tag, checks, a command.

::

    # settings.py
    INSTALLED_APPS = [..., "convsdk.integrations.django"]      # {% convsdk_script %}, checks
    MIDDLEWARE = [
        "django.middleware.security.SecurityMiddleware",
        "convsdk.integrations.django.ConversionMiddleware",
        ...
    ]
    CONVSDK_BACKEND = "sqlite:///convsdk.db"
    CONVSDK_GOALS = BASE_DIR / "goals.toml"
    CONVSDK_SECRET_KEY = env("CONVSDK_SECRET_KEY")             # not SECRET_KEY

The package: :mod:`.middleware` (:class:`ConversionMiddleware`), :mod:`.settings`
(``CONVSDK_*`` settings, the project's tracker), :mod:`.http` (Django's request and
response in convsdk's terms), :mod:`.beacon` (the browser endpoint), :mod:`.views`
(which methods a view takes, for the decorators), :mod:`.apps`, :mod:`.checks`,
:mod:`.testing` (``self.convsdk_events`` for Django's test runner),
``templatetags/convsdk.py`` and ``management/commands/convsdk_report.py``.
"""

from ...decorators.rule import add_method_reader
from ...web.frameworks import add_context_reader
from .middleware import ConversionMiddleware as ConversionMiddleware
from .views import view_context, view_methods

__all__ = ["ConversionMiddleware"]

add_method_reader(view_methods)
add_context_reader(view_context)
