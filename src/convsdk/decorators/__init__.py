"""``track_micro`` / ``track_macro`` route decorators and ``annotate``.

>>> @app.post("/checkout")
... @track_macro("purchase", currency="USD")
... def checkout():
...     order = place_order(request.form)
...     annotate(value=order.total, transaction_id=order.id)
...     return redirect("/thanks")

The conversion is recorded when the view returns normally with a status below 400
(``status=`` names other statuses: ``"3xx"`` for a Post/Redirect/Get form), and only
for the requests that do what the goal names: a view that serves a form (``GET``) and
takes its submission (``POST``) converts on the submission only, and only when it
redirects (Post/Redirect/Get: a failed submission shows the form again with 200); a
view that takes submissions only converts on them (status below 400); a ``GET``-only
view on ``GET``. The methods are read from Flask's URL rules or Starlette's routes,
for the view's URL; ``methods=`` and ``status=`` override. :func:`cancel_conversion`
inside the view drops the request's conversions (a form that failed validation).
Decorators find the default
tracker when the view runs, so they can be applied at import time, before
:func:`convsdk.init`. Tracking never breaks the view: a problem
inside convsdk is logged on the ``convsdk`` logger and the view's result is returned
unchanged.

The parts: :mod:`~convsdk.decorators.factories` (the decorators),
:mod:`~convsdk.decorators.notes` (``annotate``, ``cancel_conversion``),
:mod:`~convsdk.decorators.spec` (what a decorator was told),
:mod:`~convsdk.decorators.rule` (which requests convert) and
:mod:`~convsdk.decorators.record` (recording after the view returned).
"""

from .factories import track_macro as track_macro
from .factories import track_micro as track_micro
from .notes import annotate as annotate
from .notes import cancel_conversion as cancel_conversion

__all__ = ["annotate", "cancel_conversion", "track_macro", "track_micro"]
