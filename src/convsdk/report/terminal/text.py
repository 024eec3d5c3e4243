"""Stored strings made safe for a terminal, and amounts one currency a line."""

from __future__ import annotations

import re

from .. import formatting as fmt

__all__ = ["cell_money", "one_line", "safe_text"]

# What a stored string (a visitor's UTM value, referrer, variant...) may not send to a
# terminal: escape sequences whole (CSI, OSC such as OSC-8 links, DCS/SOS/PM/APC strings,
# two-character escapes), then any other C0 or C1 control, DEL, and the bidirectional
# overrides that reorder what is shown.
_ESCAPES = re.compile(
    r"\x1b[\]P^_X][^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"  # OSC, DCS, PM, APC, SOS strings
    r"|[\x9d\x90\x9e\x9f\x98][^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"  # their 8-bit forms
    r"|(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]?"  # CSI (colours, cursor moves, clear screen)
    r"|\x1b[ -/]*[0-~]?"  # the other escapes
    r"|[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]"
)


def safe_text(text: str) -> str:
    """``text`` without terminal control characters or escape sequences (newlines stay).

    Stored strings come from visitors: printed raw, ``"\\x1b[2J"`` would clear the
    reader's screen and ``"\\x1b]8;;https://evil.example\\x07"`` add a link.

    >>> safe_text("google\\x1b[2J\\x1b[31m")
    'google'
    """
    if text.isprintable():  # the usual case: nothing to look for
        return text
    return _ESCAPES.sub("", text)


def one_line(text: str) -> str:
    """A stored value as one line: a visitor's newline cannot fake a row."""
    return safe_text(text).replace("\n", " ")


def cell_money(amounts: dict[str, float], digits: int = 2) -> str:
    """Amounts, one currency a line."""
    # One currency a line: amounts in two currencies are never added, and a long
    # "EUR ... · USD ..." would squeeze the other columns.
    return fmt.money(amounts, digits).replace(" · ", "\n")
