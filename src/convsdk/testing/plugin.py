"""The pytest fixtures: ``convsdk_events`` (the events a test records) and
``convsdk_tracker_options`` (a test module's options for the capturing tracker)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from .capture import CapturedEvents

__all__ = ["convsdk_events", "convsdk_tracker_options"]


@pytest.fixture
def convsdk_tracker_options() -> dict[str, Any]:
    """Extra :class:`~convsdk.Tracker` options for ``convsdk_events``; override to set some."""
    return {}


@pytest.fixture
def convsdk_events(convsdk_tracker_options: Mapping[str, Any]) -> Iterator[CapturedEvents]:
    """The events this test records (a :class:`CapturedEvents`), via an in-memory tracker.

    >>> def test_signup(client, convsdk_events):
    ...     client.post("/signup", data={"email": "a@example.com"})
    ...     assert convsdk_events.micro("signup")
    """
    from .capture import capture_events  # here: a run that never asks pays nothing

    with capture_events(**dict(convsdk_tracker_options)) as captured:
        yield captured
