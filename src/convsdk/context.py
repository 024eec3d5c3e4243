"""The request an event belongs to, carried in a context variable.

The middleware (or a framework integration) builds one :class:`RequestContext` per
request and activates it; ``track()`` and the decorators inside the view read it to
attach the visitor, session and request details to their events.

Conversions declared by decorators while a middleware handles the request are not
emitted at once: they wait in :attr:`RequestContext.conversions` until the response
status is known, so that a 4xx/5xx answer records nothing and a middleware goal that
names the same goal becomes one event (the decorator's details win).

:class:`Request` holds the raw parts of a request read from a WSGI environ or an ASGI
scope; :func:`from_environ` / :func:`from_scope` turn one into a context with the
privacy rules applied, for code running without the middleware.

(The code lives in :mod:`convsdk.web`; this module keeps the public names.)
"""

from __future__ import annotations

from .web.context import SKIPPED_METHODS as SKIPPED_METHODS
from .web.context import RequestContext as RequestContext
from .web.context import activate as activate
from .web.context import current as current
from .web.context import deactivate as deactivate
from .web.context import new_context as new_context
from .web.frameworks import from_environ as from_environ
from .web.frameworks import from_framework as from_framework
from .web.frameworks import from_scope as from_scope
from .web.request import Request as Request

__all__ = [
    "Request",
    "RequestContext",
    "activate",
    "current",
    "deactivate",
    "from_environ",
    "from_framework",
    "from_scope",
]
