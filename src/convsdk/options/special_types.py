"""The types of single options: fsync, the secret key, the currency, the backend, the
goals, callables and the browser-event rate limit."""

from __future__ import annotations

from typing import Any

from ..event import check_currency
from .types import FALSE_WORDS, TRUE_WORDS, Type, parse_bool


def _fsync_check(value: Any) -> str:
    if value is True or value == "batch":
        return "batch"
    if value is False or value == "never":
        return "never"
    raise ValueError(f"must be 'never', 'batch' or a bool, got {value!r}")


def _fsync_parse(text: str) -> str:
    word = text.strip().lower()
    if word in TRUE_WORDS or word in FALSE_WORDS - {""}:
        return _fsync_check(parse_bool(word))
    return _fsync_check(word)


def _secret_check(value: Any) -> str | bytes | None:
    if value is not None and not isinstance(value, str | bytes):
        raise ValueError("must be a string or bytes")
    return value or None


def _currency_check(value: Any) -> str:
    try:
        return check_currency(value)
    except ValueError:
        raise ValueError(f"must be a three-letter ISO 4217 code, got {value!r}") from None


def _is_backend(value: Any) -> bool:
    return callable(getattr(value, "write", None)) and callable(getattr(value, "close", None))


def _backend_check(value: Any) -> Any:
    """A URL, a backend, or a list of URLs, backends and ``convsdk.Destination`` objects
    (whose entries :mod:`convsdk.fanout.entries` checks: it knows ``Destination``)."""
    if isinstance(value, str) or _is_backend(value):
        return value
    if isinstance(value, list | tuple):
        if not value:
            raise ValueError("the list is empty: name at least one backend")
        return tuple(value)
    if hasattr(value, "forward") and hasattr(value, "sample_page_views"):
        return value  # a Destination
    raise ValueError(
        f"must be a backend URL, an object with write() and close(), a Destination, "
        f"or a list of them, got {value!r}"
    )


def _backend_parse(text: str) -> str | tuple[str, ...]:
    """One URL, or several separated by commas or spaces; a comma inside a URL's query
    (``?forward=purchase,signup``) stays there: a piece without ``://`` continues the
    URL before it."""
    urls: list[str] = []
    for word in text.split():
        for piece in word.split(","):
            if urls and "://" not in piece:
                urls[-1] = f"{urls[-1]},{piece}" if piece else urls[-1]
            elif piece:
                urls.append(piece)
    if not urls:
        return text.strip()
    return urls[0] if len(urls) == 1 else tuple(urls)


def _callable_check(value: Any) -> Any:
    if value is not None and not callable(value):
        raise ValueError(f"must be a callable, got {value!r}")
    return value


def _rate_limit_parse(text: str) -> tuple[int, float] | None:
    word = text.strip().lower()
    if word in ("", "none", "off"):
        return None
    events, slash, per = word.partition("/")
    try:
        return int(events), float(per) if slash else 60.0
    except ValueError:
        raise ValueError(f"must be EVENTS/SECONDS (e.g. 60/60) or none, got {text!r}") from None


def _goals_parse(text: str) -> Any:
    return text.strip() or ()


FSYNC = Type("fsync", _fsync_check, _fsync_parse)
SECRET = Type("secret", _secret_check, lambda text: text or None)
CURRENCY = Type("currency", _currency_check, _currency_check)
BACKEND = Type("backend", _backend_check, _backend_parse)
GOALS = Type("goals", lambda value: value, _goals_parse)  # checked by goals.resolve_goals
CALLABLE = Type("callable", _callable_check)
RATE_LIMIT = Type("rate limit", lambda value: value, _rate_limit_parse)  # checked by beacon
