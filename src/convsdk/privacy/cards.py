"""Payment card numbers: finding them in text and keeping them out of event properties.

A card number is a run of 13 to 19 digits (spaces or dashes allowed between them, and
``+``, ``%20``, ``%2D`` as they appear in query strings) that passes the Luhn check.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["CARD_RUN", "REDACTED", "contains_card_number", "redact_card", "scrub_properties"]

#: What a removed secret is replaced with.
REDACTED = "[redacted]"

#: A run of 13 to 19 digits, single separators allowed between digits: spaces and
#: dashes as people type them, and "+", "%20", "%2D" as they appear in query strings.
CARD_RUN = re.compile(r"(?<![0-9])[0-9](?:(?:[ \-+]|%20|%2[dD])?[0-9]){12,18}(?![0-9])")
_NON_DIGITS = re.compile(r"[^0-9]+")


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i & 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def _is_card(run: str) -> bool:
    """Whether a digit run found by ``CARD_RUN`` holds a card number.

    The regex takes the longest run, so "4111 1111 1111 1111 12" (a card followed by
    other digits) is tried as a whole and then as every sequence of whole groups.
    """
    digits = _NON_DIGITS.sub("", run)
    if 13 <= len(digits) <= 19 and _luhn(digits):
        return True
    groups = _NON_DIGITS.split(run)
    if len(groups) < 2:
        return False
    for i in range(len(groups)):
        joined = ""
        for group in groups[i:]:
            joined += group
            if len(joined) > 19:
                break
            if len(joined) >= 13 and _luhn(joined):
                return True
    return False


def contains_card_number(text: str) -> bool:
    """Whether ``text`` contains something that looks like a payment card number."""
    for match in CARD_RUN.finditer(text):
        if _is_card(match.group()):
            return True
    return False


def redact_card(match: re.Match[str]) -> str:
    """``CARD_RUN.sub`` callback: a run holding a card number becomes ``[redacted]``."""
    run = match.group()
    return REDACTED if _is_card(run) else run


def _clean_value(value: Any) -> tuple[bool, Any]:
    """(keep, value) for one property value: values holding a card number are dropped."""
    t = type(value)
    if t is str:
        return (not contains_card_number(value), value)
    if t is dict:
        return True, scrub_properties(value)
    if t is list or t is tuple:
        kept = []
        changed = False
        for item in value:
            keep, cleaned = _clean_value(item)
            if keep:
                kept.append(cleaned)
                changed = changed or cleaned is not item
            else:
                changed = True
        return True, (kept if changed else value)
    if t is int and value >= 10**12 and contains_card_number(str(value)):
        return False, None
    return True, value


def scrub_properties(properties: dict[str, Any]) -> dict[str, Any]:
    """``properties`` without any value that holds a card number (at any depth).

    Returns the same dict when nothing had to go, so the common case copies nothing.
    """
    result: dict[str, Any] | None = None
    for key, value in properties.items():
        keep, cleaned = _clean_value(value)
        if keep and cleaned is value:
            if result is not None:
                result[key] = value
            continue
        if result is None:
            result = {}
            for k, v in properties.items():
                if k == key:
                    break
                result[k] = v
        if keep:
            result[key] = cleaned
    return properties if result is None else result
