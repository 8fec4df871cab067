"""Identifiers: UUIDv7 strings, which sort by creation time.

Herald relies on that order: notifications are listed and replayed to a
reconnecting socket by id, so "what came after the one I saw" is `_id > since`.
"""

import uuid

import uuid6


def new_id():
    """A fresh, time-ordered UUID string."""
    return str(uuid6.uuid7())


def is_uuid(value):
    """True when `value` is a UUID string in canonical form."""
    try:
        return str(uuid.UUID(value)) == value.lower()
    except (TypeError, ValueError, AttributeError):
        return False
