"""The request pipeline shared by the middlewares and the framework integrations.

One module a job: :mod:`~convsdk.web.context` (the request an event belongs to),
:mod:`~convsdk.web.request` (reading a WSGI environ or an ASGI scope),
:mod:`~convsdk.web.recorder` (what the middleware records),
:mod:`~convsdk.web.per_request` (each request's events delivered before its response
leaves, on serverless platforms), and the small pieces
the recorder is built from. The public names are re-exported by
:mod:`convsdk.context` and :mod:`convsdk.interactions`.
"""
