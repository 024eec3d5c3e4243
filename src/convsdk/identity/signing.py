"""Signing and verifying the cookie values, with verified values cached.

The visitor cookie holds a random visitor id, the session cookie the session id and
the minute the visitor was last seen (in hex), each signed with the secret key under
its own salt, so a visitor cookie can never pass as a session cookie. A value's
meaning never changes, so verified values are kept in an LRU, and whole ``Cookie``
headers too (a browser sends the same header until one of its cookies changes):
verifying the common request is one dictionary hit.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import logging
from binascii import b2a_base64
from collections.abc import Callable
from typing import Protocol

from itsdangerous import BadSignature, Signer

from .cookies import cookie_value

__all__ = ["MAX_CACHED_HEADER", "CookieSigner", "FastSigner", "ReadCookies"]

log = logging.getLogger("convsdk.identity")

_URLSAFE = bytes.maketrans(b"+/", b"-_")
# HMAC's pads (RFC 2104) as translation tables: key.translate(_IPAD) is key xor 0x36.
_IPAD = bytes(byte ^ 0x36 for byte in range(256))
_OPAD = bytes(byte ^ 0x5C for byte in range(256))
_VERIFIED_CACHE = 8192
_MAX_COOKIE = 256  # ours are under 100 characters; anything longer is not ours
# Whole Cookie headers are cached only up to this size, which bounds the cache's memory.
_HEADER_CACHE = 4096
#: The longest ``Cookie`` header whose reading is cached (:attr:`CookieSigner.read_cached`).
MAX_CACHED_HEADER = 1024

#: What a ``Cookie`` header says: (visitor id, signed visitor value, (session id, minute),
#: whether it names one of the other cookies convsdk reads).
ReadCookies = tuple[str | None, str | None, tuple[str, int] | None, bool]


class FastSigner:
    """Signs as an itsdangerous :class:`~itsdangerous.Signer` (HMAC-SHA256), byte for byte.

    The key is derived once, and so are HMAC's two keyed SHA-256 states (RFC 2104:
    the key xor'ed with the inner and outer pads): a signature copies both and hashes
    the value, with none of :mod:`hmac`'s per-call layers. The states are CPython 3.11's
    own SHA-256 (copying one is a memory copy, where an OpenSSL context costs an
    allocation and a provider lookup), OpenSSL's on later versions. A new visitor's two
    signatures cost about a third of what ``Signer.sign`` does. Verifying stays with
    itsdangerous (and its result is cached).
    """

    __slots__ = ("_inner", "_outer", "signer")

    def __init__(self, secret_key: str | bytes, salt: str) -> None:
        self.signer = Signer(secret_key, salt=salt, digest_method=hashlib.sha256)
        key = self.signer.derive_key()
        block = hashlib.sha256().block_size
        if len(key) > block:
            key = hashlib.sha256(key).digest()
        key = key.ljust(block, b"\0")
        self._inner = _sha256(key.translate(_IPAD))
        self._outer = _sha256(key.translate(_OPAD))

    def sign(self, value: str) -> str:
        """``value`` followed by ``.`` and its signature, as ``Signer.sign`` gives it."""
        inner = self._inner.copy()
        inner.update(value.encode())  # UTF-8, as itsdangerous encodes
        outer = self._outer.copy()
        outer.update(inner.digest())
        # base64.urlsafe_b64encode, unpadded as itsdangerous has it, without its layers:
        # 32 bytes are 43 characters (then "=" and the newline).
        signature = b2a_base64(outer.digest())[:43].translate(_URLSAFE).decode()
        return f"{value}.{signature}"


class _Hash(Protocol):
    """A SHA-256 state, as hashlib's and CPython's own are."""

    def copy(self) -> _Hash: ...
    def update(self, data: bytes, /) -> None: ...
    def digest(self) -> bytes: ...


def _copied_sha256() -> Callable[[bytes], _Hash]:
    """The SHA-256 whose states copy cheapest: CPython 3.11's own (``_sha256``, a plain
    struct), else hashlib's (OpenSSL's). CPython's own since 3.12 (``_sha2``, HACL*)
    costs more a signature than OpenSSL's: 2.9 against 1.9 µs on 3.13."""
    try:
        constructor: Callable[[bytes], _Hash] = importlib.import_module("_sha256").sha256
    except (ImportError, AttributeError):
        return hashlib.sha256
    return constructor


_sha256 = _copied_sha256()


class CookieSigner:
    """Signs the visitor and session cookie values and verifies them (cached); thread-safe.

    ``read(header)`` gives what a ``Cookie`` header says (ids ``None`` when missing or
    not verified); ``read_cached`` is the same for headers up to
    :data:`MAX_CACHED_HEADER` characters.
    """

    __slots__ = (
        "_marks",
        "_session",
        "_verify_session",
        "_verify_visitor",
        "_visitor",
        "read_cached",
        "session_cookie",
        "visitor_cookie",
    )

    def __init__(
        self,
        secret_key: str | bytes,
        visitor_cookie: str,
        session_cookie: str,
        marks: tuple[str, ...] = (),
    ) -> None:
        self.visitor_cookie = visitor_cookie
        self.session_cookie = session_cookie
        # Cookie names whose presence read() reports (cached with the rest): the common
        # request, naming none, learns it from the same cache hit.
        self._marks = tuple(name + "=" for name in marks)
        # Separate salts: a visitor cookie can never pass as a session cookie.
        self._visitor = FastSigner(secret_key, "convsdk.visitor")
        self._session = FastSigner(secret_key, "convsdk.session")
        # lru_cache is thread-safe and C-implemented: a repeat cookie costs a dict hit.
        # A browser sends the same Cookie header until one of its cookies changes, so
        # the whole header is a key too (one lookup for the common request).
        self._verify_visitor = functools.lru_cache(maxsize=_VERIFIED_CACHE)(self._unsign_visitor)
        self._verify_session = functools.lru_cache(maxsize=_VERIFIED_CACHE)(self._unsign_session)
        self.read_cached = functools.lru_cache(maxsize=_HEADER_CACHE)(self.read)

    def sign_visitor(self, visitor_id: str) -> str:
        """The visitor cookie's value for ``visitor_id``."""
        return self._visitor.sign(visitor_id)

    def sign_session(self, session_id: str, minute: int) -> str:
        """The session cookie's value for ``session_id`` last seen in ``minute``."""
        return self._session.sign(f"{session_id}.{minute:x}")

    def sign_both(self, visitor_id: str, session_id: str, minute: int) -> tuple[str, str]:
        """A new visitor's two cookie values: :meth:`sign_visitor` and :meth:`sign_session`."""
        return self._visitor.sign(visitor_id), self._session.sign(f"{session_id}.{minute:x}")

    def _unsign_visitor(self, value: str) -> str | None:
        if len(value) > _MAX_COOKIE:
            return None
        try:
            visitor_id = self._visitor.signer.unsign(value).decode("ascii")
        except (BadSignature, UnicodeError, ValueError):
            return None
        except Exception:  # whatever a forged cookie triggers, it is only not ours
            log.debug("unreadable visitor cookie", exc_info=True)
            return None
        return visitor_id or None

    def _unsign_session(self, value: str) -> tuple[str, int] | None:
        if len(value) > _MAX_COOKIE:
            return None
        try:
            payload = self._session.signer.unsign(value).decode("ascii")
            session_id, _, minute = payload.rpartition(".")
            return (session_id, int(minute, 16)) if session_id else None
        except (BadSignature, UnicodeError, ValueError):
            return None
        except Exception:  # whatever a forged cookie triggers, it is only not ours
            log.debug("unreadable session cookie", exc_info=True)
            return None

    def read(self, header: str) -> ReadCookies:
        """(visitor id, signed visitor value, (session id, minute), marked) from a Cookie
        header; ``marked``: it names one of the ``marks`` cookies.

        Ids are ``None`` when missing or not verified; no session without a visitor.
        """
        marked = any(name in header for name in self._marks)
        # Values longer than ours never verify: keep them out of the caches.
        signed_visitor = cookie_value(header, self.visitor_cookie)
        if not signed_visitor or len(signed_visitor) > _MAX_COOKIE:
            return None, None, None, marked
        visitor_id = self._verify_visitor(signed_visitor)
        if visitor_id is None:
            return None, None, None, marked
        signed_session = cookie_value(header, self.session_cookie)
        session = None
        if signed_session and len(signed_session) <= _MAX_COOKIE:
            session = self._verify_session(signed_session)
        return visitor_id, signed_visitor, session, marked
