"""Django's test runner, writing every test's outcome to ``FIELD_OUTCOMES`` (JSON).

``run_django.py`` has both runs of a suite use it (Wagtail's and Django's own) and
compares the two files: test id -> ``[outcome, first line of the failure]``.
"""

from __future__ import annotations

import json
import os
import unittest
from typing import Any

from django.test.runner import DiscoverRunner

_outcomes: dict[str, list[str]] = {}


def _first_line(err: Any) -> str:
    kind, value = err[0], err[1]
    lines = str(value).strip().splitlines()
    return f"{kind.__name__}: {lines[0] if lines else ''}"


class OutcomeResult(unittest.TextTestResult):
    """A text result that also notes each test's outcome."""

    def addSuccess(self, test: Any) -> None:  # noqa: N802 (unittest's names)
        super().addSuccess(test)
        _outcomes.setdefault(test.id(), ["passed", ""])

    def addFailure(self, test: Any, err: Any) -> None:  # noqa: N802
        super().addFailure(test, err)
        _outcomes[test.id()] = ["failed", _first_line(err)]

    def addError(self, test: Any, err: Any) -> None:  # noqa: N802
        super().addError(test, err)
        _outcomes[test.id()] = ["error", _first_line(err)]

    def addSkip(self, test: Any, reason: str) -> None:  # noqa: N802
        super().addSkip(test, reason)
        _outcomes[test.id()] = ["skipped", reason]

    def addExpectedFailure(self, test: Any, err: Any) -> None:  # noqa: N802
        super().addExpectedFailure(test, err)
        _outcomes[test.id()] = ["passed", "expected failure"]

    def addUnexpectedSuccess(self, test: Any) -> None:  # noqa: N802
        super().addUnexpectedSuccess(test)
        _outcomes[test.id()] = ["failed", "unexpected success"]

    def addSubTest(self, test: Any, subtest: Any, err: Any) -> None:  # noqa: N802
        super().addSubTest(test, subtest, err)
        if err is not None:
            failed = issubclass(err[0], test.failureException)
            _outcomes[test.id()] = ["failed" if failed else "error", _first_line(err)]


class Runner(DiscoverRunner):
    """Django's runner (one process: the outcomes are noted in it) with the result above."""

    def get_resultclass(self) -> Any:
        return OutcomeResult

    def run_suite(self, suite: Any, **kwargs: Any) -> Any:
        try:
            return super().run_suite(suite, **kwargs)
        finally:
            with open(os.environ["FIELD_OUTCOMES"], "w", encoding="utf-8") as out:
                json.dump(_outcomes, out)
