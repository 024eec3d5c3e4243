"""Sensitive fields: which form fields and parameters may hold a secret, and capturing
the allowlisted rest of a submitted form.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from .cards import contains_card_number

__all__ = [
    "SENSITIVE_FIELD_NAMES",
    "SENSITIVE_FIELD_PARTS",
    "SENSITIVE_FIELD_WORDS",
    "capture_fields",
    "is_sensitive_field",
]

#: A field (form field, query parameter) whose name contains one of these
#: (case-insensitive, ignoring ``-``, ``_``, ``.`` and spaces: ``api-key`` is ``apikey``)
#: is never recorded, even when allowlisted.
SENSITIVE_FIELD_PARTS: tuple[str, ...] = (
    "password",
    "passwd",
    "passcode",
    "passphrase",
    "securitycode",
    "accesskey",
    "privatekey",
    "secretkey",
    "signature",
    "credential",
    "card",
    "cvv",
    "cvc",
    "iban",
    "ssn",
    "token",
    "secret",
    "csrf",
    "session",
    "cookie",
    "apikey",
    "ccnum",
    "ccv",
    "authoriz",
    "authent",
    "jwt",
    "sessid",
)
#: Short names that are sensitive only as a whole word of a field name (``cc_number``,
#: ``userPin``), so that ``success``, ``shipping`` or ``author`` stay readable.
SENSITIVE_FIELD_WORDS: frozenset[str] = frozenset(
    {"pass", "pwd", "pw", "cc", "pin", "auth", "otp", "cvn", "dob", "sid"}
)
#: Whole field names that are secrets on their own (an OAuth ``code``, a signed URL's
#: ``sig``), while ``promo_code`` or ``zip_code`` stay readable.
SENSITIVE_FIELD_NAMES: frozenset[str] = frozenset({"code", "key", "sig"})
_SEPARATORS = str.maketrans("", "", "-_. ")
_WORDS = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|[0-9]+")

_SENSITIVE = re.compile("|".join(map(re.escape, SENSITIVE_FIELD_PARTS)), re.IGNORECASE)

_MAX_FIELD_CHARS = 1024
_MAX_FIELD_ITEMS = 32


def is_sensitive_field(name: str) -> bool:
    """Whether a field called ``name`` may hold a secret (see :data:`SENSITIVE_FIELD_PARTS`).

    >>> is_sensitive_field("new_password"), is_sensitive_field("plan")
    (True, False)
    """
    if _SENSITIVE.search(name.translate(_SEPARATORS)) is not None:
        return True
    if name.lower() in SENSITIVE_FIELD_NAMES:
        return True
    return any(word.lower() in SENSITIVE_FIELD_WORDS for word in _WORDS.findall(name))


def capture_fields(
    form: Mapping[str, list[str]], allowed: Iterable[str]
) -> dict[str, str | list[str]]:
    """The allowlisted fields of a submitted form, as event properties.

    A field is kept only when it is in ``allowed``, its name is not sensitive
    (:func:`is_sensitive_field`) and no value holds a card number. Values are
    truncated to 1024 characters; a field sent once gives a string, a repeated field
    a list.
    """
    captured: dict[str, str | list[str]] = {}
    for name in allowed:
        values = form.get(name)
        if not values or is_sensitive_field(name):
            continue
        values = values[:_MAX_FIELD_ITEMS]
        # Checked whole, before the cut: a card number across the cut would leave digits.
        if any(contains_card_number(v) for v in values):
            continue
        kept = [v[:_MAX_FIELD_CHARS] for v in values]
        captured[name] = kept[0] if len(kept) == 1 else kept
    return captured
