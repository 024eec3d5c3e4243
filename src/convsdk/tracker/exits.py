"""Processes that end with ``os._exit``, where ``atexit`` never runs: the live trackers
are closed through the exit hooks those processes do run.

- A child of :mod:`multiprocessing` (``Process``, ``Pool``, ``ProcessPoolExecutor``)
  ends with ``os._exit`` once its target returns, after running the finalizers of
  ``multiprocessing.util`` that have an exit priority: one of them closes the trackers.
  A forked child starts with none (``multiprocessing`` clears them), so it is added
  again there, by an after-fork callback of ``multiprocessing.util``.
- A process of Celery's prefork pool ends with ``os._exit`` after sending
  ``worker_process_shutdown`` (it is recycled by ``--max-tasks-per-child``, or the
  worker stops): a receiver closes them.

:func:`watch` sets these up once a tracker exists, for the libraries already imported;
each forked child looks again (a library imported after the tracker was made).
Without them, everything a task or a child process tracked in its last
``flush_interval`` was lost, uncounted. Processes ended by ``os._exit`` with no hook at
all (RQ's work horse) need their runner's integration (:mod:`convsdk.integrations.rq`)
or ``convsdk.close()`` at the end of the job, as the README says.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from typing import Any

__all__ = ["watch"]

log = logging.getLogger("convsdk.tracker")

# Closes the live trackers (the registry's close_all); set by the first watch().
_close: Callable[[], None] | None = None
# The process whose multiprocessing finalizer is registered (a child starts with none).
_finalizer_pid: int | None = None
# Inherited by forked children, as multiprocessing's after-fork callbacks are.
_after_fork_registered = False
_celery_connected = False
# Exit priority of the finalizer: before multiprocessing's own (queues, pipes: 0 or less).
_PRIORITY = 10


class _Mark:
    """What ``multiprocessing.util.register_after_fork`` keys our callback by (it keeps
    the object weakly: this one lives in the module)."""


_MARK = _Mark()


def watch(close: Callable[[], None]) -> None:
    """Have ``close`` run when this process (or a child of it) ends through one of the
    hooks above."""
    global _close
    _close = close
    _hook()


def _hook() -> None:
    util = sys.modules.get("multiprocessing.util")
    if util is not None:
        _hook_multiprocessing(util)
    signals = sys.modules.get("celery.signals")
    if signals is not None:
        _hook_celery(signals)


def _hook_multiprocessing(util: Any) -> None:
    global _after_fork_registered
    if not _after_fork_registered:
        _after_fork_registered = True
        util.register_after_fork(_MARK, _in_multiprocessing_child)
    process = sys.modules.get("multiprocessing.process")
    if process is not None and process.parent_process() is not None:
        _finalize(util)  # a child already started (spawned, or forked before the tracker)


def _in_multiprocessing_child(_: _Mark) -> None:
    util = sys.modules.get("multiprocessing.util")
    if util is not None:
        _finalize(util, again=True)  # the child's finalizers were just cleared


def _finalize(util: Any, *, again: bool = False) -> None:
    global _finalizer_pid
    pid = os.getpid()
    if again or _finalizer_pid != pid:
        _finalizer_pid = pid
        util.Finalize(None, _closing, exitpriority=_PRIORITY)


def _hook_celery(signals: Any) -> None:
    global _celery_connected
    if not _celery_connected:
        _celery_connected = True
        signals.worker_process_shutdown.connect(
            _on_celery_shutdown, weak=False, dispatch_uid="convsdk.close"
        )


def _on_celery_shutdown(**_: Any) -> None:
    _closing()


def _closing() -> None:
    if _close is None:
        return
    try:
        _close()
    except Exception:
        log.exception("closing the trackers at the end of a process failed")


def _after_fork_in_child() -> None:
    if _close is not None:  # a tracker was made here, before the fork
        _hook()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
