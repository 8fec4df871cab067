"""Stored relations between two users."""

import mongoengine as me

from app.clock import now


class Block(me.Document):
    """`blocker` no longer lets `blocked` message or notify them."""

    id = me.StringField(primary_key=True)  # "<blocker id>:<blocked id>": one per pair
    blocker = me.StringField(required=True)
    blocked = me.StringField(required=True)
    created_at = me.DateTimeField(required=True, default=now)

    meta = {"collection": "blocks", "indexes": ["blocker", "blocked"]}

    @staticmethod
    def key(blocker, blocked):
        return f"{blocker}:{blocked}"
