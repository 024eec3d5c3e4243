"""A small signed cookie holding a JSON object: the visitor's click ids, or the user id
and hashed traits ``identify()`` gave.

Each kind has its own salt, so one can never pass as another (nor as the visitor or
session cookie). A value longer than :data:`MAX_STATE_COOKIE`, tampered with, or not a
JSON object is ignored exactly as a bad visitor cookie is: reading never raises.
Verified values are cached (a browser sends the same value on every request).
"""

from __future__ import annotations

import functools
import json
import logging
from typing import Any

from itsdangerous import BadData, URLSafeSerializer

from .cookies import cookie_attributes, cookie_value

__all__ = ["MAX_STATE_COOKIE", "SignedState"]

log = logging.getLogger("convsdk.identity")

#: The longest cookie value read or written; anything longer is not ours.
MAX_STATE_COOKIE = 1024

# itsdangerous's default JSON (compact, non-ASCII as is), with its encoder built once:
# the same text, without a JSONEncoder made on every call (and without calling
# json.dumps at all, which a host app's tests may watch while its first request builds
# the middleware).
_ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


class _CompactJSON:
    """The serializer the signed cookies hold their object in (itsdangerous's protocol)."""

    @staticmethod
    def dumps(obj: Any) -> str:
        return _ENCODE(obj)

    @staticmethod
    def loads(payload: str | bytes) -> Any:
        return json.loads(payload)


class SignedState:
    """Signs a JSON object into cookie ``name`` and reads it back (verified, cached).

    >>> clicks = SignedState("secret", "cv_clk", "convsdk.clicks", max_age=90 * 86400)
    >>> header = clicks.set_cookie({"last": {"name": "gclid", "id": "x", "at": 1}}, False)
    """

    __slots__ = ("_expired", "_serializer", "_suffix", "_verify", "name")

    def __init__(
        self,
        secret_key: str | bytes,
        name: str,
        salt: str,
        *,
        max_age: int,
        domain: str | None = None,
    ) -> None:
        self.name = name
        self._serializer = URLSafeSerializer(secret_key, salt=salt, serializer=_CompactJSON)
        self._suffix = cookie_attributes(max_age, domain)
        self._expired = cookie_attributes(0, domain)
        self._verify = functools.lru_cache(maxsize=4096)(self._unsign)

    def _unsign(self, value: str) -> dict[str, Any] | None:
        try:
            data = self._serializer.loads(value)
        except BadData:
            return None
        except Exception:  # whatever a forged cookie triggers, it is only not ours
            log.debug("unreadable %s cookie", self.name, exc_info=True)
            return None
        return data if isinstance(data, dict) else None

    def read(self, cookie_header: str | None) -> dict[str, Any] | None:
        """The object in the request's cookie (a copy), or ``None`` when absent or bad."""
        value = cookie_value(cookie_header, self.name)
        if not value or len(value) > MAX_STATE_COOKIE:
            return None
        data = self._verify(value)
        return None if data is None else dict(data)

    def set_cookie(self, data: dict[str, Any], secure: bool) -> str | None:
        """The ``Set-Cookie`` value holding ``data``; ``None`` when it would be too long."""
        value = self._serializer.dumps(data)
        if len(value) > MAX_STATE_COOKIE:
            log.warning("%s cookie not set: %d characters is too long", self.name, len(value))
            return None
        return f"{self.name}={value}{self._suffix[secure]}"

    def clear_cookie(self, secure: bool) -> str:
        """The ``Set-Cookie`` value that removes the cookie from the browser."""
        return f"{self.name}={self._expired[secure]}"
