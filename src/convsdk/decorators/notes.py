"""The notes of a decorated view: what :func:`annotate` says about its conversion, and
:func:`cancel_conversion`. Outside a decorated view both apply to the request the
middleware is recording."""

from __future__ import annotations

import logging
from contextvars import ContextVar
from typing import Any

from .. import runtime

log = logging.getLogger("convsdk.decorators")


class Notes:
    """What ``annotate()`` said during one decorated call."""

    __slots__ = ("cancelled", "currency", "properties", "transaction_id", "user_id", "value")

    def __init__(self) -> None:
        self.cancelled = False
        self.value: Any = None
        self.currency: str | None = None
        self.transaction_id: Any = None
        self.user_id: Any = None
        self.properties: dict[str, Any] = {}


#: The notes of the decorated views running in this thread or task, innermost last.
notes_stack: ContextVar[tuple[Notes, ...]] = ContextVar("convsdk_notes", default=())


def annotate(
    *,
    value: Any = None,
    currency: str | None = None,
    transaction_id: Any = None,
    properties: dict[str, Any] | None = None,
    user_id: Any = None,
) -> None:
    """Fill in, from inside the view, what only the view knows about the conversion.

    Applies to every ``track_micro``/``track_macro`` decorator around the running view;
    outside a decorated view it applies to the goals the middleware matches for the
    current request (``value`` and ``transaction_id`` of a checkout, say).
    """
    stack = notes_stack.get()
    if stack:
        for notes in stack:
            if value is not None:
                notes.value = value
            if currency is not None:
                notes.currency = currency
            if transaction_id is not None:
                notes.transaction_id = transaction_id
            if user_id is not None:
                notes.user_id = user_id
            if properties:
                notes.properties.update(properties)
        return
    ctx = runtime.current_request.get()
    if ctx is None:
        log.debug("annotate() called outside a tracked view or request: ignored")
        return
    given = {
        "value": value,
        "currency": currency,
        "transaction_id": transaction_id,
        "user_id": user_id,
    }
    ctx.annotations.update({k: v for k, v in given.items() if v is not None})
    if properties:
        ctx.annotations.setdefault("properties", {}).update(properties)


def cancel_conversion() -> None:
    """Drop the conversions the current request would record.

    Call it in a view whose submission did not succeed (a form shown again with its
    errors): the ``track_micro``/``track_macro`` conversions of the request and the goal
    the middleware would match are dropped; the interaction itself (the form submit)
    is still recorded, as a plain event, so reports keep their denominators.

    >>> @app.route("/register", methods=["GET", "POST"])
    ... @track_macro("signup")
    ... def register():
    ...     if request.method == "POST" and not form.validate():
    ...         cancel_conversion()
    ...         return render_template("register.html", form=form)
    """
    stack = notes_stack.get()
    for notes in stack:
        notes.cancelled = True
    ctx = runtime.current_request.get()
    if ctx is not None:
        ctx.cancel()
    elif not stack:
        log.debug("cancel_conversion() called outside a tracked view or request: ignored")
