"""`Idempotency-Key`: the first outcome of a request, so its retries find it again.

A key is claimed before anything is created: it names the id the request is
about to create (`planned_id`), so a retry of the same request (same sender,
key and body) finds or finishes that same thing, and a different body under
the same key is a 422. Notifications and messages both use it, each under its
own `scope`.
"""

import hashlib
import json
import time
from datetime import timedelta

import mongoengine as me
from mongoengine.errors import NotUniqueError

from app.clock import now
from app.errors import Unprocessable

# Expired keys are deleted by the first claim after this many seconds.
KEY_PURGE_INTERVAL = 60.0
_keys_purged_at = None  # monotonic time of this process's last purge


class IdempotencyRecord(me.Document):
    """The first outcome of a request sent with an `Idempotency-Key`."""

    id = me.StringField(primary_key=True)  # "<scope>:<key>"
    fingerprint = me.StringField(required=True)
    # What the first request created (stored under its first name: notifications came first).
    resource_id = me.StringField(db_field="notification_id")
    created_at = me.DateTimeField(required=True, default=now)

    meta = {"collection": "idempotency_keys", "indexes": ["created_at"]}


def claim(scope, key, fields, planned_id, ttl):
    """The key's record: a new one naming `planned_id`, or the one of an earlier try.

    `fields` is what the request asks for (a different one under the same key is
    a 422); a key is remembered for `ttl` seconds, after which it is a new request.
    """
    fingerprint = hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()
    expired = now() - timedelta(seconds=ttl)
    _purge_expired(expired)
    record = IdempotencyRecord(id=f"{scope}:{key}", fingerprint=fingerprint, resource_id=planned_id)
    try:
        record.save(force_insert=True)
        return record
    except NotUniqueError:
        pass
    # A record past its time is forgotten: this request takes the key over (the filter
    # on its age makes one of two such requests win, the other then replays it).
    taken_over = IdempotencyRecord.objects(id=record.id, created_at__lt=expired).update_one(
        set__fingerprint=fingerprint,
        set__resource_id=planned_id,
        set__created_at=record.created_at,
    )
    if taken_over:
        return record
    record = IdempotencyRecord.objects(id=record.id).first()
    if record is None:  # purged between the two writes: it was expired, so claim it anew
        return claim(scope, key, fields, planned_id, ttl)
    if record.fingerprint != fingerprint:
        raise Unprocessable(
            "This Idempotency-Key was already used with a different request.",
            errors={"Idempotency-Key": ["Reused with a different body."]},
        )
    return record


def _purge_expired(expired):
    """Delete the records of expired keys, at most once a KEY_PURGE_INTERVAL per process
    (FerretDB has no TTL indexes, and a purge per request would scan the collection)."""
    global _keys_purged_at
    if _keys_purged_at is not None and time.monotonic() - _keys_purged_at < KEY_PURGE_INTERVAL:
        return
    _keys_purged_at = time.monotonic()
    IdempotencyRecord.objects(created_at__lt=expired).delete()
