"""State to renew when AWS Lambda SnapStart resumes a function from a snapshot.

With SnapStart, Lambda runs a function's initialisation once, snapshots the process,
and resumes every new execution environment from that snapshot: whatever was meant
to be unique and was made before the snapshot (a random generator's state, ids
minted ahead) would be the same in each of them. The modules holding such state
register a renewal here, next to the one they register for a forked child. They run
through Lambda's ``snapshot_restore_py`` hooks, which exist only on Lambda's Python
runtimes (and wherever the ``snapshot-restore-py`` package is installed).
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["after_restore"]


def after_restore(renew: Callable[[], object]) -> None:
    """Have ``renew`` run when this process resumes from a Lambda snapshot."""
    try:
        from snapshot_restore_py import register_after_restore
    except ImportError:  # not on Lambda's runtime: nothing resumes from a snapshot
        return
    register_after_restore(renew)
