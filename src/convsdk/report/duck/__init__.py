"""JSON Lines logs read with DuckDB (extra ``duckdb``), on request: ``--engine duckdb``.

DuckDB parses the log's files (the same ones as :class:`~convsdk.report.jsonl.FileReader`:
``events.jsonl.N`` ... ``.1``, then ``events.jsonl``) in one multi-threaded scan into an
in-memory table, keeping only what the report reads and only the events of the range,
an event delivered twice once. SQL then does what the streaming reader does in Python:
first events, a repeated transaction counted once, touches up to the first macro
conversion, variants; one row per visitor (and per visitor and goal) reaches Python.

Same events, same report: every field's JSON type is checked in the scan, and a log
with a line that is not an event (a torn last line aside, skipped with a warning) or
with two different events under one id is handed over to the streaming reader, which
warns about each line and keeps the first of the two. (Two events under one id are
looked for among the events of the range: with one inside and the other outside,
this reader counts the one inside, where the streaming reader counts the first in the
files' order.) Its memory grows with the events of the range, not the visitors: about
750 MB at a million events, where the streaming reader needs 300 MB.

``convsdk report --engine duckdb`` (``load_report(..., engine="duckdb")``) uses it. It
is not the default: on two busy cores the whole report took as long as with the
streaming reader on a million events (17.9–21.4 s against 15.9–22.1 s) and longer on
five million (74 s against 64 s, 3.4 GB against 1.3 GB); DuckDB's scan is the part
that grows with cores, which were not there to measure.

Modules: :mod:`.tails` (the files' last lines), :mod:`.queries` (the SQL),
:mod:`.fold` (rows to summaries) and :mod:`.reader` (:class:`DuckReader`).
"""

from __future__ import annotations

from .reader import DuckReader, require_duckdb

__all__ = ["DuckReader", "require_duckdb"]
