"""Who is online, across every Herald instance.

Each instance keeps one `PresenceEntry` per user it holds a socket for (the
realtime package writes them). A user is connected while some entry of theirs
belongs to a live instance (`app.cluster`), so an instance that crashes takes
its users offline by itself when its heartbeat expires; the entries it left
behind are swept later.
"""

from collections.abc import Iterable

import mongoengine as me
from mongoengine.errors import NotUniqueError

from app import cluster
from app.clock import now as utcnow


class PresenceEntry(me.Document):
    id = me.StringField(primary_key=True)  # "<instance>/<user>"
    instance_id = me.StringField(required=True)
    user_id = me.StringField(required=True)
    since = me.DateTimeField(required=True)
    meta = {"collection": "presence", "indexes": ["user_id", "instance_id"]}


def online_user_ids(user_ids: Iterable[str] | None = None) -> set[str]:
    """The ids (of `user_ids`, or of everybody) with a socket on a live instance."""
    entries = PresenceEntry.objects(instance_id__in=cluster.live_instance_ids())
    if user_ids is not None:
        entries = entries.filter(user_id__in=list(user_ids))
    return set(entries.distinct("user_id"))


def is_online(user_id: str) -> bool:
    return bool(online_user_ids(user_ids=[user_id]))


def mark_online(instance_id: str, user_id: str) -> None:
    entry = PresenceEntry.objects(id=f"{instance_id}/{user_id}")
    fields = {"set__instance_id": instance_id, "set__user_id": user_id, "set__since": utcnow()}
    try:
        entry.update_one(upsert=True, **fields)
    except NotUniqueError:  # two upserts raced (the heartbeat's repair and a socket)
        entry.update_one(**fields)


def mark_offline(instance_id: str, user_id: str) -> None:
    PresenceEntry.objects(id=f"{instance_id}/{user_id}").delete()


def sync_instance(instance_id: str, user_ids: Iterable[str]) -> None:
    """Make the stored entries of `instance_id` exactly `user_ids` (after a database outage)."""
    user_ids = set(user_ids)
    stored = set(PresenceEntry.objects(instance_id=instance_id).distinct("user_id"))
    for user_id in user_ids - stored:
        mark_online(instance_id, user_id)
    for user_id in stored - user_ids:
        mark_offline(instance_id, user_id)


def forget_instance(instance_id: str) -> set[str]:
    """Delete every entry of `instance_id`; returns the users it had online."""
    entries = PresenceEntry.objects(instance_id=instance_id)
    users = set(entries.distinct("user_id"))
    entries.delete()
    return users
