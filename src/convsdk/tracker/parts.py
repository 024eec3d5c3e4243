"""The working parts of a recording tracker, built from its settings: its backends, and
the fan-out of their dispatchers (each with its own spool, matched to it by the record
in the spool directory: :mod:`convsdk.fanout.spools`) that ships batches from
background threads."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from ..backends import Backend
from ..dispatch import Dispatcher
from ..errors import ConfigError
from ..fanout.entries import Entry, entries
from ..fanout.fanout import FanOut, Lane
from ..fanout.hooks import GuardedHook
from ..fanout.spools import match
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


def build(values: Mapping[str, Any]) -> tuple[list[Backend], FanOut]:
    """The backends and the fan-out of their dispatchers (each with its spool) of a
    tracker with ``values`` (see :func:`convsdk.tracker.config.settings`)."""
    if values["durable"]:
        check_writable(values["spool_dir"])  # durability must not fail at the first track()
    backends: list[Backend] = []
    built: list[Backend] = []  # from a URL here: this tracker's to close if one fails
    lanes: list[Lane] = []
    found = entries(values["backend"])
    spool_dir = values["spool_dir"]
    spools = match(found, spool_dir) if spool_dir is not None else None
    directories = spools.directories if spools is not None else [None] * len(found)
    try:
        for entry, directory in zip(found, directories, strict=True):
            backend = entry.destination.open()
            backends.append(backend)
            if isinstance(entry.destination.target, str):
                built.append(backend)
            lanes.append(_lane(entry, backend, directory, values))
    except Exception:
        for backend in built:
            backend.close()
        raise
    hook = values["before_send"]
    shared = GuardedHook(hook, "the tracker") if hook is not None else None
    orphaned = spools.orphaned if spools is not None else {}
    return backends, FanOut(lanes, shared, values["shutdown_timeout"], orphaned=orphaned)


def _lane(entry: Entry, backend: Backend, directory: str | None, values: Mapping[str, Any]) -> Lane:
    spool = None
    if directory is not None:
        spool = Spool(
            directory,
            max_bytes=values["max_spool_bytes"],
            fsync=values["fsync"] == "batch",
            owner=entry.key,
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
        name=entry.name,
    )
    hook = entry.destination.before_send
    guarded = GuardedHook(hook, entry.name) if hook is not None else None
    return Lane(entry.name, dispatcher, entry.destination.route(backend), guarded)
