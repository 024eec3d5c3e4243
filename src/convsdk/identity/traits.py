"""Traits given to ``identify()``, normalised and hashed: never kept raw.

Ad platforms match conversions to their users by hashed contact details (Meta's
Conversions API, Google's enhanced conversions): SHA-256 of the value normalised as
they document it. Only the hashes leave this module:

- ``email`` → ``em``: trimmed, lower-cased, hashed;
- ``phone`` → ``ph``: E.164 digits with the country calling code and no ``+``, hashed.
  ``"+44 20 7946 0958"`` is complete; a national number (``"(020) 7946-0958"``) needs
  the tracker's ``phone_country_code`` (``"44"``): its trunk prefix ``0`` is dropped
  and the code put in front. Without one, the phone is left out with a warning;
- ``external_id`` → ``external_id``: the app's own id for the person, trimmed, hashed.

>>> hash_traits({"email": " John_Smith@gmail.com "})["em"][:12]
'62a14e44f765'
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Mapping
from typing import Any

from ..errors import ConfigError
from ..options import did_you_mean

__all__ = ["TRAITS", "hash_traits", "normalize_email", "normalize_phone"]

log = logging.getLogger("convsdk.identity")

#: Trait name given to identify() -> key of its hash in ``context["traits"]``.
TRAITS = {"email": "em", "phone": "ph", "external_id": "external_id"}

_MAX_TRAIT = 512  # longer than any address or number: not one
_PHONE_CHARACTERS = re.compile(r"[\d\s().\-/+]+")
_NOT_DIGITS = re.compile(r"\D")


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def normalize_email(email: str) -> str | None:
    """``email`` trimmed and lower-cased, or ``None`` when it is no address."""
    text = email.strip().lower()
    if "@" not in text or len(text) > _MAX_TRAIT:
        return None
    return text


def normalize_phone(phone: str, country_code: str | None = None) -> str | None:
    """E.164 digits of ``phone`` without the ``+``, or ``None`` when it cannot be one.

    An international number (``+`` or ``00`` in front) keeps its code; a national one
    loses its trunk prefix (``0``) and gets ``country_code`` in front.

    >>> normalize_phone("+44 20 7946 0958")
    '442079460958'
    >>> normalize_phone("(020) 7946-0958", "44")
    '442079460958'
    """
    text = phone.strip()
    if not text or len(text) > 64 or not _PHONE_CHARACTERS.fullmatch(text):
        return None
    digits = _NOT_DIGITS.sub("", text)
    if text.startswith("+"):
        pass
    elif digits.startswith("00"):
        digits = digits[2:]
    elif country_code:
        digits = country_code + digits.lstrip("0")
    else:
        return None
    # E.164: a country code (1-3 digits) and at most 15 digits in all.
    if not 8 <= len(digits) <= 15 or digits.startswith("0"):
        return None
    return digits


def hash_traits(traits: Mapping[str, Any], country_code: str | None = None) -> dict[str, str]:
    """The hashed form of ``traits`` (keys of :data:`TRAITS`); raw values are dropped.

    An unknown trait name is a :class:`~convsdk.ConfigError` naming it; a value that
    cannot be normalised (no address, a phone without its country) is left out with a
    warning.
    """
    hashed: dict[str, str] = {}
    for name, value in traits.items():
        key = TRAITS.get(name)
        if key is None:
            known = did_you_mean(str(name), TRAITS)
            raise ConfigError(f"unknown trait{known}; known: {', '.join(TRAITS)}", field=name)
        if value is None:
            continue
        text = str(value)
        if name == "email":
            normal = normalize_email(text)
        elif name == "phone":
            normal = normalize_phone(text, country_code)
        else:
            normal = text.strip()[:_MAX_TRAIT] or None
        if normal is None:
            hint = " (set phone_country_code for national numbers)" if name == "phone" else ""
            log.warning("identify(): trait %r is not a valid %s; left out%s", name, name, hint)
            continue
        hashed[key] = _sha256(normal)
    return hashed
