"""Serverless platforms, which freeze the process as soon as a response is returned:
there, trackers deliver each request's events before its response leaves.

AWS Lambda (and what runs on it: Mangum, Zappa, apig-wsgi, serverless-wsgi, SAM),
Vercel's Python functions and Google Cloud Functions run a request, return its
response, then freeze the process (or take away its CPU) until the next request, and
throw it away later without a signal. A tracker's delivery thread does not run while
the process is frozen, and what it held is lost when the process is thrown away.

So on these platforms a tracker defaults to ``flush_after_request=True``:

- the middleware (WSGI, ASGI, Django) delivers the request's events before it hands
  the response back, which the platform sends as the invocation's result;
- ``track()`` outside a request (a plain function handler, a queue consumer)
  delivers its event before it returns;

and its spool, when none is given, is in the system's temporary directory, the one
place these platforms let a function write (the deployed code is read-only). Events
spooled there (the backend was down) are delivered by a later request of the same
process. ``flush_after_request`` given as an option or ``CONVSDK_FLUSH_AFTER_REQUEST``
wins.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping

__all__ = ["PLATFORMS", "serverless_platform", "temporary_spool_dir"]

#: A variable each platform sets in its functions' environment, and how the log names it.
PLATFORMS = (
    ("AWS_LAMBDA_FUNCTION_NAME", "AWS Lambda"),
    ("VERCEL", "Vercel"),
    ("FUNCTION_TARGET", "Google Cloud Functions"),
)


def serverless_platform(environ: Mapping[str, str] | None = None) -> str | None:
    """The serverless platform this process runs on (see :data:`PLATFORMS`), or
    ``None``; ``environ`` defaults to ``os.environ``."""
    if environ is None:
        environ = os.environ
    for variable, name in PLATFORMS:
        if environ.get(variable):
            return name
    return None


def temporary_spool_dir() -> str:
    """The spool directory a tracker on a serverless platform defaults to."""
    return os.path.join(tempfile.gettempdir(), "convsdk-spool")
