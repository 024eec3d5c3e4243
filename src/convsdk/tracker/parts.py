"""The working parts of a recording tracker, built from its settings: the backend, the
spool and the dispatcher that ships batches from a background thread."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from ..backends import Backend, from_url
from ..dispatch import Dispatcher
from ..errors import ConfigError
from ..spool import Spool


def check_writable(directory: str | None) -> None:
    """Create ``directory`` if needed; :class:`~convsdk.ConfigError` unless writable."""
    assert directory is not None
    try:
        os.makedirs(directory, mode=0o700, exist_ok=True)
    except OSError as exc:
        raise ConfigError(
            f"cannot create {directory}: {exc.strerror or exc}", field="spool_dir"
        ) from exc
    if not os.path.isdir(directory) or not os.access(directory, os.W_OK | os.X_OK):
        raise ConfigError(f"{directory} is not a writable directory", field="spool_dir")


def build(values: Mapping[str, Any]) -> tuple[Backend, Dispatcher]:
    """The backend and the dispatcher (with its spool) of a tracker with ``values``
    (see :func:`convsdk.tracker.config.settings`)."""
    spool_dir = values["spool_dir"]
    if values["durable"]:
        check_writable(spool_dir)  # durability must not fail at the first track()
    backend = values["backend"]
    if isinstance(backend, str):
        backend = from_url(backend)
    spool = None
    if spool_dir is not None:
        spool = Spool(
            spool_dir, max_bytes=values["max_spool_bytes"], fsync=values["fsync"] == "batch"
        )
    dispatcher = Dispatcher(
        backend,
        batch_size=values["batch_size"],
        flush_interval=values["flush_interval"],
        max_queue_size=values["max_queue_size"],
        max_retries=values["max_retries"],
        retry_max_delay=values["retry_max_delay"],
        retry_timeout=values["retry_timeout"],
        spool=spool,
        durable=values["durable"],
        backpressure=values["backpressure"],
        shutdown_timeout=values["shutdown_timeout"],
    )
    return backend, dispatcher
