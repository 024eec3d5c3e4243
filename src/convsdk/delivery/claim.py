"""Replay reading: a claimed segment read back as batches of validated events.

A :class:`Claim` is a segment this process owns for replay. Reading is forgiving: an
unreadable line (garbage, or the torn last line of a crashed writer) is skipped and
counted, never fatal; a readable line whose event does not validate is handed to the
owner's quarantine, alone, so it never takes the good events of its batch down with it.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any, Protocol

from marshmallow import ValidationError

from .._json import loads
from ..event import Event, load_event
from .files import SEGMENT_NAME

__all__ = ["MAX_LINE", "Claim", "ClaimOwner", "Invalid", "parse_line", "read_line"]

log = logging.getLogger("convsdk.spool")

# No event comes near this (properties are capped at 32k characters); a longer "line" is
# garbage and is skipped without being held in memory whole.
MAX_LINE = 4 * 1024 * 1024


class ClaimOwner(Protocol):
    """What a claim needs from the spool that handed it out."""

    def forget(self, claim: Claim, size: int) -> None:
        """The claim is over; ``size`` bytes of segments left the disk with it."""

    def write_sealed(self, ns: str, data: bytes) -> None:
        """Write ``data`` as a complete segment with the age ``ns``."""

    def relist(self) -> None:
        """List the directory again at the next claim."""

    def quarantine(self, event: dict[str, Any], error: str) -> None:
        """Set a serialised event that does not validate aside."""


def parse_line(raw: bytes) -> Event | None:
    """Rebuild the event a spool line holds, or ``None`` when the line is unreadable."""
    try:
        data = loads(raw)
        if (
            not isinstance(data, dict)
            or not isinstance(data.get("event_id"), str)
            or not isinstance(data.get("name"), str)
        ):
            return None
        return Event.from_dict(data)
    except Exception:
        return None


class Invalid:
    """A readable spool line whose event does not validate, and why."""

    __slots__ = ("data", "error")

    def __init__(self, data: dict[str, Any], error: str) -> None:
        self.data = data
        self.error = error


def read_line(raw: bytes) -> Event | Invalid | None:
    """The validated event of a spool line, an :class:`Invalid` one, or ``None`` (unreadable)."""
    try:
        data = loads(raw)
    except Exception:
        return None
    if (
        not isinstance(data, dict)
        or not isinstance(data.get("event_id"), str)
        or not isinstance(data.get("name"), str)
    ):
        return None
    try:
        return load_event(data)
    except ValidationError as exc:
        return Invalid(data, _describe(exc.messages))
    except Exception as exc:  # a date that overflows in UTC, or stranger
        return Invalid(data, f"{type(exc).__name__}: {exc}")


def _describe(messages: Any) -> str:
    if isinstance(messages, dict):
        return "; ".join(f"{field}: {_describe(problem)}" for field, problem in messages.items())
    if isinstance(messages, list):
        return " ".join(_describe(m) for m in messages)
    return str(messages)


class Claim:
    """A segment this process claimed for replay.

    Read it with :meth:`batches`, then :meth:`finish` (delete: everything was sent),
    :meth:`keep` (write back what is left, delete the rest) or :meth:`release` (leave the
    file as it is for a later claim).
    """

    def __init__(self, spool: ClaimOwner, path: Path, fd: int, size: int) -> None:
        self.spool = spool
        self.path = path
        self.size = size
        self.corrupt = 0
        self.torn = 0
        self.quarantined = 0
        self._file: IO[bytes] = open(fd, "rb", closefd=True)
        self._closed = False

    def _lines(self) -> Iterator[bytes]:
        readline = self._file.readline
        while True:
            raw = readline(MAX_LINE)
            if not raw:
                return
            if len(raw) == MAX_LINE and not raw.endswith(b"\n"):
                # Garbage without a newline in sight: skip to the end of it.
                while True:
                    more = readline(MAX_LINE)
                    if not more or more.endswith(b"\n"):
                        break
                self.corrupt += 1
                continue
            yield raw

    def batches(self, size: int) -> Iterator[list[tuple[bytes, Event]]]:
        """Yield the readable events in batches of at most ``size``, with their raw lines.

        Unreadable lines are skipped and counted in :attr:`corrupt` (a torn last line,
        the mark of a writer that died mid-write, in :attr:`torn`); events that do not
        validate go to ``dead-letter/`` alone (the owner's ``quarantine``), counted in
        :attr:`quarantined`.
        """
        batch: list[tuple[bytes, Event]] = []
        for raw in self._lines():
            if not raw.strip():
                continue
            event = self._read(raw)
            if event is None:
                continue
            if not raw.endswith(b"\n"):
                raw += b"\n"
            batch.append((raw, event))
            if len(batch) >= size:
                yield batch
                batch = []
        if batch:
            yield batch

    def _read(self, raw: bytes) -> Event | None:
        """The event of a line, or None after counting (or quarantining) it."""
        event = read_line(raw)
        if event is None:
            if raw.endswith(b"\n"):
                self.corrupt += 1
            else:
                self.torn += 1
            return None
        if isinstance(event, Invalid):
            try:
                self.spool.quarantine(event.data, event.error)
            except OSError as exc:
                log.error("cannot set an invalid event aside (%s): it is lost", exc)
                self.corrupt += 1
            else:
                self.quarantined += 1
            return None
        return event

    def count_events(self) -> int:
        """Count the lines left to read (cheaply: no parsing)."""
        count = 0
        for chunk in iter(lambda: self._file.read(1 << 20), b""):
            count += chunk.count(b"\n")
        return count

    def finish(self) -> None:
        """Everything in the segment was handled: delete it."""
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass
        self.spool.forget(self, self.size)
        self.close()

    def keep(self, pending: Sequence[bytes]) -> None:
        """Write ``pending`` and the unread rest to a new segment (same age), delete this one.

        On an I/O error the segment is released unchanged instead: its delivered part
        will be sent again (at-least-once), nothing is lost.
        """
        try:
            rest = self._file.read()
            data = b"".join(pending) + rest
            if data:
                match = SEGMENT_NAME.match(self.path.name)
                ns = match["ns"] if match else f"{time.time_ns():020d}"
                self.spool.write_sealed(ns, data)
        except OSError as exc:
            log.warning("could not rewrite spool segment %s (%s); keeping it whole", self.path, exc)
            self.release()
            return
        self.spool.relist()  # the rewritten rest is the oldest segment again
        self.finish()

    def release(self) -> None:
        """Give the claim up and leave the file for a later replay."""
        self.spool.relist()  # it goes first again, before the rest of the last listing
        self.spool.forget(self, 0)
        self.close()

    def close(self) -> None:
        """Close the file (idempotent); the claim's lock goes with it."""
        if not self._closed:
            self._closed = True
            self._file.close()
