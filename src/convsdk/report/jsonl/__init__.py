"""JSON Lines logs (the ``file://`` backend): streamed in two passes, never loaded.

The log is the file and its rotated siblings, oldest first (``events.jsonl.N`` ...
``events.jsonl.1``, then ``events.jsonl``), as :class:`convsdk.backends.file.FileBackend`
writes them. Events re-sent after a failed delivery appear twice and count once:

1. the first pass reads only event ids (sliced out of each line, not parsed) into a bit
   set of about one byte per seventy bytes of log; an id whose bit is already set may be
   a repeat and becomes a *candidate*;
2. the second pass parses the events, and remembers exact ids for candidates only.

Memory therefore grows with the number of visitors (and of transactions), not with the
size of the log; and a log larger than :data:`~.parts.PART_BYTES` (1 GiB, about two
million events) is read in parts, each holding a share of the people (:mod:`.parts`), so
that a larger log takes more passes, not more memory.
:func:`convsdk.backends.file.read_events` reads the same files with the same rules, as
:class:`~convsdk.Event` objects; this reader keeps to plain dicts and byte offsets
because a report reads millions of events, and a progress bar wants bytes.

A torn last line (a crash mid-write) or a line that is not an event is skipped with a
warning on the ``convsdk.report`` logger.

Modules: :mod:`.lines` (blocks of lines, event ids), :mod:`.candidates` (the first pass),
:mod:`.events` (parsing a line), :mod:`.state` (one visitor while streaming),
:mod:`.shared` (the values many visitors share, kept once), :mod:`.parts` (a large
log read in parts),
:mod:`.fold` (the second pass; also what folds events from any source, see
:mod:`convsdk.report.events`), :mod:`.summaries` (the visitors' states made into the
report's people) and :mod:`.reader` (:class:`FileReader`).
"""

from __future__ import annotations

from .reader import FileReader

__all__ = ["FileReader"]
