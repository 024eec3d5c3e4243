"""Django middleware: page views, form submits, checkouts and goals, under WSGI and ASGI.

::

    MIDDLEWARE = [
        "django.middleware.security.SecurityMiddleware",
        "convsdk.integrations.django.ConversionMiddleware",
        ...
    ]

The same :class:`~convsdk.interactions.Recorder` as the WSGI and ASGI middlewares
decides what is recorded (the same cookies, privacy rules, bots and exclusions); this
module only reads Django's request and writes Django's response. It is sync and async
capable: Django runs it without a thread hop under either handler.

The form of a request is read (for a goal's ``value_from="form:..."`` or
``capture_fields``) after the view answered, from ``request.POST`` as Django parsed it:
the view sees the request untouched (upload handlers, ``request.body``, CSRF).
Options come from Django settings (:mod:`convsdk.integrations.django.settings`).
Tracking never breaks the site: an error inside convsdk is logged on the ``convsdk``
logger and the response is returned as the view made it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction

from ... import runtime
from ...interactions import Pending
from ...tracker import Tracker
from ...web.per_request import flush_request, flush_request_async
from .._common import prepare
from . import settings as _settings
from .beacon import answer_beacon
from .http import add_cookies, appended_slash, read_form, read_request

__all__ = ["ConversionMiddleware"]

log = logging.getLogger("convsdk.integrations.django")


class ConversionMiddleware:
    """Records the interactions of a Django project and sets the visitor/session cookies.

    Listed in ``MIDDLEWARE`` (high, right after ``SecurityMiddleware``: a response
    made by a middleware below it, a redirect of ``CommonMiddleware`` say, is seen
    too). Configured by the ``CONVSDK_*`` settings; see :mod:`convsdk.integrations.django`.
    """

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[Any], Any]) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)
        config = _settings.convsdk_settings()
        options = _settings.middleware_options(config)
        key = _settings.secret_key(config)
        if key is not None:
            options["secret_key"] = key
        tracker, follows = _settings.project_tracker(config)
        # Following the default tracker, the browser endpoint follows it too.
        self._tracker = None if follows else tracker
        self.recorder, self.beacon = prepare(self._tracker, options)
        if tracker is not None:
            self.recorder.identity(tracker)  # the cookie signer, built at startup

    @property
    def tracker(self) -> Tracker | None:
        """The tracker in use: the project's, else the current default tracker."""
        tracker = self._tracker
        return tracker if tracker is not None else runtime.default

    def __call__(self, request: Any) -> Any:
        if self.is_async:
            return self.__acall__(request)
        beacon = self.beacon
        if beacon is not None:
            if beacon.handles(request.path):
                response, recorded_by = answer_beacon(beacon, request)
                if recorded_by is not None:  # a serverless platform
                    flush_request(recorded_by)
                return response
            request.convsdk_beacon = beacon  # for {% convsdk_script %}
        pending = self._start(request)
        if pending is None:
            return self.get_response(request)
        token = runtime.current_request.set(pending.ctx)
        try:
            response = self.get_response(request)
        finally:
            runtime.current_request.reset(token)
        self._finish(request, response, pending)
        if pending.tracker.flush_after_request:  # a serverless platform
            flush_request(pending.tracker)
        return response

    async def __acall__(self, request: Any) -> Any:
        """The middleware under Django's ASGI handler (no thread hop)."""
        get_response: Callable[[Any], Awaitable[Any]] = self.get_response
        beacon = self.beacon
        if beacon is not None:
            if beacon.handles(request.path):
                response, recorded_by = answer_beacon(beacon, request)
                if recorded_by is not None:  # a serverless platform
                    await flush_request_async(recorded_by)
                return response
            request.convsdk_beacon = beacon  # for {% convsdk_script %}
        pending = self._start(request)
        if pending is None:
            return await get_response(request)
        token = runtime.current_request.set(pending.ctx)
        try:
            response = await get_response(request)
        finally:
            runtime.current_request.reset(token)
        self._finish(request, response, pending)
        if pending.tracker.flush_after_request:  # a serverless platform
            await flush_request_async(pending.tracker)
        return response

    def _start(self, request: Any) -> Pending | None:
        """The pending request, or None when it is not recorded (or cannot be read)."""
        tracker = self._tracker
        if tracker is None:
            tracker = runtime.default
        # A request inside another convsdk middleware (Django wrapped by the WSGI one
        # too): the outer one records it, once.
        if tracker is None or runtime.current_request.get() is not None:
            return None
        recorder = self.recorder
        try:
            return recorder.start(tracker, read_request(request, recorder.variant_header))
        except Exception:
            log.exception("convsdk could not read the request; serving it untracked")
            return None

    def _finish(self, request: Any, response: Any, pending: Pending) -> None:
        """Record the request with the response's status; add the cookies to it."""
        recorder = self.recorder
        try:
            status = response.status_code
            if 300 <= status < 400 and appended_slash(request, response):
                pending.ctx.cancel()
            if pending.wants_body:
                pending.form = read_form(request)
            cookies = recorder.finish(
                pending,
                status,
                response.get("Content-Type"),
                response.get("Cache-Control"),
            )
            if cookies:
                add_cookies(response, cookies)
        except Exception:
            log.exception("convsdk could not record a request")

    def __repr__(self) -> str:
        return f"<ConversionMiddleware tracker={self.tracker!r}>"
