"""``file://``: events as JSON Lines, one event (``Event.to_dict()``) a line, rotated by size.

::

    tracker = convsdk.Tracker(backend="file:///var/log/shop/events.jsonl?max_bytes=50000000")
    ...
    for event in read_events("/var/log/shop/events.jsonl"):
        print(event.timestamp, event.name, event.value)

URLs: everything between ``file://`` and ``?`` is the path (percent-decoded), so
``file:///var/log/events.jsonl`` is absolute and ``file://events.jsonl`` or
``file://./data/events.jsonl`` are relative to the working directory at construction.
Options, as keywords or query parameters: ``max_bytes`` (rotate before a batch would
take the file past it; default 100 MiB, 0 never rotates), ``backups`` (rotated files
kept, default 10) and ``fsync`` (``os.fsync`` after every batch, default off).

Rotated files are numbered like :class:`logging.handlers.RotatingFileHandler` and
logrotate name them: ``events.jsonl.1`` is the newest, ``events.jsonl.N`` the oldest,
and anything past ``backups`` is deleted. Numbered rather than timestamped because the
set of files is then fixed and predictable for operators and log shippers; the renames
do not disturb readers, since :func:`read_events` opens every file before it reads one.

Each batch is serialised in full, then written with a single ``write`` in append mode,
so a batch is never split between files nor interleaved with another writer's. Several
processes (pre-forked web workers) may share one file: before each batch a writer checks
that the path still names the file it holds open and follows it if another process (or
logrotate) rotated it. Rotation itself is not locked between processes, so two workers
rotating at once can leave a short file; no event is lost beyond the ``backups`` limit.

An erasure (``convsdk forget``) rewrites the files without some people's lines: it holds
the current file's lock (``flock``) exclusively meanwhile, and each batch is appended
under that lock shared, so a writer waits, then follows the new file.

The package: :mod:`.backend` (the writer), :mod:`.lines` (a batch as JSON Lines),
:mod:`.rotation` (numbered files, renames), :mod:`.reader` (reading them back),
:mod:`.locking` (the writers' and the eraser's lock), :mod:`.erase` (erasure).
"""

from __future__ import annotations

from ..options import bool_option, float_option, int_option
from .backend import DEFAULT_BACKUPS, DEFAULT_MAX_BYTES, FileBackend
from .reader import read_events

__all__ = ["DEFAULT_BACKUPS", "DEFAULT_MAX_BYTES", "FileBackend", "read_events"]

# Kept importable from here, where they used to live.
__all__ += ["bool_option", "float_option", "int_option"]
