"""Who is online, across every Herald instance.

Each instance keeps one `InstanceHeartbeat` fresh and one `PresenceEntry` per
user it holds a socket for. Every beat says until when the instance counts as
alive (its own PRESENCE_TTL ahead), so instances need not share a TTL. A user
is connected while some entry of theirs belongs to a live instance, so an
instance that crashes takes its users offline by itself when its heartbeat
expires; the entries it left behind are swept later.
"""

import logging
from datetime import timedelta

import mongoengine as me
from mongoengine.errors import NotUniqueError

from app.clock import now as utcnow

logger = logging.getLogger(__name__)


class InstanceHeartbeat(me.Document):
    id = me.StringField(primary_key=True)
    beat_at = me.DateTimeField(required=True)
    alive_until = me.DateTimeField(required=True)
    meta = {"collection": "instances"}


class PresenceEntry(me.Document):
    id = me.StringField(primary_key=True)  # "<instance>/<user>"
    instance_id = me.StringField(required=True)
    user_id = me.StringField(required=True)
    since = me.DateTimeField(required=True)
    meta = {"collection": "presence", "indexes": ["user_id", "instance_id"]}


def live_instance_ids():
    alive = InstanceHeartbeat.objects(alive_until__gt=utcnow()).only("id")
    return [beat.id for beat in alive]


def online_user_ids(user_ids=None):
    """The ids (of `user_ids`, or of everybody) with a socket on a live instance."""
    entries = PresenceEntry.objects(instance_id__in=live_instance_ids())
    if user_ids is not None:
        entries = entries.filter(user_id__in=list(user_ids))
    return set(entries.distinct("user_id"))


def is_online(user_id):
    return bool(online_user_ids(user_ids=[user_id]))


def beat(instance_id, *, ttl):
    """Record that `instance_id` is alive, and counts as alive for `ttl` seconds."""
    moment = utcnow()
    InstanceHeartbeat.objects(id=instance_id).update_one(
        set__beat_at=moment, set__alive_until=moment + timedelta(seconds=ttl), upsert=True
    )


def mark_online(instance_id, user_id):
    entry = PresenceEntry.objects(id=f"{instance_id}/{user_id}")
    fields = {"set__instance_id": instance_id, "set__user_id": user_id, "set__since": utcnow()}
    try:
        entry.update_one(upsert=True, **fields)
    except NotUniqueError:  # two upserts raced (the heartbeat's repair and a socket)
        entry.update_one(**fields)


def mark_offline(instance_id, user_id):
    PresenceEntry.objects(id=f"{instance_id}/{user_id}").delete()


def sync_instance(instance_id, user_ids):
    """Make the stored entries of `instance_id` exactly `user_ids` (after a database outage)."""
    stored = set(PresenceEntry.objects(instance_id=instance_id).distinct("user_id"))
    for user_id in set(user_ids) - stored:
        mark_online(instance_id, user_id)
    for user_id in stored - set(user_ids):
        mark_offline(instance_id, user_id)


def retire_instance(instance_id):
    """Forget an instance that shuts down cleanly, taking its users offline at once."""
    PresenceEntry.objects(instance_id=instance_id).delete()
    InstanceHeartbeat.objects(id=instance_id).delete()


def sweep_dead_instances(*, grace):
    """Delete what instances dead for `grace` seconds left behind; returns their users.

    An instance that was only slow re-creates its entries on its next heartbeat
    (`sync_instance`).
    """
    cutoff = utcnow() - timedelta(seconds=grace)
    swept = set()
    for beat_doc in InstanceHeartbeat.objects(alive_until__lt=cutoff).only("id"):
        logger.info("Sweeping presence of dead instance %s", beat_doc.id)
        swept.update(PresenceEntry.objects(instance_id=beat_doc.id).distinct("user_id"))
        retire_instance(beat_doc.id)
    return swept
