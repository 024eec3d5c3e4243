"""The endpoint's answers: a status, headers and a body, built without any I/O.

A refusal is a one-line plain-text reason; a recorded batch is ``204``; the script is
``200`` (or ``304`` when the browser's copy is current) with an ``ETag``.
"""

from __future__ import annotations

import http
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..tracker import Tracker
    from .script import Script

__all__ = ["Answer", "no_content", "refuse", "script_answer"]

#: Cache-Control of the script asked for with its version (``?v=...``), and without.
YEAR = "public, max-age=31536000, immutable"
HOUR = "public, max-age=3600"


class Answer:
    """A response: status, headers, body; and ``recorded_by``, the tracker given the
    events it answers (the adapters deliver them before the response leaves when the
    tracker's ``flush_after_request`` says so)."""

    __slots__ = ("body", "headers", "recorded_by", "status")

    def __init__(
        self, status: int, body: bytes = b"", headers: list[tuple[str, str]] | None = None
    ) -> None:
        self.status = status
        self.body = body
        self.headers = headers if headers is not None else []
        self.recorded_by: Tracker | None = None

    def status_line(self) -> str:
        """``"204 No Content"``: the status as WSGI's ``start_response`` takes it."""
        return f"{self.status} {http.HTTPStatus(self.status).phrase}"


def refuse(status: int, reason: str, *extra: tuple[str, str]) -> Answer:
    """A refusal: ``status`` with ``reason`` as its plain-text body, and ``extra`` headers."""
    body = (reason + "\n").encode("utf-8")
    headers = [
        ("Content-Type", "text/plain; charset=utf-8"),
        ("Content-Length", str(len(body))),
        ("Cache-Control", "no-store"),
        ("X-Content-Type-Options", "nosniff"),
        *extra,
    ]
    return Answer(status, body, headers)


def no_content(cookies: Iterable[str] = ()) -> Answer:
    """``204``: the events are recorded (or quietly skipped), with the visit's cookies."""
    headers = [("Cache-Control", "no-store"), *[("Set-Cookie", cookie) for cookie in cookies]]
    return Answer(204, b"", headers)


def etag_matches(header: str, etag: str) -> bool:
    """Whether an ``If-None-Match`` header names ``etag`` (or ``*``)."""
    for candidate in header.split(","):
        candidate = candidate.strip()
        if candidate == "*" or candidate.removeprefix("W/") == etag:
            return True
    return False


def script_answer(script: Script, query: str, if_none_match: str | None) -> Answer:
    """The script for a ``GET``: a year in caches when asked for with its version."""
    versioned = f"v={script.version}" in query.split("&")
    headers = [("Cache-Control", YEAR if versioned else HOUR), ("ETag", script.etag)]
    if if_none_match and etag_matches(if_none_match, script.etag):
        return Answer(304, b"", headers)
    headers += [
        ("Content-Type", "text/javascript; charset=utf-8"),
        ("Content-Length", str(len(script.body))),
        ("X-Content-Type-Options", "nosniff"),
    ]
    return Answer(200, script.body, headers)
