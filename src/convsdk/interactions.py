"""What the middleware records: classifying requests, matching goals, building the events.

The WSGI and ASGI middlewares differ only in I/O; both hand the request to a
:class:`Recorder`:

1. :meth:`Recorder.start` reads the :class:`~convsdk.context.Request` and returns
   ``None`` for requests that are never recorded (static assets, health checks,
   ``HEAD``/``OPTIONS``, excluded paths), or a :class:`Pending` request holding the
   :class:`~convsdk.context.RequestContext` (privacy rules applied, visitor and
   session resolved) for the middleware to activate while the app runs;
2. when :attr:`Pending.wants_body` is set the middleware reads the form body (and
   hands the same bytes back to the app) and passes it to :meth:`Recorder.read_form`;
3. when the response starts, :meth:`Recorder.finish` classifies the interaction with
   the status and content type, matches the goals, merges the conversions the view's
   decorators declared, emits the events, and returns the ``Set-Cookie`` values to
   add to the response: only when something is recorded for an identified visitor,
   and never on a response a shared cache may store (``Cache-Control: public`` or
   ``s-maxage``);
4. with ``hold=True`` a page view waits in the pending request until the middleware
   calls :meth:`Recorder.complete` (the body was sent in full).

Interactions
------------
- ``page_view``: a ``GET`` answered 2xx (not 204) with an HTML body (``Content-Type``
  ``text/html``); the ASGI middleware records it once the body was sent in full (a
  client that went away saw no page);
- ``form_submit``: a ``POST``/``PUT``/``PATCH`` of an ``application/x-www-form-urlencoded``
  or ``multipart/form-data`` body;
- ``checkout``: a form submit, or any ``POST``, to a checkout path (``/checkout*``).

Every interaction is recorded, as a plain event (``kind`` ``None``) when no goal
matches, the answer is 4xx/5xx (or not a status the goal names, see ``status=``) or
the view called :func:`convsdk.cancel_conversion`: reports need the denominators. Goals classify it,
first match wins. A goal whose ``value_from`` is ``form:<field>`` reads that field
from the submitted form; the field itself is never stored (only allowlisted fields
are, see ``capture_fields``).

Conversions from decorators
---------------------------
A ``track_micro``/``track_macro`` view running under the middleware declares its
conversion in the request context instead of emitting it. At the end:

- nothing the decorators declared is emitted when the status is 400 or more (or,
  for a decorator given ``status=``, not one it names);
- a decorator conversion naming the goal the interaction matched becomes ONE event:
  the decorator's value, currency, transaction id, properties and kind win, the
  interaction's name and context stay;
- other decorator conversions are emitted as their own events, with the final
  request context (``status`` included);
- values given to ``annotate()`` outside a decorated view apply to the interaction's
  event (``value``, ``currency``, ``transaction_id``, ``properties``); ``user_id``
  applies to every event of the request.
"""

from __future__ import annotations

from .web.forms import is_form_type, parse_form
from .web.pages import DEFAULT_CHECKOUT_PATHS, DEFAULT_EXCLUDED_PATHS, STATIC_EXTENSIONS, PathSet
from .web.pending import Pending
from .web.recorder import Recorder, default_recorder
from .web.settings import DEFAULT_BODY_TIMEOUT, DEFAULT_MAX_BODY_SIZE

__all__ = [
    "DEFAULT_BODY_TIMEOUT",
    "DEFAULT_CHECKOUT_PATHS",
    "DEFAULT_EXCLUDED_PATHS",
    "DEFAULT_MAX_BODY_SIZE",
    "STATIC_EXTENSIONS",
    "PathSet",
    "Pending",
    "Recorder",
    "default_recorder",
    "is_form_type",
    "parse_form",
]
