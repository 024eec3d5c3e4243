"""RQ: what a job tracks is delivered before its work horse ends.

RQ's default worker forks a work horse for each job, and the horse ends with
``os._exit`` as soon as the job is done: no exit handler runs there, so whatever the
job tracked in its last ``flush_interval`` (a purchase confirmed by a payment webhook,
say) was lost, uncounted. This worker class closes the horse's trackers after each job,
bounded by their ``shutdown_timeout`` (what is not delivered by then goes to the
spool)::

    rq worker --worker-class convsdk.integrations.rq.Worker

``rq.SimpleWorker`` runs jobs in the worker process itself, which ends normally: it
needs nothing. (Celery's pool processes and :mod:`multiprocessing`'s children end with
``os._exit`` too, but after hooks of their own, where convsdk closes the trackers with
nothing to set up: see :mod:`convsdk.tracker.exits`.)
"""

from __future__ import annotations

import os
from typing import Any

from rq.worker import Worker as RQWorker

from ..tracker.registry import close_all

__all__ = ["Worker"]


class Worker(RQWorker):
    """RQ's ``Worker`` whose work horse closes convsdk's trackers after each job."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.convsdk_pid = os.getpid()

    def perform_job(self, *args: Any, **kwargs: Any) -> bool:
        """RQ's ``perform_job``; then, in a work horse, the trackers are closed."""
        try:
            done: bool = super().perform_job(*args, **kwargs)
        finally:
            if os.getpid() != self.convsdk_pid:  # the horse: os._exit comes next
                close_all()
        return done
