"""JSON Lines logs read with DuckDB (extra ``duckdb``), on request: ``--engine duckdb``.

DuckDB parses the log's files (the same ones as :class:`~convsdk.report.jsonl.FileReader`:
``events.jsonl.N`` ... ``.1``, then ``events.jsonl``) in one multi-threaded scan into a
table, keeping only what the report reads and only the events of the range, an event
delivered twice once. SQL then does what the streaming reader does in Python: first
events, a repeated transaction counted once, touches up to the first macro conversion,
variants. The people are streamed as the SQL readers stream theirs
(:mod:`convsdk.report.stream`): each visitor's row, their conversions and a converter's
arrivals are written to tables in visitor-id order, then read side by side a batch at a
time while the report counts them.

The database is a file in a temporary directory of its own, DuckDB's memory capped
(:mod:`.session`): what does not fit spills to that directory, which is removed when the
people are read, abandoned, or dropped unread. A whole report of five million events
(half a million visitors) peaked at 299 MB, with 490 MB on disk while it ran (3.4 GB
with the database in memory); the streaming reader's memory grows with the visitors
(1.3 GB there).

Same events, same report: every field's JSON type is checked in the scan, and a log
with a line that is not an event (a torn last line aside, skipped with a warning) or
with two different events under one id is handed over to the streaming reader, which
warns about each line and keeps the first of the two. (Two events under one id are
looked for among the events of the range: with one inside and the other outside,
this reader counts the one inside, where the streaming reader counts the first in the
files' order.)

``convsdk report`` uses it whenever the ``duckdb`` extra is installed (``--engine
auto``, the default, or ``duckdb``; ``python`` streams). On two cores the whole report
took 10.4 s against 13.1 s streamed on a million events (medians of three), 44 s
against 58 s on five million, in 264 and 301 MB against 297 MB and 1.3 GB. DuckDB's
scan is the part that grows with cores; it uses two at most (:data:`.session.THREADS`),
to keep within its memory.

Modules: :mod:`.tails` (the files' last lines), :mod:`.queries` (the SQL),
:mod:`.session` (the database and its queries), :mod:`.fold` (rows to a dataset) and
:mod:`.reader` (:class:`DuckReader`).
"""

from __future__ import annotations

from .reader import DuckReader, require_duckdb

__all__ = ["DuckReader", "require_duckdb"]
