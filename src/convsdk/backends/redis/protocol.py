"""``XADD`` on the wire: a batch encoded as RESP by hand, sent in one write, and every
reply read back (one round trip a batch)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import redis

from ...errors import BackendError
from ...event import Event

__all__ = ["BACKEND", "pack", "send", "xadd_head"]

#: The name errors give the backend.
BACKEND = "redis"


# Error replies that mean "not now" rather than "never": the server is loading, out of
# memory, read-only during a failover...
def xadd_head(stream: str, maxlen: int) -> bytes:
    """The RESP bytes every XADD of this backend starts with, up to the event id value."""
    args = [b"XADD", stream.encode()]
    if maxlen:
        args += [b"MAXLEN", b"~", str(maxlen).encode()]
    args += [b"*", b"event_id"]
    # + 3: the event id value, "data" and the data value complete the command.
    head = b"*%d\r\n" % (len(args) + 3)
    return head + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args)


def pack(head: bytes, events: Sequence[Event]) -> bytes:
    """One ``XADD`` (starting with ``head``) an event, as the bytes to send."""
    # The RESP encoding of XADD, written by hand: the command never changes shape,
    # and redis-py's generic packer would take more time than everything else here
    # put together.
    parts: list[bytes] = []
    append = parts.append
    for event in events:
        eid = event.event_id.encode()
        data = event.to_json()
        append(
            b"%s$%d\r\n%s\r\n$4\r\ndata\r\n$%d\r\n%s\r\n" % (head, len(eid), eid, len(data), data)
        )
    return b"".join(parts)


def send(pool: redis.ConnectionPool, payload: bytes, count: int) -> None:
    """Send ``payload`` (``count`` commands) on a pooled connection and read every reply;
    raise a BackendError if the connection failed or any command did."""
    try:
        # Typed as Any: redis-py leaves the Connection methods used here unannotated.
        conn: Any = pool.get_connection()
    except redis.RedisError as exc:  # refused, timed out, or the server said no
        raise BackendError(f"cannot connect: {exc}", backend=BACKEND) from exc
    try:
        conn.send_packed_command([payload])
        error: redis.ResponseError | None = None
        failed = 0
        for _ in range(count):
            try:
                conn.read_response()
            except redis.ResponseError as exc:  # the reply was read: carry on reading
                error = error or exc
                failed += 1
    except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
        # Replies may be left unread on the socket: never reuse this connection.
        conn.disconnect()
        raise BackendError(f"connection lost: {exc}", backend=BACKEND) from exc
    except Exception:
        conn.disconnect()
        raise
    finally:
        pool.release(conn)
    if error is not None:
        message = str(error)
        raise BackendError(
            f"{failed} of {count} XADD failed: {message}",
            backend=BACKEND,
            # Retryable, whatever the reply: a reply refuses the store's state or
            # configuration (a key of another type, a read-only replica, memory), which
            # can be fixed while the events wait in the spool; XADD's payload itself is
            # one convsdk built and the server accepts.
            retryable=True,
        )
