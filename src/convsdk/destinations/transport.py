"""Posting a destination's JSON on a keep-alive HTTP client: :class:`Poster`.

One :class:`httpx.Client` per process (:class:`convsdk.adapters.LazyConnection`: made
on the first post, made again in a forked child, refused after ``close()``). The
answer is read as the ``http(s)://`` backend reads its collector's
(:func:`convsdk.backends.http.answer.status_error`): a timeout, a connection error, 408,
429 and 5xx are worth a retry (``Retry-After`` honoured); another 4xx refuses the
payload for good. 401 and 403 are retryable here: a revoked key or token is a setup
problem, and the events wait in the spool until someone fixes it, as the
:class:`~convsdk.backends.Backend` protocol asks for a bad password.

Every message goes through :meth:`Poster.scrub`, which hides the destination's secrets
(an API secret, an access token, a write key) wherever they would appear. A secret the
service wants in the query (GA4's ``api_secret``) is added by the transport, under
httpx: httpx logs each request's URL (``HTTP Request: POST ...``, level INFO), and that
URL is the one without it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import httpx

from ..adapters import LazyConnection, json_dumps, redact_url
from ..backends.http import USER_AGENT
from ..backends.http.answer import status_error
from ..errors import BackendError

__all__ = ["Poster", "encode"]

_HIDDEN = "***"


def encode(payload: Any, name: str) -> bytes:
    """``payload`` as compact JSON; what cannot be encoded (a value JSON has no form
    for) is a permanent :class:`~convsdk.BackendError` for destination ``name``."""
    try:
        return json_dumps(payload)
    except (TypeError, ValueError) as exc:
        raise BackendError(
            f"cannot encode the batch as JSON: {exc}", backend=name, retryable=False
        ) from None


class Poster:
    """POST JSON payloads for the destination called ``name``.

    ``secrets`` are hidden from every message; ``auth`` is HTTP basic auth
    (user, password); ``secret_query`` are query parameters added to every request
    out of httpx's sight (its log); ``timeout`` bounds each request, in seconds.
    """

    def __init__(
        self,
        name: str,
        *,
        timeout: float,
        secrets: Iterable[str] = (),
        auth: tuple[str, str] | None = None,
        secret_query: Mapping[str, str] | None = None,
    ) -> None:
        self.name = name
        self.timeout = timeout
        self._secrets = tuple(s for s in secrets if s)
        self._auth = auth
        self._secret_query = dict(secret_query or {})
        self._secrets += tuple(self._secret_query.values())
        self._client: LazyConnection[httpx.Client] = LazyConnection(
            self._open, httpx.Client.close, name=name
        )

    def __repr__(self) -> str:
        return f"Poster(name={self.name!r}, timeout={self.timeout})"

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._client.closed

    def check_open(self) -> None:
        """Raise a permanent :class:`~convsdk.BackendError` once closed."""
        if self._client.closed:
            raise BackendError("written after close()", backend=self.name, retryable=False)

    def send(self, url: str, payload: Mapping[str, Any]) -> httpx.Response:
        """POST ``payload`` as JSON to ``url`` and return the answer, whatever its status;
        a timeout or a connection error raises a retryable :class:`~convsdk.BackendError`."""
        body = encode(dict(payload), self.name)
        client = self._client.get()
        try:
            return client.post(url, content=body)
        except httpx.TimeoutException as exc:
            message = f"{redact_url(url)} did not answer in time ({type(exc).__name__})"
            raise BackendError(self.scrub(message), backend=self.name) from None
        except httpx.RequestError as exc:
            message = f"cannot reach {redact_url(url)}: {type(exc).__name__}: {exc}"
            raise BackendError(self.scrub(message), backend=self.name) from None

    def post(self, url: str, payload: Mapping[str, Any], count: int) -> httpx.Response:
        """:meth:`send`, raising :meth:`refusal` unless the answer is 2xx."""
        response = self.send(url, payload)
        if not 200 <= response.status_code < 300:
            raise self.refusal(response, count)
        return response

    def refusal(
        self, response: httpx.Response, count: int, *, retryable: bool | None = None
    ) -> BackendError:
        """The error for an answer that is not 2xx, about ``count`` events; ``retryable``
        overrides the status's reading (a service that says more in its body)."""
        error = status_error(response, count)
        if retryable is None:
            retryable = error.retryable or response.status_code in (401, 403)
        return BackendError(
            self.scrub(str(error)),
            backend=self.name,
            retryable=retryable,
            retry_after=error.retry_after,
        )

    def scrub(self, text: str) -> str:
        """``text`` with the destination's secrets replaced by ``***``."""
        for secret in self._secrets:
            text = text.replace(secret, _HIDDEN)
        return text

    def close(self) -> None:
        """Close the client (more than once is fine); a later post raises for good."""
        self._client.close()

    def _open(self) -> httpx.Client:
        transport: httpx.BaseTransport = httpx.HTTPTransport()
        if self._secret_query:
            transport = _SecretQuery(transport, self._secret_query)
        return httpx.Client(
            headers={"Content-Type": "application/json", "User-Agent": USER_AGENT},
            auth=self._auth,
            timeout=self.timeout,
            follow_redirects=False,
            transport=transport,
        )


class _SecretQuery(httpx.BaseTransport):
    """Adds query parameters to each request on its way out, to a copy of the request:
    the client logs the request it made, which goes without them."""

    def __init__(self, inner: httpx.BaseTransport, params: Mapping[str, str]) -> None:
        self._inner = inner
        self._params = dict(params)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        sent = httpx.Request(
            request.method,
            request.url.copy_merge_params(self._params),
            headers=request.headers,
            stream=request.stream,
            extensions=request.extensions,
        )
        return self._inner.handle_request(sent)

    def close(self) -> None:
        self._inner.close()
