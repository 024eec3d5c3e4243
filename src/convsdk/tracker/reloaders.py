"""Development servers whose reloader kills the serving process: there, trackers are durable.

``flask run --debug`` (Werkzeug's reloader) and ``manage.py runserver`` (Django's
autoreloader) serve from a child process, which a parent process starts again when the
code changes. Stopped by anything but Ctrl+C in its terminal (SIGTERM from an IDE's
stop button, ``docker stop``, a process manager; SIGINT to the parent alone), the
parent kills the child with SIGKILL at once: its ``SIGTERM`` handler raises
``SystemExit`` while it waits for the child in :func:`subprocess.call` (or ``run``),
which kills the child on any exception. Ctrl+C gives the child a quarter of a second.
No handler runs in a killed process: what its tracker held in memory was lost.

So in such a child a tracker with a spool defaults to ``durable=True``: every event is
in the spool's write-ahead log when ``track()`` returns, and the next tracker on that
spool (the parent's, at its exit, or the next child's) delivers it. ``durable`` given
as an option or ``CONVSDK_DURABLE`` wins.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

__all__ = ["RELOADERS", "reloader_child"]

#: The variable each reloader sets to ``"true"`` in the child it serves from, and how
#: the log names it.
RELOADERS = (
    ("WERKZEUG_RUN_MAIN", "Werkzeug's reloader (flask run --debug)"),
    ("RUN_MAIN", "Django's autoreloader (manage.py runserver)"),
)


def reloader_child(environ: Mapping[str, str] | None = None) -> str | None:
    """The reloader this process serves under as its child (see :data:`RELOADERS`), or
    ``None``; ``environ`` defaults to ``os.environ``."""
    if environ is None:
        environ = os.environ
    for variable, name in RELOADERS:
        if environ.get(variable) == "true":
            return name
    return None
