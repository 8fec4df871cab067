"""Messages that could not be handled: kept for admins to inspect and replay.

A dead letter is published to BROKER_DEAD_LETTER_TOPIC (for operators' own
tools) and recorded here, so the admin API can list and replay it whatever the
broker.
"""

import base64

import mongoengine as me

from app.clock import now
from app.ids import new_id


class DeadLetter(me.Document):
    id = me.StringField(primary_key=True, default=new_id)
    topic = me.StringField(required=True)
    key = me.StringField()
    headers = me.DictField()
    payload = me.StringField(required=True)  # base64: the message may not even be text
    error = me.StringField(required=True)
    attempts = me.IntField(required=True)
    instance_id = me.StringField()
    created_at = me.DateTimeField(required=True, default=now)
    replayed_at = me.DateTimeField()

    meta = {"collection": "dead_letters", "indexes": ["-created_at"]}

    @property
    def value(self):
        return base64.b64decode(self.payload)


def record(message, *, error, attempts, instance_id):
    return DeadLetter(
        topic=message.topic,
        key=message.key,
        headers=dict(message.headers),
        payload=base64.b64encode(message.value).decode(),
        error=error[:2000],
        attempts=attempts,
        instance_id=instance_id,
    ).save(force_insert=True)


def dead_letter_headers(message, *, error, attempts):
    return {
        **message.headers,
        "herald-error": error[:500],
        "herald-attempts": str(attempts),
        "herald-original-topic": message.topic,
        "herald-failed-at": now().isoformat(),
    }
