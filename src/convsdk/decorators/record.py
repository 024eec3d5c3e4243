"""The recording step of a decorated view: after the view returned, find the tracker,
check the rule and the status, build the conversion from the spec and the notes, and
emit it (or leave it to the middleware, which knows the final status)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, cast

from .. import context as _context
from .. import runtime
from ..event import Event
from .notes import Notes
from .rule import rule, status_of
from .spec import Dynamic, Spec

if TYPE_CHECKING:
    from ..tracker import Tracker

log = logging.getLogger("convsdk.decorators")


def record(
    spec: Spec, notes: Notes, result: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> None:
    """Record the conversion of one decorated call that returned ``result``, if it
    converts. Never raises: a problem is logged and the view's result stands."""
    try:
        if notes.cancelled:
            return
        ctx = runtime.current_request.get()
        if ctx is not None and ctx.cancelled:
            return
        tracker = _recording_tracker(ctx)
        if tracker is None:
            return
        if ctx is None:
            ctx = _context.from_framework(args, kwargs, tracker)
        if ctx is not None and ctx.method in _context.SKIPPED_METHODS:
            return  # a HEAD or OPTIONS request (a link checker, a preflight) converts nobody
        converts, statuses = rule(spec, ctx, args, kwargs)
        if not converts or not _status_converts(ctx, statuses, result):
            return
        event = _build(spec, notes, result, tracker, ctx)
        if event is not None:
            _deliver(spec, notes, event, statuses, tracker, ctx)
    except Exception:
        log.exception("convsdk could not record the %r conversion", spec.goal)


def _recording_tracker(ctx: _context.RequestContext | None) -> Tracker | None:
    """The tracker that records, or None (warned once) when there is none open."""
    # Under a middleware given its own tracker, that tracker records the conversion.
    tracker: Tracker | None = None
    if ctx is not None and ctx.tracker is not None:
        # The middleware puts its Tracker there (the context only knows a TrackerLike).
        tracker = cast("Tracker", ctx.tracker)
    else:
        tracker = runtime.default
    if tracker is None or tracker.closed:
        runtime.warn_no_tracker()
        return None
    return tracker


def _status_converts(
    ctx: _context.RequestContext | None, statuses: frozenset[int] | None, result: Any
) -> bool:
    """Whether the response status converts (None ``statuses``: below 400).

    Under a middleware, a status rule is checked against the final response (the
    view's return value may not tell: FastAPI's status_code=), so it passes here;
    "below 400" is checked by both.
    """
    waits = ctx is not None and ctx.deferred and ctx.status is None
    if waits and statuses is not None:
        return True
    status = ctx.status if ctx is not None and ctx.status is not None else None
    if status is None:
        status = status_of(result)
    return status < 400 if statuses is None else status in statuses


def _resolve(option: Dynamic, result: Any) -> Any:
    return option(result) if callable(option) else option


def _build(
    spec: Spec,
    notes: Notes,
    result: Any,
    tracker: Tracker,
    ctx: _context.RequestContext | None,
) -> Event | None:
    """The conversion event: the spec's values, those of :func:`annotate` first."""
    value = notes.value if notes.value is not None else _resolve(spec.value, result)
    properties = dict(_resolve(spec.properties, result) or {})
    properties.update(notes.properties)
    transaction_id = (
        notes.transaction_id
        if notes.transaction_id is not None
        else _resolve(spec.transaction_id, result)
    )
    return tracker.build_event(
        spec.goal,
        kind=spec.kind,
        goal=spec.goal,
        value=value,
        currency=notes.currency or spec.currency,
        transaction_id=transaction_id,
        properties=properties,
        user_id=notes.user_id,
        ctx=ctx,
    )


def _deliver(
    spec: Spec,
    notes: Notes,
    event: Event,
    statuses: frozenset[int] | None,
    tracker: Tracker,
    ctx: _context.RequestContext | None,
) -> None:
    """Emit the conversion, or leave it to the middleware when the status is not known."""
    if ctx is not None and ctx.deferred and ctx.status is None:
        # The middleware knows the final status: it emits (or drops) the
        # conversion when the response starts, merged with its own goal match,
        # whose currency stands unless this view named one.
        if not (notes.currency or spec.currency):
            event.currency = None
        ctx.conversions[spec.goal] = event
        if statuses is not None:
            if ctx.statuses is None:
                ctx.statuses = {}
            ctx.statuses[spec.goal] = statuses
    else:
        # (A bare WSGI app starts its response before returning: the status is
        # already known, and was checked above; the conversion is emitted here.)
        tracker.emit(event)
