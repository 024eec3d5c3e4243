"""Where option values come from: keyword arguments, an app's ``CONVSDK_*`` config, the
environment, in that precedence; each checked by its type, an unknown name answered
with "did you mean"."""

from __future__ import annotations

import difflib
import logging
import os
from collections.abc import Iterable, Mapping
from typing import Any

from ..errors import ConfigError
from .definitions import (
    BY_VARIABLE,
    ENVIRONMENT_PREFIX,
    OPTIONS,
    OTHER_VARIABLES,
    TRACKER,
    Option,
    names,
)
from .types import check_bool, parse_bool

log = logging.getLogger("convsdk.options")


def did_you_mean(name: str, known: Iterable[str], prefix: str = "") -> str:
    """`` (did you mean X?)`` for the closest of ``known`` to ``name``, or ``""``.

    >>> did_you_mean("tabel", ["table", "timeout"])
    ' (did you mean table?)'
    """
    close = difflib.get_close_matches(name, sorted(known), n=1)
    return f" (did you mean {prefix}{close[0]}?)" if close else ""


def unknown_option(name: str, known: Iterable[str], *, source: str | None = None) -> ConfigError:
    """The :class:`ConfigError` for an option nobody defines, with a "did you mean"."""
    return ConfigError(f"unknown option{did_you_mean(name, known)}", field=name, source=source)


def check(name: str, value: Any, *, source: str | None = None, field: str | None = None) -> Any:
    """``value`` (given in code) checked as option ``name``; :class:`ConfigError` if bad."""
    option = OPTIONS[name]
    try:
        return option.type.check(value)
    except ValueError as exc:
        raise ConfigError(str(exc), field=field or name, source=source) from None


def _from_text(option: Option, key: str, value: Any, source: str) -> Any:
    try:
        if isinstance(value, str) and option.type.parse is not None:
            value = option.type.parse(value)
        return option.type.check(value)
    except ValueError as exc:
        raise ConfigError(str(exc), field=key, source=source) from None


def _disabled(mapping: Mapping[str, Any], source: str) -> bool | None:
    """``CONVSDK_DISABLED`` of ``mapping`` as ``enabled``, or None when absent."""
    if "CONVSDK_DISABLED" not in mapping:
        return None
    value = mapping["CONVSDK_DISABLED"]
    try:
        return not (parse_bool(value) if isinstance(value, str) else check_bool(value))
    except ValueError as exc:
        raise ConfigError(str(exc), field="CONVSDK_DISABLED", source=source) from None


def from_mapping(
    mapping: Mapping[str, Any], groups: Iterable[str], *, source: str, strict: bool = True
) -> dict[str, Any]:
    """The options of ``groups`` a ``CONVSDK_*`` mapping (app config, environment) sets.

    Text values are parsed by the option's type; a bad value is a :class:`ConfigError`
    naming the key and ``source``. With ``strict``, a ``CONVSDK_*`` key no option has
    is a :class:`ConfigError` too (with "did you mean"); otherwise it is logged once.
    """
    wanted = set(groups)
    found: dict[str, Any] = {}
    for key, value in mapping.items():
        if not isinstance(key, str) or not key.startswith(ENVIRONMENT_PREFIX):
            continue
        option = BY_VARIABLE.get(key)
        if option is None:
            if key not in OTHER_VARIABLES:
                _unknown_key(key, source, strict)
            continue
        if option.groups & wanted:
            found[option.name] = _from_text(option, key, value, source)
    if TRACKER in wanted:
        enabled = _disabled(mapping, source)
        if enabled is not None:
            if found.get("enabled", enabled) != enabled:
                raise ConfigError(
                    "CONVSDK_ENABLED and CONVSDK_DISABLED disagree",
                    field="CONVSDK_DISABLED",
                    source=source,
                )
            found["enabled"] = enabled
    return found


_warned: set[str] = set()


def _unknown_key(key: str, source: str, strict: bool) -> None:
    known = [*BY_VARIABLE, *OTHER_VARIABLES]
    hint = did_you_mean(key, known)
    if strict:
        raise ConfigError(f"unknown option{hint}", field=key, source=source)
    if key not in _warned:  # the environment is shared with other programs: only a warning
        _warned.add(key)
        log.warning("unknown environment variable %s ignored%s", key, hint)


def resolve(
    groups: Iterable[str],
    given: Mapping[str, Any],
    *,
    config: Mapping[str, Any] | None = None,
    config_source: str = "config",
    environ: Mapping[str, str] | None = None,
    skip_environ: Iterable[str] = (),
    accept: Iterable[str] = (),
) -> dict[str, Any]:
    """The options of ``groups`` set by ``given`` (keyword arguments), ``config`` (a
    ``CONVSDK_*`` mapping) or ``environ`` (default: ``os.environ``), in that precedence.

    Options nobody set are left out (see :func:`defaults`). A keyword no option of
    ``groups`` has (nor one of ``accept``) is a :class:`ConfigError` with "did you mean";
    ``None`` given for an option whose default is ``None`` counts as not given.
    ``skip_environ`` names options not read from the environment.
    """
    wanted = list(groups)
    known = set(names(*wanted)) | set(accept)
    found: dict[str, Any] = {}
    for name, value in given.items():
        if name not in known:
            raise unknown_option(name, known)
        option = OPTIONS.get(name)
        if option is None or name in accept:
            found[name] = value
        elif value is not None or option.default is not None:
            found[name] = check(name, value)
    if config is not None:
        for name, value in from_mapping(config, wanted, source=config_source).items():
            found.setdefault(name, value)
    env = os.environ if environ is None else environ
    skip = set(skip_environ)
    for name, value in from_mapping(env, wanted, source="environment", strict=False).items():
        if name not in skip:
            found.setdefault(name, value)
    return found
