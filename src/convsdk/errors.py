"""The exceptions convsdk raises.

Every error derives from :class:`ConvSDKError`::

    ConvSDKError
    ├── ConfigError     bad configuration, raised at construction
    └── BackendError    a backend could not store a batch

Each carries what a user needs to fix the problem as attributes.
"""

from __future__ import annotations

__all__ = ["BackendError", "ConfigError", "ConvSDKError", "missing_extra"]


class ConvSDKError(Exception):
    """Root of every exception convsdk raises on purpose."""


class ConfigError(ConvSDKError, ValueError):
    """Bad configuration: an unknown backend scheme, an invalid goal file, a bad option.

    ``field`` names the option or goal-file field at fault, ``source`` the file
    (or URL) it came from, and ``goal`` the goal whose definition is wrong;
    ``reason`` is the message without them.
    """

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        source: str | None = None,
        goal: str | None = None,
    ) -> None:
        self.reason = message
        self.field = field
        self.source = source
        self.goal = goal
        parts = []
        if source:
            parts.append(source)
        if goal:
            parts.append(f"goal {goal!r}")
        if field:
            parts.append(f"field {field!r}")
        prefix = ": ".join(parts)
        super().__init__(f"{prefix}: {message}" if prefix else message)


class BackendError(ConvSDKError):
    """A backend failed to store a batch.

    ``retryable=False`` tells the dispatcher that sending the same batch again
    cannot succeed (an HTTP 4xx, a payload the server rejects), so the batch is
    dead-lettered instead of retried. ``retry_after`` (seconds) is the delay the
    server asked for, when it said one.
    """

    def __init__(
        self,
        message: str,
        *,
        backend: str | None = None,
        retryable: bool = True,
        retry_after: float | None = None,
    ) -> None:
        self.backend = backend
        self.retryable = retryable
        self.retry_after = retry_after
        # A message that already starts with the backend's URL names it: no "redis: redis://".
        named = not backend or message.lower().startswith(f"{backend.lower()}:")
        super().__init__(message if named else f"{backend}: {message}")


def missing_extra(
    what: str, extra: str, exc: ImportError, *, field: str | None = None, source: str | None = None
) -> ConfigError:
    """The one error for a part whose optional dependencies are not installed.

    >>> print(missing_extra("convsdk collect", "collector", ImportError(name="uvicorn")))
    convsdk collect needs the 'collector' extra (uvicorn is not installed); run: pip ...
    """
    missing = exc.name.partition(".")[0] if exc.name else str(exc)
    return ConfigError(
        f"{what} needs the {extra!r} extra ({missing} is not installed); "
        f"run: pip install 'convsdk[{extra}]'",
        field=field,
        source=source,
    )
