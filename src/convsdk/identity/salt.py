"""Cookieless visitor ids: a keyed hash under a random salt that changes every UTC day.

The salt is what makes a cookieless id stable for a day and unlinkable after it. It
must be the same in every process that serves the site: a visitor whose requests
reach several worker processes (gunicorn, uWSGI) would otherwise be a new visitor in
each, and a funnel from one page to the next would break between them. So with a
directory (the tracker's spool directory, which the processes on a host share) the
day's salt is written there, once, by the first process that needs it (``salt-<day>``,
readable by its owner only), and read by the others; earlier days' salts are deleted
as soon as a process moves to a new day, so yesterday's ids cannot be computed again.
Without a directory, or when it cannot be written, the salt lives in the process's
memory only (and the log says so): a visitor is then counted once per process.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import secrets
import threading
import time
from collections.abc import Callable

__all__ = ["DailySalt", "cookieless_hash", "shared_salt"]

log = logging.getLogger("convsdk.identity")

_SIZE = 32
_NAME = re.compile(r"salt-(\d+)\Z")
_TMP_PREFIX = ".salt-"


class DailySalt:
    """A random salt that changes every UTC day, shared through ``directory`` (see the
    module's docs), else kept in this process's memory."""

    __slots__ = ("_clock", "_day", "_directory", "_lock", "_salt")

    def __init__(
        self, clock: Callable[[], float] = time.time, directory: str | None = None
    ) -> None:
        self._clock = clock
        self._directory = directory
        self._lock = threading.Lock()
        self._day = -1
        self._salt = b""

    def current(self) -> bytes:
        """Today's salt (read or made the first time it is asked for each day)."""
        day = int(self._clock() // 86400)
        if day != self._day:
            with self._lock:
                if day != self._day:
                    # The previous salt is dropped here: ids of past days can no
                    # longer be linked to an IP address and user agent.
                    self._salt = self._today(day)
                    self._day = day
        return self._salt

    def _today(self, day: int) -> bytes:
        directory = self._directory
        if directory is not None:
            try:
                return shared_salt(directory, day)
            except OSError as exc:
                # Tried again tomorrow (a full disk, or no file descriptor left now).
                log.warning(
                    "cannot share the cookieless salt in %s (%s): this process keeps its "
                    "own today, so a visitor served by several processes counts once in each",
                    directory,
                    exc,
                )
        return secrets.token_bytes(_SIZE)


def shared_salt(directory: str, day: int) -> bytes:
    """The salt of ``day`` (days since the epoch, UTC) in ``directory``: read, or made
    there if no process has made it yet; earlier days' salts are deleted. Raises
    ``OSError`` when the directory cannot be written or holds a damaged salt."""
    os.makedirs(directory, mode=0o700, exist_ok=True)
    path = os.path.join(directory, f"salt-{day}")
    salt = _read(path)
    if salt is None:
        # Written whole under a name of its own, then linked in place: a process
        # reading the day's salt never sees part of it, and the first link wins.
        fd = -1
        tmp = os.path.join(directory, f"{_TMP_PREFIX}{os.getpid()}-{secrets.token_hex(4)}")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            if os.write(fd, secrets.token_bytes(_SIZE)) != _SIZE:
                raise OSError(f"short write to {tmp}")
            os.close(fd)
            fd = -1
            try:
                os.link(tmp, path)
            except FileExistsError:
                pass  # another process made it first: theirs is the day's salt
        finally:
            if fd >= 0:
                os.close(fd)
            _remove(tmp)
        salt = _read(path)
        if salt is None:
            raise OSError(f"{path} vanished as it was made")
    _forget_before(directory, day)
    return salt


def _read(path: str) -> bytes | None:
    try:
        with open(path, "rb") as file:
            salt = file.read(_SIZE + 1)
    except FileNotFoundError:
        return None
    if len(salt) != _SIZE:
        raise OSError(f"{path} is not a salt ({len(salt)} bytes)")
    return salt


def _forget_before(directory: str, day: int) -> None:
    """Delete the salts of days before ``day``, and temporary files left by a crash."""
    try:
        names = os.listdir(directory)
    except OSError:
        return
    for name in names:
        match = _NAME.match(name)
        if match is not None and int(match.group(1)) < day:
            _remove(os.path.join(directory, name))
        elif name.startswith(_TMP_PREFIX):
            path = os.path.join(directory, name)
            try:
                stale = time.time() - os.stat(path).st_mtime > 3600
            except OSError:
                continue
            if stale:
                _remove(path)


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    except OSError as exc:
        log.warning("cannot delete %s: %s", path, exc)


def cookieless_hash(salt: bytes, ip: str | None, user_agent: str | None, host: str | None) -> str:
    """The visitor id of cookieless mode: a keyed hash of the IP, user agent and host."""
    data = f"{ip or ''}\x00{user_agent or ''}\x00{host or ''}".encode("utf-8", "replace")
    return hashlib.blake2b(data, key=salt, digest_size=16).hexdigest()
