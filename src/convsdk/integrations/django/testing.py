"""Django's test runner: ``self.convsdk_events``, as pytest's ``convsdk_events`` fixture.

::

    from django.test import TestCase
    from convsdk.integrations.django.testing import ConvSDKTestMixin

    class SignupTests(ConvSDKTestMixin, TestCase):
        def test_signup(self):
            self.client.post("/signup/", {"email": "ada@example.com"})
            self.assertEqual(self.convsdk_events.macro("signup").goal, "signup")

For each test every tracker's events go to memory (see
:func:`convsdk.testing.capture_events`); nothing reaches the project's store. Under
pytest (pytest-django included) ask for the ``convsdk_events`` fixture instead.
"""

from __future__ import annotations

import unittest
from typing import Any, ClassVar

from ...testing import CapturedEvents, capture_events

__all__ = ["ConvSDKTestMixin"]


class ConvSDKTestMixin(unittest.TestCase):
    """Captures each test's events in ``self.convsdk_events``; list it before Django's
    test case class. ``convsdk_tracker_options``: :class:`~convsdk.Tracker` keyword
    arguments for the capturing tracker (``{"goals": "goals.toml"}``, say)."""

    convsdk_tracker_options: ClassVar[dict[str, Any]] = {}
    convsdk_events: CapturedEvents

    def setUp(self) -> None:
        """Start capturing (stopped after the test, its cleanups included)."""
        super().setUp()
        self.convsdk_events = self.enterContext(capture_events(**self.convsdk_tracker_options))
