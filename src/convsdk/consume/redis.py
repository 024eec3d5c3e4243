"""Reading a Redis stream through a consumer group: pending entries first, then new
ones, and entries other consumers left unacknowledged claimed after a while."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from itertools import islice
from typing import Any

from .._urls import redact_url
from ..errors import BackendError
from .message import Message, missing_stream

__all__ = ["RedisSource"]

logger = logging.getLogger("convsdk.consume")


class RedisSource:
    """A Redis stream read through a consumer group (``XREADGROUP`` / ``XACK``)."""

    def __init__(
        self, url: str, group: str, consumer: str, claim_idle: float, *, create: bool = False
    ) -> None:
        import redis

        from ..backends.redis import RedisBackend

        self._errors = redis
        self._backend = RedisBackend.from_url(url)
        self._client = self._backend.client
        self._key = self._backend.stream
        self._where = redact_url(url)
        self._group = group
        self._consumer = consumer
        self._group_ready = False
        # The stream must exist when the consumer starts, unless asked to create it;
        # later (Redis restarted empty, the key deleted) it is created again.
        self._may_create = create
        # Entries this consumer read before and never acknowledged come first: "0"
        # asks for its pending list, ">" for entries nobody was given yet.
        self._pending_after: str | None = "0"
        # Entries another consumer read and left unacknowledged for claim_idle seconds
        # (it died, or was renamed) are claimed (XAUTOCLAIM): they would wait for ever.
        self._claim_idle_ms = max(0, int(claim_idle * 1000))
        self._claim_from = "0-0"
        self._next_claim = 0.0

    def read(self, count: int, wait: float) -> list[Message]:
        try:
            if not self._group_ready:
                self._create_group()
            if self._pending_after is not None:
                messages = self._xreadgroup(self._pending_after, count, None)
                if messages:
                    self._pending_after = messages[-1].ref
                    return messages
                self._pending_after = None
            if time.monotonic() >= self._next_claim:
                claimed = self._claim(count)
                if claimed:
                    return claimed
            return self._xreadgroup(">", count, max(1, int(wait * 1000)))
        except self._errors.ResponseError as exc:
            if str(exc).startswith("NOGROUP"):  # the key was deleted (or Redis restarted)
                self._group_ready = False
                self._pending_after = "0"
                raise BackendError(str(exc), backend="redis") from exc
            raise BackendError(str(exc), backend="redis", retryable=False) from exc
        except self._errors.RedisError as exc:
            raise BackendError(str(exc), backend="redis") from exc

    def ack(self, messages: Sequence[Message]) -> None:
        try:
            self._client.xack(self._key, self._group, *(m.ref for m in messages))
        except self._errors.RedisError as exc:
            raise BackendError(str(exc), backend="redis") from exc

    def close(self) -> None:
        self._backend.close()

    def _create_group(self) -> None:
        if not self._may_create and not self._client.exists(self._key):
            streams = self._client.scan_iter(count=1000, _type="STREAM")
            names = (k.decode("utf-8", "replace") if isinstance(k, bytes) else k for k in streams)
            raise missing_stream(self._key, self._where, islice(names, 1000))
        try:
            # From "0": events the site wrote before the first consumer started count too.
            self._client.xgroup_create(self._key, self._group, id="0", mkstream=True)
            logger.info("created consumer group %s on %s", self._group, self._key)
        except self._errors.ResponseError as exc:
            if not str(exc).startswith("BUSYGROUP"):
                raise
        self._group_ready = True
        self._may_create = True

    def _claim(self, count: int) -> list[Message]:
        try:
            reply: Any = self._client.xautoclaim(
                self._key,
                self._group,
                self._consumer,
                self._claim_idle_ms,
                start_id=self._claim_from,
                count=count,
            )
        except self._errors.ResponseError as exc:
            if "unknown command" not in str(exc).lower():
                raise
            logger.warning(
                "Redis before 6.2 has no XAUTOCLAIM: entries other consumers "
                "left unacknowledged are not claimed"
            )
            self._next_claim = float("inf")
            return []
        cursor, entries = reply[0], reply[1]
        self._claim_from = cursor.decode() if isinstance(cursor, bytes) else str(cursor)
        if self._claim_from == "0-0":  # went through the whole pending list: rest a while
            self._next_claim = time.monotonic() + max(1.0, min(60.0, self._claim_idle_ms / 1000))
        messages = self._messages([entries])
        if messages:
            logger.warning("claimed %d entries another consumer left unacknowledged", len(messages))
        return messages

    def _xreadgroup(self, after: str, count: int, block_ms: int | None) -> list[Message]:
        reply: Any = self._client.xreadgroup(
            self._group, self._consumer, {self._key: after}, count=count, block=block_ms
        )
        if not reply:
            return []
        # RESP2: [[key, entries]]; RESP3 (redis-py): {key: [entries]}
        if isinstance(reply, dict):
            streams = [wrapped[0] if wrapped else [] for wrapped in reply.values()]
        else:
            streams = [item[1] for item in reply]
        return self._messages(streams)

    def _messages(self, streams: Sequence[Any]) -> list[Message]:
        messages = []
        for entries in streams:
            for entry_id, fields in entries:
                ref = entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)
                data = fields.get(b"data") if fields else None
                messages.append(Message(ref, data, f"{self._key}/{ref}"))
        return messages
