"""Replay: delivering what waits in the spool, oldest segment first, once the backend
answers (a segment only partly sent keeps its undelivered rest for later)."""

from __future__ import annotations

import logging
import time

from ..event import Event
from .claim import Claim
from .sender import ABANDONED, FAILED, FINAL, OK, Sender
from .spool import Spool

__all__ = ["Replayer"]

log = logging.getLogger("convsdk.dispatch")


class Replayer:
    """Replays ``spool`` through ``sender`` in batches of ``batch_size``."""

    def __init__(self, spool: Spool, sender: Sender, batch_size: int) -> None:
        self.spool = spool
        self.sender = sender
        self.batch_size = batch_size

    def replay_all(self, until: float) -> bool:
        """Replay every claimable segment (ours sealed first) until ``until``."""
        self.spool.seal()
        while time.monotonic() < until:
            claim = self.spool.claim_next()
            if claim is None:
                self.sender.keeper.pending = False
                return True
            if not self.replay(claim, until):
                return False
        return False

    def replay_next(self) -> None:
        """Replay the oldest claimable segment, if any (else nothing is pending)."""
        claim = self.spool.claim_next()
        if claim is None:
            self.sender.keeper.pending = False
        else:
            self.replay(claim, None)

    def replay(self, claim: Claim, until: float | None) -> bool:
        """Deliver a claimed segment; True when all of it was handled and it is gone."""
        try:
            sent = 0
            for batch in claim.batches(self.batch_size):
                events = [event for _, event in batch]
                if self._send(events, until):
                    sent += len(events)
                    continue
                if self.sender.abandoned or sent == 0:
                    claim.release()  # nothing sent yet: leave the file as it is
                else:
                    claim.keep([raw for raw, _ in batch])
                self._report(claim)
                return False
            self._report(claim)
            claim.finish()
            return True
        except Exception:
            claim.release()
            raise

    def _send(self, events: list[Event], until: float | None) -> bool:
        """Deliver one batch of a segment; True when it is handled (sent or dead-lettered)."""
        sender = self.sender
        sending, erased = sender.sift(events)
        if sender.abandoned or (until is not None and time.monotonic() > until):
            outcome, error = ABANDONED, None
        elif not sending:
            outcome, error = OK, None  # every one of them erased since
        else:
            outcome, error = sender.deliver(sending)
        if outcome == OK:
            sender.counters.delivered += len(sending)
            sender.counters.replayed += len(sending)
            sender.counters.erased += erased
            if sending:
                sender.recovered()
            return True
        if (
            outcome == FINAL
            and error is not None
            and sender.refused(sending, error, replaying=True)
        ):
            sender.counters.erased += erased
            return True
        if outcome == FAILED and error is not None:
            sender.degrade(error)
        return False

    def _report(self, claim: Claim) -> None:
        if claim.quarantined:
            log.error(
                "spool segment %s: %d events do not validate; set aside in %s",
                claim.path.name,
                claim.quarantined,
                self.spool.dead_letter_dir,
            )
            claim.quarantined = 0
        if claim.corrupt or claim.torn:
            log.warning(
                "spool segment %s: skipped %d unreadable lines and %d torn last lines",
                claim.path.name,
                claim.corrupt,
                claim.torn,
            )
