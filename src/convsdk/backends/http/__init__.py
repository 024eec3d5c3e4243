"""``http(s)://``: POST batches as JSON to a collector (extra ``http``).

Each batch is one request, ``{"events": [event.to_dict(), ...]}``, to the URL as given
(:mod:`convsdk.collector` is a collector that speaks this protocol)::

    backend = HTTPBackend("https://collector.example.com/ingest", token="s3cret", gzip=True)
    tracker = convsdk.Tracker(backend="https://collector.example.com/ingest?gzip=1&timeout=2",
                              ...)  # options in the query work too (never the token)

How the answer is read:

- 2xx: delivered.
- 408, 429, 5xx, a timeout or a connection error: :class:`convsdk.BackendError` with
  ``retryable=True`` and ``retry_after`` taken from the ``Retry-After`` header (seconds
  or an HTTP date), so the dispatcher tries again later.
- 413 (payload too large): the batch is split in halves, each sent on its own; a
  single event that is still too large fails like any other 4xx.
- any other status (4xx, an unexpected 1xx or 3xx; redirects are not followed):
  ``retryable=False``, since sending the same batch again cannot succeed; the dispatcher
  dead-letters it.

One :class:`httpx.Client` (connection keep-alive) is opened on the first write, in the
writer thread, and opened again in a forked child. The token is sent only in the
``Authorization`` header: it is never logged nor shown in ``repr`` or error messages.

The package: :mod:`.answer` (reading the collector's answer), :mod:`.url` (options in
the URL), :mod:`.backend` (:class:`HTTPBackend`).
"""

from __future__ import annotations

from .answer import parse_retry_after
from .backend import USER_AGENT, HTTPBackend

__all__ = ["HTTPBackend", "parse_retry_after"]

# Kept importable from here, where it used to live.
__all__ += ["USER_AGENT"]
