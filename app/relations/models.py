"""Stored relations between two users: blocks and follows."""

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


class Follow(me.Document):
    """`follower` follows `followed`: their posts reach the follower."""

    id = me.StringField(primary_key=True)  # "<follower id>:<followed id>": one per pair
    follower = me.StringField(required=True)
    followed = me.StringField(required=True)
    created_at = me.DateTimeField(required=True, default=now)

    meta = {"collection": "follows", "indexes": [("followed", "follower"), "follower"]}

    @staticmethod
    def key(follower, followed):
        return f"{follower}:{followed}"
