"""Shared fixtures: an in-memory tracker made the default for the test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import convsdk
from convsdk.backends.memory import MemoryBackend
from trackers import default_tracker

# Starlette's, FastAPI's and Wagtail's own suites with the middleware: `make field`, not
# `make test`.
collect_ignore = ["field"]


@pytest.fixture
def memory() -> MemoryBackend:
    return MemoryBackend()


@pytest.fixture
def tracker(memory: MemoryBackend) -> Iterator[convsdk.Tracker]:
    """A tracker writing to memory, made the default; closed after the test."""
    with default_tracker(memory, flush_interval=0.05) as t:
        yield t
