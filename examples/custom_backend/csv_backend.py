"""A convsdk backend writing events to a CSV file, one row each, never the same event twice,
and the reader that lets ``convsdk report csv:///path/events.csv`` read them back."""

from __future__ import annotations

import csv
import json
import os
import threading
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from convsdk import BackendError, ConfigError, Event

FIELDS = list(Event("x").to_dict())
JSON_FIELDS = ("properties", "context")


class CSVBackend:
    """Append events to ``path``; an event already in the file (same event_id) is skipped."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        self._seen: set[str] | None = None  # read from the file on the first write
        self._lock = threading.Lock()  # one write at a time, whichever thread calls
        self._closed = False

    @classmethod
    def from_url(cls, url: str, **options: Any) -> CSVBackend:
        """Build from ``csv:///var/log/events.csv`` (the path is the file; no options)."""
        parts = urlsplit(url)
        unknown = [name for name, _ in parse_qsl(parts.query)] + list(options)
        if unknown:
            raise ConfigError(f"unknown option {unknown[0]!r}: csv:// takes none", field=unknown[0])
        return cls(unquote(parts.netloc + parts.path))

    def write(self, events: Sequence[Event]) -> None:
        """Append the events not stored yet; raise BackendError when the file cannot be written."""
        if self._closed:
            raise BackendError("written after close()", backend="csv", retryable=False)
        with self._lock:
            self._write(events)

    def _write(self, events: Sequence[Event]) -> None:
        try:
            if self._seen is None:
                self._seen = {e.event_id for e in read_events(self.path)}
            rows = []
            for event in events:
                if event.event_id not in self._seen:
                    self._seen.add(event.event_id)
                    row = event.to_dict()
                    row.update({f: json.dumps(row[f], ensure_ascii=False) for f in JSON_FIELDS})
                    rows.append(row)
            if rows:
                with open(self.path, "a", newline="", encoding="utf-8") as file:
                    writer = csv.DictWriter(file, FIELDS)
                    if file.tell() == 0:
                        writer.writeheader()
                    writer.writerows(rows)
        except OSError as exc:
            self._seen = None  # unknown what reached the file: read it again next time
            raise BackendError(str(exc), backend="csv") from exc

    def close(self) -> None:
        """Refuse later writes (nothing stays open between writes)."""
        self._closed = True


def read_events(path: str | os.PathLike[str]) -> Iterator[Event]:
    """The events stored in a CSV file, in write order (none when the file does not exist)."""
    if not os.path.exists(path):
        return
    with open(path, newline="", encoding="utf-8") as file:
        for row in csv.DictReader(file):
            data: dict[str, Any] = {k: v or None for k, v in row.items()}  # CSV has no NULL
            data["value"] = None if data["value"] is None else float(data["value"])
            data.update({f: json.loads(row[f]) for f in JSON_FIELDS})
            yield Event.from_dict(data)


class CSVReader:
    """What ``convsdk report csv:///path/events.csv`` reads through (the ``convsdk.readers``
    entry point): the file's events; convsdk folds them into the report."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        self.source = self.path

    @classmethod
    def from_url(cls, url: str) -> CSVReader:
        """Build from the backend's URL, ``csv:///var/log/events.csv``."""
        parts = urlsplit(url)
        return cls(unquote(parts.netloc + parts.path))

    def read_events(self, since: datetime | None, until: datetime | None) -> Iterator[Event]:
        """The file's events (convsdk keeps those of the period)."""
        if not os.path.exists(self.path):
            raise ConfigError("no such file", field="source", source=self.path)
        return read_events(self.path)
