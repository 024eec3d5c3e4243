"""Reading a submitted HTML form: urlencoded or multipart, files left out, bounded."""

from __future__ import annotations

import logging
from urllib.parse import parse_qsl

__all__ = [
    "FORM_METHODS",
    "MAX_FIELD_BYTES",
    "MAX_FORM_FIELDS",
    "Form",
    "is_form_type",
    "parse_form",
]

log = logging.getLogger("convsdk.interactions")

#: Methods that submit a form.
FORM_METHODS = frozenset({"POST", "PUT", "PATCH"})
MAX_FORM_FIELDS = 1000
MAX_FIELD_BYTES = 64 * 1024

Form = dict[str, list[str]]


def is_form_type(content_type: str | None) -> bool:
    """Whether a request ``Content-Type`` is an HTML form (urlencoded or multipart)."""
    if not content_type:
        return False
    mime = content_type.partition(";")[0].strip().lower()
    return mime == "application/x-www-form-urlencoded" or mime == "multipart/form-data"


def parse_form(content_type: str | None, body: bytes) -> Form | None:
    """The fields of a submitted form (files left out); ``None`` when it cannot be read.

    Never raises: a malformed, truncated or oversized body gives ``None``.
    """
    try:
        mime = (content_type or "").partition(";")[0].strip().lower()
        if mime == "application/x-www-form-urlencoded":
            form: Form = {}
            text = body.decode("utf-8", "replace")
            for key, value in parse_qsl(
                text, keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS, errors="replace"
            ):
                form.setdefault(key, []).append(value)
            return form
        if mime == "multipart/form-data":
            return _parse_multipart(content_type or "", body)
    except Exception:
        log.debug("unreadable form body", exc_info=True)
    return None


def _parse_multipart(content_type: str, body: bytes) -> Form | None:
    # werkzeug is a core dependency; its sans-I/O decoder lets file parts go by
    # without buffering them anywhere.
    from werkzeug.http import parse_options_header
    from werkzeug.sansio.multipart import (
        Data,
        Epilogue,
        Field,
        File,
        MultipartDecoder,
        NeedData,
    )

    boundary = parse_options_header(content_type)[1].get("boundary")
    if not boundary:
        return None
    decoder = MultipartDecoder(boundary.encode("latin-1"), max_parts=MAX_FORM_FIELDS)
    decoder.receive_data(body)
    decoder.receive_data(None)
    form: Form = {}
    name: str | None = None
    chunks: list[bytes] = []
    size = 0
    for _ in range(4 * MAX_FORM_FIELDS + 16):  # every step consumes input: bounded
        event = decoder.next_event()
        if isinstance(event, Field):
            name, chunks, size = event.name, [], 0
        elif isinstance(event, File):
            name = None  # uploaded files are never read
        elif isinstance(event, Data):
            if name is not None and size < MAX_FIELD_BYTES:
                chunks.append(event.data)
                size += len(event.data)
            if not event.more_data:
                if name is not None:
                    value = b"".join(chunks)[:MAX_FIELD_BYTES].decode("utf-8", "replace")
                    form.setdefault(name, []).append(value)
                name = None
        elif isinstance(event, Epilogue):
            return form
        elif isinstance(event, NeedData):
            return None  # more data needed after the whole body: truncated
    return None
