"""FastAPI (and Starlette): the ASGI middleware and a dependency for the request context.

::

    from fastapi import FastAPI
    from convsdk import annotate, track_macro
    from convsdk.integrations.fastapi import ConversionMiddleware, RequestContextDep

    app = FastAPI()
    app.add_middleware(ConversionMiddleware, tracker=tracker)

    @app.post("/checkout")
    @track_macro("purchase", currency="USD")       # under @app.post: FastAPI sees the view
    async def checkout(order: Order, ctx: RequestContextDep):
        annotate(value=order.total, transaction_id=order.id)
        return {"visitor": ctx.visitor_id if ctx else None}

The decorators keep the view's signature, so FastAPI's dependency injection is
untouched; sync and async views both work (the request context follows the view
into FastAPI's thread pool). Under the middleware a decorated view's conversion waits
for the response: a 4xx/5xx answer (an ``HTTPException`` included) records nothing,
and a middleware goal naming the same goal becomes one event.

Without the middleware, decorators still record; give the view a ``request: Request``
parameter (or use :data:`RequestContextDep`) so the event carries the request details.

Starlette apps use :class:`convsdk.integrations.asgi.ConversionMiddleware` the same
way (``Middleware(ConversionMiddleware, tracker=tracker)``).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from ..context import RequestContext, current, from_scope
from .asgi import ConversionMiddleware

__all__ = ["ConversionMiddleware", "RequestContextDep", "request_context"]


async def request_context(request: Request) -> RequestContext | None:
    """The convsdk context of the request: the middleware's, or one read from the request.

    ``None`` only when convsdk cannot say anything about the request. Use it to read
    the visitor and session ids, the experiment variant or the UTM parameters::

        @app.get("/pricing")
        async def pricing(ctx: RequestContextDep): ...
    """
    ctx = current()
    if ctx is not None:
        return ctx
    return from_scope(request.scope)


RequestContextDep = Annotated[RequestContext | None, Depends(request_context)]
"""A view parameter annotated with this receives :func:`request_context`'s result."""
