"""Reading a conversion value from what a request carried, leniently.

``"49.90"``, ``"1,299.00"``, ``"$19"``, ``"USD 19"``, ``"19,90 €"`` and
``"1.299,00 EUR"`` are all understood; anything else gives no value (``None``), never
an error: a conversion without a value is better than a failed request.
"""

from __future__ import annotations

import math
import re
import unicodedata
from decimal import Decimal
from typing import Any

from ..checks import is_number

__all__ = ["to_amount"]

_AMOUNT = re.compile(
    r"\s*(?P<pre>[^\d\s.,]*)\s*"
    r"(?P<num>[.,]?\d(?:[\d.,' \u00a0\u202f]*\d)?)"
    r"\s*(?P<post>[^\d\s.,]*)\s*"
)
_GROUP_SPLIT = re.compile(r"[.,' \u00a0\u202f]")
_MAX_AMOUNT_TEXT = 64


def _is_currency_mark(mark: str) -> bool:
    # "$", "€", "US$", "R$", "kr", "USD": letters of a code or currency symbols.
    return len(mark) <= 4 and all(
        (c.isascii() and c.isalpha()) or unicodedata.category(c) == "Sc" for c in mark
    )


def _decimal_mark(num: str) -> str | None:
    """The decimal mark of a written number (``"."`` or ``","``), or ``None`` for none."""
    dots, commas = num.count("."), num.count(",")
    if dots and commas:
        # Both present: the last one is the decimal mark ("1,299.00", "1.299,00").
        return "." if num.rfind(".") > num.rfind(",") else ","
    if commas == 1 and not dots:
        head, _, tail = num.partition(",")
        # "1,299" is a thousands separator (no currency has three decimals written
        # with a comma in practice); "19,90" and "0,500" are decimal commas.
        if len(tail) == 3 and head.strip(" '\u00a0\u202f").lstrip("0"):
            return None
        return ","
    if dots == 1 and not commas:
        return "."
    return None  # only grouping separators: "1,299,000", "1.299.000", "1 299"


def _parse_amount(text: str) -> float | None:
    """Read a human-written, non-negative amount; ``None`` when it is not one."""
    if len(text) > _MAX_AMOUNT_TEXT:
        return None
    m = _AMOUNT.fullmatch(text)
    if m is None or not _is_currency_mark(m["pre"]) or not _is_currency_mark(m["post"]):
        return None
    num = m["num"]
    decimal = _decimal_mark(num)
    if decimal is not None:
        if num.count(decimal) != 1:
            return None
        whole, frac = num.split(decimal)
        if not (frac.isdigit() and frac.isascii()):
            return None
    else:
        whole, frac = num, "0"
    groups = _GROUP_SPLIT.split(whole) if whole else ["0"]
    if len(groups) > 1 and (not 1 <= len(groups[0]) <= 3 or any(len(g) != 3 for g in groups[1:])):
        return None
    digits = "".join(groups) or "0"
    if not digits.isdigit() or not digits.isascii():
        return None
    amount = float(f"{digits}.{frac}")
    return amount if math.isfinite(amount) else None


def to_amount(raw: Any) -> float | None:
    """The non-negative amount ``raw`` holds (a number, a text, or a list whose first item
    is one, as ``parse_qs`` gives), or ``None``."""
    if isinstance(raw, list | tuple):
        raw = raw[0] if raw else None  # parse_qs-style {"total": ["49.90"]}
    if is_number(raw) or isinstance(raw, Decimal):
        amount = float(raw)
        return amount if math.isfinite(amount) and amount >= 0 else None
    if isinstance(raw, str):
        return _parse_amount(raw)
    return None
