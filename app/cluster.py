"""Which Herald instances are alive: each beats here, and the dead are swept.

Every beat says until when the instance counts as alive (its own PRESENCE_TTL
ahead), so instances need not share a TTL. The outbox reads this to take over
what a dead instance left unpublished; user presence (`app.presence`) reads it
so that a crashed instance takes its users offline by itself.
"""

from datetime import timedelta

import mongoengine as me

from app.clock import now as utcnow


class InstanceHeartbeat(me.Document):
    id = me.StringField(primary_key=True)
    beat_at = me.DateTimeField(required=True)
    alive_until = me.DateTimeField(required=True)
    meta = {"collection": "instances"}


def live_instance_ids() -> list[str]:
    alive = InstanceHeartbeat.objects(alive_until__gt=utcnow()).only("id")
    return [beat.id for beat in alive]


def beat(instance_id: str, *, ttl: float) -> None:
    """Record that `instance_id` is alive, and counts as alive for `ttl` seconds."""
    moment = utcnow()
    InstanceHeartbeat.objects(id=instance_id).update_one(
        set__beat_at=moment, set__alive_until=moment + timedelta(seconds=ttl), upsert=True
    )


def retire(instance_id: str) -> None:
    """Forget an instance that shuts down cleanly."""
    InstanceHeartbeat.objects(id=instance_id).delete()


def dead_instance_ids(*, grace: float) -> list[str]:
    """The instances whose heartbeat expired more than `grace` seconds ago."""
    cutoff = utcnow() - timedelta(seconds=grace)
    return [beat.id for beat in InstanceHeartbeat.objects(alive_until__lt=cutoff).only("id")]
