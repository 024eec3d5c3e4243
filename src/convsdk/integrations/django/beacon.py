"""The browser script and its collect endpoint answered inside Django's middleware chain
(the endpoint decides without I/O; this reads Django's request and writes its answer)."""

from __future__ import annotations

import logging
from typing import Any

from django.http import HttpResponse

from ...browser.answers import Answer, refuse
from ...browser.endpoint import BeaconEndpoint
from ...browser.io import read_wsgi
from ...tracker import Tracker
from .http import read_request

__all__ = ["answer_beacon"]

log = logging.getLogger("convsdk.beacon")


def answer_beacon(endpoint: BeaconEndpoint, request: Any) -> tuple[HttpResponse, Tracker | None]:
    """The response to a request for the script or the collect endpoint, and the tracker
    to deliver the events it recorded before the response leaves (a tracker with
    ``flush_after_request``; else None)."""
    try:
        answer = _answer(endpoint, request)
    except Exception:
        log.exception("the convsdk collect endpoint failed")
        answer = refuse(500, "internal error")
    body = b"" if request.method == "HEAD" else answer.body
    response = HttpResponse(body, status=answer.status)
    for name, value in answer.headers:
        response[name] = value
    tracker = answer.recorded_by
    return response, (tracker if tracker is not None and tracker.flush_after_request else None)


def _answer(endpoint: BeaconEndpoint, request: Any) -> Answer:
    meta = request.META
    prefix = meta.get("SCRIPT_NAME") or ""
    path = endpoint.relative(request.path, prefix)
    if path != endpoint.path:
        query = meta.get("QUERY_STRING") or ""
        return endpoint.script_answer(
            request.method, prefix.rstrip("/"), query, meta.get("HTTP_IF_NONE_MATCH")
        )
    read = read_request(request, endpoint.recorder.variant_header)
    admitted = endpoint.admit(read, meta.get("HTTP_ORIGIN"))
    if isinstance(admitted, Answer):
        return admitted
    # Django's request is the body's file (its own stream, bounded by Content-Length).
    source = {"wsgi.input": request, "wsgi.input_terminated": True}
    body = read_wsgi(source, read.content_length, endpoint.max_body_bytes)
    if isinstance(body, Answer):
        return body
    return endpoint.collect(admitted, body)
